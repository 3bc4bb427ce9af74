// DeleteShareGroupOffsets, v0 (KIP-932; kafka-share-groups --delete-offsets): removes a
// share group's state for whole topics (DeleteShareGroupState: tombstones in
// __share_group_state); the next fetch starts afresh from share.auto.offset.reset. Only the
// group's coordinator answers (NOT_COORDINATOR elsewhere); the group must exist and be empty.

import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { type DeleteShareGroupOffsetsRequest, type DeleteShareGroupOffsetsResponse } from '../protocol/generated/index.js';
import { deleteShareState } from '../share/share-admin.js';
import { defineHandler } from './api-handler.js';

export const deleteShareGroupOffsetsHandler = defineHandler<DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse>({
  apiKey: 92,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, context) {
    const { broker } = context;
    const failed = (errorCode: number, errorMessage: string | null) => ({ throttleTimeMs: 0, errorCode, errorMessage, responses: [] });
    const coordinator = request.groupId.trim() === '' ? ErrorCode.NONE : broker.groups.coordinatorError(request.groupId);
    if (coordinator !== ErrorCode.NONE) return failed(coordinator, null);
    const group = broker.shares.group(request.groupId);
    if (group === undefined) return failed(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${request.groupId} is not a share group.`);
    if (group.members.size > 0) return failed(ErrorCode.NON_EMPTY_GROUP, `Share group ${request.groupId} is not empty.`);
    const responses = await Promise.all(
      request.topics.map(async ({ topicName }) => {
        const topic = broker.replicas.metadata.topicInfo(topicName);
        if (topic === undefined) return { topicName, topicId: ZERO_UUID, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
        const ids = Array.from({ length: topic.partitionCount }, (_, partition) => ({ groupId: request.groupId, topicName, topicId: topic.id, partition }));
        const errorCode = await deleteShareState(broker.shareAdmin, ids);
        if (errorCode === ErrorCode.NONE) group.knownTopics.delete(topicName);
        return { topicName, topicId: topic.id, errorCode, errorMessage: null };
      }),
    );
    // The topics the group has state for, in __consumer_offsets; answered once replicated.
    const persisted = broker.shares.persist(group);
    const committed = persisted === ErrorCode.NONE ? await broker.groups.committed(request.groupId) : persisted;
    if (committed !== ErrorCode.NONE) return failed(committed, null);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
  },
});
