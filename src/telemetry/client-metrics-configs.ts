// Client-metrics subscriptions (KIP-714; the CLIENT_METRICS config resource, type 16): each
// named subscription lists metric-name prefixes (`metrics`, `*` for all), a push interval
// (`interval.ms`) and the clients it applies to (`match`: `client_id=regex` and the like,
// every entry must match; none matches every client). Set with IncrementalAlterConfigs
// (`kafka-client-metrics --alter`, `kafka-configs --entity-type client-metrics`), described
// with DescribeConfigs, listed by ListConfigResources, kept in `<data>/client-metrics.json`
// (checksummed, the previous generation aside). A subscription whose configs are all
// deleted is gone.

import { join } from 'node:path';
import { ConfigChangeError, editOverrides, type ConfigChange, type OverrideRules } from '../config/config-changes.js';
import { type DescribedConfig } from '../config/topic-config.js';
import { checksummedJson, parseChecksummedJson, readWithBackup, writeFileWithBackup } from '../log/durable-file.js';

/** DescribeConfigs' ConfigSource for a client-metrics config. */
const CLIENT_METRICS_CONFIG_SOURCE = 7;
const DEFAULT_CONFIG_SOURCE = 5;
const INVALID_CONFIG = 40;
const INVALID_REQUEST = 42;

export const DEFAULT_PUSH_INTERVAL_MS = 300_000;
const MIN_PUSH_INTERVAL_MS = 100;
const MAX_PUSH_INTERVAL_MS = 3_600_000;

/** The client attributes a `match` entry may test (KIP-714). */
export const MATCH_KEYS = ['client_instance_id', 'client_id', 'client_software_name', 'client_software_version', 'client_source_address', 'client_source_port'] as const;
export type MatchKey = (typeof MATCH_KEYS)[number];

export interface ClientMetricsSubscription {
  readonly name: string;
  /** Metric-name prefixes; '' stands for every metric (`*`). */
  readonly metrics: readonly string[];
  readonly intervalMs: number;
  readonly match: ReadonlyArray<{ readonly key: MatchKey; readonly pattern: RegExp; readonly text: string }>;
}

const DEFINITIONS = [
  { name: 'metrics', type: 'list' as const, doc: 'The telemetry metric name prefixes to be pushed by the client, * for all.' },
  { name: 'interval.ms', type: 'int' as const, doc: 'The interval in milliseconds at which clients push metrics.' },
  {
    name: 'match',
    type: 'list' as const,
    doc: 'The client matching patterns: key=regex, keys client_instance_id, client_id, client_software_name, client_software_version, client_source_address, client_source_port.',
  },
];
const NAMES = new Set(DEFINITIONS.map((definition) => definition.name));
const RULES: OverrideRules = { kind: 'client metrics', isKnown: (name) => NAMES.has(name), isList: (name) => name !== 'interval.ms' };

function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** Parses `match` entries; throws INVALID_CONFIG on an unknown key or a bad pattern. */
function parseMatch(entries: readonly string[]): ClientMetricsSubscription['match'] {
  return entries.map((entry) => {
    const equals = entry.indexOf('=');
    const key = equals < 0 ? entry : entry.slice(0, equals).trim();
    const text = equals < 0 ? '' : entry.slice(equals + 1).trim();
    if (equals < 0 || !(MATCH_KEYS as readonly string[]).includes(key) || text === '') {
      throw new ConfigChangeError(INVALID_CONFIG, `Illegal client matching pattern: ${entry}`);
    }
    try {
      return { key: key as MatchKey, pattern: new RegExp(`^(?:${text})$`), text };
    } catch {
      throw new ConfigChangeError(INVALID_CONFIG, `Illegal regular expression in client matching pattern: ${entry}`);
    }
  });
}

