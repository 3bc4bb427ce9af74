// What ShareFetch and ShareAcknowledge have in common: finding the partition this broker must
// lead (NOT_LEADER_OR_FOLLOWER with the current leader otherwise, so that the share consumer
// refreshes its metadata), and applying a request's acknowledgements partition by partition,
// answered once the share coordinator has them.

import { type BrokerState } from '../broker/broker-state.js';
import { then, type MaybePromise } from '../cluster/maybe-async.js';
import { type Partition } from '../cluster/partition.js';
import { NotLeaderError } from '../cluster/replica-manager.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type AcknowledgementBatch, type SharePartition } from './share-partition.js';
import { ShareSession } from './share-sessions.js';

export interface AcknowledgedPartition {
  readonly topicId: Buffer;
  readonly partition: number;
  readonly batches: readonly AcknowledgementBatch[];
}

export interface LeaderHint {
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

export interface PartitionOutcome {
  errorCode: number;
  errorMessage: string | null;
  leader?: LeaderHint;
}

/** A partition of a share request resolved against the replica layer: this broker's leader replica, or the error. */
export type LedPartition =
  | { readonly topicName: string; readonly replica: Partition; readonly errorCode: typeof ErrorCode.NONE }
  | { readonly topicName: string | undefined; readonly replica: undefined; readonly errorCode: number; readonly leader?: LeaderHint };

export function ledPartition(broker: BrokerState, topicId: Buffer, partition: number): LedPartition {
  const topic = broker.replicas.metadata.topicInfoById(topicId);
  if (topic === undefined) return { topicName: undefined, replica: undefined, errorCode: ErrorCode.UNKNOWN_TOPIC_ID };
  if (partition < 0 || partition >= topic.partitionCount) return { topicName: topic.name, replica: undefined, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  try {
    return { topicName: topic.name, replica: broker.replicas.leaderPartition(topic.name, partition), errorCode: ErrorCode.NONE };
  } catch (error) {
    if (!(error instanceof KafkaError)) throw error;
    const leader = error instanceof NotLeaderError ? { leaderId: error.leaderId, leaderEpoch: error.leaderEpoch } : undefined;
    return { topicName: topic.name, replica: undefined, errorCode: error.kafkaCode, ...(leader !== undefined ? { leader } : {}) };
  }
}

/**
 * Applies acknowledgements; the result is keyed by ShareSession.partitionKey and is ready once
 * the share coordinator has the changes (at once on a single node).
 */
export function applyAcknowledgements(
  broker: BrokerState,
  groupId: string,
  memberId: string,
  acknowledged: readonly AcknowledgedPartition[],
  allowRenew: boolean,
  nowMs: number,
): MaybePromise<Map<string, PartitionOutcome>> {
  const manager = broker.sharePartitions;
  const outcomes = new Map<string, PartitionOutcome>();
  const touched: Array<[string, SharePartition]> = [];
  for (const { topicId, partition, batches } of acknowledged) {
    if (batches.length === 0) continue;
    const key = ShareSession.partitionKey(topicId, partition);
    const led = ledPartition(broker, topicId, partition);
    if (led.replica === undefined) {
      outcomes.set(key, { errorCode: led.errorCode, errorMessage: null, ...(led.leader !== undefined ? { leader: led.leader } : {}) });
      continue;
    }
    let state = manager.existingPartition(groupId, topicId, partition);
    // Initialised at an earlier leadership of this broker: it holds nothing of this one.
    if (state !== undefined && state.leaderEpoch !== led.replica.leaderEpoch) state = undefined;
    const outcome = manager.acknowledge(groupId, memberId, state, batches, allowRenew, nowMs);
    outcomes.set(key, outcome);
    if (outcome.errorCode === ErrorCode.NONE && state !== undefined) touched.push([key, state]);
  }
  manager.flush();
  const waits: Array<Promise<void>> = [];
  for (const [key, state] of touched) {
    const done = then(manager.persisted(state), (code) => {
      if (code !== ErrorCode.NONE) outcomes.set(key, { errorCode: code, errorMessage: 'The acknowledgement could not be persisted by the share coordinator' });
    });
    if (done instanceof Promise) waits.push(done);
  }
  return waits.length === 0 ? outcomes : Promise.all(waits).then(() => outcomes);
}

/** Counts the acknowledgement batches of a request (an opening request may carry none). */
export function hasAcknowledgements(acknowledged: readonly AcknowledgedPartition[]): boolean {
  return acknowledged.some((entry) => entry.batches.length > 0);
}

/** The NodeEndpoints of the leaders named in a response (KIP-951), on the listener the request came in on. */
export function leaderEndpoints(broker: BrokerState, leaders: ReadonlySet<number>, listener: string): Array<{ nodeId: number; host: string; port: number; rack: string | null }> {
  return [...leaders].flatMap((nodeId) => {
    const endpoint = broker.replicas.metadata.endpoint(nodeId, listener);
    return endpoint === undefined ? [] : [{ nodeId, host: endpoint.host, port: endpoint.port, rack: broker.replicas.metadata.broker(nodeId)?.rack ?? null }];
  });
}
