// Partition reassignment as Kafka's controller does it (KIP-455): a new target replica set is
// written to the partition's state with the replicas being added and removed; `replicas`
// becomes the target followed by the replicas being removed, so the added ones follow the
// leader through their replica fetchers and join the ISR when they catch up. Once every added
// replica is in the ISR the controller completes the move: the replica set becomes the target,
// the removed replicas leave the ISR, and leadership moves to the first in-sync target replica
// when the leader itself was removed (leader epoch bumped). A cancellation (replicas null)
// goes back to the original replicas. Every write is a compare-and-swap on the state's version.

import { type Logger } from '../logger.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type PartitionState } from './metadata.js';
import { type MetadataStore } from './metadata-store.js';
import { checkAssignment } from './placement.js';

export interface ReassignmentOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

const CAS_ATTEMPTS = 5;

/** True while a reassignment of the partition is under way. */
export function reassigning(state: PartitionState): boolean {
  return (state.addingReplicas?.length ?? 0) > 0 || (state.removingReplicas?.length ?? 0) > 0;
}

/** The replica set before the ongoing reassignment (the current one when none is). */
export function originalReplicas(state: PartitionState): number[] {
  const adding = new Set(state.addingReplicas ?? []);
  return state.replicas.filter((id) => !adding.has(id));
}

/** The replica set the ongoing reassignment moves to. */
export function targetReplicas(state: PartitionState): number[] {
  const removing = new Set(state.removingReplicas ?? []);
  return state.replicas.filter((id) => !removing.has(id));
}

/**
 * The state with `replicas` as the whole replica set: the ISR keeps its members in it, and
 * a leader outside it gives way to the first in-sync live one (epoch bumped). Undefined
 * when no replica of the set is in sync yet (the move waits).
 */
function settledState(state: PartitionState, replicas: readonly number[], live: ReadonlySet<number>): Omit<PartitionState, 'version'> | undefined {
  const isr = state.isr.filter((id) => replicas.includes(id));
  if (isr.length === 0) return undefined;
  let leader = state.leader;
  if (!replicas.includes(leader)) leader = replicas.find((id) => isr.includes(id) && live.has(id)) ?? -1;
  return { leader, leaderEpoch: leader !== state.leader ? state.leaderEpoch + 1 : state.leaderEpoch, replicas: [...replicas], isr };
}

/** AlterPartitionReassignments for one partition: start, replace or (target null) cancel its reassignment. */
export async function alterReassignment(
  store: MetadataStore,
  topic: string,
  partition: number,
  target: readonly number[] | null,
  allowReplicationFactorChange: boolean,
  logger: Pick<Logger, 'info'>,
): Promise<ReassignmentOutcome> {
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const state = store.partitionState(topic, partition);
    if (state === undefined || store.topic(topic) === undefined)
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Unable to find partition ${topic}-${partition}.` };
    const live = new Set(store.brokers().map((broker) => broker.nodeId));
    const original = originalReplicas(state);
    let next: Omit<PartitionState, 'version'> | undefined;
    if (target === null) {
      if (!reassigning(state)) return { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: `No partition reassignment is in progress for ${topic}-${partition}.` };
      next = settledState(state, original, live) ?? {
        leader: state.leader,
        leaderEpoch: state.leaderEpoch,
        replicas: original,
        isr: state.isr.filter((id) => original.includes(id)),
      };
    } else {
      try {
        checkAssignment([target], [...live]);
      } catch (error) {
        if (error instanceof KafkaError) return { errorCode: error.kafkaCode, errorMessage: error.message };
        throw error;
      }
      if (!allowReplicationFactorChange && target.length !== original.length) {
        return { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, errorMessage: `The replication factor is changed from ${original.length} to ${target.length}.` };
      }
      const adding = target.filter((id) => !original.includes(id));
      const removing = original.filter((id) => !target.includes(id));
      if (adding.length === 0) {
        // Nothing to copy: the move completes at once (or waits for a target replica to be in sync).
        next = settledState(state, target, live);
      }
      if (next === undefined) {
        const replicas = [...target, ...removing];
        next = {
          leader: state.leader,
          leaderEpoch: state.leaderEpoch,
          replicas,
          isr: state.isr.filter((id) => replicas.includes(id)),
          addingReplicas: adding,
          removingReplicas: removing,
        };
      }
    }
    const version = await store.compareAndSetPartition(topic, partition, state.version, next);
    if (version === undefined) continue;
    const what = target === null ? 'cancelled, back to' : reassigning(next as PartitionState) ? 'started towards' : 'completed at';
    logger.info(
      `${topic}-${partition}: reassignment ${what} [${(target ?? original).join(',')}] (replicas [${next.replicas.join(',')}], ISR [${next.isr.join(',')}], leader ${next.leader})`,
    );
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  }
  return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: `The state of ${topic}-${partition} kept changing; try again.` };
}

/**
 * The controller's check after a partition's state changed: a reassignment whose added
 * replicas are all in the ISR is completed. True when it wrote the completion.
 */
export async function completeReassignment(store: MetadataStore, topic: string, partition: number, logger: Pick<Logger, 'info'>): Promise<boolean> {
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const state = store.partitionState(topic, partition);
    if (state === undefined || !reassigning(state)) return false;
    if (!(state.addingReplicas ?? []).every((id) => state.isr.includes(id))) return false;
    const live = new Set(store.brokers().map((broker) => broker.nodeId));
    const target = targetReplicas(state);
    const next = settledState(state, target, live);
    if (next === undefined) return false;
    const version = await store.compareAndSetPartition(topic, partition, state.version, next);
    if (version === undefined) continue;
    logger.info(`${topic}-${partition}: reassignment completed at [${target.join(',')}] (ISR [${next.isr.join(',')}], leader ${next.leader} at epoch ${next.leaderEpoch})`);
    return true;
  }
  return false;
}
