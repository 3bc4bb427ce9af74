// CreatePartitions, v0-3: grows a topic to `count` partitions, with Kafka's checks and
// messages (fewer or as many as now is INVALID_PARTITIONS; a manual assignment must name
// registered brokers, each once, as many as the topic's replication factor); the new
// partitions are placed like a new topic's otherwise. validateOnly checks without creating. The new
// partitions are durable before the answer. The partitions added count against
// controller_mutation_rate (KIP-599): refused with THROTTLING_QUOTA_EXCEEDED from v3.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type CreatePartitionsRequest, type CreatePartitionsResponse, type CreatePartitionsResponseCreatePartitionsTopicResult } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { topicResource } from '../security/security-manager.js';
import { controllerMutationQuota } from '../security/request-quotas.js';
import { ThrottlingQuotaExceeded } from '../security/quota-enforcer.js';
import { defineHandler } from './api-handler.js';

export const createPartitionsHandler = defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
  apiKey: 37,
  minVersion: 0,
  maxVersion: 3,
  async handle(request, context) {
    const { broker } = context;
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);

    // KIP-599: partitions added count against controller_mutation_rate (refused from v3 on).
    const mutations = controllerMutationQuota(context, 3);
    const results = await Promise.all(
      request.topics.map(async (wanted): Promise<CreatePartitionsResponseCreatePartitionsTopicResult> => {
        const failed = (errorCode: number, errorMessage: string) => ({ name: wanted.name, errorCode, errorMessage });
        if (counts.get(wanted.name)! > 1) return failed(ErrorCode.INVALID_REQUEST, 'Duplicate topic in request.');
        if (!context.authorize(AclOperation.ALTER, topicResource(wanted.name))) return failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
        const topic = broker.logs.topic(wanted.name);
        if (topic === undefined) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${wanted.name}' does not exist.`);
        const current = topic.partitions.length;
        if (wanted.count < current) {
          return failed(ErrorCode.INVALID_PARTITIONS, `The topic ${wanted.name} currently has ${current} partition(s); ${wanted.count} would not be an increase.`);
        }
        if (wanted.count === current) return failed(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`);
        const assignments = wanted.assignments;
        if (assignments !== null) {
          if (assignments.length !== wanted.count - current) {
            return failed(
              ErrorCode.INVALID_REPLICA_ASSIGNMENT,
              `Attempted to add ${wanted.count - current} additional partition(s), but only ${assignments.length} assignment(s) were specified.`,
            );
          }
        }
        try {
          const replicationFactor = broker.replicas.describePartition(wanted.name, 0)?.replicas.length ?? 1;
          const replicas = broker.replicas.assign(
            wanted.name,
            current,
            wanted.count - current,
            replicationFactor,
            assignments?.map((assignment) => assignment.brokerIds),
          );
          if (replicas.some((set) => set.length !== replicationFactor)) {
            return failed(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Inconsistent replication factor between partitions, partition 0 has ${replicationFactor} replicas.`);
          }
          broker.logs.checkCapacity(wanted.count - current, ErrorCode.INVALID_PARTITIONS);
          if (!request.validateOnly) {
            mutations.record(wanted.count - current);
            await broker.replicas.createPartitions(wanted.name, wanted.count, replicas);
            broker.logger.info(`Topic ${wanted.name} grew from ${current} to ${wanted.count} partitions`);
          }
        } catch (error) {
          if (error instanceof KafkaError) return failed(error.kafkaCode, error.message);
          if (error instanceof ThrottlingQuotaExceeded) return failed(ErrorCode.THROTTLING_QUOTA_EXCEEDED, error.message);
          throw error;
        }
        return { name: wanted.name, errorCode: ErrorCode.NONE, errorMessage: null };
      }),
    );
    return { throttleTimeMs: mutations.throttleTimeMs, results };
  },
});
