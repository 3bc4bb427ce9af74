// Topic-level configuration: the overrides stored with a topic, resolved against the
// broker's log.* defaults the way Kafka's LogConfig does.

import { type BrokerConfig } from './broker-config.js';
import { brokerConfigByName, ConfigError, parseConfigValue, topicConfigByName, type ConfigType, type ConfigValue } from './definitions.js';

export interface LogConfig {
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly segmentIndexBytes: number;
  readonly indexIntervalBytes: number;
  readonly flushMessages: number;
  readonly flushMs: number;
  readonly maxMessageBytes: number;
  readonly messageTimestampType: 'CreateTime' | 'LogAppendTime';
  readonly cleanupPolicy: readonly string[];
  readonly retentionMs: number;
  readonly retentionBytes: number;
}

/** Validates a topic's config overrides; throws ConfigError naming the first bad key. */
export function validateTopicConfigs(overrides: Readonly<Record<string, string | null>>): void {
  for (const [key, value] of Object.entries(overrides)) {
    const definition = topicConfigByName.get(key);
    if (definition === undefined) throw new ConfigError(key, value, 'unknown topic configuration');
    if (value === null) throw new ConfigError(key, value, 'a value is required');
    parseConfigValue(definition, value);
  }
}

/** Resolves one topic config value: its override, else the broker synonym, else the default. */
export function topicConfigValue(
  key: string,
  overrides: Readonly<Record<string, string>>,
  broker: BrokerConfig,
): ConfigValue {
  const definition = topicConfigByName.get(key);
  if (definition === undefined) throw new Error(`Unknown topic configuration ${key}`);
  const override = overrides[key];
  if (override !== undefined) return parseConfigValue(definition, override);
  if (key === 'segment.ms') {
    const rollMs = broker.values.get('log.roll.ms') as bigint | null;
    return rollMs ?? BigInt((broker.values.get('log.roll.hours') as number) * 3600000);
  }
  if (key === 'retention.ms') {
    const ms = broker.values.get('log.retention.ms') as bigint | null;
    if (ms !== null) return ms;
    const minutes = broker.values.get('log.retention.minutes') as number | null;
    if (minutes !== null) return BigInt(minutes * 60000);
    return BigInt((broker.values.get('log.retention.hours') as number) * 3600000);
  }
  const synonym = definition.brokerSynonym;
  if (synonym !== undefined) {
    const brokerValue = broker.values.get(synonym);
    if (brokerValue !== null && brokerValue !== undefined) return brokerValue;
  }
  return definition.defaultValue;
}

const toNumber = (value: ConfigValue): number => {
  if (typeof value === 'bigint') return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  return value as number;
};

export function resolveLogConfig(overrides: Readonly<Record<string, string>>, broker: BrokerConfig): LogConfig {
  const get = (key: string) => topicConfigValue(key, overrides, broker);
  return {
    segmentBytes: toNumber(get('segment.bytes')),
    segmentMs: toNumber(get('segment.ms')),
    segmentIndexBytes: toNumber(get('segment.index.bytes')),
    indexIntervalBytes: toNumber(get('index.interval.bytes')),
    flushMessages: toNumber(get('flush.messages')),
    flushMs: toNumber(get('flush.ms')),
    maxMessageBytes: toNumber(get('max.message.bytes')),
    messageTimestampType: get('message.timestamp.type') as LogConfig['messageTimestampType'],
    cleanupPolicy: get('cleanup.policy') as string[],
    retentionMs: toNumber(get('retention.ms')),
    retentionBytes: toNumber(get('retention.bytes')),
  };
}

/** Kafka's DescribeConfigs ConfigSource values. */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

export interface ConfigSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
}

export interface DescribedConfig {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
  readonly readOnly: boolean;
  readonly isSensitive: boolean;
  readonly type: ConfigType;
  readonly documentation: string;
  /** Where the value could come from, most specific first (DescribeConfigs' synonyms). */
  readonly synonyms: readonly ConfigSynonym[];
}

export function formatConfigValue(value: ConfigValue): string | null {
  if (value === null) return null;
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

/** Every topic config with its effective value and where that value comes from. */
export function describeTopicConfigs(overrides: Readonly<Record<string, string>>, broker: BrokerConfig): DescribedConfig[] {
  return [...topicConfigByName.values()].map((definition) => {
    const synonyms: ConfigSynonym[] = [];
    const override = overrides[definition.name];
    if (override !== undefined) synonyms.push({ name: definition.name, value: override, source: ConfigSource.TOPIC_CONFIG });
    const brokerKey = definition.brokerSynonym;
    if (brokerKey !== undefined && broker.explicit.has(brokerKey)) {
      synonyms.push({ name: brokerKey, value: formatConfigValue(broker.values.get(brokerKey) ?? null), source: ConfigSource.STATIC_BROKER_CONFIG });
    }
    const value = formatConfigValue(topicConfigValue(definition.name, overrides, broker));
    synonyms.push({ name: brokerKey ?? definition.name, value: formatConfigValue(definition.defaultValue), source: ConfigSource.DEFAULT_CONFIG });
    return {
      name: definition.name,
      value,
      source: synonyms[0]!.source,
      readOnly: false,
      isSensitive: false,
      type: definition.type,
      documentation: definition.doc,
      synonyms,
    };
  });
}

/** Every broker config with its value; static ones are read-only, as in Kafka. */
export function describeBrokerConfigs(broker: BrokerConfig): DescribedConfig[] {
  return [...brokerConfigByName.values()].map((definition) => {
    const explicit = broker.explicit.has(definition.name);
    const value = formatConfigValue(broker.values.get(definition.name) ?? null);
    const source = explicit ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG;
    return {
      name: definition.name,
      value,
      source,
      readOnly: true,
      isSensitive: definition.type === 'password',
      type: definition.type,
      documentation: definition.doc,
      synonyms: [{ name: definition.name, value, source }],
    };
  });
}
