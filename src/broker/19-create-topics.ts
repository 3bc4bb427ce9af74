// CreateTopics, v2-7: name, collision, partition, replication-factor (1 on one node) and
// config validation with Kafka's codes; validateOnly checks without creating. v5+ answers
// with the partition count, replication factor and every config of the new topic; v7 adds
// the topic ID. The partitions count against controller_mutation_rate (KIP-599): from v6 a
// topic asked for while the quota is used up answers THROTTLING_QUOTA_EXCEEDED.

import { describeTopicConfigs } from '../config/topic-config.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type CreateTopicsRequest, type CreateTopicsResponse, type CreateTopicsResponseCreatableTopicResult } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE, topicResource } from '../security/security-manager.js';
import { controllerMutationQuota } from '../security/request-quotas.js';
import { ThrottlingQuotaExceeded } from '../security/quota-enforcer.js';
import { defineHandler } from './api-handler.js';
import { createTopic, validateTopicRequest, type TopicRequest } from './topic-creation.js';
import { ZERO_UUID } from '../protocol/primitives.js';

export const createTopicsHandler = defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
  apiKey: 19,
  minVersion: 2,
  maxVersion: 7,
  async handle(request, context) {
    const { broker } = context;
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);

    // KIP-599: partitions created count against controller_mutation_rate (refused from v6 on).
    const mutations = controllerMutationQuota(context, 6);
    const results: CreateTopicsResponseCreatableTopicResult[] = [];
    for (const wanted of request.topics) results.push(await createOne(wanted));
    // One topics.json write for every topic of the request, answered once it is on disk.
    try {
      await broker.logs.metadataWritten();
    } catch (error) {
      for (const result of results) {
        if (result.errorCode !== ErrorCode.NONE || request.validateOnly === true) continue;
        Object.assign(result, { topicId: ZERO_UUID, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: (error as Error).message, configs: null });
      }
    }
    return { throttleTimeMs: mutations.throttleTimeMs, topics: results };

    async function createOne(wanted: CreateTopicsRequest['topics'][number]): Promise<CreateTopicsResponseCreatableTopicResult> {
      const failed = (errorCode: number, errorMessage: string | null): CreateTopicsResponseCreatableTopicResult => ({
        name: wanted.name,
        topicId: ZERO_UUID,
        errorCode,
        errorMessage,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      });
      // Kafka: CREATE on the cluster, or on the topic.
      if (!context.authorize(AclOperation.CREATE, CLUSTER_RESOURCE) && !context.authorize(AclOperation.CREATE, topicResource(wanted.name))) {
        return failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
      }
      if (counts.get(wanted.name)! > 1) {
        return failed(ErrorCode.INVALID_REQUEST, `Create topics request from client contains multiple entries for topic ${wanted.name}`);
      }
      const configs: Record<string, string | null> = {};
      for (const config of wanted.configs) configs[config.name] = config.value;
      const topicRequest: TopicRequest = {
        name: wanted.name,
        numPartitions: wanted.numPartitions,
        replicationFactor: wanted.replicationFactor,
        assignments: wanted.assignments,
        configs,
      };
      try {
        const validated = validateTopicRequest(broker, topicRequest);
        if (request.validateOnly !== true) mutations.record(validated.numPartitions);
        const topicId = request.validateOnly === true ? ZERO_UUID : (await createTopic(broker, topicRequest, { durable: false })).id;
        return {
          name: wanted.name,
          topicId,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          numPartitions: validated.numPartitions,
          replicationFactor: validated.replicationFactor,
          configs: describeTopicConfigs(validated.configs, broker.config).map((config) => ({
            name: config.name,
            value: config.value,
            readOnly: config.readOnly,
            configSource: config.source,
            isSensitive: config.isSensitive,
          })),
        };
      } catch (error) {
        if (error instanceof KafkaError) return failed(error.kafkaCode, error.message);
        if (error instanceof ThrottlingQuotaExceeded) return failed(ErrorCode.THROTTLING_QUOTA_EXCEEDED, error.message);
        throw error;
      }
    }
  },
});
