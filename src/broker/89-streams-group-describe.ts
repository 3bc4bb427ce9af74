// StreamsGroupDescribe, v0 (KIP-1071): streams groups with their epochs, topology (source
// topics as resolved, changelog and repartition topics) and members (process, endpoint,
// current and target tasks), as `kafka-streams-groups --describe` shows them. A group of
// another kind or none answers GROUP_ID_NOT_FOUND; an empty group ID INVALID_GROUP_ID.
// Authorized operations are not computed.

import { ErrorCode } from '../protocol/errors.js';
import { type StreamsGroupDescribeRequest, type StreamsGroupDescribeResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

const NO_OPERATIONS = -2147483648;

export const streamsGroupDescribeHandler = defineHandler<StreamsGroupDescribeRequest, StreamsGroupDescribeResponse>({
  apiKey: 89,
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const failed = (groupId: string, errorCode: number, errorMessage: string | null) => ({
      errorCode,
      errorMessage,
      groupId,
      groupState: '',
      groupEpoch: -1,
      assignmentEpoch: -1,
      topology: null,
      members: [],
      authorizedOperations: NO_OPERATIONS,
    });
    return {
      throttleTimeMs: 0,
      groups: request.groupIds.map((groupId) => {
        if (groupId.trim() === '') return failed(groupId, ErrorCode.INVALID_GROUP_ID, 'The group id is empty.');
        if (!context.authorize(AclOperation.DESCRIBE, groupResource(groupId))) return failed(groupId, ErrorCode.GROUP_AUTHORIZATION_FAILED, null);
        const coordinator = context.broker.groups.coordinatorError(groupId);
        if (coordinator !== ErrorCode.NONE) return failed(groupId, coordinator, null);
        return context.broker.groups.streams.describe(groupId);
      }),
    };
  },
});
