// ReadShareGroupStateSummary, v0-1 (KIP-932; v1 adds DeliveryCompleteCount, KIP-1226): a
// group coordinator reads share-partitions' start offsets and epochs for
// DescribeShareGroupOffsets and AlterShareGroupOffsets; a share-partition without state
// answers start offset -1. Coordinator errors and CLUSTER_ACTION as for
// InitializeShareGroupState (83).

import { type ReadShareGroupStateSummaryRequest, type ReadShareGroupStateSummaryResponse } from '../protocol/generated/index.js';
import { answerSharePartitions } from '../share/share-state-requests.js';
import { defineHandler } from './api-handler.js';

export const readShareGroupStateSummaryHandler = defineHandler<ReadShareGroupStateSummaryRequest, ReadShareGroupStateSummaryResponse>({
  apiKey: 87,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, context) {
    const coordinator = context.broker.shareCoordinator;
    const results = await answerSharePartitions(context, request, async (id) => ({ ...(await coordinator.summary(id)) }), {
      stateEpoch: 0,
      leaderEpoch: 0,
      startOffset: -1n,
      deliveryCompleteCount: -1,
    });
    return { results };
  },
});
