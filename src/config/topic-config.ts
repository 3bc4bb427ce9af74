// Topic-level configuration: the overrides stored with a topic, resolved against the
// broker's log.* defaults the way Kafka's LogConfig does, and described the way Kafka's
// DescribeConfigs describes them (value, source, synonyms). Broker defaults come in
// layers, most specific first: dynamic per-broker, dynamic cluster default (both set by
// AlterConfigs and kept in the data dir), the static file/overrides, Kafka's default.

import { type BrokerConfig } from './broker-config.js';
import {
  brokerConfigByName,
  ConfigError,
  parseConfigValue,
  topicConfigByName,
  topicConfigDefinitions,
  type ConfigDefinition,
  type ConfigType,
  type ConfigValue,
} from './definitions.js';

export interface LogConfig {
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly segmentIndexBytes: number;
  readonly indexIntervalBytes: number;
  readonly flushMessages: number;
  readonly flushMs: number;
  readonly maxMessageBytes: number;
  readonly messageTimestampType: 'CreateTime' | 'LogAppendTime';
  readonly messageTimestampBeforeMaxMs: number;
  readonly messageTimestampAfterMaxMs: number;
  readonly cleanupPolicy: readonly string[];
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly deleteRetentionMs: number;
  readonly minCompactionLagMs: number;
  readonly maxCompactionLagMs: number;
  readonly minCleanableDirtyRatio: number;
  readonly fileDeleteDelayMs: number;
  readonly compressionType: 'producer' | 'uncompressed' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  readonly compressionGzipLevel: number;
  readonly compressionLz4Level: number;
  readonly compressionZstdLevel: number;
  /** acks=all needs this many in-sync replicas (resolved here so that an append reads a field, not the config layers). */
  readonly minInsyncReplicas: number;
}

/** The dynamic broker configs (AlterConfigs on a BROKER resource), as Kafka keeps them. */
export interface DynamicBrokerConfigs {
  /** Set for this broker (resource name = node ID): DYNAMIC_BROKER_CONFIG. */
  readonly perBroker: Map<string, string>;
  /** Set for every broker (resource name ""): DYNAMIC_DEFAULT_BROKER_CONFIG. */
  readonly clusterDefault: Map<string, string>;
}

