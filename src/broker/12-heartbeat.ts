// Heartbeat, v0-4: keeps a classic member's session alive; REBALANCE_IN_PROGRESS tells it
// to rejoin. Only the group's coordinator answers (NOT_COORDINATOR elsewhere); while its
// partition of __consumer_offsets loads the answer is NONE, as Kafka "blindly" answers then.

import { type HeartbeatRequest, type HeartbeatResponse } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const heartbeatHandler = defineHandler<HeartbeatRequest, HeartbeatResponse>({
  apiKey: 12,
  minVersion: 0,
  maxVersion: 4,
  handle(request, context) {
    if (!context.authorize(AclOperation.READ, groupResource(request.groupId))) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const coordinator = request.groupId === '' ? ErrorCode.NONE : context.broker.groups.coordinatorError(request.groupId);
    if (coordinator !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: coordinator === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.NONE : coordinator };
    const errorCode = context.broker.groups.heartbeat(request.groupId, request.memberId, request.groupInstanceId ?? null, request.generationId);
    return { throttleTimeMs: 0, errorCode };
  },
});
