// ReadShareGroupState, v0 (KIP-932): a share-partition leader reads the persisted state of a
// share-partition (state epoch, start offset, the in-flight batches) from its share
// coordinator when it initialises the share-partition. A read at a leader epoch above the
// recorded one records it first (a ShareUpdate), which fences the previous leader's writes;
// one below it answers FENCED_LEADER_EPOCH. A share-partition without state answers
// INVALID_REQUEST, as Kafka 4.3 does ("Read on uninitialized share partition").
// Coordinator errors and CLUSTER_ACTION as for InitializeShareGroupState (83).

import { type ReadShareGroupStateRequest, type ReadShareGroupStateResponse } from '../protocol/generated/index.js';
import { type StateBatch } from '../share/share-partition.js';
import { answerSharePartitions } from '../share/share-state-requests.js';
import { defineHandler } from './api-handler.js';

export const readShareGroupStateHandler = defineHandler<ReadShareGroupStateRequest, ReadShareGroupStateResponse>({
  apiKey: 84,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, context) {
    const coordinator = context.broker.shareCoordinator;
    const results = await answerSharePartitions(
      context,
      request,
      async (id, partition) => {
        const read = await coordinator.read(id, partition.leaderEpoch, context.broker.now());
        return { ...read, stateBatches: [...read.stateBatches] };
      },
      { stateEpoch: 0, startOffset: -1n, stateBatches: [] as StateBatch[] },
    );
    return { results };
  },
});
