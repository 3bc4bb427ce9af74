// DeleteTopics, v1-6: by name, or from v6 by name or topic ID (KIP-516). The topic leaves
// the metadata durably before the answer; its directories are removed in the background.
// delete.topic.enable=false answers TOPIC_DELETION_DISABLED. Differs from Kafka: internal
// topics (__consumer_offsets) are refused with INVALID_TOPIC_EXCEPTION, since the group
// coordinator keeps them open; committed offsets of a deleted topic stay until they expire.
// The partitions deleted count against controller_mutation_rate (KIP-599): refused with
// THROTTLING_QUOTA_EXCEEDED from v5.

import { brokerConfigValue } from '../config/topic-config.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type DeleteTopicsRequest, type DeleteTopicsResponse, type DeleteTopicsResponseDeletableTopicResult } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { topicResource } from '../security/security-manager.js';
import { controllerMutationQuota } from '../security/request-quotas.js';
import { ThrottlingQuotaExceeded } from '../security/quota-enforcer.js';
import { defineHandler } from './api-handler.js';
import { ZERO_UUID } from '../protocol/primitives.js';

export const deleteTopicsHandler = defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
  apiKey: 20,
  minVersion: 1,
  maxVersion: 6,
  async handle(request, context) {
    const { broker, apiVersion } = context;
    const wanted =
      apiVersion >= 6
        ? (request.topics ?? []).map((topic) => ({ name: topic.name, topicId: topic.topicId }))
        : (request.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
    const enabled = brokerConfigValue('delete.topic.enable', broker.config) === true;

    // KIP-599: partitions deleted count against controller_mutation_rate (refused from v5 on).
    const mutations = controllerMutationQuota(context, 5);
    const responses = await Promise.all(
      wanted.map(async ({ name, topicId }): Promise<DeleteTopicsResponseDeletableTopicResult> => {
        const result = (errorCode: number, errorMessage: string | null, resolvedName = name, id = topicId) => ({
          name: resolvedName,
          topicId: id,
          errorCode,
          errorMessage,
        });
        const byId = !topicId.equals(ZERO_UUID);
        if (byId && name !== null) return result(ErrorCode.INVALID_REQUEST, 'You may not specify both topic name and topic id.');
        if (!enabled) return result(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled.');
        const topic = byId ? broker.logs.topicById(topicId) : broker.logs.topic(name ?? '');
        if (!context.authorize(AclOperation.DELETE, topicResource(topic?.name ?? name ?? '')))
          return result(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.', topic?.name ?? name);
        if (topic === undefined) {
          return byId
            ? result(ErrorCode.UNKNOWN_TOPIC_ID, `Topic id ${topicId.toString('hex')} does not exist.`, null)
            : result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
        }
        if (topic.internal) return result(ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot delete internal topic ${topic.name}`, topic.name, topic.id);
        try {
          mutations.record(topic.partitions.length);
        } catch (error) {
          if (error instanceof ThrottlingQuotaExceeded) return result(ErrorCode.THROTTLING_QUOTA_EXCEEDED, error.message, topic.name, topic.id);
          throw error;
        }
        try {
          await broker.replicas.deleteTopic(topic.name);
        } catch (error) {
          // topics.json could not be written: the topic stays listed, its data in place.
          if (error instanceof KafkaError) return result(error.kafkaCode, error.message, topic.name, topic.id);
          throw error;
        }
        broker.logger.info(`Deleted topic ${topic.name}`);
        return result(ErrorCode.NONE, null, topic.name, topic.id);
      }),
    );
    return { throttleTimeMs: mutations.throttleTimeMs, responses };
  },
});
