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
  value !== null && (typeof value === 'number' || typeof value === 'bigint') && value < min ? `Value must be at least ${min}` : undefined;

const between = (min: number, max: number) => (value: ConfigValue) =>
  typeof value === 'number' && (value < min || value > max) ? (value < min ? `Value must be at least ${min}` : `Value must be no more than ${max}`) : undefined;

const oneOf =
  (...allowed: string[]) =>
  (value: ConfigValue) => {
    const items = Array.isArray(value) ? value : [value];
    const bad = items.find((item) => typeof item !== 'string' || !allowed.includes(item));
    return bad === undefined ? undefined : `String must be one of: ${allowed.join(', ')}`;
  };

/** compression.gzip.level: 1-9, or -1 for zlib's default. */
const gzipLevel = (value: ConfigValue) => (value === -1 || (typeof value === 'number' && value >= 1 && value <= 9) ? undefined : 'Value must be between 1 and 9, or -1');

/** leader/follower.replication.throttled.replicas: "*", or partition:broker pairs. */
const throttledReplicas = (value: ConfigValue) => {
  const items = (value as string[] | null) ?? [];
  if (items.length === 1 && items[0] === '*') return undefined;
  return items.every((item) => /^\d+:\d+$/.test(item)) ? undefined : 'Value must be "*" or a list of [partitionId]:[brokerId] pairs';
};

function define(name: string, type: ConfigType, defaultValue: ConfigValue, doc: string, validate?: ConfigDefinition['validate']): ConfigDefinition {
  return validate === undefined ? { name, type, defaultValue, doc } : { name, type, defaultValue, doc, validate };
}

const CODECS = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'];

