// JoinGroup, v0-9: the classic group protocol's join phase (see group/group-coordinator.ts).
// From v4 a new member first gets MEMBER_ID_REQUIRED with its ID (KIP-394); static members
// (group.instance.id, KIP-345) from v5. The response waits for the rebalance to complete.
// Only the group's coordinator answers (NOT_COORDINATOR elsewhere, COORDINATOR_LOAD_IN_PROGRESS
// while its partition of __consumer_offsets loads).

import { type JoinGroupRequest, type JoinGroupResponse } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';
import { type JoinResult } from '../group/classic-group.js';

function joinFailure(errorCode: number, memberId: string): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, skipAssignment: false, members: [] };
}

export const joinGroupHandler = defineHandler<JoinGroupRequest, JoinGroupResponse>({
  apiKey: 11,
  minVersion: 0,
  maxVersion: 9,
  async handle(request, context) {
    if (!context.authorize(AclOperation.READ, groupResource(request.groupId))) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        generationId: -1,
        protocolType: null,
        protocolName: context.apiVersion >= 7 ? null : '',
        leader: '',
        skipAssignment: false,
        memberId: request.memberId,
        members: [],
      };
    }
    const coordinator = request.groupId === '' ? ErrorCode.NONE : context.broker.groups.coordinatorError(request.groupId);
    const result =
      coordinator !== ErrorCode.NONE
        ? joinFailure(coordinator, request.memberId)
        : await context.broker.groups.joinGroup({
            groupId: request.groupId,
            memberId: request.memberId,
            groupInstanceId: request.groupInstanceId ?? null,
            clientId: context.clientId ?? '',
            clientHost: `/${context.connection.remoteAddress.replace(/:\d+$/, '')}`,
            sessionTimeoutMs: request.sessionTimeoutMs,
            // v0 has no rebalance timeout: Kafka uses the session timeout.
            rebalanceTimeoutMs:
              context.apiVersion >= 1 && request.rebalanceTimeoutMs !== undefined && request.rebalanceTimeoutMs >= 0 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
            protocolType: request.protocolType,
            protocols: request.protocols.map((protocol) => ({ name: protocol.name, metadata: protocol.metadata })),
            requireKnownMemberId: context.apiVersion >= 4,
          });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      generationId: result.generationId,
      protocolType: result.protocolType,
      protocolName: result.protocolName ?? (context.apiVersion >= 7 ? null : ''),
      leader: result.leader,
      skipAssignment: result.skipAssignment,
      memberId: result.memberId,
      members: result.members,
    };
  },
});
