// The share coordinator as shards of __share_group_state and the share-partition leader over
// the raw protocol, against a 3-broker one-process cluster:
// - FindCoordinator for a share key creates the topic and names the leader of the key's
//   partition; InitializeShareGroupState, ReadShareGroupState, WriteShareGroupState,
//   DeleteShareGroupState and ReadShareGroupStateSummary (83-87) answer NOT_COORDINATOR
//   elsewhere and Kafka 4.3's errors at the coordinator (INVALID_REQUEST for an
//   uninitialised share-partition, FENCED_LEADER_EPOCH, FENCED_STATE_EPOCH,
//   UNKNOWN_TOPIC_OR_PARTITION), COORDINATOR_LOAD_IN_PROGRESS while a new coordinator loads,
//   and the state survives the coordinator's stop;
// - ShareFetch / ShareAcknowledge answer NOT_LEADER_OR_FOLLOWER (with the leader and its
//   endpoint) away from the data partition's leader; when that leader stops, the new leader
//   starts from the persisted state: accepted records stay done, records the old leader had
//   handed out come back with their persisted delivery count, and the old leader's writes
//   are fenced;
// - the five APIs need CLUSTER_ACTION once an authorizer is set.

import t, { type Test } from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { partitionForKey } from '../../src/log/internal-topic.js';
import { shareCoordinatorKey, shareStatePartition } from '../../src/share/share-state-log.js';
import { type SpateCluster } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startTestCluster, waitFor } from '../helpers/cluster.js';
import { startTestBroker } from '../helpers/broker.js';

const STATE = '__share_group_state';
const ACCEPT = 1;

let correlation = 1;
const call = async (client: RawClient, apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body, correlation++)).body;

async function clients(t: Test, cluster: SpateCluster): Promise<Map<number, RawClient>> {
  const connected = new Map<number, RawClient>();
  for (const broker of cluster.brokers) {
    const client = await RawClient.connect(broker.bootstrap);
    t.teardown(() => client.close());
    connected.set(broker.nodeId, client);
  }
  return connected;
}

const shareCoordinator = (cluster: SpateCluster, groupId: string, topicId: Buffer, partition = 0) =>
  cluster.leaderOf(STATE, shareStatePartition(shareCoordinatorKey(groupId, topicId, partition), 50));

