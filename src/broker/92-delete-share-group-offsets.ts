// DeleteShareGroupOffsets, v0 (KIP-932; kafka-share-groups --delete-offsets): removes a
// share group's state for whole topics (tombstones in __share_group_state); the next fetch
// starts afresh from share.auto.offset.reset. The group must exist and be empty.

import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { type DeleteShareGroupOffsetsRequest, type DeleteShareGroupOffsetsResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';

export const deleteShareGroupOffsetsHandler = defineHandler<DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse>({
  apiKey: 92,
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const { broker } = context;
    const shares = broker.shares;
    const failed = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, errorCode, errorMessage, responses: [] });
    const group = shares.group(request.groupId);
    if (group === undefined) return failed(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${request.groupId} is not a share group.`);
    if (group.members.size > 0) return failed(ErrorCode.NON_EMPTY_GROUP, `Share group ${request.groupId} is not empty.`);
    const now = broker.now();
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      responses: request.topics.map(({ topicName }) => {
        const topic = broker.logs.topic(topicName);
        if (topic === undefined) return { topicName, topicId: ZERO_UUID, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
        shares.deleteOffsets(request.groupId, topic, now);
        return { topicName, topicId: topic.id, errorCode: ErrorCode.NONE, errorMessage: null };
      }),
    };
  },
});