export const brokerConfigDefinitions: readonly ConfigDefinition[] = [
  define('node.id', 'int', 1, 'The node ID of this broker.', atLeast(0)),
  define('broker.id', 'int', -1, 'Legacy alias of node.id; node.id wins when both are set.'),
  define('listeners', 'list', ['PLAINTEXT://127.0.0.1:9092'], 'Comma-separated listener URIs to bind.'),
  define('advertised.listeners', 'list', null, 'Listener URIs given to clients in Metadata; defaults to listeners.'),
  define('log.dirs', 'list', null, 'Directories holding the log data; the first is used.'),
  define('log.dir', 'string', './data', 'The data directory used when log.dirs is not set.'),
  define('num.partitions', 'int', 1, 'Default partition count of auto-created topics.', atLeast(1)),
  define('default.replication.factor', 'int', 1, 'Default replication factor of auto-created topics.', atLeast(1)),
  define('broker.rack', 'string', null, 'The rack of this broker, reported in Metadata and DescribeCluster.'),
  define(
    'broker.session.timeout.ms',
    'int',
    9000,
    'A broker of a multi-process cluster that stops renewing its etcd registration (lease) for this long leaves the cluster.',
    atLeast(1000),
  ),
  define(
    'controller.socket.timeout.ms',
    'int',
    30000,
    'How long a broker of a multi-process cluster waits for etcd to take a metadata change (a topic, a config, a leader or ISR change) before it answers REQUEST_TIMED_OUT.',
    atLeast(1),
  ),
  define('replica.lag.time.max.ms', 'long', 30000n, 'A follower that has not caught up for this long leaves the ISR.'),
  define('replica.fetch.wait.max.ms', 'int', 500, 'Longest wait of a follower fetch at the leader.', atLeast(0)),
  define('replica.fetch.max.bytes', 'int', 1048576, 'Bytes a follower asks for per partition.', atLeast(0)),
  define(
    'auto.leader.rebalance.enable',
    'boolean',
    true,
    'The controller moves leadership back to the preferred replica when a broker leads too few of the partitions it prefers.',
  ),
  define('leader.imbalance.check.interval.seconds', 'long', 300n, 'How often the controller checks the leader balance.', atLeast(1n)),
  define('leader.imbalance.per.broker.percentage', 'int', 10, "The share of a broker's preferred partitions led elsewhere that triggers a preferred election.", between(0, 100)),
  // Kafka's replication quotas (kafka-reassign-partitions --throttle sets them, --verify deletes them):
  // they apply to the replicas listed in the topic configs *.replication.throttled.replicas.
  define('leader.replication.throttled.rate', 'long', LONG_MAX, 'Bytes per second a leader sends to the throttled replicas it leads, when they are out of the ISR.', atLeast(0n)),
  define('follower.replication.throttled.rate', 'long', LONG_MAX, 'Bytes per second a follower fetches for its throttled replicas, when they are out of the ISR.', atLeast(0n)),
  define('replication.quota.window.num', 'int', 11, 'Samples kept for the replication quota rates.', atLeast(1)),
  define('replication.quota.window.size.seconds', 'int', 1, 'Length of one replication quota sample.', atLeast(1)),
  define('replica.alter.log.dirs.io.max.bytes.per.second', 'long', LONG_MAX, 'Bytes per second moved between log dirs (one log dir per broker: nothing moves).', atLeast(0n)),
  define('max.request.partition.size.limit', 'int', 2000, 'The most partitions one DescribeTopicPartitions answer carries.', atLeast(1)),
  define('auto.create.topics.enable', 'boolean', true, 'Create a topic when a client asks Metadata for an unknown one.'),
  define('delete.topic.enable', 'boolean', true, 'Allow DeleteTopics; when false it answers TOPIC_DELETION_DISABLED.'),
  define('message.max.bytes', 'int', 1048588, 'Largest record batch size allowed (topic: max.message.bytes).', atLeast(0)),
  define('socket.request.max.bytes', 'int', 104857600, 'Largest request frame accepted; larger closes the connection.', atLeast(1)),
  define('connections.max.idle.ms', 'long', 600000n, 'Idle connections are closed after this many milliseconds.'),
  define('queued.max.requests', 'int', 500, 'Requests in flight per connection before reading pauses.', atLeast(1)),
  define('http.listeners', 'list', ['http://127.0.0.1:8082'], 'HTTP listener (metrics, REST, WebSocket, console) as http://host:port; empty disables it.'),
  define(
    'spate.metrics.request.hook.enable',
    'boolean',
    true,
    'Count and time every request for /metrics (requests, errors, topic bytes, request times); false leaves those series empty (Spate only).',
  ),
  define(
    'spate.http.authentication',
    'string',
    'auto',
    'HTTP Basic authentication against the SASL PLAIN and SCRAM users: basic, none, or auto (basic when authorizer.class.name is set) (Spate only).',
    oneOf('auto', 'basic', 'none'),
  ),
  define('log.segment.bytes', 'int', 1073741824, 'Size of one log segment file.', atLeast(1048576)),
  define('log.roll.ms', 'long', null, 'Roll a segment after this long; overrides log.roll.hours.'),
  define('log.roll.hours', 'int', 168, 'Roll a segment after this many hours.', atLeast(1)),
  define('log.roll.jitter.ms', 'long', null, 'Largest random jitter subtracted from the roll time; overrides log.roll.jitter.hours.'),
  define('log.roll.jitter.hours', 'int', 0, 'Largest random jitter subtracted from the roll time, in hours.', atLeast(0)),
  define('log.index.interval.bytes', 'int', 4096, 'Bytes between two offset index entries.', atLeast(0)),
  define('log.index.size.max.bytes', 'int', 10485760, 'Maximum size of an offset index file.', atLeast(4)),
  define('log.flush.interval.messages', 'long', LONG_MAX, 'Messages written before a forced fsync.', atLeast(1n)),
  define('log.flush.interval.ms', 'long', null, 'Milliseconds a message may sit unflushed; null leaves it to log.flush.scheduler.interval.ms.'),
  define('log.flush.scheduler.interval.ms', 'long', LONG_MAX, 'The flush interval used when log.flush.interval.ms is not set.'),
  define('log.retention.ms', 'long', null, 'Retention time; overrides log.retention.minutes and .hours. -1 keeps data forever.'),
  define('log.retention.minutes', 'int', null, 'Retention time in minutes; overrides log.retention.hours.'),
  define('log.retention.hours', 'int', 168, 'Retention time in hours.'),
  define('log.retention.bytes', 'long', -1n, 'Retention size per partition; -1 is unlimited.'),
  define('log.retention.check.interval.ms', 'long', 300000n, 'How often the retention policies are applied.', atLeast(1n)),
  define('log.segment.delete.delay.ms', 'long', 60000n, 'How long a deleted segment stays on disk before it is removed.', atLeast(0n)),
  define('num.recovery.threads.per.data.dir', 'int', 2, 'Threads that open and recover the logs at start and flush them at shutdown (Kafka 4 default 2).', atLeast(1)),
  define('log.flush.offset.checkpoint.interval.ms', 'int', 60000, 'How often recovery-point-offset-checkpoint is written; 0 writes it only at shutdown.', atLeast(0)),
  // Spate's own: Kafka keeps every segment's files open; Spate opens older segments on read
  // and closes the least recently used beyond this many (-1: a tenth of the open file limit).
  define('spate.log.max.open.segment.files', 'int', -1, 'Most older segment files open at once; -1 derives it from RLIMIT_NOFILE (Spate only).', atLeast(-1)),
  define('log.cleanup.policy', 'list', ['delete'], 'Default cleanup policy.', oneOf('delete', 'compact')),
  define('log.cleaner.enable', 'boolean', true, 'Run the log cleaner for compacted topics.'),
  define('log.cleaner.threads', 'int', 1, 'Log cleaner threads (one cleaner worker thread is used).', atLeast(0)),
  define('log.cleaner.backoff.ms', 'long', 15000n, 'Pause of the cleaner when no log needs cleaning.', atLeast(0n)),
  define('log.cleaner.dedupe.buffer.size', 'long', 134217728n, 'Memory for the offset map of one cleaning pass (24 bytes per key, as in Kafka).', atLeast(1024n)),
  define('log.cleaner.delete.retention.ms', 'long', 86400000n, 'Default delete.retention.ms.', atLeast(0n)),
  define('log.cleaner.min.compaction.lag.ms', 'long', 0n, 'Default min.compaction.lag.ms.', atLeast(0n)),
  define('log.cleaner.max.compaction.lag.ms', 'long', LONG_MAX, 'Default max.compaction.lag.ms.', atLeast(1n)),
  define('log.cleaner.min.cleanable.ratio', 'double', 0.5, 'Default min.cleanable.dirty.ratio.', between(0, 1)),
  define('log.preallocate', 'boolean', false, 'Default preallocate.'),
  define('log.message.timestamp.type', 'string', 'CreateTime', 'Default timestamp type.', oneOf('CreateTime', 'LogAppendTime')),
  define('log.message.timestamp.before.max.ms', 'long', LONG_MAX, 'Default message.timestamp.before.max.ms.', atLeast(0n)),
  define('log.message.timestamp.after.max.ms', 'long', 3600000n, 'Default message.timestamp.after.max.ms.', atLeast(0n)),
  define('log.local.retention.ms', 'long', -2n, 'Default local.retention.ms (tiered storage; not used).', atLeast(-2n)),
  define('log.local.retention.bytes', 'long', -2n, 'Default local.retention.bytes (tiered storage; not used).', atLeast(-2n)),
  define('compression.type', 'string', 'producer', 'Default compression of stored batches.', oneOf(...CODECS)),
  define('compression.gzip.level', 'int', -1, 'Default compression.gzip.level.', gzipLevel),
  define('compression.lz4.level', 'int', 9, 'Default compression.lz4.level.', between(1, 17)),
  define('compression.zstd.level', 'int', 3, 'Default compression.zstd.level.', between(-131072, 22)),
  define('unclean.leader.election.enable', 'boolean', false, 'Default unclean.leader.election.enable.'),
  define('fetch.max.bytes', 'int', 57671680, 'Largest fetch response the broker will assemble.', atLeast(1024)),
  define('max.incremental.fetch.session.cache.slots', 'int', 1000, 'Fetch sessions kept by the broker (KIP-227).', atLeast(0)),
  define('min.insync.replicas', 'int', 1, 'Replicas that must acknowledge an acks=all write.', atLeast(1)),
  define('producer.id.expiration.ms', 'int', 86400000, 'Idle producer IDs expire after this long.', atLeast(1)),
  define('transactional.id.expiration.ms', 'int', 604800000, 'Idle transactional IDs expire after this long.', atLeast(1)),
  define('transaction.max.timeout.ms', 'int', 900000, 'Largest transaction.timeout.ms a producer may ask for.', atLeast(1)),
  define('transaction.state.log.num.partitions', 'int', 50, 'Partitions of the __transaction_state topic.', atLeast(1)),
  define('transaction.state.log.replication.factor', 'int', 3, 'Replicas of __transaction_state in a multi-process cluster; created once this many brokers are live.', atLeast(1)),
  define('transaction.state.log.segment.bytes', 'int', 104857600, 'Segment size of the __transaction_state topic.', atLeast(1)),
  define('transaction.state.log.min.isr', 'int', 2, 'min.insync.replicas of __transaction_state (at most its replication factor).', atLeast(1)),
  define(
    'transaction.abort.timed.out.transaction.cleanup.interval.ms',
    'int',
    10000,
    'How soon a timed-out transaction whose abort could not be written is tried again.',
    atLeast(1),
  ),
  define('request.timeout.ms', 'int', 30000, 'How long a transaction coordinator waits for its writes to be replicated and for WriteTxnMarkers answers.', atLeast(0)),
  define('transaction.remove.expired.transaction.cleanup.interval.ms', 'long', 3600000n, 'How often expired transactional IDs are removed.', atLeast(1n)),
  define('cluster.id', 'string', null, 'Cluster ID; generated and kept in meta.properties when unset.'),
  define('group.initial.rebalance.delay.ms', 'int', 3000, 'Wait this long for more members before the first rebalance of an empty group.', atLeast(0)),
  define('group.min.session.timeout.ms', 'int', 6000, 'Smallest session timeout a member may ask for.', atLeast(0)),
  define('group.max.session.timeout.ms', 'int', 1800000, 'Largest session timeout a member may ask for.', atLeast(0)),
  define('group.max.size', 'int', 2147483647, 'Most members one classic group may have.', atLeast(1)),
  define('group.consumer.session.timeout.ms', 'int', 45000, 'Session timeout of KIP-848 consumer group members.', atLeast(1)),
  define('group.consumer.heartbeat.interval.ms', 'int', 5000, 'Heartbeat interval of KIP-848 consumer group members.', atLeast(1)),
  define('group.consumer.max.size', 'int', 2147483647, 'Most members one consumer (KIP-848) group may have.', atLeast(1)),
  define('group.streams.session.timeout.ms', 'int', 45000, 'Session timeout of streams group (KIP-1071) members.', atLeast(1)),
  define('group.streams.heartbeat.interval.ms', 'int', 5000, 'Heartbeat interval of streams group members.', atLeast(1)),
  define('group.streams.max.size', 'int', 2147483647, 'Most members one streams group may have.', atLeast(1)),
  define('group.streams.num.standby.replicas', 'int', 0, 'Standby replicas of each task of a streams group.', atLeast(0)),
  define(
    'group.share.record.lock.duration.ms',
    'int',
    30000,
    'How long a share group member holds the records it fetched before they are delivered again (KIP-932).',
    between(1000, 3600000),
  ),
  define('group.share.delivery.count.limit', 'int', 5, 'Deliveries of a record to share group members before it is archived.', between(2, 10)),
  define('group.share.partition.max.record.locks', 'int', 2000, 'Most in-flight records of one share-partition.', between(100, 10000)),
  define('group.share.session.timeout.ms', 'int', 45000, 'Session timeout of share group members.', atLeast(1)),
  define('group.share.heartbeat.interval.ms', 'int', 5000, 'Heartbeat interval of share group members.', atLeast(1)),
  define('group.share.max.size', 'int', 200, 'Most members one share group may have.', between(1, 1000)),
  define('group.share.max.share.sessions', 'int', 2000, 'Share sessions kept by the broker.', atLeast(1)),
  define('share.coordinator.state.topic.num.partitions', 'int', 50, 'Partitions of the __share_group_state topic.', atLeast(1)),
  define('share.coordinator.state.topic.segment.bytes', 'int', 104857600, 'Segment size of the __share_group_state topic.', atLeast(1)),
  define(
    'share.coordinator.state.topic.replication.factor',
    'int',
    3,
    'Replicas of __share_group_state (at most the brokers of a one-process cluster); created on first use.',
    atLeast(1),
  ),
  define('share.coordinator.state.topic.min.isr', 'int', 2, 'min.insync.replicas of __share_group_state (at most its replication factor).', atLeast(1)),
  define(
    'share.coordinator.snapshot.update.records.per.snapshot',
    'int',
    500,
    'ShareUpdate records the share coordinator writes between two ShareSnapshot records of a share-partition.',
    between(0, 500),
  ),
  define('share.coordinator.write.timeout.ms', 'int', 5000, 'How long a share coordinator write may wait for the in-sync replicas of __share_group_state.', atLeast(1)),
  define(
    'share.coordinator.state.topic.prune.interval.ms',
    'int',
    300000,
    'How often the share coordinator deletes the records of __share_group_state that later snapshots made redundant.',
    atLeast(1),
  ),
  define(
    'share.coordinator.cold.partition.snapshot.interval.ms',
    'int',
    300000,
    'How often the share coordinator snapshots share-partitions that were updated but not written since, so that pruning can advance.',
    atLeast(1),
  ),
  define('offsets.retention.minutes', 'int', 10080, 'Committed offsets of an empty group expire after this long.', atLeast(1)),
  define('offsets.retention.check.interval.ms', 'long', 600000n, 'How often expired offsets are looked for.', atLeast(1n)),
  define('offsets.topic.num.partitions', 'int', 50, 'Partitions of the __consumer_offsets topic.', atLeast(1)),
  define('offsets.topic.replication.factor', 'int', 3, 'Replicas of __consumer_offsets in a multi-process cluster; created once this many brokers are live.', atLeast(1)),
  define('offsets.topic.segment.bytes', 'int', 104857600, 'Segment size of the __consumer_offsets topic.', atLeast(1)),
  define('offsets.commit.timeout.ms', 'int', 5000, 'How long a group coordinator write (offset commit, group state) may wait for the in-sync replicas.', atLeast(1)),
  define('offset.metadata.max.bytes', 'int', 4096, 'Largest metadata string allowed with an offset commit.', atLeast(0)),
  // Security (src/security/): listeners' protocols, TLS, SASL, the authorizer and the
  // connection limits, with Kafka's names and defaults. Any of the ssl.* and sasl.* keys can
  // be given per listener as listener.name.<listener>.<key> (lower-case listener name).
  define(
    'listener.security.protocol.map',
    'list',
    ['PLAINTEXT:PLAINTEXT', 'SSL:SSL', 'SASL_PLAINTEXT:SASL_PLAINTEXT', 'SASL_SSL:SASL_SSL'],
    'Listener name to security protocol (NAME:PROTOCOL pairs).',
  ),
  define('ssl.keystore.type', 'string', 'JKS', 'Format of the key store: PEM or PKCS12 (JKS is not readable here).', oneOf('JKS', 'PEM', 'PKCS12')),
  define('ssl.keystore.location', 'string', null, 'Key store file: a PEM file with the private key and certificate chain, or a PKCS12 file.'),
  define('ssl.keystore.password', 'password', null, 'Password of a PKCS12 key store.'),
  define('ssl.key.password', 'password', null, 'Password of an encrypted PEM private key.'),
  define('ssl.keystore.key', 'password', null, 'The private key in PEM, given in the config itself (ssl.keystore.type=PEM).'),
  define('ssl.keystore.certificate.chain', 'password', null, 'The certificate chain in PEM, given in the config itself (ssl.keystore.type=PEM).'),
  define('ssl.truststore.type', 'string', 'JKS', 'Format of the trust store: PEM (JKS and PKCS12 are not readable here).', oneOf('JKS', 'PEM', 'PKCS12')),
  define('ssl.truststore.location', 'string', null, 'Trust store file: PEM certificates of the CAs that client certificates must chain to.'),
  define('ssl.truststore.password', 'password', null, 'Password of the trust store (unused for PEM).'),
  define('ssl.truststore.certificates', 'password', null, 'Trusted certificates in PEM, given in the config itself.'),
  define('ssl.client.auth', 'string', 'none', 'Client certificates: required, requested or none.', oneOf('required', 'requested', 'none')),
  define('ssl.enabled.protocols', 'list', ['TLSv1.2', 'TLSv1.3'], 'TLS versions accepted.', oneOf('TLSv1.2', 'TLSv1.3')),
  define('ssl.protocol', 'string', 'TLSv1.3', 'Highest TLS version offered.'),
  define('ssl.cipher.suites', 'list', [], 'OpenSSL cipher list for TLS 1.2; empty is the default list.'),
  define(
    'ssl.principal.mapping.rules',
    'string',
    'DEFAULT',
    'Mapping of a certificate subject to a principal; only DEFAULT (the full RFC 2253 name) is supported.',
    oneOf('DEFAULT'),
  ),
  define('sasl.enabled.mechanisms', 'list', ['GSSAPI'], 'SASL mechanisms offered on SASL listeners (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER; GSSAPI is not supported).'),
  define('sasl.jaas.config', 'password', null, 'JAAS login module options; PLAIN users as user_<name>="<password>", OAUTHBEARER unsecuredValidator* options.'),
  define('sasl.server.callback.handler.class', 'string', null, 'OAUTHBEARER: OAuthBearerValidatorCallbackHandler validates signed JWTs; unset, unsecured tokens are accepted.'),
  define('sasl.oauthbearer.jwks.endpoint.url', 'string', null, 'OAUTHBEARER: the JWKS with the keys that sign tokens, as a file: URL.'),
  define('sasl.oauthbearer.expected.audience', 'list', [], 'OAUTHBEARER: audiences of which a token must name one (empty: not checked).'),
  define('sasl.oauthbearer.expected.issuer', 'string', null, 'OAUTHBEARER: the issuer a token must name (unset: not checked).'),
  define('sasl.oauthbearer.sub.claim.name', 'string', 'sub', 'OAUTHBEARER: the claim holding the principal name.'),
  define('sasl.oauthbearer.scope.claim.name', 'string', 'scope', 'OAUTHBEARER: the claim holding the scope.'),
  define('sasl.oauthbearer.clock.skew.seconds', 'int', 30, 'OAUTHBEARER: tolerated clock difference when checking exp and nbf.', atLeast(0)),
  define('sasl.oauthbearer.jwks.endpoint.refresh.ms', 'long', 3600000n, 'Accepted for compatibility; a JWKS file is read again whenever it changes.', atLeast(0n)),
  define('sasl.server.max.receive.size', 'int', 524288, 'Largest SASL token accepted before authentication.', atLeast(1)),
  define('connections.max.reauth.ms', 'long', 0n, 'Session lifetime of a SASL authentication (KIP-368); 0 is unlimited.', atLeast(0n)),
  define('authorizer.class.name', 'string', '', 'The authorizer: empty for none, or org.apache.kafka.metadata.authorizer.StandardAuthorizer.'),
  define('super.users', 'string', '', 'Principals allowed everything, separated by semicolons (User:admin;User:CN=broker).'),
  define('allow.everyone.if.no.acl.found', 'boolean', false, 'Allow an operation on a resource that has no ACL at all.'),
  define('max.connections', 'int', 2147483647, 'Most connections the broker accepts at once; more are closed at once.', atLeast(0)),
  define('max.connections.per.ip', 'int', 2147483647, 'Most connections from one address.', atLeast(0)),
  define('max.connections.per.ip.overrides', 'string', '', 'Per-address limits: host:count pairs separated by commas.'),
  // Spate's own (Kafka has no such limits): how long a request frame may take to arrive,
  // and how long a SASL or TLS connection may take to authenticate, so that a client sending
  // one byte a second is closed long before connections.max.idle.ms.
  define('spate.request.read.timeout.ms', 'int', 30000, 'A request frame must arrive whole within this time; 0 disables (Spate only).', atLeast(0)),
  define('spate.authentication.timeout.ms', 'int', 30000, 'TLS handshake and SASL authentication must finish within this time; 0 disables (Spate only).', atLeast(0)),
  define('quota.window.num', 'int', 11, 'Samples kept for client quota rates.', atLeast(1)),
  define('quota.window.size.seconds', 'int', 1, 'Length of one client quota sample.', atLeast(1)),
  define('controller.quota.window.num', 'int', 11, 'Samples of the controller mutation rate quota (KIP-599): the burst is rate x samples x window.', atLeast(1)),
  define('controller.quota.window.size.seconds', 'int', 1, 'Length of one controller mutation quota sample.', atLeast(1)),
  define('queued.max.request.bytes', 'long', -1n, 'Most request bytes read but not yet answered, across all connections; -1 is unlimited.', atLeast(-1n)),
];

