// DescribeGroups, v0-6: state, protocol and members (with metadata and assignment once
// Stable). An unknown group is "Dead"; from v6 it also carries GROUP_ID_NOT_FOUND. A KIP-848
// consumer group is described by ConsumerGroupDescribe only (a streams group by
// StreamsGroupDescribe): here it answers as an unknown
// group, with Kafka's "not a classic group" message.

import { ErrorCode } from '../protocol/errors.js';
import { type DescribeGroupsRequest, type DescribeGroupsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

const NO_OPERATIONS = -2147483648;

export const describeGroupsHandler = defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  apiKey: 15,
  minVersion: 0,
  maxVersion: 6,
  handle(request, context) {
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => {
        if (!context.authorize(AclOperation.DESCRIBE, groupResource(groupId))) {
          return {
            errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
            errorMessage: null,
            groupId,
            groupState: '',
            protocolType: '',
            protocolData: '',
            members: [],
            authorizedOperations: NO_OPERATIONS,
          };
        }
        const coordinator = context.broker.groups.coordinatorError(groupId);
        if (coordinator !== ErrorCode.NONE) {
          return { errorCode: coordinator, errorMessage: null, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: NO_OPERATIONS };
        }
        const description = context.broker.groups.describeGroup(groupId);
        if (description === undefined || description.groupType !== 'classic') {
          const message = description === undefined ? `Group ${groupId} not found.` : `Group ${groupId} is not a classic group.`;
          return {
            errorCode: context.apiVersion >= 6 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.NONE,
            errorMessage: context.apiVersion >= 6 ? message : null,
            groupId,
            groupState: 'Dead',
            protocolType: '',
            protocolData: '',
            members: [],
            authorizedOperations: NO_OPERATIONS,
          };
        }
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          groupId,
          groupState: description.state,
          protocolType: description.protocolType,
          protocolData: description.protocolName,
          members: description.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
          authorizedOperations: NO_OPERATIONS,
        };
      }),
    };
  },
});
