// ConsumerGroupDescribe, v0-1: KIP-848 consumer groups with their epochs, assignor and
// members (subscriptions, current and target assignments). A classic or unknown group
// answers GROUP_ID_NOT_FOUND, which tells Kafka's admin client to fall back to
// DescribeGroups; an empty group ID answers INVALID_GROUP_ID. MemberType (v1, KIP-1099) is
// always 1: Spate's consumer groups have no classic members. Authorized operations are not
// computed (no authorizer).

import { ErrorCode } from '../protocol/errors.js';
import { type ConsumerGroupDescribeRequest, type ConsumerGroupDescribeResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

const NO_OPERATIONS = -2147483648;
const CONSUMER_MEMBER = 1;

export const consumerGroupDescribeHandler = defineHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse>({
  apiKey: 69,
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const failed = (groupId: string, errorCode: number, errorMessage: string | null) => ({
      errorCode,
      errorMessage,
      groupId,
      groupState: '',
      groupEpoch: 0,
      assignmentEpoch: 0,
      assignorName: '',
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
        const { errorCode, errorMessage, description } = context.broker.groups.consumer.describe(groupId);
        if (description === null) return failed(groupId, errorCode, errorMessage);
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          groupId,
          groupState: description.groupState,
          groupEpoch: description.groupEpoch,
          assignmentEpoch: description.assignmentEpoch,
          assignorName: description.assignorName,
          members: description.members.map((member) => ({
            ...member,
            assignment: { topicPartitions: member.assignment },
            targetAssignment: { topicPartitions: member.targetAssignment },
            memberType: CONSUMER_MEMBER,
          })),
          authorizedOperations: NO_OPERATIONS,
        };
      }),
    };
  },
});