async function createTopic(client: RawClient, name: string): Promise<void> {
  const created = await call(client, 19, 5, { topics: [{ name, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  if (created.topics[0].errorCode !== 0) throw new Error(`CreateTopics ${name}: ${created.topics[0].errorCode}`);
}

/** FindCoordinator for a share key until __share_group_state exists and its partition has a leader. */
async function findShareCoordinator(client: RawClient, key: string): Promise<{ first: number | undefined; nodeId: number }> {
  let first: number | undefined;
  for (let attempt = 0; attempt < 200; attempt++) {
    const found = (await call(client, 10, 6, { keyType: 2, coordinatorKeys: [key] })).coordinators[0];
    if (first === undefined) first = found.errorCode as number;
    if (found.errorCode === 0) return { first, nodeId: found.nodeId };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`No share coordinator for ${key}`);
}

const partitionResult = (response: any) => response.results[0]?.partitions[0];
const state = (groupId: string, topicId: Buffer, fields: Record<string, unknown> = {}) => ({ groupId, topics: [{ topicId, partitions: [{ partition: 0, ...fields }] }] });

t.test('the share coordinator: FindCoordinator, NOT_COORDINATOR elsewhere, Kafka 4.3 errors and epochs at the coordinator', async (t) => {
  const cluster = await startTestCluster(t);
  const byNode = await clients(t, cluster);
  await createTopic(byNode.get(0)!, 'data');
  const topicId = cluster.broker(0).replicas.topicId('data')!;
  const groupId = 'share-state';
  const key = shareCoordinatorKey(groupId, topicId, 0);

  t.equal(cluster.store.topic(STATE), undefined, 'no __share_group_state before a share key is looked up');
  const found = await findShareCoordinator(byNode.get(1)!, key);
  t.equal(found.first, ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the first FindCoordinator for a share key answers COORDINATOR_NOT_AVAILABLE and creates the topic');
  t.equal(cluster.store.topic(STATE)?.replicas.length, 50, 'share.coordinator.state.topic.num.partitions');
  t.equal(cluster.store.topic(STATE)?.replicas[0]?.length, 3, 'replicated 3 times (share.coordinator.state.topic.replication.factor)');
  t.equal(cluster.store.topic(STATE)?.configs['cleanup.policy'], 'delete', "Kafka's topic configs: cleanup.policy=delete");
  t.equal(cluster.store.topic(STATE)?.configs['min.insync.replicas'], '2', 'min.insync.replicas = share.coordinator.state.topic.min.isr');
  const coordinator = shareCoordinator(cluster, groupId, topicId);
  t.equal(found.nodeId, coordinator, 'FindCoordinator names the leader of the key partition (Utils.abs of the hash)');
  t.equal((await call(byNode.get(0)!, 10, 5, { keyType: 2, coordinatorKeys: [key] })).coordinators[0].errorCode, ErrorCode.INVALID_REQUEST, 'share keys need FindCoordinator v6');
  t.equal((await call(byNode.get(0)!, 10, 6, { keyType: 2, coordinatorKeys: ['not-a-share-key'] })).coordinators[0].errorCode, ErrorCode.INVALID_REQUEST, 'a malformed key');

  const other = byNode.get([0, 1, 2].find((id) => id !== coordinator)!)!;
  const here = byNode.get(coordinator)!;
  const elsewhere = [
    partitionResult(await call(other, 83, 0, state(groupId, topicId, { stateEpoch: 0, startOffset: 5n }))),
    partitionResult(await call(other, 84, 0, state(groupId, topicId, { leaderEpoch: 0 }))),
    partitionResult(await call(other, 85, 1, state(groupId, topicId, { stateEpoch: 0, leaderEpoch: 0, startOffset: 5n, deliveryCompleteCount: 0, stateBatches: [] }))),
    partitionResult(await call(other, 86, 0, state(groupId, topicId))),
    partitionResult(await call(other, 87, 1, state(groupId, topicId, { leaderEpoch: 0 }))),
  ];
  t.same(
    elsewhere.map((result) => result.errorCode),
    [ErrorCode.NOT_COORDINATOR, ErrorCode.NOT_COORDINATOR, ErrorCode.NOT_COORDINATOR, ErrorCode.NOT_COORDINATOR, ErrorCode.NOT_COORDINATOR],
    'every other broker answers NOT_COORDINATOR to 83-87',
  );

  // At the coordinator, Kafka 4.3's answers.
  const read = async (leaderEpoch: number) => partitionResult(await call(here, 84, 0, state(groupId, topicId, { leaderEpoch })));
  const write = async (fields: { stateEpoch: number; leaderEpoch: number; startOffset: bigint; stateBatches: unknown[] }) =>
    partitionResult(await call(here, 85, 1, state(groupId, topicId, { deliveryCompleteCount: -1, ...fields }))).errorCode;
  const summary = async () => partitionResult(await call(here, 87, 1, state(groupId, topicId, { leaderEpoch: -1 })));
  // The shard was just created: it may still be loading.
  for (let attempt = 0; attempt < 100 && (await summary()).errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS; attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal((await read(0)).errorCode, ErrorCode.INVALID_REQUEST, 'Read on an uninitialised share-partition: INVALID_REQUEST');
  t.equal(await write({ stateEpoch: 0, leaderEpoch: 0, startOffset: 0n, stateBatches: [] }), ErrorCode.INVALID_REQUEST, 'Write on an uninitialised one: INVALID_REQUEST');
  t.equal((await summary()).startOffset, -1n, 'Summary of an uninitialised one: start offset -1');
  const unknownTopic = Buffer.alloc(16, 7);
  t.equal(
    partitionResult(await call(byNode.get(shareCoordinator(cluster, groupId, unknownTopic))!, 83, 0, state(groupId, unknownTopic, { stateEpoch: 0, startOffset: 0n }))).errorCode,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    'a topic the cluster does not have',
  );
  t.same((await call(here, 84, 0, state('', topicId, { leaderEpoch: 0 }))).results, [], 'an empty group ID gets an empty answer, as from Kafka');

  t.equal(partitionResult(await call(here, 83, 0, state(groupId, topicId, { stateEpoch: 0, startOffset: 5n }))).errorCode, 0, 'initialised at 5');
  const first = await read(3);
  t.same([first.errorCode, first.startOffset, first.stateEpoch], [0, 5n, 0], 'read at leader epoch 3');
  t.equal(await write({ stateEpoch: 0, leaderEpoch: 2, startOffset: 5n, stateBatches: [] }), ErrorCode.FENCED_LEADER_EPOCH, 'a write from an older leader epoch is fenced');
  t.equal((await read(2)).errorCode, ErrorCode.FENCED_LEADER_EPOCH, 'so is a read');
  t.equal(
    await write({
      stateEpoch: 0,
      leaderEpoch: 3,
      startOffset: 5n,
      stateBatches: [
        { firstOffset: 5n, lastOffset: 6n, deliveryState: 2, deliveryCount: 1 },
        { firstOffset: 7n, lastOffset: 9n, deliveryState: 0, deliveryCount: 2 },
      ],
    }),
    0,
  );
  t.equal(await write({ stateEpoch: 0, leaderEpoch: 3, startOffset: 7n, stateBatches: [{ firstOffset: 8n, lastOffset: 8n, deliveryState: 4, deliveryCount: 2 }] }), 0);
  t.same(
    (await read(3)).stateBatches,
    [
      { firstOffset: 7n, lastOffset: 7n, deliveryState: 0, deliveryCount: 2 },
      { firstOffset: 8n, lastOffset: 8n, deliveryState: 4, deliveryCount: 2 },
      { firstOffset: 9n, lastOffset: 9n, deliveryState: 0, deliveryCount: 2 },
    ],
    'writes carry the batches that changed: laid over the state, pruned below the start offset',
  );
  const summarized = await summary();
  t.same([summarized.startOffset, summarized.leaderEpoch, summarized.stateEpoch], [7n, 3, 0], 'the summary: start offset and epochs');

  // An offsets reset: a newer state epoch fences writes carrying the older one.
  t.equal(partitionResult(await call(here, 83, 0, state(groupId, topicId, { stateEpoch: 1, startOffset: 0n }))).errorCode, 0);
  t.equal(await write({ stateEpoch: 0, leaderEpoch: 3, startOffset: 7n, stateBatches: [] }), ErrorCode.FENCED_STATE_EPOCH, 'FENCED_STATE_EPOCH after a reset');
  t.equal(
    partitionResult(await call(here, 83, 0, state(groupId, topicId, { stateEpoch: 0, startOffset: 0n }))).errorCode,
    ErrorCode.FENCED_STATE_EPOCH,
    'and for an older Initialize',
  );
  t.same([(await read(3)).startOffset, (await read(3)).stateBatches], [0n, []], 'the reset state');
  t.equal(partitionResult(await call(here, 86, 0, state(groupId, topicId))).errorCode, 0, 'deleted');
  t.equal((await read(3)).errorCode, ErrorCode.INVALID_REQUEST, 'and uninitialised again');
  t.equal(partitionResult(await call(here, 86, 0, state(groupId, topicId))).errorCode, 0, 'deleting what does not exist succeeds');
});

t.test('a new share coordinator answers COORDINATOR_LOAD_IN_PROGRESS while it loads, then has the state', async (t) => {
  const cluster = await startTestCluster(t);
  const byNode = await clients(t, cluster);
  await createTopic(byNode.get(0)!, 'loading');
  const topicId = cluster.broker(0).replicas.topicId('loading')!;
  await findShareCoordinator(byNode.get(0)!, shareCoordinatorKey('probe', topicId, 0));
  // A group whose share coordinator is broker 2.
  const groupId = Array.from({ length: 200 }, (_, i) => `load-${i}`).find((id) => shareCoordinator(cluster, id, topicId) === 2)!;
  const index = shareStatePartition(shareCoordinatorKey(groupId, topicId, 0), 50);
  const old = byNode.get(2)!;
  await waitFor('broker 2 to serve the key', () => cluster.broker(2).replicas.partition(STATE, index)?.isLeader === true);
  let initialized: any;
  for (let attempt = 0; attempt < 100; attempt++) {
    initialized = partitionResult(await call(old, 83, 0, state(groupId, topicId, { stateEpoch: 4, startOffset: 11n })));
    if (initialized.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal(initialized.errorCode, 0, 'initialised at the first coordinator');

  const next = cluster.store.partitionState(STATE, index)!.isr.find((id) => id !== 2)!;
  const log = cluster.broker(next).replicas.partition(STATE, index)!.log;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const read = log.read.bind(log);
  log.read = async (...args: Parameters<typeof log.read>) => {
    await gate;
    return read(...args);
  };
  await cluster.stopBroker(2);
  t.equal(cluster.leaderOf(STATE, index), next, `broker ${next} leads the key's partition`);
  const here = byNode.get(next)!;
  t.equal(partitionResult(await call(here, 84, 0, state(groupId, topicId, { leaderEpoch: 0 }))).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'ReadShareGroupState');
  t.equal(partitionResult(await call(here, 87, 1, state(groupId, topicId, { leaderEpoch: 0 }))).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'ReadShareGroupStateSummary');
  open();
  let loaded: any;
  for (let attempt = 0; attempt < 100; attempt++) {
    loaded = partitionResult(await call(here, 84, 0, state(groupId, topicId, { leaderEpoch: 0 })));
    if (loaded.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.same([loaded.errorCode, loaded.startOffset, loaded.stateEpoch], [0, 11n, 4], 'the state written at the stopped coordinator, replayed from the replica');
});

const shareFetch = (client: RawClient, groupId: string, memberId: string, topicId: Buffer, epoch: number, acks: Array<[bigint, bigint, number[]]> = [], maxWaitMs = 0) =>
  call(client, 78, 2, {
    groupId,
    memberId,
    shareSessionEpoch: epoch,
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    maxRecords: 500,
    batchSize: 500,
    shareAcquireMode: 0,
    isRenewAck: false,
    topics: [
      {
        topicId,
        partitions: [{ partitionIndex: 0, acknowledgementBatches: acks.map(([firstOffset, lastOffset, acknowledgeTypes]) => ({ firstOffset, lastOffset, acknowledgeTypes })) }],
      },
    ],
    forgottenTopicsData: [],
  });

t.test('share-partitions live at the data partition leader and fail over with it', async (t) => {
  const cluster = await startTestCluster(t, { config: { 'group.share.record.lock.duration.ms': 60000 } });
  const byNode = await clients(t, cluster);
  await createTopic(byNode.get(0)!, 'queue');
  const topicId = cluster.broker(0).replicas.topicId('queue')!;
  const leader = cluster.leaderOf('queue', 0);
  await findShareCoordinator(byNode.get(0)!, shareCoordinatorKey('probe', topicId, 0));
  // A group whose share coordinator and group coordinator are not on the data partition's leader, so that stopping the leader tests the leader alone.
  const groupId = Array.from({ length: 500 }, (_, i) => `fail-${i}`).find(
    (id) => shareCoordinator(cluster, id, topicId) !== leader && cluster.leaderOf('__consumer_offsets', partitionForKey(id, 50)) !== leader,
  )!;
  const atLeader = byNode.get(leader)!;
  const follower = [0, 1, 2].find((id) => id !== leader)!;
  const records = encodeRecordBatch({ records: Array.from({ length: 6 }, (_, i) => ({ key: null, value: Buffer.from(`r${i}`) })) });
  const produced = await call(atLeader, 0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'queue', partitionData: [{ index: 0, records }] }] });
  t.equal(produced.responses[0].partitionResponses[0].errorCode, 0);
  // The group starts at the beginning (AlterShareGroupOffsets at its group coordinator, found with FindCoordinator).
  const groupCoordinator = (await call(atLeader, 10, 4, { keyType: 0, coordinatorKeys: [groupId] })).coordinators[0].nodeId;
  const reset = await call(byNode.get(groupCoordinator)!, 91, 0, { groupId, topics: [{ topicName: 'queue', partitions: [{ partitionIndex: 0, startOffset: 0n }] }] });
  t.equal(reset.responses[0].partitions[0].errorCode, 0, 'AlterShareGroupOffsets at the group coordinator');

  const refused = await shareFetch(byNode.get(follower)!, groupId, 'm1', topicId, 0);
  const refusedPartition = refused.responses[0].partitions[0];
  t.equal(refusedPartition.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'ShareFetch at a follower: NOT_LEADER_OR_FOLLOWER');
  t.equal(refusedPartition.currentLeader.leaderId, leader, 'with the current leader');
  t.same(
    refused.nodeEndpoints.map((endpoint: any) => endpoint.nodeId),
    [leader],
    "and the leader's endpoint (KIP-951)",
  );

  const opened = await shareFetch(atLeader, groupId, 'm1', topicId, 0);
  t.same(opened.responses[0].partitions[0].acquiredRecords, [{ firstOffset: 0n, lastOffset: 5n, deliveryCount: 1 }], 'the leader hands out the records');
  // Accept 0-1 and release 2-3 (persisted: delivery count 1); 4-5 stay acquired (not persisted as such).
  const acked = await call(atLeader, 79, 2, {
    groupId,
    memberId: 'm1',
    shareSessionEpoch: 1,
    isRenewAck: false,
    topics: [
      {
        topicId,
        partitions: [
          {
            partitionIndex: 0,
            acknowledgementBatches: [
              { firstOffset: 0n, lastOffset: 1n, acknowledgeTypes: [ACCEPT] },
              { firstOffset: 2n, lastOffset: 3n, acknowledgeTypes: [2] },
            ],
          },
        ],
      },
    ],
  });
  t.equal(acked.responses[0].partitions[0].errorCode, 0, 'acknowledged once the share coordinator on another broker has it');
  const again = await shareFetch(atLeader, groupId, 'm1', topicId, 2);
  t.same(again.responses[0].partitions[0].acquiredRecords, [{ firstOffset: 2n, lastOffset: 3n, deliveryCount: 2 }], 'the released records come back');
  const oldLeader = cluster.broker(leader);
  const oldManager = (oldLeader as any).state.sharePartitions;
  const stale = oldManager.existingPartition(groupId, topicId, 0);
  t.ok(stale !== undefined, 'the old leader holds the share-partition');

  await cluster.stopBroker(leader);
  const newLeader = cluster.leaderOf('queue', 0);
  t.not(newLeader, leader, `broker ${newLeader} leads the partition now`);
  const atNew = byNode.get(newLeader)!;
  // Waits for the records: a new leader's high watermark catches up once its followers fetch.
  const moved = await shareFetch(atNew, groupId, 'm2', topicId, 0, [], 10_000);
  const counts = new Map<bigint, number>();
  for (const range of moved.responses[0].partitions[0].acquiredRecords)
    for (let offset = range.firstOffset; offset <= range.lastOffset; offset++) counts.set(offset, range.deliveryCount);
  t.same([...counts.keys()], [2n, 3n, 4n, 5n], 'the new leader starts from the persisted state: 0-1, accepted, stay done; 2-5, handed out at the old leader, come back');
  // 4-5 were persisted as delivered once (with the acknowledgement of 0-3); 2-3 as delivered once when
  // released, or twice when the old leader's session release on its way out was persisted before the new leader read.
  t.same([counts.get(4n), counts.get(5n)], [2, 2], 'with their persisted delivery count, plus this delivery');
  t.ok([2, 3].includes(counts.get(2n)!) && counts.get(3n) === counts.get(2n), `2-3 at delivery ${counts.get(2n)}`);
  const done = await call(atNew, 79, 2, {
    groupId,
    memberId: 'm2',
    shareSessionEpoch: 1,
    isRenewAck: false,
    topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 2n, lastOffset: 5n, acknowledgeTypes: [ACCEPT] }] }] }],
  });
  t.equal(done.responses[0].partitions[0].errorCode, 0, `accepted at the new leader: ${done.responses[0].partitions[0].errorMessage}`);

  // The old leader's copy is fenced: its write (were it still running) is refused with FENCED_LEADER_EPOCH.
  const coordinatorNode = shareCoordinator(cluster, groupId, topicId);
  const fenced = partitionResult(
    await call(
      byNode.get(coordinatorNode)!,
      85,
      1,
      state(groupId, topicId, { stateEpoch: stale.stateEpoch, leaderEpoch: stale.leaderEpoch, startOffset: 0n, deliveryCompleteCount: -1, stateBatches: [] }),
    ),
  );
  t.equal(fenced.errorCode, ErrorCode.FENCED_LEADER_EPOCH, "a write at the old leader's epoch is fenced");
  const offsets = await call(byNode.get(groupCoordinator)!, 90, 1, { groups: [{ groupId, topics: [{ topicName: 'queue', partitions: [0] }] }] });
  t.same([offsets.groups[0].topics[0].partitions[0].startOffset, offsets.groups[0].topics[0].partitions[0].lag], [6n, 0n], 'DescribeShareGroupOffsets: everything done, lag 0');

  // The old leader comes back and a preferred election gives it the partition again: the
  // interim leader drops its copy, the old one reads the state afresh.
  await cluster.startBroker(leader);
  const restarted = await RawClient.connect(cluster.broker(leader).bootstrap);
  t.teardown(() => restarted.close());
  await waitFor('the restarted broker to rejoin the ISR', () => cluster.store.partitionState('queue', 0)!.isr.includes(leader));
  const elected = await call(atNew, 43, 2, { electionType: 0, topicPartitions: [{ topic: 'queue', partitions: [0] }], timeoutMs: 5000 });
  t.equal(elected.replicaElectionResults[0].partitionResult[0].errorCode, 0, 'preferred election');
  await waitFor('the preferred leader', () => cluster.leaderOf('queue', 0) === leader);
  const interim = (cluster.broker(newLeader) as any).state.sharePartitions;
  await waitFor('the interim leader to follow', () => cluster.broker(newLeader).replicas.partition('queue', 0)?.isLeader === false);
  interim.dropFollowed();
  t.equal(interim.existingPartition(groupId, topicId, 0), undefined, 'the interim leader dropped its share-partition');
  const more = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('r6') }] });
  await call(restarted, 0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'queue', partitionData: [{ index: 0, records: more }] }] });
  const back = await shareFetch(restarted, groupId, 'm3', topicId, 0, [], 10_000);
  t.same(
    back.responses[0].partitions[0].acquiredRecords,
    [{ firstOffset: 6n, lastOffset: 6n, deliveryCount: 1 }],
    'the leader again serves the share-partition from its persisted state',
  );
});

