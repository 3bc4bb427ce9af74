// ShareGroupHeartbeat, v1 (KIP-932): share group membership (see share/share-coordinator.ts).
// A member joins with epoch 0 and its subscription, heartbeats with its epoch and leaves
// with -1; the member ID is the client's (an empty one is INVALID_REQUEST). The assignment
// is computed by the broker (Kafka's simple assignor: partitions may be shared by several
// members) and sent whenever it changed. A group ID held by a classic or consumer group
// answers GROUP_ID_NOT_FOUND, as Kafka does. With the share.version feature finalised below 1
// share groups are off: UNSUPPORTED_VERSION, as in Kafka. A change of the group's epoch is
// written to __consumer_offsets (ShareGroupMetadata) and answered once replicated.

import { type ShareGroupHeartbeatRequest, type ShareGroupHeartbeatResponse } from '../protocol/generated/index.js';
import { then } from '../cluster/maybe-async.js';
import { ErrorCode } from '../protocol/errors.js';
import { defineHandler } from './api-handler.js';

export const shareGroupHeartbeatHandler = defineHandler<ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse>({
  apiKey: 76,
  minVersion: 1,
  maxVersion: 1,
  handle(request, context) {
    if (context.broker.features.level('share.version') < 1) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        errorMessage: 'Share groups are disabled (share.version < 1)',
        memberId: request.memberId,
        memberEpoch: -1,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }
    // Share groups are kept by the group coordinator of their ID: NOT_COORDINATOR elsewhere.
    const coordinator = request.groupId.trim() === '' ? ErrorCode.NONE : context.broker.groups.coordinatorError(request.groupId);
    if (coordinator !== ErrorCode.NONE) {
      return { throttleTimeMs: 0, errorCode: coordinator, errorMessage: null, memberId: request.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
    }
    const result = context.broker.shares.heartbeat({
      groupId: request.groupId,
      memberId: request.memberId,
      memberEpoch: request.memberEpoch,
      rackId: request.rackId,
      subscribedTopicNames: request.subscribedTopicNames,
      clientId: context.clientId ?? '',
      clientHost: `/${context.connection.remoteAddress.replace(/:\d+$/, '')}`,
    });
    const answer = (errorCode: number): ShareGroupHeartbeatResponse =>
      errorCode === ErrorCode.NONE
        ? {
            throttleTimeMs: 0,
            errorCode: result.errorCode,
            errorMessage: result.errorMessage,
            memberId: result.memberId,
            memberEpoch: result.memberEpoch,
            heartbeatIntervalMs: result.heartbeatIntervalMs,
            assignment: result.assignment === null ? null : { topicPartitions: result.assignment },
          }
        : { throttleTimeMs: 0, errorCode, errorMessage: null, memberId: request.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
    // The group's new epoch (and topics) in __consumer_offsets: answered once replicated, at once on a single node.
    return result.errorCode === ErrorCode.NONE ? then(context.broker.groups.committed(request.groupId), answer) : answer(ErrorCode.NONE);
  },
});
