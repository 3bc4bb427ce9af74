// OffsetFetch, v1-10: committed offsets of one group (v1-7) or several (v8+), for listed
// partitions or, with null topics, all of them. A partition without a commit answers -1.
// From v9 a member of a KIP-848 consumer group sends its member ID and epoch: an unknown
// member or a stale epoch answers UNKNOWN_MEMBER_ID / STALE_MEMBER_EPOCH for the group.
// Topics by ID from v10. requireStable (v7+) answers UNSTABLE_OFFSET_COMMIT while offsets
// committed in an open transaction are pending for the group. Only the group's coordinator
// answers: elsewhere NOT_COORDINATOR (COORDINATOR_LOAD_IN_PROGRESS while its partition of
// __consumer_offsets loads), on the group from v8, at the top from v2, and on every asked
// partition in v1, which has no top-level error (Kafka's OffsetFetchRequest.getErrorResponse).

import { ErrorCode } from '../protocol/errors.js';
import { type OffsetFetchRequest, type OffsetFetchResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource, topicResource } from '../security/security-manager.js';
import { defineHandler, type RequestContext } from './api-handler.js';
import { ZERO_UUID } from '../protocol/primitives.js';

interface PartitionAnswer {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

function fetchGroup(
  context: RequestContext & { requireStable?: boolean },
  groupId: string,
  topics: ReadonlyArray<{ name: string; partitionIndexes: number[] }> | null,
): Array<{ name: string; partitions: PartitionAnswer[] }> {
  const { groups } = context.broker;
  // requireStable (v7+, KIP-447): while a transaction's offsets for the group are pending, the
  // answer is UNSTABLE_OFFSET_COMMIT and the client retries.
  const unstable = (context.requireStable ?? false) && groups.hasPendingTransactionalOffsets(groupId);
  const answer = (topic: string, partition: number): PartitionAnswer => {
    if (unstable) return { partitionIndex: partition, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT };
    const committed = groups.committedOffset(groupId, topic, partition);
    return committed === undefined
      ? { partitionIndex: partition, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE }
      : {
          partitionIndex: partition,
          committedOffset: committed.offset,
          committedLeaderEpoch: committed.leaderEpoch,
          metadata: committed.metadata,
          errorCode: ErrorCode.NONE,
        };
  };
  // Kafka: topics the principal may not DESCRIBE are left out of "all", and answer
  // TOPIC_AUTHORIZATION_FAILED when named.
  const visible = (topic: string) => context.authorize(AclOperation.DESCRIBE, topicResource(topic));
  if (topics === null) {
    return [...groups.allCommittedOffsets(groupId)]
      .filter(([name]) => visible(name))
      .map(([name, partitions]) => ({
        name,
        partitions: [...partitions.keys()].sort((a, b) => a - b).map((partition) => answer(name, partition)),
      }));
  }
  const denied = (partition: number): PartitionAnswer => ({
    partitionIndex: partition,
    committedOffset: -1n,
    committedLeaderEpoch: -1,
    metadata: '',
    errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  });
  return topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitionIndexes.map((partition) => (visible(topic.name) ? answer(topic.name, partition) : denied(partition))),
  }));
}

export const offsetFetchHandler = defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  apiKey: 9,
  minVersion: 1,
  maxVersion: 10,
  handle(request, context) {
    const { broker, apiVersion } = context;
    const groupDenied = (groupId: string) => !context.authorize(AclOperation.DESCRIBE, groupResource(groupId));
    if (apiVersion < 8) {
      if (groupDenied(request.groupId ?? '')) return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
      const topics = request.topics === null || request.topics === undefined ? null : request.topics;
      const coordinator = broker.groups.coordinatorError(request.groupId ?? '');
      if (coordinator !== ErrorCode.NONE) {
        const partitions = (topic: { name: string; partitionIndexes: number[] }) =>
          topic.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: coordinator }));
        return { throttleTimeMs: 0, topics: apiVersion < 2 ? (topics ?? []).map((topic) => ({ name: topic.name, partitions: partitions(topic) })) : [], errorCode: coordinator };
      }
      return { throttleTimeMs: 0, topics: fetchGroup({ ...context, requireStable: request.requireStable ?? false }, request.groupId ?? '', topics), errorCode: ErrorCode.NONE };
    }
    const byId = apiVersion >= 10;
    return {
      throttleTimeMs: 0,
      groups: (request.groups ?? []).map((group) => {
        if (groupDenied(group.groupId)) return { groupId: group.groupId, topics: [], errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
        const coordinator = broker.groups.coordinatorError(group.groupId);
        if (coordinator !== ErrorCode.NONE) return { groupId: group.groupId, topics: [], errorCode: coordinator };
        const streamsGroup = broker.groups.streams.group(group.groupId);
        const validation =
          streamsGroup === undefined
            ? broker.groups.consumer.validateOffsetFetch(group.groupId, group.memberId ?? null, group.memberEpoch ?? -1)
            : broker.groups.streams.validateOffsetFetch(streamsGroup, group.memberId ?? null, group.memberEpoch ?? -1);
        if (validation !== ErrorCode.NONE) return { groupId: group.groupId, topics: [], errorCode: validation };
        const wanted =
          group.topics === null
            ? null
            : group.topics.map((t) => ({
                name: byId ? (broker.replicas.metadata.topicInfoById(t.topicId ?? ZERO_UUID)?.name ?? '') : (t.name ?? ''),
                topicId: t.topicId ?? ZERO_UUID,
                partitionIndexes: t.partitionIndexes,
              }));
        const topics = fetchGroup({ ...context, requireStable: request.requireStable ?? false }, group.groupId, wanted);
        return {
          groupId: group.groupId,
          topics: topics.map((t, i) => ({
            name: t.name,
            topicId: wanted?.[i]?.topicId ?? broker.replicas.metadata.topicInfo(t.name)?.id ?? ZERO_UUID,
            partitions: t.partitions.map((p) => (byId && t.name === '' ? { ...p, errorCode: ErrorCode.UNKNOWN_TOPIC_ID } : p)),
          })),
          errorCode: ErrorCode.NONE,
        };
      }),
    };
  },
});
