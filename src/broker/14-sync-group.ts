// SyncGroup, v0-5: the leader hands out the assignment; every member waits for its own.

import { type SyncGroupRequest, type SyncGroupResponse } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const syncGroupHandler = defineHandler<SyncGroupRequest, SyncGroupResponse>({
  apiKey: 14,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    if (!context.authorize(AclOperation.READ, groupResource(request.groupId))) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    }
    // Only the group's coordinator answers, once the group's assignment is replicated (Kafka
    // answers SyncGroup after storing the group).
    const coordinator = context.broker.groups.coordinatorError(request.groupId);
    if (coordinator !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: coordinator, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    const result = await context.broker.groups.syncGroup({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId ?? null,
      protocolType: request.protocolType ?? null,
      protocolName: request.protocolName ?? null,
      assignments: request.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    });
    const written = result.errorCode === ErrorCode.NONE ? await context.broker.groups.committed(request.groupId) : ErrorCode.NONE;
    if (written !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: written, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      protocolType: result.protocolType,
      protocolName: result.protocolName,
      assignment: result.assignment,
    };
  },
});
