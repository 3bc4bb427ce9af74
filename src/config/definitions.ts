// Config definitions with Kafka's names, types and defaults. One table for the broker, one
// for topics; each topic config names the broker config it falls back to, as Kafka's
// LogConfig does (segment.bytes <- log.segment.bytes).

export type ConfigType = 'boolean' | 'int' | 'long' | 'double' | 'string' | 'list' | 'password';
export type ConfigValue = boolean | number | bigint | string | string[] | null;

export interface ConfigDefinition {
  readonly name: string;
  readonly type: ConfigType;
  /** null means "no default" (Kafka's `null` default). */
  readonly defaultValue: ConfigValue;
  readonly doc: string;
  /** Returns an error message, or undefined when the value is acceptable. */
  readonly validate?: (value: ConfigValue) => string | undefined;
}

const LONG_MAX = 9223372036854775807n;

const atLeast = (min: number | bigint) => (value: ConfigValue) =>
  value !== null && (typeof value === 'number' || typeof value === 'bigint') && value < min
    ? `must be at least ${min}`
    : undefined;

const between = (min: number, max: number) => (value: ConfigValue) =>
  typeof value === 'number' && (value < min || value > max) ? `must be between ${min} and ${max}` : undefined;

const oneOf = (...allowed: string[]) => (value: ConfigValue) => {
  const items = Array.isArray(value) ? value : [value];
  const bad = items.find((item) => typeof item !== 'string' || !allowed.includes(item));
  return bad === undefined ? undefined : `must be one of ${allowed.join(', ')} (got ${String(bad)})`;
};

function define(
  name: string,
  type: ConfigType,
  defaultValue: ConfigValue,
  doc: string,
  validate?: ConfigDefinition['validate'],
): ConfigDefinition {
  return validate === undefined ? { name, type, defaultValue, doc } : { name, type, defaultValue, doc, validate };
}

