// WriteShareGroupState, v0-1 (KIP-932; v1 carries DeliveryCompleteCount, KIP-1226): a
// share-partition leader writes what changed (start offset, in-flight batches) to the share
// coordinator, which lays the batches over the state it has and writes a ShareUpdate (or a
// ShareSnapshot every share.coordinator.snapshot.update.records.per.snapshot updates).
// FENCED_LEADER_EPOCH below the recorded leader epoch, FENCED_STATE_EPOCH below the recorded
// state epoch, INVALID_REQUEST for a share-partition without state (Kafka 4.3). Coordinator
// errors and CLUSTER_ACTION as for InitializeShareGroupState (83).

import { type WriteShareGroupStateRequest, type WriteShareGroupStateResponse } from '../protocol/generated/index.js';
import { answerSharePartitions } from '../share/share-state-requests.js';
import { defineHandler } from './api-handler.js';

export const writeShareGroupStateHandler = defineHandler<WriteShareGroupStateRequest, WriteShareGroupStateResponse>({
  apiKey: 85,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, context) {
    const coordinator = context.broker.shareCoordinator;
    const results = await answerSharePartitions(context, request, async (id, partition) => ({
      ...(await coordinator.write(
        id,
        {
          stateEpoch: partition.stateEpoch,
          leaderEpoch: partition.leaderEpoch,
          startOffset: partition.startOffset,
          deliveryCompleteCount: partition.deliveryCompleteCount ?? -1,
          stateBatches: partition.stateBatches,
        },
        context.broker.now(),
      )),
    }));
    return { results };
  },
});