t.test('share group membership lives with the group coordinator: NOT_COORDINATOR elsewhere, rejoined at the next coordinator', async (t) => {
  const cluster = await startTestCluster(t);
  const byNode = await clients(t, cluster);
  await createTopic(byNode.get(0)!, 'members');
  const groupId = 'member-group';
  const coordinator = cluster.leaderOf('__consumer_offsets', partitionForKey(groupId, 50));
  const other = byNode.get([0, 1, 2].find((id) => id !== coordinator)!)!;
  const here = byNode.get(coordinator)!;
  const heartbeat = (client: RawClient, memberEpoch: number, subscribedTopicNames: string[] | null = ['members']) =>
    call(client, 76, 1, { groupId, memberId: 'member-1', memberEpoch, rackId: null, subscribedTopicNames });
  t.equal((await heartbeat(other, 0)).errorCode, ErrorCode.NOT_COORDINATOR, 'ShareGroupHeartbeat elsewhere');
  const joined = await heartbeat(here, 0);
  t.same([joined.errorCode, joined.memberEpoch], [0, 1], 'joined at the coordinator');
  t.equal((await call(other, 77, 1, { groupIds: [groupId], includeAuthorizedOperations: false })).groups[0].errorCode, ErrorCode.NOT_COORDINATOR, 'ShareGroupDescribe elsewhere');
  t.equal((await call(other, 90, 1, { groups: [{ groupId, topics: null }] })).groups[0].errorCode, ErrorCode.NOT_COORDINATOR, 'DescribeShareGroupOffsets elsewhere');
  t.equal((await call(other, 91, 0, { groupId, topics: [] })).errorCode, ErrorCode.NOT_COORDINATOR, 'AlterShareGroupOffsets elsewhere');
  t.equal((await call(other, 92, 0, { groupId, topics: [] })).errorCode, ErrorCode.NOT_COORDINATOR, 'DeleteShareGroupOffsets elsewhere');
  t.equal((await call(here, 77, 1, { groupIds: [groupId], includeAuthorizedOperations: false })).groups[0].members.length, 1);

  await cluster.stopBroker(coordinator);
  const next = cluster.leaderOf('__consumer_offsets', partitionForKey(groupId, 50));
  const atNext = byNode.get(next)!;
  let again = await heartbeat(atNext, 1, null);
  for (let attempt = 0; attempt < 100 && again.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    again = await heartbeat(atNext, 1, null);
  }
  t.equal(again.errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'the next coordinator does not know the member (members are not persisted): it joins again');
  const loaded = (await call(atNext, 77, 1, { groupIds: [groupId], includeAuthorizedOperations: false })).groups[0];
  t.same([loaded.errorCode, loaded.groupState, loaded.groupEpoch], [0, 'Empty', 1], 'the group and its epoch were replayed from __consumer_offsets (ShareGroupMetadata)');
  const offsets = (await call(atNext, 90, 1, { groups: [{ groupId, topics: null }] })).groups[0];
  t.equal(offsets.errorCode, 0, 'DescribeShareGroupOffsets on the empty group at the next coordinator');
  const rejoined = await heartbeat(atNext, 0);
  t.same([rejoined.errorCode, rejoined.memberEpoch], [0, 2], 'joined again with its member ID, the group epoch going on');
  t.same(
    rejoined.assignment.topicPartitions.map((assigned: any) => assigned.partitions),
    [[0]],
    'with the same assignment',
  );
});

