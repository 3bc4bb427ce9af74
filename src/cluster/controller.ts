// The controller's part of failover, run by the broker the store names controller (the lowest
// live node id) whenever membership changes: replicas on brokers that left are removed from
// the ISR (the last ISR member stays, as in KRaft, so that it alone can lead again), and a
// partition whose leader left gets the first live ISR member of its replica list as leader
// with the leader epoch bumped. unclean.leader.election.enable=false: with no live ISR member
// the partition stays offline (leader -1) until one returns.

import { type Logger } from '../logger.js';
import { type MetadataStore } from './metadata-store.js';

export function electLeaders(store: MetadataStore, logger: Pick<Logger, 'debug' | 'info' | 'warn'>): void {
  const live = new Set(store.brokers().map((broker) => broker.nodeId));
  let elected = 0;
  let offline = 0;
  for (const topic of store.topics()) {
    for (let index = 0; index < topic.replicas.length; index++) {
      // A CAS can lose against a leader's own ISR change; read again and retry a few times.
      for (let attempt = 0; attempt < 5; attempt++) {
        const state = store.partitionState(topic.name, index);
        if (state === undefined) break;
        const liveIsr = state.isr.filter((id) => live.has(id));
        const isr = liveIsr.length > 0 ? liveIsr : state.isr;
        let leader = state.leader;
        if (!live.has(leader)) leader = state.replicas.find((id) => live.has(id) && isr.includes(id)) ?? -1;
        const sameIsr = isr.length === state.isr.length && isr.every((id, i) => id === state.isr[i]);
        if (leader === state.leader && sameIsr) break;
        const leaderEpoch = leader !== state.leader ? state.leaderEpoch + 1 : state.leaderEpoch;
        const version = store.compareAndSetPartition(topic.name, index, state.version, { leader, leaderEpoch, replicas: state.replicas, isr });
        if (version === undefined) continue;
        if (leader !== state.leader) {
          if (leader === -1) offline++;
          else elected++;
          if (leader === -1) logger.debug(`${topic.name}-${index} is offline: no replica of the ISR [${state.isr.join(',')}] is live`);
          else logger.debug(`${topic.name}-${index}: broker ${leader} elected leader at epoch ${leaderEpoch} (was ${state.leader})`);
        }
        break;
      }
    }
  }
  if (elected > 0) logger.info(`Controller elected new leaders for ${elected} partition(s); live brokers [${[...live].sort((a, b) => a - b).join(',')}]`);
  if (offline > 0) logger.warn(`${offline} partition(s) are offline: no replica of their ISR is live (unclean.leader.election.enable=false)`);
}
