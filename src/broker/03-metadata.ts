// Metadata, v0-13: the live brokers, cluster ID, controller, topics with their IDs (v10+) and
// partitions with leader, leader epoch, replicas, ISR and offline replicas, all from the
// cluster metadata (a partition without a live leader answers LEADER_NOT_AVAILABLE). Unknown topics are created when auto.create.topics.enable is on and the
// request allows it (v4+ flag; always allowed before v4), and answered at once with their
// partitions rather than with LEADER_NOT_AVAILABLE, since creation here is synchronous.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type MetadataRequest, type MetadataResponse, type MetadataResponseTopic } from '../protocol/generated/index.js';
import { type Topic } from '../log/log-manager.js';
import { defineHandler } from './api-handler.js';
import { type BrokerState } from './broker-state.js';
import { createTopic } from './topic-creation.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE, topicResource } from '../security/security-manager.js';

/** "Operations not requested" in Kafka's authorized-operations fields. */
const NO_OPERATIONS = -2147483648;

export function describeTopic(broker: BrokerState, topic: Topic, _version: number): MetadataResponseTopic {
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.id,
    isInternal: topic.internal,
    partitions: topic.partitions.map((_, index) => {
      const view = broker.replicas.describePartition(topic.name, index);
      return {
        errorCode: view === undefined || view.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
        partitionIndex: index,
        leaderId: view?.leader ?? -1,
        leaderEpoch: view?.leaderEpoch ?? -1,
        replicaNodes: [...(view?.replicas ?? [])],
        isrNodes: [...(view?.isr ?? [])],
        offlineReplicas: [...(view?.offlineReplicas ?? [])],
      };
    }),
    topicAuthorizedOperations: NO_OPERATIONS,
  };
}

/** The live brokers with their first endpoint (this broker alone while it registers). */
export function clusterBrokers(broker: BrokerState, listener?: string): Array<{ nodeId: number; host: string; port: number; rack: string | null }> {
  const registered = broker.replicas.metadata.brokers().flatMap((entry) => {
    const endpoint = entry.endpoints.find((candidate) => candidate.listener === listener) ?? entry.endpoints[0];
    return endpoint === undefined ? [] : [{ nodeId: entry.nodeId, host: endpoint.host, port: endpoint.port, rack: entry.rack }];
  });
  if (registered.length > 0) return registered;
  const own = broker.advertised.find((endpoint) => endpoint.listener === listener) ?? broker.advertised[0];
  return own === undefined ? [] : [{ nodeId: broker.nodeId, host: own.host, port: own.port, rack: null }];
}

function errorTopic(name: string | null, topicId: Buffer, errorCode: number): MetadataResponseTopic {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: NO_OPERATIONS };
}

export const metadataHandler = defineHandler<MetadataRequest, MetadataResponse>({
  apiKey: 3,
  minVersion: 0,
  maxVersion: 13,
  async handle(request, context) {
    const { broker, apiVersion } = context;
    const topics: MetadataResponseTopic[] = [];
    // Who may see what (Kafka's KafkaApis.handleTopicMetadataRequest): listing all topics
    // quietly leaves out those the principal may not DESCRIBE; a named one answers
    // TOPIC_AUTHORIZATION_FAILED; auto-creation needs CREATE on the cluster or the topic.
    const mayDescribe = (name: string) => context.authorize(AclOperation.DESCRIBE, topicResource(name));
    const described = (topic: Topic) => {
      const answer = describeTopic(broker, topic, apiVersion);
      if (request.includeTopicAuthorizedOperations === true) answer.topicAuthorizedOperations = context.authorizedOperations(topicResource(topic.name));
      return answer;
    };
    // v0: an empty list means all topics; v1+: null means all topics.
    const all = request.topics === null || (apiVersion === 0 && request.topics.length === 0);
    if (all) {
      for (const topic of broker.logs.allTopics()) if (mayDescribe(topic.name)) topics.push(described(topic));
    } else {
      const allowCreate = broker.config.autoCreateTopics && (apiVersion < 4 || request.allowAutoTopicCreation !== false);
      for (const wanted of request.topics!) {
        if (wanted.name === null || wanted.name === undefined) {
          const topic = wanted.topicId !== undefined ? broker.logs.topicById(wanted.topicId) : undefined;
          if (topic !== undefined && !mayDescribe(topic.name)) topics.push(errorTopic(null, wanted.topicId ?? ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
          else topics.push(topic !== undefined ? described(topic) : errorTopic(null, wanted.topicId ?? ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_ID));
          continue;
        }
        if (!mayDescribe(wanted.name)) {
          topics.push(errorTopic(wanted.name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
          continue;
        }
        let topic = broker.logs.topic(wanted.name);
        if (
          topic === undefined &&
          allowCreate &&
          !context.authorize(AclOperation.CREATE, CLUSTER_RESOURCE) &&
          !context.authorize(AclOperation.CREATE, topicResource(wanted.name))
        ) {
          topics.push(errorTopic(wanted.name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
          continue;
        }
        if (topic === undefined && allowCreate) {
          try {
            topic = await createTopic(broker, { name: wanted.name, numPartitions: -1, replicationFactor: -1 });
          } catch (error) {
            const code = error instanceof KafkaError ? error.kafkaCode : ErrorCode.UNKNOWN_SERVER_ERROR;
            topics.push(errorTopic(wanted.name, ZERO_UUID, code === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.LEADER_NOT_AVAILABLE : code));
            continue;
          }
        }
        topics.push(topic !== undefined ? described(topic) : errorTopic(wanted.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      }
    }
    return {
      throttleTimeMs: 0,
      // The endpoints of the listener the request came in on, as Kafka answers.
      brokers: clusterBrokers(broker, context.connection.security.listener.name).map((entry) => ({ nodeId: entry.nodeId, host: entry.host, port: entry.port, rack: entry.rack })),
      clusterId: broker.clusterId,
      controllerId: broker.replicas.metadata.controllerId >= 0 ? broker.replicas.metadata.controllerId : broker.nodeId,
      topics,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations === true ? context.authorizedOperations(CLUSTER_RESOURCE) : NO_OPERATIONS,
      errorCode: ErrorCode.NONE,
    };
  },
});