export interface TopicConfigDefinition extends ConfigDefinition {
  /**
   * The broker configs it falls back to, most specific first, as Kafka's
   * DynamicBrokerConfig.brokerConfigSynonyms lists them (log.retention.ms, .minutes, .hours).
   */
  readonly brokerSynonyms: readonly string[];
  /** Accepted and described, but left out of DescribeConfigs (Kafka's internal configs). */
  readonly internal?: boolean;
  /** Accepted and described with Kafka's default, but without effect on one node. */
  readonly inert?: boolean;
}

function topic(definition: ConfigDefinition, brokerSynonyms: readonly string[] = [], flags: { internal?: boolean; inert?: boolean } = {}): TopicConfigDefinition {
  return { ...definition, brokerSynonyms, ...flags };
}

/** Kafka 4.3's topic configs (LogConfig), with its names, types, defaults and validators. */
export const topicConfigDefinitions: readonly TopicConfigDefinition[] = [
  topic(
    define(
      'cleanup.policy',
      'list',
      ['delete'],
      'delete: old segments are removed by retention.ms and retention.bytes; compact: the cleaner keeps the last record of each key; both can be set.',
      oneOf('compact', 'delete'),
    ),
    ['log.cleanup.policy'],
  ),
  topic(define('compression.gzip.level', 'int', -1, 'Level used when compression.type is gzip.', gzipLevel), ['compression.gzip.level']),
  topic(define('compression.lz4.level', 'int', 9, 'Level used when compression.type is lz4 (the lz4 library in use has one level).', between(1, 17)), ['compression.lz4.level']),
  topic(
    define(
      'compression.type',
      'string',
      'producer',
      'The codec of stored batches: producer keeps what the producer sent, a codec name recompresses every batch with it, uncompressed stores them decompressed.',
      oneOf(...CODECS),
    ),
    ['compression.type'],
  ),
  topic(define('compression.zstd.level', 'int', 3, 'Level used when compression.type is zstd.', between(-131072, 22)), ['compression.zstd.level']),
  topic(
    define(
      'delete.retention.ms',
      'long',
      86400000n,
      'How long a tombstone of a compacted topic stays readable after the cleaner first sees it (KIP-534 delete horizon).',
      atLeast(0n),
    ),
    ['log.cleaner.delete.retention.ms'],
  ),
  topic(define('file.delete.delay.ms', 'long', 60000n, 'How long a deleted segment stays on disk (renamed .deleted) before it is removed.', atLeast(0n)), [
    'log.segment.delete.delay.ms',
  ]),
  topic(define('flush.messages', 'long', LONG_MAX, 'Force an fsync after this many messages.', atLeast(1n)), ['log.flush.interval.messages']),
  topic(define('flush.ms', 'long', LONG_MAX, 'Force an fsync when this long passed since the last one.', atLeast(0n)), [
    'log.flush.interval.ms',
    'log.flush.scheduler.interval.ms',
  ]),
  topic(
    define(
      'follower.replication.throttled.replicas',
      'list',
      [],
      'Replicas ([partition]:[broker], or *) whose follower fetches are throttled by follower.replication.throttled.rate while out of the ISR.',
      throttledReplicas,
    ),
  ),
  topic(define('index.interval.bytes', 'int', 4096, 'Bytes of batches between two offset index entries.', atLeast(0)), ['log.index.interval.bytes']),
  topic(
    define(
      'leader.replication.throttled.replicas',
      'list',
      [],
      'Replicas ([partition]:[broker], or *) whose leader serves out-of-ISR followers at most leader.replication.throttled.rate.',
      throttledReplicas,
    ),
  ),
  topic(
    define('local.retention.bytes', 'long', -2n, 'Local retention size with tiered storage (-2: retention.bytes); tiered storage is not supported.', atLeast(-2n)),
    ['log.local.retention.bytes'],
    { inert: true },
  ),
  topic(
    define('local.retention.ms', 'long', -2n, 'Local retention time with tiered storage (-2: retention.ms); tiered storage is not supported.', atLeast(-2n)),
    ['log.local.retention.ms'],
    { inert: true },
  ),
  topic(define('max.compaction.lag.ms', 'long', LONG_MAX, 'Longest time a record may stay uncompacted; older dirty segments are cleaned whatever the dirty ratio.', atLeast(1n)), [
    'log.cleaner.max.compaction.lag.ms',
  ]),
  topic(define('max.message.bytes', 'int', 1048588, 'Largest record batch accepted, after compression.', atLeast(0)), ['message.max.bytes']),
  topic(define('message.timestamp.after.max.ms', 'long', 3600000n, 'How far in the future a CreateTime timestamp may be.', atLeast(0n)), ['log.message.timestamp.after.max.ms']),
  topic(define('message.timestamp.before.max.ms', 'long', LONG_MAX, 'How far in the past a CreateTime timestamp may be.', atLeast(0n)), ['log.message.timestamp.before.max.ms']),
  topic(
    define(
      'message.timestamp.type',
      'string',
      'CreateTime',
      "CreateTime keeps the producer's timestamps; LogAppendTime stamps each batch with the broker's clock.",
      oneOf('CreateTime', 'LogAppendTime'),
    ),
    ['log.message.timestamp.type'],
  ),
  topic(define('min.cleanable.dirty.ratio', 'double', 0.5, 'Share of uncompacted bytes that makes the cleaner compact the log.', between(0, 1)), [
    'log.cleaner.min.cleanable.ratio',
  ]),
  topic(define('min.compaction.lag.ms', 'long', 0n, 'Shortest time a record stays uncompacted.', atLeast(0n)), ['log.cleaner.min.compaction.lag.ms']),
  topic(define('min.insync.replicas', 'int', 1, 'Replicas that must acknowledge acks=all; one node is always enough for 1.', atLeast(1)), ['min.insync.replicas']),
  topic(define('preallocate', 'boolean', false, 'Preallocate segment files (accepted; segments grow as written).'), ['log.preallocate'], { inert: true }),
  topic(define('remote.log.copy.disable', 'boolean', false, 'Tiered storage: stop copying segments; not supported.'), [], { inert: true }),
  topic(define('remote.log.delete.on.disable', 'boolean', false, 'Tiered storage: delete remote data when disabled; not supported.'), [], { inert: true }),
  topic(
    define('remote.storage.enable', 'boolean', false, 'Tiered storage; not supported, so it can only be false.', (value) =>
      value === true ? 'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.' : undefined,
    ),
    [],
    { inert: true },
  ),
  topic(define('retention.bytes', 'long', -1n, 'Largest size of a partition before its oldest segments are deleted; -1 is unlimited.'), ['log.retention.bytes']),
  topic(define('retention.ms', 'long', 604800000n, 'Age after which a segment is deleted; -1 keeps data forever.', atLeast(-1n)), [
    'log.retention.ms',
    'log.retention.minutes',
    'log.retention.hours',
  ]),
  topic(define('segment.bytes', 'int', 1073741824, 'Size of one segment file.', atLeast(1048576)), ['log.segment.bytes']),
  topic(define('segment.index.bytes', 'int', 10485760, 'Preallocated size of the offset and time indexes of the active segment.', atLeast(4)), ['log.index.size.max.bytes']),
  topic(define('segment.jitter.ms', 'long', 0n, 'Largest random jitter subtracted from segment.ms (not applied: segments roll at segment.ms).', atLeast(0n)), [
    'log.roll.jitter.ms',
    'log.roll.jitter.hours',
  ]),
  topic(define('segment.ms', 'long', 604800000n, 'Roll the active segment after this long.', atLeast(1n)), ['log.roll.ms', 'log.roll.hours']),
  topic(
    define('unclean.leader.election.enable', 'boolean', false, 'Allow an out-of-sync replica to become leader; one node has no other replica.'),
    ['unclean.leader.election.enable'],
    { inert: true },
  ),
  // Kafka's test hook (LogConfig.INTERNAL_SEGMENT_BYTES_CONFIG): smaller segments than
  // segment.bytes allows; accepted but never listed.
  topic(define('internal.segment.bytes', 'int', null, 'Segment size below the 1 MiB minimum of segment.bytes, for tests.', atLeast(14)), [], { internal: true }),
];

export const brokerConfigByName = new Map(brokerConfigDefinitions.map((d) => [d.name, d]));
export const topicConfigByName = new Map(topicConfigDefinitions.map((d) => [d.name, d]));

/**
 * Parses one textual value per its definition; throws with a message naming the key.
 * `validate: false` only parses (values stored earlier are resolved as they were accepted).
 */
export function parseConfigValue(definition: ConfigDefinition, raw: string | null, validate = true): ConfigValue {
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
  const problem = validate ? definition.validate?.(value) : undefined;
  if (problem !== undefined) throw new ConfigError(definition.name, raw, problem);
  return value;
}

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly value: string | null,
    reason: string,
  ) {
    super(`Invalid value ${value} for configuration ${key}: ${reason}`);
    this.name = 'ConfigError';
  }
}
