// AlterShareGroupOffsets, v0 (KIP-932; kafka-share-groups --reset-offsets): sets the start
// offset of a share group's share-partitions, forgetting what was in flight, by
// InitializeShareGroupState at the next state epoch (the share-partition leader's copy is
// then fenced and read again). Only the group's coordinator answers (NOT_COORDINATOR
// elsewhere); the group must be empty (NON_EMPTY_GROUP otherwise); a group that does not
// exist yet is created, so that its first consumers start where the operator said.
// Offsets outside the log are clamped to the log start and the high watermark. Answered
// once the share coordinator has the new state.

import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { type AlterShareGroupOffsetsRequest, type AlterShareGroupOffsetsResponse } from '../protocol/generated/index.js';
import { alterShareOffset } from '../share/share-admin.js';
import { defineHandler } from './api-handler.js';

export const alterShareGroupOffsetsHandler = defineHandler<AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse>({
  apiKey: 91,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, context) {
    const { broker } = context;
    const shares = broker.shares;
    const failed = (errorCode: number, errorMessage: string | null) => ({ throttleTimeMs: 0, errorCode, errorMessage, responses: [] });
    if (request.groupId.trim() === '') return failed(ErrorCode.INVALID_GROUP_ID, 'The group id is empty.');
    const coordinator = broker.groups.coordinatorError(request.groupId);
    if (coordinator !== ErrorCode.NONE) return failed(coordinator, null);
    if (shares.otherGroupExists(request.groupId)) return failed(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${request.groupId} is not a share group.`);
    if ((shares.group(request.groupId)?.members.size ?? 0) > 0) return failed(ErrorCode.NON_EMPTY_GROUP, `Share group ${request.groupId} is not empty.`);
    const group = shares.register(request.groupId);
    const responses = await Promise.all(
      request.topics.map(async ({ topicName, partitions }) => {
        const topic = broker.replicas.metadata.topicInfo(topicName);
        if (topic !== undefined) group.knownTopics.add(topicName);
        return {
          topicName,
          topicId: topic?.id ?? ZERO_UUID,
          partitions: await Promise.all(
            partitions.map(async ({ partitionIndex, startOffset }) => ({
              partitionIndex,
              errorCode:
                topic === undefined || partitionIndex < 0 || partitionIndex >= topic.partitionCount
                  ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                  : await alterShareOffset(broker.shareAdmin, { groupId: request.groupId, topicName, topicId: topic.id, partition: partitionIndex }, startOffset),
              errorMessage: null,
            })),
          ),
        };
      }),
    );
    // The group and its topics in __consumer_offsets, answered once replicated.
    const persisted = shares.persist(group);
    const committed = persisted === ErrorCode.NONE ? await broker.groups.committed(request.groupId) : persisted;
    if (committed !== ErrorCode.NONE) return failed(committed, null);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
  },
});
