// AlterShareGroupOffsets, v0 (KIP-932; kafka-share-groups --reset-offsets): sets the start
// offset of a share group's share-partitions, forgetting what was in flight. The group must
// be empty (NON_EMPTY_GROUP otherwise); a group that does not exist yet is created, so that
// its first consumers start where the operator said. Offsets outside the log are clamped
// to the log start and the high watermark. The new state is written before the answer.

import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { type AlterShareGroupOffsetsRequest, type AlterShareGroupOffsetsResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';

export const alterShareGroupOffsetsHandler = defineHandler<AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse>({
  apiKey: 91,
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const { broker } = context;
    const shares = broker.shares;
    const failed = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, errorCode, errorMessage, responses: [] });
    if (request.groupId.trim() === '') return failed(ErrorCode.INVALID_GROUP_ID, 'The group id is empty.');
    if (shares.otherGroupExists(request.groupId)) return failed(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${request.groupId} is not a share group.`);
    if ((shares.group(request.groupId)?.members.size ?? 0) > 0) return failed(ErrorCode.NON_EMPTY_GROUP, `Share group ${request.groupId} is not empty.`);
    const now = broker.now();
    const responses = request.topics.map(({ topicName, partitions }) => {
      const topic = broker.logs.topic(topicName);
      return {
        topicName,
        topicId: topic?.id ?? ZERO_UUID,
        partitions: partitions.map(({ partitionIndex, startOffset }) => ({
          partitionIndex,
          errorCode: topic === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : shares.alterOffset(request.groupId, topic, partitionIndex, startOffset, now),
          errorMessage: null,
        })),
      };
    });
    shares.flush(now);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
  },
});
