// The BROKER_LOGGER config resource (KIP-412): the broker's log level, described and changed
// at run time. Kafka lists every log4j logger; Spate has one logger, named `root`, with
// Kafka's level names. TRACE logs as DEBUG and FATAL as ERROR (Spate has neither level); OFF
// silences it. DELETE puts back the level the broker started with.

import { ConfigChangeError, AlterConfigOp, type ConfigChange } from '../config/config-changes.js';
import { type DescribedConfig } from '../config/topic-config.js';
import { type Logger, type LogLevel } from '../logger.js';

const DYNAMIC_BROKER_LOGGER_CONFIG = 6;
const INVALID_CONFIG = 40;
const INVALID_REQUEST = 42;
export const ROOT_LOGGER = 'root';

const TO_LEVEL: Record<string, LogLevel> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error', FATAL: 'error', OFF: 'silent' };
const TO_NAME: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', silent: 'OFF' };

export class BrokerLoggers {
  private readonly startLevel: LogLevel | undefined;
  /** The Kafka name last set (TRACE stays TRACE in DescribeConfigs although it logs as DEBUG). */
  private levelName: string | undefined;

  constructor(private readonly logger: Logger) {
    this.startLevel = logger.level;
  }

  describe(): DescribedConfig[] {
    const level = this.logger.level;
    const value = this.levelName ?? (level === undefined ? null : TO_NAME[level]);
    return [{ name: ROOT_LOGGER, value, source: DYNAMIC_BROKER_LOGGER_CONFIG, readOnly: false, isSensitive: false, type: 'string', documentation: '', synonyms: [] }];
  }

  alter(changes: readonly ConfigChange[], validateOnly: boolean): void {
    if (this.logger.setLevel === undefined) {
      throw new ConfigChangeError(INVALID_REQUEST, 'The broker logs through a logger supplied by the application; its level cannot be changed here');
    }
    let next: { level: LogLevel; name: string | undefined } | undefined;
    for (const change of changes) {
      if (change.name !== ROOT_LOGGER) throw new ConfigChangeError(INVALID_CONFIG, `Logger ${change.name} does not exist (Spate has one logger, ${ROOT_LOGGER})`);
      if (change.op === AlterConfigOp.SET) {
        const name = (change.value ?? '').trim().toUpperCase();
        const level = TO_LEVEL[name];
        if (level === undefined)
          throw new ConfigChangeError(
            INVALID_CONFIG,
            `Cannot set the log level of ${ROOT_LOGGER} to ${change.value} as it is not a supported log level. Valid levels are ${Object.keys(TO_LEVEL).join(', ')}`,
          );
        next = { level, name };
      } else if (change.op === AlterConfigOp.DELETE) {
        next = { level: this.startLevel ?? 'info', name: undefined };
      } else {
        throw new ConfigChangeError(INVALID_REQUEST, `Operation ${change.op} is not allowed for the BROKER_LOGGER resource`);
      }
    }
    if (validateOnly || next === undefined) return;
    this.logger.setLevel(next.level);
    this.levelName = next.name;
  }
}
