// LeaveGroup, v0-5: one member (v0-2) or a batch of members by ID or group.instance.id
// (v3+, KIP-345), each with its own error code.

import { type LeaveGroupRequest, type LeaveGroupResponse } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const leaveGroupHandler = defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  apiKey: 13,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    if (!context.authorize(AclOperation.READ, groupResource(request.groupId))) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
    // Only the group's coordinator answers, once what the leave wrote is replicated.
    const coordinator = context.broker.groups.coordinatorError(request.groupId);
    if (coordinator !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: coordinator, members: [] };
    const batched = context.apiVersion >= 3;
    const leaving = batched
      ? (request.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null }))
      : [{ memberId: request.memberId ?? '', groupInstanceId: null }];
    const result = context.broker.groups.leaveGroup(request.groupId, leaving);
    const written = await context.broker.groups.committed(request.groupId);
    if (written !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: written, members: [] };
    if (!batched) return { throttleTimeMs: 0, errorCode: result.errorCode, members: [] };
    return {
      throttleTimeMs: 0,
      errorCode: result.members.length === 0 ? result.errorCode : 0,
      members: result.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: m.errorCode })),
    };
  },
});
