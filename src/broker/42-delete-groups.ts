// DeleteGroups, v0-2: removes empty groups, classic or KIP-848 consumer groups, and their
// committed offsets (tombstones in __consumer_offsets), or share groups and their
// share-partition state (DeleteShareGroupState to the share coordinator); a group with
// members answers NON_EMPTY_GROUP.

import { type DeleteGroupsRequest, type DeleteGroupsResponse } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { deleteShareGroup } from '../share/share-admin.js';
import { defineHandler } from './api-handler.js';

export const deleteGroupsHandler = defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  apiKey: 42,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const { groups } = context.broker;
    const results = await Promise.all(
      request.groupsNames.map(async (groupId) => ({
        groupId,
        errorCode: !context.authorize(AclOperation.DELETE, groupResource(groupId))
          ? ErrorCode.GROUP_AUTHORIZATION_FAILED
          : groups.coordinatorError(groupId) !== ErrorCode.NONE
            ? groups.coordinatorError(groupId)
            : context.broker.shares.group(groupId) !== undefined
              ? await deleteShareGroup(context.broker.shareAdmin, groupId)
              : groups.deleteGroup(groupId),
      })),
    );
    // Answered once the tombstones reached the in-sync replicas.
    for (const result of results) {
      if (result.errorCode === ErrorCode.NONE) result.errorCode = await groups.committed(result.groupId);
    }
    return { throttleTimeMs: 0, results };
  },
});
