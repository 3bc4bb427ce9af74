// The controller's part of failover, run by the broker the store names controller (the lowest
// live node id) whenever membership changes: replicas on brokers that left are removed from
// the ISR (the last ISR member stays, as in KRaft, so that it alone can lead again), and a
// partition whose leader left gets the first live ISR member of its replica list as leader
// with the leader epoch bumped. With no live ISR member the partition stays offline (leader
// -1) until one returns, unless unclean.leader.election.enable (topic config, or the broker
// default) lets the first live replica lead with an ISR of itself.
//
// Also the elections that ElectLeaders asks for (KIP-460): PREFERRED moves leadership to the
// first replica when it is live and in the ISR, UNCLEAN elects any live replica for a
// partition that has no leader; and the periodic preferred election of
// auto.leader.rebalance.enable.

import { type Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { type TopicAssignment, type PartitionState } from './metadata.js';
import { type MetadataStore } from './metadata-store.js';

/** ElectLeaders' electionType values. */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

export interface ElectionOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** A CAS can lose against a leader's own ISR change; read again and retry this many times. */
const CAS_ATTEMPTS = 5;

/**
 * Runs synchronously to the end over the in-process store (its CAS answers at once); over
 * etcd each CAS is awaited in turn.
 */
export async function electLeaders(
  store: MetadataStore,
  logger: Pick<Logger, 'debug' | 'info' | 'warn'>,
  uncleanAllowed: (topic: TopicAssignment) => boolean = () => false,
): Promise<void> {
  const live = new Set(store.brokers().map((broker) => broker.nodeId));
  let elected = 0;
  let offline = 0;
  let unclean = 0;
  for (const topic of store.topics()) {
    for (let index = 0; index < topic.replicas.length; index++) {
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const state = store.partitionState(topic.name, index);
        if (state === undefined) break;
        const liveIsr = state.isr.filter((id) => live.has(id));
        let isr = liveIsr.length > 0 ? liveIsr : state.isr;
        let leader = state.leader;
        if (!live.has(leader)) leader = state.replicas.find((id) => live.has(id) && isr.includes(id)) ?? -1;
        let uncleanLeader = false;
        if (leader === -1 && uncleanAllowed(topic)) {
          leader = state.replicas.find((id) => live.has(id)) ?? -1;
          if (leader !== -1) {
            isr = [leader];
            uncleanLeader = true;
          }
        }
        const sameIsr = isr.length === state.isr.length && isr.every((id, i) => id === state.isr[i]);
        if (leader === state.leader && sameIsr) break;
        const leaderEpoch = leader !== state.leader ? state.leaderEpoch + 1 : state.leaderEpoch;
        const written = store.compareAndSetPartition(topic.name, index, state.version, { ...state, leader, leaderEpoch, isr });
        const version = written instanceof Promise ? await written : written;
        if (version === undefined) continue;
        if (leader !== state.leader) {
          if (leader === -1) offline++;
          else elected++;
          if (uncleanLeader) unclean++;
          if (leader === -1) logger.debug(`${topic.name}-${index} is offline: no replica of the ISR [${state.isr.join(',')}] is live`);
          else logger.debug(`${topic.name}-${index}: broker ${leader} elected leader at epoch ${leaderEpoch} (was ${state.leader})${uncleanLeader ? ', uncleanly' : ''}`);
        }
        break;
      }
    }
  }
  if (elected > 0) logger.info(`Controller elected new leaders for ${elected} partition(s); live brokers [${[...live].sort((a, b) => a - b).join(',')}]`);
  if (unclean > 0) logger.warn(`${unclean} partition(s) got a leader outside their ISR (unclean.leader.election.enable=true): records acknowledged by the old ISR may be lost`);
  if (offline > 0) logger.warn(`${offline} partition(s) are offline: no replica of their ISR is live (unclean.leader.election.enable=false)`);
}

/** The leader an election of `type` would choose, or the error Kafka answers. */
function chooseLeader(state: PartitionState, type: number, live: ReadonlySet<number>): { leader: number; isr: readonly number[] } | ElectionOutcome {
  if (type === ElectionType.PREFERRED) {
    const preferred = state.replicas[0] ?? -1;
    if (state.leader === preferred) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition.' };
    if (!live.has(preferred) || !state.isr.includes(preferred)) {
      return { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: `The preferred leader ${preferred} is not ${live.has(preferred) ? 'in the ISR' : 'live'}.` };
    }
    return { leader: preferred, isr: state.isr };
  }
  if (state.leader >= 0 && live.has(state.leader)) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition.' };
  const clean = state.replicas.find((id) => live.has(id) && state.isr.includes(id));
  if (clean !== undefined) return { leader: clean, isr: state.isr.filter((id) => live.has(id)) };
  const any = state.replicas.find((id) => live.has(id));
  if (any === undefined) return { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, errorMessage: `No replica of [${state.replicas.join(',')}] is live.` };
  return { leader: any, isr: [any] };
}

/** One partition's election of `type` (ElectLeaders), written by CAS with the leader epoch bumped. */
export async function electLeader(store: MetadataStore, topic: string, partition: number, type: number, logger: Pick<Logger, 'info' | 'warn'>): Promise<ElectionOutcome> {
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const state = store.partitionState(topic, partition);
    if (state === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' };
    const live = new Set(store.brokers().map((broker) => broker.nodeId));
    const choice = chooseLeader(state, type, live);
    if ('errorCode' in choice) return choice;
    const version = await store.compareAndSetPartition(topic, partition, state.version, { ...state, leader: choice.leader, leaderEpoch: state.leaderEpoch + 1, isr: choice.isr });
    if (version === undefined) continue;
    const how = type === ElectionType.PREFERRED ? 'preferred' : choice.isr.length === 1 && !state.isr.includes(choice.leader) ? 'unclean' : 'clean';
    const log = how === 'unclean' ? logger.warn.bind(logger) : logger.info.bind(logger);
    log(`${topic}-${partition}: ${how} election made broker ${choice.leader} leader at epoch ${state.leaderEpoch + 1} (was ${state.leader})`);
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  }
  return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: `The state of ${topic}-${partition} kept changing during the election; try again.` };
}

/**
 * auto.leader.rebalance.enable: a broker that prefers N partitions (it is their first
 * replica) but leads fewer than N * (1 - leader.imbalance.per.broker.percentage / 100) of
 * them gets them back by preferred elections, where it is live and in the ISR.
 */
export async function rebalanceLeaders(store: MetadataStore, imbalancePercentage: number, logger: Pick<Logger, 'info' | 'warn'>): Promise<number> {
  const preferredOf = new Map<number, Array<{ topic: string; partition: number; leads: boolean }>>();
  for (const topic of store.topics()) {
    for (let index = 0; index < topic.replicas.length; index++) {
      const state = store.partitionState(topic.name, index);
      const preferred = state?.replicas[0];
      if (state === undefined || preferred === undefined || (state.addingReplicas?.length ?? 0) > 0) continue;
      const list = preferredOf.get(preferred) ?? [];
      list.push({ topic: topic.name, partition: index, leads: state.leader === preferred });
      preferredOf.set(preferred, list);
    }
  }
  let moved = 0;
  for (const list of preferredOf.values()) {
    const notLed = list.filter((entry) => !entry.leads);
    if (notLed.length === 0 || (notLed.length * 100) / list.length <= imbalancePercentage) continue;
    for (const entry of notLed) {
      const outcome = await electLeader(store, entry.topic, entry.partition, ElectionType.PREFERRED, logger);
      if (outcome.errorCode === ErrorCode.NONE) moved++;
    }
  }
  return moved;
}
