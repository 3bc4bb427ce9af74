// ShareGroupDescribe, v1 (KIP-932): a share group's state (Empty or Stable), epochs, the
// assignor ("simple") and its members with their subscriptions and assignments. An unknown
// group, or one that is not a share group, answers GROUP_ID_NOT_FOUND; an empty ID
// INVALID_GROUP_ID. Authorized operations are not computed (no authorizer).

import { ErrorCode } from '../protocol/errors.js';
import { type ShareGroupDescribeRequest, type ShareGroupDescribeResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';

const NO_OPERATIONS = -2147483648;

export const shareGroupDescribeHandler = defineHandler<ShareGroupDescribeRequest, ShareGroupDescribeResponse>({
  apiKey: 77,
  minVersion: 1,
  maxVersion: 1,
  handle(request, context) {
    const { broker } = context;
    const failed = (groupId: string, errorCode: number, errorMessage: string) => ({
      errorCode,
      errorMessage,
      groupId,
      groupState: 'Dead',
      groupEpoch: -1,
      assignmentEpoch: -1,
      assignorName: '',
      members: [],
      authorizedOperations: NO_OPERATIONS,
    });
    return {
      throttleTimeMs: 0,
      groups: request.groupIds.map((groupId) => {
        if (groupId.trim() === '') return failed(groupId, ErrorCode.INVALID_GROUP_ID, 'The group id is empty.');
        const coordinator = broker.groups.coordinatorError(groupId);
        if (coordinator !== ErrorCode.NONE) return failed(groupId, coordinator, `This broker does not coordinate group ${groupId}.`);
        const group = broker.shares.group(groupId);
        if (group === undefined) {
          const message = broker.shares.otherGroupExists(groupId) ? `Group ${groupId} is not a share group.` : `Group ${groupId} not found.`;
          return failed(groupId, ErrorCode.GROUP_ID_NOT_FOUND, message);
        }
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          groupId,
          groupState: group.state,
          groupEpoch: group.groupEpoch,
          assignmentEpoch: group.assignmentEpoch,
          assignorName: 'simple',
          members: [...group.members.values()].map((member) => ({
            memberId: member.memberId,
            rackId: member.rackId,
            memberEpoch: member.memberEpoch,
            clientId: member.clientId,
            clientHost: member.clientHost,
            subscribedTopicNames: member.subscribedTopicNames,
            assignment: {
              topicPartitions: [...member.assignment].map(([topicId, partitions]) => {
                const id = Buffer.from(topicId, 'hex');
                return { topicId: id, topicName: broker.replicas.metadata.topicInfoById(id)?.name ?? '', partitions: [...partitions].sort((a, b) => a - b) };
              }),
            },
          })),
          authorizedOperations: NO_OPERATIONS,
        };
      }),
    };
  },
});
