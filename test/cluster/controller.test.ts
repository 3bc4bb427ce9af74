// The controller's decisions over a bare in-process metadata store (no brokers running):
// elections (failover with and without unclean.leader.election.enable, preferred, unclean),
// the automatic leader rebalance, reassignment start / replace / cancel / completion, and
// rack-aware placement.

import t from 'tap';
import { ElectionType, electLeader, electLeaders, rebalanceLeaders } from '../../src/cluster/controller.js';
import { InProcessMetadataStore } from '../../src/cluster/metadata-store.js';
import { placeReplicas } from '../../src/cluster/placement.js';
import { alterReassignment, completeReassignment } from '../../src/cluster/reassignment.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined };

async function storeWith(brokers: number[], partitions: Array<{ replicas: number[]; leader?: number; isr?: number[] }>): Promise<InProcessMetadataStore> {
  const store = new InProcessMetadataStore();
  for (const nodeId of brokers) await store.registerBroker({ nodeId, endpoints: [{ listener: 'PLAINTEXT', host: '127.0.0.1', port: 9000 + nodeId }], rack: null });
  await store.createTopic(
    { name: 't', id: Buffer.alloc(16, 1), replicas: partitions.map((p) => p.replicas), configs: {} },
    partitions.map((p) => ({ leader: p.leader ?? p.replicas[0]!, leaderEpoch: 0, replicas: p.replicas, isr: p.isr ?? p.replicas, version: 0 })),
  );
  return store;
}

t.test('failover elections: clean from the ISR, offline without it, unclean when the topic allows it', async (t) => {
  const store = await storeWith([0, 1, 2], [{ replicas: [1, 2], isr: [1] }, { replicas: [1, 2, 0] }]);
  await store.unregisterBroker(1);
  await electLeaders(store, quiet);
  t.match(store.partitionState('t', 0), { leader: -1, leaderEpoch: 1, isr: [1] }, 'no live ISR member: offline, the last ISR member kept');
  t.match(store.partitionState('t', 1), { leader: 2, leaderEpoch: 1, isr: [2, 0] }, 'the first live ISR member leads');
  await electLeaders(store, quiet, () => true);
  t.match(store.partitionState('t', 0), { leader: 2, leaderEpoch: 2, isr: [2] }, 'unclean.leader.election.enable: the live replica leads alone');
});

