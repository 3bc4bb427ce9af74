// InitializeShareGroupState, v0 (KIP-932): a broker asks the share coordinator of a
// share-partition (the leader of its __share_group_state partition) to start its state
// afresh: a state epoch and a start offset, no in-flight batches (a ShareSnapshot record).
// Sent by a share-partition leader for a share-partition without state, and by a group
// coordinator resetting offsets (AlterShareGroupOffsets, at the next state epoch).
// FENCED_STATE_EPOCH for an epoch below the recorded one; NOT_COORDINATOR,
// COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE as for every coordinator;
// UNKNOWN_TOPIC_OR_PARTITION for a partition the cluster does not have. Answered once the
// record is committed. Between brokers only: CLUSTER_ACTION is required, as in Kafka; an
// empty group ID or topic list gets an empty answer, as Kafka's ShareCoordinatorService gives.

import { type InitializeShareGroupStateRequest, type InitializeShareGroupStateResponse } from '../protocol/generated/index.js';
import { answerSharePartitions } from '../share/share-state-requests.js';
import { defineHandler } from './api-handler.js';

export const initializeShareGroupStateHandler = defineHandler<InitializeShareGroupStateRequest, InitializeShareGroupStateResponse>({
  apiKey: 83,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, context) {
    const coordinator = context.broker.shareCoordinator;
    const results = await answerSharePartitions(context, request, async (id, partition) => ({
      ...(await coordinator.initialize(id, partition.stateEpoch, partition.startOffset, context.broker.now())),
    }));
    return { results };
  },
});
