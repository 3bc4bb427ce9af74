// DeleteShareGroupState, v0 (KIP-932): a group coordinator deletes share-partitions' state
// (DeleteShareGroupOffsets, DeleteGroups): tombstones of both record types in
// __share_group_state. Deleting a share-partition without state succeeds. Coordinator
// errors and CLUSTER_ACTION as for InitializeShareGroupState (83).

import { type DeleteShareGroupStateRequest, type DeleteShareGroupStateResponse } from '../protocol/generated/index.js';
import { answerSharePartitions } from '../share/share-state-requests.js';
import { defineHandler } from './api-handler.js';

export const deleteShareGroupStateHandler = defineHandler<DeleteShareGroupStateRequest, DeleteShareGroupStateResponse>({
  apiKey: 86,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, context) {
    const coordinator = context.broker.shareCoordinator;
    const results = await answerSharePartitions(context, request, async (id) => ({ ...(await coordinator.delete(id)) }));
    return { results };
  },
});
