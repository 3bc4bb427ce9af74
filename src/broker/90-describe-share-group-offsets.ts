// DescribeShareGroupOffsets, v0-1 (KIP-932): each share-partition's start offset (SPSO), and
// from v1 its lag (KIP-1226: the records up to the high watermark not yet delivered to
// completion). A null topic list means every share-partition the group has state for. A
// partition without state answers start offset -1 (not initialized yet); an unknown group
// GROUP_ID_NOT_FOUND at group level; an unknown topic UNKNOWN_TOPIC_OR_PARTITION.

import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { type DescribeShareGroupOffsetsRequest, type DescribeShareGroupOffsetsResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';

export const describeShareGroupOffsetsHandler = defineHandler<DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse>({
  apiKey: 90,
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const { broker } = context;
    const shares = broker.shares;
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((wanted) => {
        if (shares.group(wanted.groupId) === undefined) {
          return { groupId: wanted.groupId, topics: [], errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: `Group ${wanted.groupId} is not a share group.` };
        }
        let topics = wanted.topics;
        if (topics === null) {
          const byName = new Map<string, number[]>();
          for (const state of shares.partitionsOf(wanted.groupId)) {
            const name = broker.logs.topicById(state.topicId)?.name;
            if (name === undefined) continue;
            byName.set(name, [...(byName.get(name) ?? []), state.partition]);
          }
          topics = [...byName].map(([topicName, partitions]) => ({ topicName, partitions: partitions.sort((a, b) => a - b) }));
        }
        return {
          groupId: wanted.groupId,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          topics: topics.map(({ topicName, partitions }) => {
            const topic = broker.logs.topic(topicName);
            return {
              topicName,
              topicId: topic?.id ?? ZERO_UUID,
              partitions: partitions.map((partitionIndex) => {
                const log = topic?.partitions[partitionIndex];
                if (topic === undefined || log === undefined) {
                  return { partitionIndex, startOffset: -1n, leaderEpoch: -1, lag: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
                }
                const state = shares.existingPartition(wanted.groupId, topic.id, partitionIndex);
                if (state === undefined) return { partitionIndex, startOffset: -1n, leaderEpoch: -1, lag: -1n, errorCode: ErrorCode.NONE, errorMessage: null };
                const spso = state.spso > log.logStartOffset ? state.spso : log.logStartOffset;
                const lag = log.highWatermark - spso - BigInt(state.deliveryCompleteCount());
                return { partitionIndex, startOffset: spso, leaderEpoch: 0, lag: lag < 0n ? 0n : lag, errorCode: ErrorCode.NONE, errorMessage: null };
              }),
            };
          }),
        };
      }),
    };
  },
});
