// AlterPartitionReassignments, v0-1 (KIP-455): starts, replaces or (replicas null) cancels
// the reassignment of each named partition; the data moves afterwards, through the added
// replicas' fetchers, and the controller completes the move when they are in the ISR (see
// src/cluster/reassignment.ts). Kafka's errors: CLUSTER_AUTHORIZATION_FAILED without ALTER on
// the cluster, UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT for a broker that is
// not registered, an empty list or a broker named twice, NO_REASSIGNMENT_IN_PROGRESS when
// cancelling nothing, INVALID_REPLICATION_FACTOR when v1's allowReplicationFactorChange is
// false and the count changes. Differs from Kafka: brokers that are not live count as not
// registered (the store forgets a broker when it stops), and the answer does not wait for
// the controller to acknowledge, since every broker writes the store itself.

import { alterReassignment } from '../cluster/reassignment.js';
import { ErrorCode } from '../protocol/errors.js';
import { type AlterPartitionReassignmentsRequest, type AlterPartitionReassignmentsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const alterPartitionReassignmentsHandler = defineHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>({
  apiKey: 45,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, context) {
    const { broker } = context;
    const allowReplicationFactorChange = request.allowReplicationFactorChange ?? true;
    if (!context.authorize(AclOperation.ALTER, CLUSTER_RESOURCE)) {
      return {
        throttleTimeMs: 0,
        allowReplicationFactorChange,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: 'Cluster authorization failed.',
        responses: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((partition) => ({
            partitionIndex: partition.partitionIndex,
            errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: 'Cluster authorization failed.',
          })),
        })),
      };
    }
    const responses: AlterPartitionReassignmentsResponse['responses'] = [];
    for (const topic of request.topics) {
      const partitions: AlterPartitionReassignmentsResponse['responses'][number]['partitions'] = [];
      for (const wanted of topic.partitions) {
        const outcome = await alterReassignment(broker.replicas.store, topic.name, wanted.partitionIndex, wanted.replicas, allowReplicationFactorChange, broker.logger);
        if (outcome.errorCode !== ErrorCode.NONE)
          broker.logger.info(`AlterPartitionReassignments from ${context.clientId ?? 'a client'} refused for ${topic.name}-${wanted.partitionIndex}: ${outcome.errorMessage}`);
        partitions.push({ partitionIndex: wanted.partitionIndex, ...outcome });
      }
      responses.push({ name: topic.name, partitions });
    }
    return { throttleTimeMs: 0, allowReplicationFactorChange, errorCode: ErrorCode.NONE, errorMessage: null, responses };
  },
});