t.test('ElectLeaders: preferred and unclean elections', async (t) => {
  const store = await storeWith(
    [0, 1, 2],
    [
      { replicas: [1, 2], leader: 2 },
      { replicas: [0, 1], leader: 1, isr: [1] },
      { replicas: [2, 1], leader: -1, isr: [1] },
    ],
  );
  t.match(await electLeader(store, 't', 0, ElectionType.PREFERRED, quiet), { errorCode: ErrorCode.NONE });
  t.match(store.partitionState('t', 0), { leader: 1, leaderEpoch: 1 });
  t.match(await electLeader(store, 't', 0, ElectionType.PREFERRED, quiet), { errorCode: ErrorCode.ELECTION_NOT_NEEDED });
  t.match(await electLeader(store, 't', 1, ElectionType.PREFERRED, quiet), { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: /not in the ISR/ });
  t.match(await electLeader(store, 't', 9, ElectionType.PREFERRED, quiet), { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
  t.match(await electLeader(store, 't', 1, ElectionType.UNCLEAN, quiet), { errorCode: ErrorCode.ELECTION_NOT_NEEDED }, 'the leader is live');
  t.match(await electLeader(store, 't', 2, ElectionType.UNCLEAN, quiet), { errorCode: ErrorCode.NONE });
  t.match(store.partitionState('t', 2), { leader: 1, isr: [1] }, 'a live ISR member is preferred even in an unclean election');
  await store.unregisterBroker(1);
  await store.unregisterBroker(2);
  await electLeaders(store, quiet);
  t.match(await electLeader(store, 't', 0, ElectionType.UNCLEAN, quiet), { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE }, 'no live replica at all');
  t.match(await electLeader(store, 't', 1, ElectionType.UNCLEAN, quiet), { errorCode: ErrorCode.NONE });
  t.match(store.partitionState('t', 1), { leader: 0, isr: [0] }, 'the live replica outside the ISR leads alone');
});

t.test('auto.leader.rebalance.enable: brokers leading too few of their preferred partitions get them back', async (t) => {
  const store = await storeWith(
    [0, 1, 2],
    [{ replicas: [0, 1], leader: 1 }, { replicas: [0, 2] }, { replicas: [1, 2], leader: 2 }, { replicas: [1, 0] }, { replicas: [2, 0], leader: 0, isr: [0] }],
  );
  t.equal(await rebalanceLeaders(store, 60, quiet), 0, 'broker 0 at 50% and broker 1 at 50% are below 60%; broker 2 cannot lead its partition');
  t.equal(await rebalanceLeaders(store, 10, quiet), 2);
  t.same(
    [0, 1, 2, 3, 4].map((index) => store.partitionState('t', index)!.leader),
    [0, 0, 1, 1, 0],
  );
});

t.test('reassignment: start, replace, complete once the added replicas are in sync, cancel', async (t) => {
  const store = await storeWith([0, 1, 2, 3], [{ replicas: [0, 1] }]);
  t.match(await alterReassignment(store, 't', 0, [2, 3], true, quiet), { errorCode: ErrorCode.NONE });
  t.match(store.partitionState('t', 0), { leader: 0, replicas: [2, 3, 0, 1], isr: [0, 1], addingReplicas: [2, 3], removingReplicas: [0, 1] });
  t.match(await alterReassignment(store, 't', 0, [2, 1], true, quiet), { errorCode: ErrorCode.NONE }, 'a new target replaces the ongoing one');
  t.match(store.partitionState('t', 0), { replicas: [2, 1, 0], addingReplicas: [2], removingReplicas: [0] }, 'computed from the original replicas');
  t.equal(await completeReassignment(store, 't', 0, quiet), false, 'broker 2 is not in sync yet');
  const state = store.partitionState('t', 0)!;
  store.compareAndSetPartition('t', 0, state.version, { ...state, isr: [0, 1, 2] });
  t.equal(await completeReassignment(store, 't', 0, quiet), true);
  const done = store.partitionState('t', 0)!;
  t.match(done, { leader: 2, leaderEpoch: 1, replicas: [2, 1], isr: [1, 2] }, 'the removed leader gives way to the first in-sync target replica');
  t.equal(done.addingReplicas, undefined, 'nothing is being moved any more');
  t.equal(await completeReassignment(store, 't', 0, quiet), false);

  t.match(await alterReassignment(store, 't', 0, [3, 0], true, quiet), { errorCode: ErrorCode.NONE });
  t.match(await alterReassignment(store, 't', 0, null, true, quiet), { errorCode: ErrorCode.NONE });
  t.match(store.partitionState('t', 0), { leader: 2, replicas: [2, 1], isr: [1, 2] }, 'cancelled: the original replicas again');
  t.match(await alterReassignment(store, 't', 0, null, true, quiet), { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS });
  t.match(await alterReassignment(store, 't', 0, [2, 1, 3], false, quiet), { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR });
  t.match(await alterReassignment(store, 'u', 0, [2], true, quiet), { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
  t.match(await alterReassignment(store, 't', 0, [3], true, quiet), { errorCode: ErrorCode.NONE }, 'a move to a replica outside the ISR waits');
  t.match(store.partitionState('t', 0), { leader: 2, replicas: [3, 2, 1], addingReplicas: [3], removingReplicas: [2, 1] });
});

t.test('rack-aware placement: each partition spans as many racks as it can', async (t) => {
  const racks = new Map<number, string | null>([
    [0, 'a'],
    [1, 'a'],
    [2, 'a'],
    [3, 'b'],
    [4, 'c'],
  ]);
  const placed = placeReplicas('racked', 0, 5, 3, [0, 1, 2, 3, 4], racks);
  for (const replicas of placed) {
    t.equal(new Set(replicas).size, 3, `[${replicas.join(',')}] names no broker twice`);
    t.equal(new Set(replicas.map((id) => racks.get(id))).size, 3, `[${replicas.join(',')}] spans the three racks`);
  }
  t.equal(new Set(placed.map((replicas) => replicas[0])).size, 5, 'every broker leads one partition');
  const twoRacks = placeReplicas(
    'racked',
    0,
    4,
    4,
    [0, 1, 2, 3],
    new Map([
      [0, 'a'],
      [1, 'a'],
      [2, 'b'],
      [3, 'b'],
    ]),
  );
  for (const replicas of twoRacks) t.equal(new Set(replicas).size, 4, 'more replicas than racks: every broker once');
  const partial = placeReplicas(
    'racked',
    0,
    3,
    2,
    [0, 1, 2],
    new Map([
      [0, 'a'],
      [1, null],
      [2, 'b'],
    ]),
  );
  t.same(partial, placeReplicas('racked', 0, 3, 2, [0, 1, 2]), 'a rackless broker: racks are ignored');
});
