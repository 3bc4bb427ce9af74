// ListGroups, v0-5: every group, classic and KIP-848 consumer groups alike, filtered by
// state (v4+, case-insensitive) and type (v5+: "classic", "consumer", "share" or "streams", case-insensitive).

import { ErrorCode } from '../protocol/errors.js';
import { type ListGroupsRequest, type ListGroupsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE, groupResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const listGroupsHandler = defineHandler<ListGroupsRequest, ListGroupsResponse>({
  apiKey: 16,
  minVersion: 0,
  maxVersion: 5,
  handle(request, context) {
    // Each broker lists the groups it coordinates (admin clients ask every broker); while a
    // partition of __consumer_offsets loads, Kafka answers COORDINATOR_LOAD_IN_PROGRESS.
    if (context.broker.groups.loading) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, groups: [] };
    const states = new Set((request.statesFilter ?? []).map((state) => state.toLowerCase()));
    const types = new Set((request.typesFilter ?? []).map((type) => type.toLowerCase()));
    const shareGroups = context.broker.shares.listGroups().map((group) => ({ ...group, protocolType: 'share', groupType: 'share' as const }));
    const groups = [...context.broker.groups.listGroups(), ...shareGroups]
      .filter((group) => states.size === 0 || states.has(group.state.toLowerCase()))
      .filter((group) => types.size === 0 || types.has(group.groupType))
      // Kafka: DESCRIBE on the cluster lists every group, otherwise only those the principal may DESCRIBE.
      .filter((group) => context.authorize(AclOperation.DESCRIBE, CLUSTER_RESOURCE) || context.authorize(AclOperation.DESCRIBE, groupResource(group.groupId)))
      .map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.state, groupType: group.groupType }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
  },
});