export function emptyDynamicConfigs(): DynamicBrokerConfigs {
  return { perBroker: new Map(), clusterDefault: new Map() };
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

const LONG_MAX = 9223372036854775807n;

/**
 * Broker configs that AlterConfigs may change at run time: the defaults of topic configs
 * (Kafka's DynamicLogConfig) and the cleaner's settings.
 */
export const DYNAMIC_BROKER_CONFIGS: ReadonlySet<string> = new Set([
  ...topicConfigDefinitions.flatMap((definition) => definition.brokerSynonyms),
  'log.cleaner.threads',
  'log.cleaner.backoff.ms',
  'log.cleaner.dedupe.buffer.size',
  // Kafka's replication quotas (DynamicReplicationQuota): kafka-reassign-partitions sets and clears them.
  'leader.replication.throttled.rate',
  'follower.replication.throttled.rate',
  'replica.alter.log.dirs.io.max.bytes.per.second',
]);

/** Groups of broker configs that stand for one setting, most specific first. */
function brokerSynonymGroup(name: string): readonly string[] {
  for (const definition of topicConfigDefinitions) {
    if (definition.brokerSynonyms.length > 1 && definition.brokerSynonyms.includes(name)) return definition.brokerSynonyms;
  }
  return [name];
}

type Layer = { readonly values: ReadonlyMap<string, string | ConfigValue>; readonly source: number };

/**
 * The layers of each BrokerConfig, built once: its static values and Kafka's defaults do not
 * change while it lives, and the dynamic layers are the live maps that AlterConfigs and the
 * metadata store change in place. A lookup per request (min.insync.replicas of an acks=all
 * produce, the replication quota of a follower fetch) used to rebuild the two fixed maps,
 * several hundred entries, every time.
 */
const layersByConfig = new WeakMap<BrokerConfig, { readonly dynamic: DynamicBrokerConfigs; readonly layers: readonly Layer[] }>();

/** The set layers of broker configs, most specific first (Kafka's order for synonyms). */
function brokerLayers(broker: BrokerConfig): readonly Layer[] {
  const dynamic = broker.dynamic ?? emptyDynamicConfigs();
  const cached = layersByConfig.get(broker);
  if (cached !== undefined && cached.dynamic === dynamic) return cached.layers;
  const staticValues = new Map<string, ConfigValue>();
  for (const name of broker.explicit) staticValues.set(name, broker.values.get(name) ?? null);
  const defaults = new Map<string, ConfigValue>();
  for (const [name, definition] of brokerConfigByName) if (definition.defaultValue !== null) defaults.set(name, definition.defaultValue);
  const layers = [
    { values: dynamic.perBroker, source: ConfigSource.DYNAMIC_BROKER_CONFIG },
    { values: dynamic.clusterDefault, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG },
    { values: staticValues, source: ConfigSource.STATIC_BROKER_CONFIG },
    { values: defaults, source: ConfigSource.DEFAULT_CONFIG },
  ];
  layersByConfig.set(broker, { dynamic, layers });
  return layers;
}

function typedBrokerValue(name: string, raw: string | ConfigValue): ConfigValue {
  if (typeof raw !== 'string') return raw;
  const definition = brokerConfigByName.get(name);
  return definition === undefined ? raw : parseConfigValue(definition, raw, false);
}

/** A broker config's value in its own type, from the most specific layer that sets it. */
export function brokerConfigValue(name: string, broker: BrokerConfig): ConfigValue {
  for (const layer of brokerLayers(broker)) {
    if (layer.values.has(name)) {
      const value = typedBrokerValue(name, layer.values.get(name)!);
      if (value !== null) return value;
    }
  }
  return null;
}

/** Converts a broker synonym's value to the topic config's unit and type. */
function fromBrokerSynonym(synonym: string, value: ConfigValue, definition: ConfigDefinition): ConfigValue {
  let converted = value;
  if (synonym.endsWith('.hours')) converted = BigInt(value as number) * 3600000n;
  else if (synonym.endsWith('.minutes')) converted = BigInt(value as number) * 60000n;
  if (definition.type === 'long' && typeof converted === 'number') return BigInt(converted);
  if (definition.type === 'int' && typeof converted === 'bigint') return Number(converted);
  return converted;
}

/** Validates a topic's config overrides; throws ConfigError naming the first bad key. */
export function validateTopicConfigs(overrides: Readonly<Record<string, string | null>>): void {
  const parsed = new Map<string, ConfigValue>();
  for (const [key, value] of Object.entries(overrides)) {
    const definition = topicConfigByName.get(key);
    if (definition === undefined) throw new ConfigError(key, value, 'Unknown topic config name');
    if (value === null) throw new ConfigError(key, value, 'a value is required');
    parsed.set(key, parseConfigValue(definition, value));
  }
  // Kafka's LogConfig.validateValues: the compaction lags must not cross.
  const minLag = parsed.get('min.compaction.lag.ms') as bigint | undefined;
  const maxLag = parsed.get('max.compaction.lag.ms') as bigint | undefined;
  if ((minLag ?? 0n) > (maxLag ?? LONG_MAX)) {
    throw new ConfigError(
      'min.compaction.lag.ms',
      String(minLag),
      `conflict topic config setting min.compaction.lag.ms (${minLag}) > max.compaction.lag.ms (${maxLag ?? LONG_MAX})`,
    );
  }
}

/** Resolves one topic config value: its override, else the broker synonyms, else the default. */
export function topicConfigValue(key: string, overrides: Readonly<Record<string, string>>, broker: BrokerConfig): ConfigValue {
  const definition = topicConfigByName.get(key);
  if (definition === undefined) throw new Error(`Unknown topic configuration ${key}`);
  const override = overrides[key];
  if (override !== undefined) return parseConfigValue(definition, override, false);
  // Like KafkaConfig: the most specific synonym that is set anywhere wins (log.retention.ms
  // over .minutes over .hours), a dynamic value over a static one for the same name.
  const layers = brokerLayers(broker);
  for (const synonym of definition.brokerSynonyms) {
    for (const layer of layers) {
      if (!layer.values.has(synonym)) continue;
      const value = typedBrokerValue(synonym, layer.values.get(synonym)!);
      if (value !== null) return fromBrokerSynonym(synonym, value, definition);
    }
  }
  return definition.defaultValue;
}

const toNumber = (value: ConfigValue): number => {
  if (typeof value === 'bigint') return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  return value as number;
};

export function resolveLogConfig(overrides: Readonly<Record<string, string>>, broker: BrokerConfig): LogConfig {
  const get = (key: string) => topicConfigValue(key, overrides, broker);
  const cleanupPolicy = get('cleanup.policy') as string[];
  const segmentMs = toNumber(get('segment.ms'));
  const maxCompactionLagMs = toNumber(get('max.compaction.lag.ms'));
  const internalSegmentBytes = get('internal.segment.bytes') as number | null;
  return {
    segmentBytes: internalSegmentBytes ?? toNumber(get('segment.bytes')),
    // Kafka's LogConfig.maxSegmentMs: a compacted topic rolls by max.compaction.lag.ms too,
    // since the active segment is never cleaned.
    segmentMs: cleanupPolicy.includes('compact') && maxCompactionLagMs > 0 ? Math.min(segmentMs, maxCompactionLagMs) : segmentMs,
    segmentIndexBytes: toNumber(get('segment.index.bytes')),
    indexIntervalBytes: toNumber(get('index.interval.bytes')),
    flushMessages: toNumber(get('flush.messages')),
    flushMs: toNumber(get('flush.ms')),
    maxMessageBytes: toNumber(get('max.message.bytes')),
    messageTimestampType: get('message.timestamp.type') as LogConfig['messageTimestampType'],
    messageTimestampBeforeMaxMs: toNumber(get('message.timestamp.before.max.ms')),
    messageTimestampAfterMaxMs: toNumber(get('message.timestamp.after.max.ms')),
    cleanupPolicy,
    retentionMs: toNumber(get('retention.ms')),
    retentionBytes: toNumber(get('retention.bytes')),
    deleteRetentionMs: toNumber(get('delete.retention.ms')),
    minCompactionLagMs: toNumber(get('min.compaction.lag.ms')),
    maxCompactionLagMs,
    minCleanableDirtyRatio: get('min.cleanable.dirty.ratio') as number,
    fileDeleteDelayMs: toNumber(get('file.delete.delay.ms')),
    compressionType: get('compression.type') as LogConfig['compressionType'],
    compressionGzipLevel: get('compression.gzip.level') as number,
    compressionLz4Level: get('compression.lz4.level') as number,
    compressionZstdLevel: get('compression.zstd.level') as number,
    minInsyncReplicas: get('min.insync.replicas') as number,
  };
}

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

/**
 * Kafka's ConfigHelper.configSynonyms: the broker configs standing for `name`, layer by
 * layer (dynamic broker, dynamic default, static, default), each layer in synonym order,
 * then everything before the first entry for `name` itself dropped.
 */
function brokerSynonymEntries(name: string, synonyms: readonly string[], broker: BrokerConfig, sensitive: boolean): ConfigSynonym[] {
  const entries: ConfigSynonym[] = [];
  for (const layer of brokerLayers(broker)) {
    for (const synonym of synonyms) {
      if (!layer.values.has(synonym)) continue;
      const raw = layer.values.get(synonym)!;
      const value = typeof raw === 'string' ? raw : formatConfigValue(raw);
      if (layer.source === ConfigSource.DEFAULT_CONFIG && value === null) continue;
      entries.push({ name: synonym, value: sensitive ? null : value, source: layer.source });
    }
  }
  const first = entries.findIndex((entry) => entry.name === name);
  return first < 0 ? [] : entries.slice(first);
}

/** Every topic config (Kafka's non-internal ones, by name) with its value and its sources. */
export function describeTopicConfigs(overrides: Readonly<Record<string, string>>, broker: BrokerConfig): DescribedConfig[] {
  return topicConfigDefinitions
    .filter((definition) => definition.internal !== true)
    .map((definition) => {
      const sensitive = definition.type === 'password';
      const value = formatConfigValue(topicConfigValue(definition.name, overrides, broker));
      const synonyms: ConfigSynonym[] =
        definition.brokerSynonyms.length === 0 ? [] : brokerSynonymEntries(definition.brokerSynonyms[0]!, definition.brokerSynonyms, broker, sensitive);
      if (overrides[definition.name] !== undefined) synonyms.unshift({ name: definition.name, value, source: ConfigSource.TOPIC_CONFIG });
      return {
        name: definition.name,
        value: sensitive ? null : value,
        source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
        readOnly: false,
        isSensitive: sensitive,
        type: definition.type,
        documentation: definition.doc,
        synonyms,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Every broker config with its value. Dynamic ones (DYNAMIC_BROKER_CONFIGS) are writable;
 * the rest are static, so read-only, as in Kafka. With `defaultsOnly` (resource name ""),
 * only the cluster-wide dynamic defaults, as Kafka describes that resource.
 */
export function describeBrokerConfigs(broker: BrokerConfig, defaultsOnly = false): DescribedConfig[] {
  const dynamic = broker.dynamic ?? emptyDynamicConfigs();
  return [...brokerConfigByName.values()]
    .filter((definition) => !defaultsOnly || dynamic.clusterDefault.has(definition.name))
    .map((definition) => {
      const sensitive = definition.type === 'password';
      const synonyms = defaultsOnly
        ? [{ name: definition.name, value: dynamic.clusterDefault.get(definition.name) ?? null, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG }]
        : brokerSynonymEntries(definition.name, brokerSynonymGroup(definition.name), broker, sensitive);
      const value = defaultsOnly ? synonyms[0]!.value : formatConfigValue(brokerConfigValue(definition.name, broker));
      return {
        name: definition.name,
        value: sensitive ? null : value,
        source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
        readOnly: !DYNAMIC_BROKER_CONFIGS.has(definition.name),
        isSensitive: sensitive,
        type: definition.type,
        documentation: definition.doc,
        synonyms,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Validates dynamic broker config changes; throws ConfigError naming the first bad key. */
export function validateBrokerConfigs(changes: Readonly<Record<string, string | null>>): void {
  for (const [key, value] of Object.entries(changes)) {
    const definition = brokerConfigByName.get(key);
    if (definition === undefined) throw new ConfigError(key, value, 'Unknown broker config name');
    if (!DYNAMIC_BROKER_CONFIGS.has(key)) throw new ConfigError(key, value, `Cannot update these configs dynamically: Set(${key})`);
    if (value !== null) parseConfigValue(definition, value);
  }
}
