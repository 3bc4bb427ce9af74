// Spate as a library: start and stop brokers inside a Node process.

export { SpateBroker, startBroker, type BrokerOptions } from './server/broker-server.js';
export { type BrokerConfig } from './config/broker-config.js';
export { createLogger, type Logger, type LogLevel } from './logger.js';
export { SpateCluster, startCluster, type ClusterOptions } from './cluster/cluster.js';
export { InProcessMetadataStore, type MetadataStore, type MetadataEvent } from './cluster/metadata-store.js';
export { type BrokerRegistration, type PartitionState, type TopicAssignment } from './cluster/metadata.js';
