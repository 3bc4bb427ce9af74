// DescribeTopicPartitions, v0 (KIP-966): the topics' partitions with leader, leader epoch,
// replicas, ISR and offline replicas from the cluster metadata (the Java admin client's
// describeTopics, hence `kafka-topics --describe`, uses it in Kafka 4.x), in pages: topics
// sorted by name, at most min(ResponsePartitionLimit, max.request.partition.size.limit)
// partitions per answer, the rest named by NextCursor (topic and partition to ask for
// next). No topics named means every topic the principal may DESCRIBE; a named one it may
// not describe answers TOPIC_AUTHORIZATION_FAILED, an unknown one UNKNOWN_TOPIC_OR_PARTITION.
// A cursor naming a topic outside the list, or a negative partition, is INVALID_REQUEST for
// every topic, as Kafka answers. TopicAuthorizedOperations is always filled in (the request
// has no flag; the admin client's includeAuthorizedOperations only decides whether it is
// shown). Differs from Kafka: the eligible leader replicas of KIP-966 (ELR) are not kept, so
// EligibleLeaderReplicas and LastKnownElr are empty lists.

import { ErrorCode } from '../protocol/errors.js';
import { type DescribeTopicPartitionsRequest, type DescribeTopicPartitionsResponse } from '../protocol/generated/index.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { AclOperation } from '../security/acls.js';
import { topicResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

type ResponseTopic = DescribeTopicPartitionsResponse['topics'][number];
type ResponsePartition = ResponseTopic['partitions'][number];

const NO_OPERATIONS = -2147483648;

function errorTopic(name: string, errorCode: number): ResponseTopic {
  return { errorCode, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: NO_OPERATIONS };
}

export const describeTopicPartitionsHandler = defineHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>({
  apiKey: 75,
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const { broker } = context;
    const cursor = request.cursor;
    const all = request.topics.length === 0;
    const named = [...new Set(request.topics.map((topic) => topic.name))].sort();
    if (cursor !== null && (cursor.partitionIndex < 0 || (!all && !named.includes(cursor.topicName)))) {
      const why = cursor.partitionIndex < 0 ? `the cursor's partition index ${cursor.partitionIndex} is negative` : `the cursor topic ${cursor.topicName} is not in the topic list`;
      broker.logger.info(`DescribeTopicPartitions from ${context.clientId ?? 'a client'} refused: ${why}`);
      return { throttleTimeMs: 0, topics: named.map((name) => errorTopic(name, ErrorCode.INVALID_REQUEST)), nextCursor: null };
    }
    const mayDescribe = (name: string) => context.authorize(AclOperation.DESCRIBE, topicResource(name));
    // Every topic: those the principal may not describe are left out quietly, as in Metadata.
    let names = all
      ? [...broker.logs.allTopics()]
          .map((topic) => topic.name)
          .filter(mayDescribe)
          .sort()
      : named;
    if (cursor !== null) names = names.filter((name) => name >= cursor.topicName);
    const limit = Math.max(1, Math.min(request.responsePartitionLimit, broker.config.values.get('max.request.partition.size.limit') as number));
    let remaining = limit;
    const topics: ResponseTopic[] = [];
    let nextCursor: DescribeTopicPartitionsResponse['nextCursor'] = null;
    for (let position = 0; position < names.length; position++) {
      const name = names[position]!;
      if (!all && !mayDescribe(name)) {
        topics.push(errorTopic(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
        continue;
      }
      const topic = broker.logs.topic(name);
      if (topic === undefined) {
        topics.push(errorTopic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        continue;
      }
      if (remaining === 0) {
        nextCursor = { topicName: name, partitionIndex: 0 };
        break;
      }
      const first = cursor !== null && name === cursor.topicName ? cursor.partitionIndex : 0;
      const partitions: ResponsePartition[] = [];
      let index = first;
      for (; index < topic.partitions.length && remaining > 0; index++, remaining--) {
        const view = broker.replicas.describePartition(name, index);
        partitions.push({
          errorCode: view === undefined || view.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
          partitionIndex: index,
          leaderId: view?.leader ?? -1,
          leaderEpoch: view?.leaderEpoch ?? -1,
          replicaNodes: [...(view?.replicas ?? [])],
          isrNodes: [...(view?.isr ?? [])],
          eligibleLeaderReplicas: [],
          lastKnownElr: [],
          offlineReplicas: [...(view?.offlineReplicas ?? [])],
        });
      }
      topics.push({
        errorCode: ErrorCode.NONE,
        name,
        topicId: topic.id,
        isInternal: topic.internal,
        partitions,
        topicAuthorizedOperations: context.authorizedOperations(topicResource(name)),
      });
      if (index < topic.partitions.length) {
        nextCursor = { topicName: name, partitionIndex: index };
        break;
      }
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
});