export const brokerConfigDefinitions: readonly ConfigDefinition[] = [
  define('node.id', 'int', 1, 'The node ID of this broker.', atLeast(0)),
  define('broker.id', 'int', -1, 'Legacy alias of node.id; node.id wins when both are set.'),
  define('listeners', 'list', ['PLAINTEXT://127.0.0.1:9092'], 'Comma-separated listener URIs to bind.'),
  define('advertised.listeners', 'list', null, 'Listener URIs given to clients in Metadata; defaults to listeners.'),
  define('log.dirs', 'list', null, 'Directories holding the log data; the first is used.'),
  define('log.dir', 'string', './data', 'The data directory used when log.dirs is not set.'),
  define('num.partitions', 'int', 1, 'Default partition count of auto-created topics.', atLeast(1)),
  define('default.replication.factor', 'int', 1, 'Default replication factor of auto-created topics.', atLeast(1)),
  define('auto.create.topics.enable', 'boolean', true, 'Create a topic when a client asks Metadata for an unknown one.'),
  define('message.max.bytes', 'int', 1048588, 'Largest record batch size allowed (topic: max.message.bytes).', atLeast(0)),
  define('socket.request.max.bytes', 'int', 104857600, 'Largest request frame accepted; larger closes the connection.', atLeast(1)),
  define('connections.max.idle.ms', 'long', 600000n, 'Idle connections are closed after this many milliseconds.'),
  define('queued.max.requests', 'int', 500, 'Requests in flight per connection before reading pauses.', atLeast(1)),
  define('log.segment.bytes', 'int', 1073741824, 'Size of one log segment file.', atLeast(14)),
  define('log.roll.ms', 'long', null, 'Roll a segment after this long; overrides log.roll.hours.'),
  define('log.roll.hours', 'int', 168, 'Roll a segment after this many hours.', atLeast(1)),
  define('log.index.interval.bytes', 'int', 4096, 'Bytes between two offset index entries.', atLeast(0)),
  define('log.index.size.max.bytes', 'int', 10485760, 'Maximum size of an offset index file.', atLeast(4)),
  define('log.flush.interval.messages', 'long', LONG_MAX, 'Messages written before a forced fsync.', atLeast(1n)),
  define('log.flush.interval.ms', 'long', null, 'Milliseconds a message may sit unflushed; null leaves it to the page cache.'),
  define('log.retention.ms', 'long', null, 'Retention time; overrides log.retention.minutes and .hours.'),
  define('log.retention.minutes', 'int', null, 'Retention time in minutes.'),
  define('log.retention.hours', 'int', 168, 'Retention time in hours.'),
  define('log.retention.bytes', 'long', -1n, 'Retention size per partition; -1 is unlimited.'),
  define('log.cleanup.policy', 'list', ['delete'], 'Default cleanup policy.', oneOf('delete', 'compact')),
  define('log.message.timestamp.type', 'string', 'CreateTime', 'Default timestamp type.', oneOf('CreateTime', 'LogAppendTime')),
  define('compression.type', 'string', 'producer', 'Default compression of stored batches.', oneOf('uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer')),
  define('fetch.max.bytes', 'int', 57671680, 'Largest fetch response the broker will assemble.', atLeast(1024)),
  define('max.incremental.fetch.session.cache.slots', 'int', 1000, 'Fetch sessions kept by the broker (KIP-227).', atLeast(0)),
  define('min.insync.replicas', 'int', 1, 'Replicas that must acknowledge an acks=all write.', atLeast(1)),
  define('producer.id.expiration.ms', 'int', 86400000, 'Idle producer IDs expire after this long.', atLeast(1)),
  define('transactional.id.expiration.ms', 'int', 604800000, 'Idle transactional IDs expire after this long.', atLeast(1)),
  define('cluster.id', 'string', null, 'Cluster ID; generated and kept in meta.properties when unset.'),
  define('group.initial.rebalance.delay.ms', 'int', 3000, 'Wait this long for more members before the first rebalance of an empty group.', atLeast(0)),
  define('group.min.session.timeout.ms', 'int', 6000, 'Smallest session timeout a member may ask for.', atLeast(0)),
  define('group.max.session.timeout.ms', 'int', 1800000, 'Largest session timeout a member may ask for.', atLeast(0)),
  define('group.max.size', 'int', 2147483647, 'Most members one classic group may have.', atLeast(1)),
  define('group.consumer.session.timeout.ms', 'int', 45000, 'Session timeout of KIP-848 consumer group members.', atLeast(1)),
  define('group.consumer.heartbeat.interval.ms', 'int', 5000, 'Heartbeat interval of KIP-848 consumer group members.', atLeast(1)),
  define('offsets.retention.minutes', 'int', 10080, 'Committed offsets of an empty group expire after this long.', atLeast(1)),
  define('offsets.retention.check.interval.ms', 'long', 600000n, 'How often expired offsets are looked for.', atLeast(1n)),
  define('offsets.topic.num.partitions', 'int', 50, 'Partitions of the __consumer_offsets topic.', atLeast(1)),
  define('offsets.topic.segment.bytes', 'int', 104857600, 'Segment size of the __consumer_offsets topic.', atLeast(1)),
  define('offset.metadata.max.bytes', 'int', 4096, 'Largest metadata string allowed with an offset commit.', atLeast(0)),
];

