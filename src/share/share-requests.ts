// What ShareFetch and ShareAcknowledge have in common: resolving the share session from the
// epoch (KIP-932: 0 opens, -1 closes, anything else must be the session's next epoch) and
// applying a request's acknowledgements partition by partition.

import { type LogManager } from '../log/log-manager.js';
import { ErrorCode } from '../protocol/errors.js';
import { type ShareCoordinator } from './share-coordinator.js';
import { type AcknowledgementBatch } from './share-partition.js';
import { ShareSession } from './share-sessions.js';

export interface AcknowledgedPartition {
  readonly topicId: Buffer;
  readonly partition: number;
  readonly batches: readonly AcknowledgementBatch[];
}

export interface PartitionOutcome {
  errorCode: number;
  errorMessage: string | null;
}

/** Applies acknowledgements; the result is keyed by ShareSession.partitionKey. */
export function applyAcknowledgements(
  shares: ShareCoordinator,
  logs: LogManager,
  groupId: string,
  memberId: string,
  acknowledged: readonly AcknowledgedPartition[],
  allowRenew: boolean,
  nowMs: number,
): Map<string, PartitionOutcome> {
  const outcomes = new Map<string, PartitionOutcome>();
  for (const { topicId, partition, batches } of acknowledged) {
    if (batches.length === 0) continue;
    const key = ShareSession.partitionKey(topicId, partition);
    const topic = logs.topicById(topicId);
    if (topic === undefined) {
      outcomes.set(key, { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: null });
      continue;
    }
    if (topic.partitions[partition] === undefined) {
      outcomes.set(key, { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null });
      continue;
    }
    outcomes.set(key, shares.acknowledge(groupId, memberId, shares.existingPartition(groupId, topicId, partition), batches, allowRenew, nowMs));
  }
  shares.flush(nowMs);
  return outcomes;
}

/** Counts the acknowledgement batches of a request (an opening request may carry none). */
export function hasAcknowledgements(acknowledged: readonly AcknowledgedPartition[]): boolean {
  return acknowledged.some((entry) => entry.batches.length > 0);
}
