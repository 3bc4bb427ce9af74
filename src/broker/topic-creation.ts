// Topic creation as CreateTopics and Metadata auto-creation both need it: Kafka's checks
// (name, collisions, partitions, replication factor against the registered brokers, explicit
// assignments, configs) in Kafka's order, with Kafka's error codes and messages. The topic is
// created through the replica layer, so every broker of a cluster gets its replicas.

import { ConfigError } from '../config/definitions.js';
import { validateTopicConfigs } from '../config/topic-config.js';
import { newTopicId, topicNameProblem, type Topic } from '../log/log-manager.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type BrokerState } from './broker-state.js';

export interface TopicRequest {
  readonly name: string;
  /** -1 takes num.partitions. */
  readonly numPartitions: number;
  /** -1 takes default.replication.factor. */
  readonly replicationFactor: number;
  readonly assignments?: ReadonlyArray<{ partitionIndex: number; brokerIds: number[] }>;
  readonly configs?: Readonly<Record<string, string | null>>;
}

export interface ValidatedTopic {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  /** The replica set of each partition, preferred leader first. */
  readonly replicas: number[][];
  readonly configs: Readonly<Record<string, string>>;
}

/** Checks a topic request; throws KafkaError with the code Kafka answers. */
export function validateTopicRequest(broker: BrokerState, request: TopicRequest): ValidatedTopic {
  const problem = topicNameProblem(request.name);
  if (problem !== undefined) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
  if (broker.logs.topic(request.name) !== undefined) {
    throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${request.name}' already exists.`);
  }
  const collision = broker.logs.collidingTopic(request.name);
  if (collision !== undefined) {
    throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${request.name}' collides with existing topic: ${collision}`);
  }
  let numPartitions = request.numPartitions;
  let replicationFactor = request.replicationFactor;
  const assignments = request.assignments ?? [];
  if (assignments.length > 0) {
    if (numPartitions !== -1 || replicationFactor !== -1) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
    }
    const seen = new Set<number>();
    for (const assignment of assignments) {
      if (assignment.partitionIndex !== seen.size || seen.has(assignment.partitionIndex)) {
        throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be a consecutive 0-based integer sequence');
      }
      seen.add(assignment.partitionIndex);
    }
    numPartitions = assignments.length;
    replicationFactor = assignments[0]!.brokerIds.length;
  }
  if (numPartitions === -1) numPartitions = broker.config.numPartitions;
  if (replicationFactor === -1) replicationFactor = broker.config.defaultReplicationFactor;
  if (numPartitions <= 0) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
  if (replicationFactor <= 0) {
    throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
  }
  const replicas = broker.replicas.assign(
    request.name,
    0,
    numPartitions,
    replicationFactor,
    assignments.length > 0 ? assignments.map((assignment) => assignment.brokerIds) : undefined,
  );
  broker.logs.checkCapacity(numPartitions, ErrorCode.POLICY_VIOLATION);
  const configs = request.configs ?? {};
  try {
    validateTopicConfigs(configs);
  } catch (error) {
    if (error instanceof ConfigError) throw new KafkaError(ErrorCode.INVALID_CONFIG, error.message);
    throw error;
  }
  return { name: request.name, numPartitions, replicationFactor, replicas, configs: configs as Record<string, string> };
}

/**
 * Creates a topic; resolves once topics.json lists it. `durable: false` resolves before,
 * for a caller that creates several and then awaits broker.logs.metadataWritten() once
 * (the log manager writes topics.json once for all of them).
 */
export async function createTopic(broker: BrokerState, request: TopicRequest, options: { durable?: boolean } = {}): Promise<Topic> {
  const validated = validateTopicRequest(broker, request);
  const topic = await broker.replicas.createTopic(validated.name, validated.numPartitions, validated.replicationFactor, validated.replicas, validated.configs, newTopicId());
  if (options.durable !== false) await broker.logs.metadataWritten();
  broker.logger.info(
    `Created topic ${topic.name} with ${validated.numPartitions} partition(s)` + (validated.replicationFactor > 1 ? ` and replication factor ${validated.replicationFactor}` : ''),
  );
  return topic;
}
