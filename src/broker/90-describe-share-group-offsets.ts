// DescribeShareGroupOffsets, v0-1 (KIP-932): each share-partition's start offset (SPSO), and
// from v1 its lag (KIP-1226: the records up to the high watermark not yet delivered to
// completion), read from the share coordinator (ReadShareGroupStateSummary) by the group's
// coordinator (NOT_COORDINATOR elsewhere). A null topic list means every share-partition the
// group has state for. A partition without state answers start offset -1 (not initialized
// yet); an unknown group GROUP_ID_NOT_FOUND at group level; an unknown topic
// UNKNOWN_TOPIC_OR_PARTITION. DESCRIBE on the group is required, as in Kafka.

import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { type DescribeShareGroupOffsetsRequest, type DescribeShareGroupOffsetsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { describeShareOffsets } from '../share/share-admin.js';
import { type NamedSharePartition } from '../share/share-group-coordinator.js';
import { defineHandler } from './api-handler.js';

export const describeShareGroupOffsetsHandler = defineHandler<DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse>({
  apiKey: 90,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, context) {
    const { broker } = context;
    const catalog = broker.replicas.metadata;
    const groups = await Promise.all(
      request.groups.map(async (wanted) => {
        const failed = (errorCode: number, errorMessage: string | null) => ({ groupId: wanted.groupId, topics: [], errorCode, errorMessage });
        if (!context.authorize(AclOperation.DESCRIBE, groupResource(wanted.groupId))) return failed(ErrorCode.GROUP_AUTHORIZATION_FAILED, null);
        const coordinator = broker.groups.coordinatorError(wanted.groupId);
        if (coordinator !== ErrorCode.NONE) return failed(coordinator, null);
        if (broker.shares.group(wanted.groupId) === undefined) return failed(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${wanted.groupId} is not a share group.`);
        const all = wanted.topics === null;
        const byTopic = new Map<string, NamedSharePartition[]>();
        if (all) {
          for (const id of broker.shares.sharePartitionsOf(wanted.groupId)) byTopic.set(id.topicName, [...(byTopic.get(id.topicName) ?? []), id]);
        } else {
          for (const { topicName, partitions } of wanted.topics ?? []) {
            const topic = catalog.topicInfo(topicName);
            byTopic.set(
              topicName,
              partitions.map((partition) => ({ groupId: wanted.groupId, topicName, topicId: topic?.id ?? ZERO_UUID, partition })),
            );
          }
        }
        const topics = await Promise.all(
          [...byTopic].map(async ([topicName, ids]) => {
            const topic = catalog.topicInfo(topicName);
            const known = ids.filter((id) => topic !== undefined && id.partition >= 0 && id.partition < topic.partitionCount);
            const described = await describeShareOffsets(broker.shareAdmin, wanted.groupId, known, context.apiVersion >= 1, all);
            const missing = ids
              .filter((id) => !known.includes(id))
              .map((id) => ({ partitionIndex: id.partition, startOffset: -1n, leaderEpoch: -1, lag: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null }));
            return { topicName, topicId: topic?.id ?? ZERO_UUID, partitions: [...described, ...missing].sort((a, b) => a.partitionIndex - b.partitionIndex) };
          }),
        );
        return { groupId: wanted.groupId, errorCode: ErrorCode.NONE, errorMessage: null, topics: topics.filter((topic) => !all || topic.partitions.length > 0) };
      }),
    );
    return { throttleTimeMs: 0, groups };
  },
});