t.test('the share-state APIs need CLUSTER_ACTION once an authorizer is set', async (t) => {
  const broker = await startTestBroker(t, { config: { 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer' } });
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const topicId = Buffer.alloc(16, 1);
  const codes = [
    partitionResult(await call(client, 83, 0, state('g', topicId, { stateEpoch: 0, startOffset: 0n }))).errorCode,
    partitionResult(await call(client, 84, 0, state('g', topicId, { leaderEpoch: 0 }))).errorCode,
    partitionResult(await call(client, 85, 1, state('g', topicId, { stateEpoch: 0, leaderEpoch: 0, startOffset: 0n, deliveryCompleteCount: -1, stateBatches: [] }))).errorCode,
    partitionResult(await call(client, 86, 0, state('g', topicId))).errorCode,
    partitionResult(await call(client, 87, 1, state('g', topicId, { leaderEpoch: 0 }))).errorCode,
    (await call(client, 10, 6, { keyType: 2, coordinatorKeys: [shareCoordinatorKey('g', topicId, 0)] })).coordinators[0].errorCode,
  ];
  t.same(codes, Array(6).fill(ErrorCode.CLUSTER_AUTHORIZATION_FAILED), '83-87 and FindCoordinator for a share key: CLUSTER_AUTHORIZATION_FAILED');
});