export const topicConfigDefinitions: readonly (ConfigDefinition & { readonly brokerSynonym?: string })[] = [
  { ...define('cleanup.policy', 'list', ['delete'], 'delete or compact or both.', oneOf('delete', 'compact')), brokerSynonym: 'log.cleanup.policy' },
  { ...define('compression.type', 'string', 'producer', 'Final compression of the topic.', oneOf('uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer')), brokerSynonym: 'compression.type' },
  { ...define('max.message.bytes', 'int', 1048588, 'Largest record batch size allowed.', atLeast(0)), brokerSynonym: 'message.max.bytes' },
  { ...define('segment.bytes', 'int', 1073741824, 'Segment file size.', atLeast(14)), brokerSynonym: 'log.segment.bytes' },
  { ...define('segment.ms', 'long', 604800000n, 'Roll a segment after this long.', atLeast(1n)), brokerSynonym: 'log.roll.ms' },
  { ...define('segment.index.bytes', 'int', 10485760, 'Offset index size.', atLeast(4)), brokerSynonym: 'log.index.size.max.bytes' },
  { ...define('index.interval.bytes', 'int', 4096, 'Bytes between offset index entries.', atLeast(0)), brokerSynonym: 'log.index.interval.bytes' },
  { ...define('flush.messages', 'long', LONG_MAX, 'Messages written before an fsync.', atLeast(1n)), brokerSynonym: 'log.flush.interval.messages' },
  { ...define('flush.ms', 'long', LONG_MAX, 'Milliseconds before an fsync.', atLeast(0n)), brokerSynonym: 'log.flush.interval.ms' },
  { ...define('retention.ms', 'long', 604800000n, 'Retention time; -1 is unlimited.', atLeast(-1n)), brokerSynonym: 'log.retention.ms' },
  { ...define('retention.bytes', 'long', -1n, 'Retention size; -1 is unlimited.'), brokerSynonym: 'log.retention.bytes' },
  { ...define('message.timestamp.type', 'string', 'CreateTime', 'CreateTime or LogAppendTime.', oneOf('CreateTime', 'LogAppendTime')), brokerSynonym: 'log.message.timestamp.type' },
  { ...define('min.insync.replicas', 'int', 1, 'Replicas that must acknowledge acks=all.', atLeast(1)), brokerSynonym: 'min.insync.replicas' },
  define('delete.retention.ms', 'long', 86400000n, 'How long tombstones are kept on compacted topics.', atLeast(0n)),
  define('min.compaction.lag.ms', 'long', 0n, 'Minimum age before a record may be compacted.', atLeast(0n)),
  define('max.compaction.lag.ms', 'long', LONG_MAX, 'Maximum age before a record must be compacted.', atLeast(1n)),
  define('min.cleanable.dirty.ratio', 'double', 0.5, 'Dirty ratio that triggers compaction.', between(0, 1)),
  define('file.delete.delay.ms', 'long', 60000n, 'Delay before a deleted segment is removed.', atLeast(0n)),
  define('message.timestamp.before.max.ms', 'long', LONG_MAX, 'Maximum age of a record timestamp.', atLeast(0n)),
  define('message.timestamp.after.max.ms', 'long', 3600000n, 'Maximum future skew of a record timestamp.', atLeast(0n)),
  define('unclean.leader.election.enable', 'boolean', false, 'Allow unclean leader election.'),
  define('preallocate', 'boolean', false, 'Preallocate segment files.'),
];

export const brokerConfigByName = new Map(brokerConfigDefinitions.map((d) => [d.name, d]));
export const topicConfigByName = new Map(topicConfigDefinitions.map((d) => [d.name, d]));

/** Parses one textual value per its definition; throws with a message naming the key. */
export function parseConfigValue(definition: ConfigDefinition, raw: string | null): ConfigValue {
  if (raw === null) return null;
  const text = raw.trim();
  let value: ConfigValue;
  switch (definition.type) {
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new ConfigError(definition.name, raw, 'expected true or false');
      value = text === 'true';
      break;
    case 'int': {
      if (!/^[-+]?\d+$/.test(text)) throw new ConfigError(definition.name, raw, 'expected an integer');
      const parsed = Number(text);
      if (parsed < -2147483648 || parsed > 2147483647) throw new ConfigError(definition.name, raw, 'out of int32 range');
      value = parsed;
      break;
    }
    case 'long': {
      if (!/^[-+]?\d+$/.test(text)) throw new ConfigError(definition.name, raw, 'expected an integer');
      const parsed = BigInt(text);
      if (parsed < -LONG_MAX - 1n || parsed > LONG_MAX) throw new ConfigError(definition.name, raw, 'out of int64 range');
      value = parsed;
      break;
    }
    case 'double': {
      const parsed = Number(text);
      if (text === '' || Number.isNaN(parsed)) throw new ConfigError(definition.name, raw, 'expected a number');
      value = parsed;
      break;
    }
    case 'list':
      value = text === '' ? [] : text.split(',').map((item) => item.trim());
      break;
    default:
      value = raw;
  }
  const problem = definition.validate?.(value);
  if (problem !== undefined) throw new ConfigError(definition.name, raw, problem);
  return value;
}

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly value: string | null,
    reason: string,
  ) {
    super(`Invalid value ${JSON.stringify(value)} for configuration ${key}: ${reason}`);
    this.name = 'ConfigError';
  }
}
