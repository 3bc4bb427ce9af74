// ListPartitionReassignments, v0 (KIP-455): the ongoing reassignments with the whole replica
// set, the replicas being added and those being removed; all of them (topics null) or those
// of the named partitions, where unknown partitions and partitions not being moved are left
// out as Kafka does. Needs DESCRIBE on the cluster.

import { reassigning } from '../cluster/reassignment.js';
import { ErrorCode } from '../protocol/errors.js';
import { type ListPartitionReassignmentsRequest, type ListPartitionReassignmentsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const listPartitionReassignmentsHandler = defineHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>({
  apiKey: 46,
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    if (!context.authorize(AclOperation.DESCRIBE, CLUSTER_RESOURCE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', topics: [] };
    }
    const store = context.broker.replicas.store;
    const wanted = request.topics === null ? store.topics().map((topic) => ({ name: topic.name, partitionIndexes: topic.replicas.map((_, index) => index) })) : request.topics;
    const topics: ListPartitionReassignmentsResponse['topics'] = [];
    for (const topic of wanted) {
      const partitions: ListPartitionReassignmentsResponse['topics'][number]['partitions'] = [];
      for (const partitionIndex of topic.partitionIndexes) {
        const state = store.partitionState(topic.name, partitionIndex);
        if (state === undefined || !reassigning(state)) continue;
        partitions.push({
          partitionIndex,
          replicas: [...state.replicas],
          addingReplicas: [...(state.addingReplicas ?? [])],
          removingReplicas: [...(state.removingReplicas ?? [])],
        });
      }
      if (partitions.length > 0) topics.push({ name: topic.name, partitions });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics };
  },
});