function validated(name: string, values: ReadonlyMap<string, string>): ClientMetricsSubscription {
  const interval = values.get('interval.ms');
  let intervalMs = DEFAULT_PUSH_INTERVAL_MS;
  if (interval !== undefined) {
    if (!/^\d+$/.test(interval) || Number(interval) < MIN_PUSH_INTERVAL_MS || Number(interval) > MAX_PUSH_INTERVAL_MS) {
      throw new ConfigChangeError(INVALID_CONFIG, `Invalid value ${interval} for configuration interval.ms: Value must be in [${MIN_PUSH_INTERVAL_MS}, ${MAX_PUSH_INTERVAL_MS}]`);
    }
    intervalMs = Number(interval);
  }
  const metrics = listOf(values.get('metrics')).map((prefix) => (prefix === '*' ? '' : prefix));
  return { name, metrics, intervalMs, match: parseMatch(listOf(values.get('match'))) };
}

interface StoredClientMetrics {
  version: 1;
  subscriptions: Record<string, Record<string, string>>;
}

export class ClientMetricsConfigs {
  private readonly values = new Map<string, Map<string, string>>();
  private parsed: ClientMetricsSubscription[] = [];
  private readonly path: string;
  /** Bumped on every change: subscription ids depend on it (clients then fetch again). */
  generation = 0;

  constructor(dataDir: string, logger: { warn(message: string): void }) {
    this.path = join(dataDir, 'client-metrics.json');
    const loaded = readWithBackup(this.path, (text) => parseChecksummedJson(text) as unknown as StoredClientMetrics, logger);
    for (const [name, values] of Object.entries(loaded?.value.subscriptions ?? {})) {
      try {
        const map = new Map(Object.entries(values));
        validated(name, map);
        this.values.set(name, map);
      } catch (error) {
        logger.warn(`${this.path}: client-metrics subscription ${name} ignored: ${(error as Error).message}`);
      }
    }
    this.reparse();
  }

  /** Every subscription, by name. */
  subscriptions(): readonly ClientMetricsSubscription[] {
    return this.parsed;
  }

  names(): string[] {
    return [...this.values.keys()].sort();
  }

  describe(name: string): DescribedConfig[] {
    const own = this.values.get(name);
    return DEFINITIONS.map((definition) => {
      const value = own?.get(definition.name);
      const fallback = definition.name === 'interval.ms' ? String(DEFAULT_PUSH_INTERVAL_MS) : '';
      return {
        name: definition.name,
        value: value ?? fallback,
        source: value !== undefined ? CLIENT_METRICS_CONFIG_SOURCE : DEFAULT_CONFIG_SOURCE,
        readOnly: false,
        isSensitive: false,
        type: definition.type,
        documentation: definition.doc,
        synonyms: value !== undefined ? [{ name: definition.name, value, source: CLIENT_METRICS_CONFIG_SOURCE }] : [],
      };
    });
  }

  /** IncrementalAlterConfigs on one subscription: SET, DELETE, APPEND and SUBTRACT on the lists (editOverrides). */
  alter(name: string, changes: readonly ConfigChange[], validateOnly: boolean): void {
    if (name === '') throw new ConfigChangeError(INVALID_REQUEST, 'Subscription name must not be empty');
    const edited = editOverrides(Object.fromEntries(this.values.get(name) ?? []), changes, true, RULES);
    const next = new Map(Object.entries(edited).map(([key, value]): [string, string] => [key, key === 'interval.ms' ? value.trim() : listOf(value).join(',')]));
    validated(name, next);
    if (validateOnly) return;
    if (next.size === 0) this.values.delete(name);
    else this.values.set(name, next);
    const stored: StoredClientMetrics = {
      version: 1,
      subscriptions: Object.fromEntries([...this.values].map(([key, values]) => [key, Object.fromEntries(values)])),
    };
    writeFileWithBackup(this.path, checksummedJson(stored as unknown as Record<string, unknown>));
    this.reparse();
    this.generation++;
  }

  private reparse(): void {
    this.parsed = [...this.values].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, values]) => validated(name, values));
  }
}
