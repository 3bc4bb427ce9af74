// ConsumerGroupHeartbeat, v0-1: the KIP-848 consumer group protocol (see
// group/consumer-group-coordinator.ts): join with epoch 0, heartbeat with the member epoch,
// leave with -1 (or -2 for a static member that returns). The coordinator assigns with the
// uniform (default) or range assignor and hands partitions over only once their previous
// owner has revoked them. v0 members may leave the member ID to the broker; from v1 the
// client generates it (KIP-1082) and SubscribedTopicRegex exists.
// Differs from Kafka: regexes are resolved at once (Kafka resolves them in the background),
// in JavaScript syntax with whole-name matching; a classic group with members is not
// upgraded online (GROUP_ID_NOT_FOUND, as Kafka with the online upgrade disabled).
// With the group.version feature finalised below 1 the protocol is off: UNSUPPORTED_VERSION,
// as Kafka answers.

import { type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const consumerGroupHeartbeatHandler = defineHandler<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>({
  apiKey: 68,
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    if (!context.authorize(AclOperation.READ, groupResource(request.groupId))) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
    }
    // Only the group's coordinator answers (NOT_COORDINATOR elsewhere, COORDINATOR_LOAD_IN_PROGRESS while it loads).
    const coordinator = request.groupId === '' ? ErrorCode.NONE : context.broker.groups.coordinatorError(request.groupId);
    if (coordinator !== ErrorCode.NONE)
      return { throttleTimeMs: 0, errorCode: coordinator, errorMessage: null, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
    if (context.broker.features.level('group.version') < 1) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        errorMessage: 'The consumer group protocol is disabled (group.version < 1)',
        memberId: request.memberId === '' ? null : request.memberId,
        memberEpoch: -1,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }
    const result = context.broker.groups.consumer.heartbeat({
      apiVersion: context.apiVersion,
      groupId: request.groupId,
      memberId: request.memberId,
      memberEpoch: request.memberEpoch,
      instanceId: request.instanceId,
      rackId: request.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      subscribedTopicNames: request.subscribedTopicNames,
      subscribedTopicRegex: request.subscribedTopicRegex ?? null,
      serverAssignor: request.serverAssignor,
      ownedPartitions: request.topicPartitions,
      clientId: context.clientId ?? '',
      clientHost: `/${context.connection.remoteAddress.replace(/:\d+$/, '')}`,
    });
    const response = (written: number): ConsumerGroupHeartbeatResponse =>
      written !== ErrorCode.NONE
        ? { throttleTimeMs: 0, errorCode: written, errorMessage: null, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null }
        : {
            throttleTimeMs: 0,
            errorCode: result.errorCode,
            errorMessage: result.errorMessage,
            memberId: result.memberId,
            memberEpoch: result.memberEpoch,
            heartbeatIntervalMs: result.heartbeatIntervalMs,
            assignment: result.assignment === null ? null : { topicPartitions: result.assignment },
          };
    // Answered once the records the heartbeat wrote reached the in-sync replicas (at once on a single node).
    const written = result.errorCode === ErrorCode.NONE ? context.broker.groups.committed(request.groupId) : ErrorCode.NONE;
    return typeof written === 'number' ? response(written) : written.then(response);
  },
});
