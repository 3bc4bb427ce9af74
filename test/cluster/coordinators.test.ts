// The coordinators as shards of their internal topics' partitions, over the raw protocol
// against a 3-broker one-process cluster: only the leader of a key's partition coordinates it
// (the others answer NOT_COORDINATOR where each API version puts its errors), committed
// offsets survive the stop of their coordinator, and a transaction prepared before its
// coordinator stopped is completed by the next one, its markers sent with WriteTxnMarkers.

import t, { type Test } from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { partitionForKey } from '../../src/log/internal-topic.js';
import { type SpateCluster } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startTestCluster } from '../helpers/cluster.js';
import { startTestBroker } from '../helpers/broker.js';
import { kcatConsume } from '../helpers/kcat.js';

const groupCoordinator = (cluster: SpateCluster, groupId: string) => cluster.leaderOf('__consumer_offsets', partitionForKey(groupId, 50));
const transactionCoordinator = (cluster: SpateCluster, transactionalId: string) => cluster.leaderOf('__transaction_state', partitionForKey(transactionalId, 50));

async function clients(t: Test, cluster: SpateCluster): Promise<Map<number, RawClient>> {
  const connected = new Map<number, RawClient>();
  for (const broker of cluster.brokers) {
    const client = await RawClient.connect(broker.bootstrap);
    t.teardown(() => client.close());
    connected.set(broker.nodeId, client);
  }
  return connected;
}

/** Asks again while the coordinator answers COORDINATOR_LOAD_IN_PROGRESS (its shard is loading). */
async function whileLoading<T>(ask: () => Promise<T>, errorOf: (answer: T) => number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const answer = await ask();
    if (errorOf(answer) !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || attempt === 100) return answer;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let correlation = 1;
const call = async (client: RawClient, apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body, correlation++)).body;

const commit = (client: RawClient, groupId: string, topic: string, offset: bigint) =>
  call(client, 8, 8, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: '' }] }],
  });

t.test('only the leader of a key partition coordinates it; the others answer NOT_COORDINATOR as each version expects', async (t) => {
  const cluster = await startTestCluster(t, { config: { 'group.initial.rebalance.delay.ms': 0 } });
  const byNode = await clients(t, cluster);
  const any = byNode.get(0)!;
  t.equal(
    (await call(any, 19, 5, { topics: [{ name: 'data', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false })).topics[0]
      .errorCode,
    0,
  );

  const groupId = 'shard-group';
  const coordinator = groupCoordinator(cluster, groupId);
  const other = byNode.get([0, 1, 2].find((id) => id !== coordinator)!)!;
  const here = byNode.get(coordinator)!;
  for (const client of byNode.values()) {
    const found = await call(client, 10, 4, { keyType: 0, coordinatorKeys: [groupId] });
    t.equal(found.coordinators[0].nodeId, coordinator, 'FindCoordinator names the leader of the group partition on every broker');
  }

  const refused = await commit(other, groupId, 'data', 5n);
  t.equal(refused.topics[0].partitions[0].errorCode, ErrorCode.NOT_COORDINATOR, 'OffsetCommit elsewhere: NOT_COORDINATOR per partition');
  t.equal((await commit(here, groupId, 'data', 5n)).topics[0].partitions[0].errorCode, 0, 'OffsetCommit at the coordinator');

  const v1 = await call(other, 9, 1, { groupId, topics: [{ name: 'data', partitionIndexes: [0] }] });
  t.equal(v1.topics[0].partitions[0].errorCode, ErrorCode.NOT_COORDINATOR, 'OffsetFetch v1 (no top-level error): on each partition');
  const v5 = await call(other, 9, 5, { groupId, topics: [{ name: 'data', partitionIndexes: [0] }], requireStable: false });
  t.equal(v5.errorCode, ErrorCode.NOT_COORDINATOR, 'OffsetFetch v2-7: at the top');
  const v8 = await call(other, 9, 8, { groups: [{ groupId, topics: null }], requireStable: false });
  t.equal(v8.groups[0].errorCode, ErrorCode.NOT_COORDINATOR, 'OffsetFetch v8: on the group');
  const fetched = await call(here, 9, 8, { groups: [{ groupId, topics: null }], requireStable: false });
  t.equal(fetched.groups[0].topics[0].partitions[0].committedOffset, 5n, 'the coordinator has the offset');

  t.equal((await call(other, 12, 3, { groupId, generationId: 1, memberId: 'm', groupInstanceId: null })).errorCode, ErrorCode.NOT_COORDINATOR, 'Heartbeat');
  const join = await call(other, 11, 5, {
    groupId,
    sessionTimeoutMs: 10000,
    rebalanceTimeoutMs: 10000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
  });
  t.equal(join.errorCode, ErrorCode.NOT_COORDINATOR, 'JoinGroup');
  t.equal((await call(other, 15, 5, { groups: [groupId], includeAuthorizedOperations: false })).groups[0].errorCode, ErrorCode.NOT_COORDINATOR, 'DescribeGroups');
  t.equal((await call(other, 42, 2, { groupsNames: [groupId] })).results[0].errorCode, ErrorCode.NOT_COORDINATOR, 'DeleteGroups');
  for (const [nodeId, client] of byNode) {
    const listed = (await call(client, 16, 4, { statesFilter: [] })).groups.map((group: { groupId: string }) => group.groupId);
    t.equal(listed.includes(groupId), nodeId === coordinator, `ListGroups on broker ${nodeId} lists only the groups it coordinates`);
  }

  const transactionalId = 'shard-txn';
  const txnCoordinator = transactionCoordinator(cluster, transactionalId);
  const txnOther = byNode.get([0, 1, 2].find((id) => id !== txnCoordinator)!)!;
  const init = (client: RawClient) => call(client, 22, 4, { transactionalId, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  t.equal((await init(txnOther)).errorCode, ErrorCode.NOT_COORDINATOR, 'InitProducerId elsewhere');
  const ids = await init(byNode.get(txnCoordinator)!);
  t.equal(ids.errorCode, 0, 'InitProducerId at the coordinator');
  const added = await call(txnOther, 24, 3, {
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: ids.producerId,
    v3AndBelowProducerEpoch: ids.producerEpoch,
    v3AndBelowTopics: [{ name: 'data', partitions: [0] }],
  });
  t.equal(added.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, ErrorCode.NOT_COORDINATOR, 'AddPartitionsToTxn v3 elsewhere: per partition');
  const ended = await call(txnOther, 26, 3, { transactionalId, producerId: ids.producerId, producerEpoch: ids.producerEpoch, committed: true });
  t.equal(ended.errorCode, ErrorCode.NOT_COORDINATOR, 'EndTxn');
  t.equal((await call(txnOther, 65, 0, { transactionalIds: [transactionalId] })).transactionStates[0].errorCode, ErrorCode.NOT_COORDINATOR, 'DescribeTransactions');

  // WriteTxnMarkers is refused where the partition has no leader here, and for unknown partitions.
  const leader = cluster.leaderOf('data', 0);
  const follower = byNode.get([0, 1, 2].find((id) => id !== leader)!)!;
  const marker = (partitionIndexes: number[]) => ({
    markers: [{ producerId: 999n, producerEpoch: 0, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: 'data', partitionIndexes }] }],
  });
  const markers = await call(follower, 27, 1, marker([0, 9]));
  t.same(
    markers.markers[0].topics[0].partitions.map((p: { errorCode: number }) => p.errorCode),
    [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    'WriteTxnMarkers at a follower: NOT_LEADER_OR_FOLLOWER; unknown partition: UNKNOWN_TOPIC_OR_PARTITION',
  );
  const atLeader = await call(byNode.get(leader)!, 27, 2, marker([0]));
  t.equal(atLeader.markers[0].topics[0].partitions[0].errorCode, 0, 'WriteTxnMarkers v2 at the leader writes the marker');
});

t.test('offsets survive their coordinator; a transaction prepared before its coordinator stopped is completed by the next one', async (t) => {
  const cluster = await startTestCluster(t, { logLevel: (process.env.LOG_LEVEL as 'info') ?? 'warn', config: { 'group.initial.rebalance.delay.ms': 0 } });
  const byNode = await clients(t, cluster);
  // A transactional ID and a group whose coordinators share a broker, and a third broker that
  // alone holds the transaction's data partition: stopping it keeps the markers waiting.
  const transactionalId = ['prepared-0', 'prepared-1', 'prepared-2', 'prepared-3', 'prepared-4', 'prepared-5'].find((id) => transactionCoordinator(cluster, id) === 0)!;
  const groupId = Array.from({ length: 50 }, (_, i) => `kept-${i}`).find((id) => groupCoordinator(cluster, id) === 0)!;
  t.ok(transactionalId !== undefined && groupId !== undefined, 'a transactional ID and a group coordinated by broker 0');
  const create = (name: string, replicas: number[]) =>
    call(byNode.get(1)!, 19, 5, {
      topics: [{ name, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: replicas }], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
  t.equal((await create('solo', [2])).topics[0].errorCode, 0);
  t.equal((await create('kept', [1, 2, 0])).topics[0].errorCode, 0);

  t.equal((await commit(byNode.get(0)!, groupId, 'kept', 42n)).topics[0].partitions[0].errorCode, 0, 'offset 42 committed at broker 0');
  const ids = await call(byNode.get(0)!, 22, 4, { transactionalId, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  t.equal(ids.errorCode, 0);
  const add = await call(byNode.get(0)!, 24, 3, {
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: ids.producerId,
    v3AndBelowProducerEpoch: ids.producerEpoch,
    v3AndBelowTopics: [{ name: 'solo', partitions: [0] }],
  });
  t.equal(add.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, 0);
  const records = encodeRecordBatch({
    attributes: 0x10,
    producerId: ids.producerId,
    producerEpoch: ids.producerEpoch,
    baseSequence: 0,
    records: [{ key: null, value: Buffer.from('prepared') }],
  });
  const produced = await call(byNode.get(2)!, 0, 9, { transactionalId, acks: -1, timeoutMs: 5000, topicData: [{ name: 'solo', partitionData: [{ index: 0, records }] }] });
  t.equal(produced.responses[0].partitionResponses[0].errorCode, 0, 'broker 2 verified the write with the coordinator on broker 0 (AddPartitionsToTxn)');

  await cluster.stopBroker(2);
  const ended = await call(byNode.get(0)!, 26, 3, { transactionalId, producerId: ids.producerId, producerEpoch: ids.producerEpoch, committed: true });
  t.equal(ended.errorCode, 0, 'EndTxn answers once PrepareCommit is replicated, the marker still to be written');
  const prepared = await call(byNode.get(0)!, 65, 0, { transactionalIds: [transactionalId] });
  t.equal(prepared.transactionStates[0].transactionState, 'PrepareCommit', 'the marker waits for the partition leader');

  await cluster.stopBroker(0);
  const next = transactionCoordinator(cluster, transactionalId);
  t.equal(next, 1, 'broker 1 leads the transaction partition now');
  t.equal(groupCoordinator(cluster, groupId), 1, 'and the group partition');
  const fetched = await whileLoading(
    () => call(byNode.get(1)!, 9, 8, { groups: [{ groupId, topics: null }], requireStable: false }),
    (answer) => answer.groups[0].errorCode,
  );
  t.equal(fetched.groups[0].errorCode, 0);
  t.equal(fetched.groups[0].topics[0]?.partitions[0].committedOffset, 42n, 'the committed offset survived its coordinator');

  const state = async () =>
    (
      await whileLoading(
        () => call(byNode.get(1)!, 65, 0, { transactionalIds: [transactionalId] }),
        (answer) => answer.transactionStates[0].errorCode,
      )
    ).transactionStates[0];
  t.equal((await state()).transactionState, 'PrepareCommit', 'broker 1 loaded the transaction, still prepared');

  await cluster.startBroker(2);
  let last = '';
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    last = (await state()).transactionState;
    if (last === 'CompleteCommit') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.equal(last, 'CompleteCommit', 'the new coordinator wrote the marker at broker 2 and completed the commit');
  const committed = await kcatConsume(cluster.bootstrap, 'solo', ['-X', 'isolation.level=read_committed']);
  t.same(
    committed.map((record) => record.value),
    ['prepared'],
    'a read_committed consumer sees the record the prepared transaction wrote',
  );
});

t.test('while the new leader loads a partition its keys answer COORDINATOR_LOAD_IN_PROGRESS (Heartbeat: NONE), then are served', async (t) => {
  const cluster = await startTestCluster(t, { config: { 'group.initial.rebalance.delay.ms': 0 } });
  const byNode = await clients(t, cluster);
  t.equal(
    (
      await call(byNode.get(0)!, 19, 5, {
        topics: [{ name: 'loading', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      })
    ).topics[0].errorCode,
    0,
  );
  const groupId = Array.from({ length: 100 }, (_, i) => `loading-${i}`).find((id) => groupCoordinator(cluster, id) === 2)!;
  t.equal((await commit(byNode.get(2)!, groupId, 'loading', 7n)).topics[0].partitions[0].errorCode, 0);

  // The next leader of the group's partition reads it slowly: its load waits for the gate (so
  // does any follower fetching from it meanwhile, so no write is tried while the gate is shut).
  const index = partitionForKey(groupId, 50);
  const next = cluster.store.partitionState('__consumer_offsets', index)!.isr.find((id) => id !== 2)!;
  const log = cluster.broker(next).replicas.partition('__consumer_offsets', index)!.log;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const read = log.read.bind(log);
  log.read = async (...args: Parameters<typeof log.read>) => {
    await gate;
    return read(...args);
  };
  await cluster.stopBroker(2);
  t.equal(groupCoordinator(cluster, groupId), next, `broker ${next} leads the group's partition`);
  const here = byNode.get(next)!;
  t.equal((await commit(here, groupId, 'loading', 8n)).topics[0].partitions[0].errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'OffsetCommit');
  const v1 = await call(here, 9, 1, { groupId, topics: [{ name: 'loading', partitionIndexes: [0] }] });
  t.equal(v1.topics[0].partitions[0].errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'OffsetFetch v1, on the partition');
  t.equal(
    (await call(here, 12, 3, { groupId, generationId: 1, memberId: 'm', groupInstanceId: null })).errorCode,
    ErrorCode.NONE,
    'Heartbeat: NONE while loading, as Kafka answers',
  );
  t.equal((await call(here, 16, 4, { statesFilter: [] })).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'ListGroups');
  t.equal(
    (
      await call(here, 68, 0, {
        groupId,
        memberId: '',
        memberEpoch: 0,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: 5000,
        subscribedTopicNames: ['loading'],
        serverAssignor: null,
        topicPartitions: [],
      })
    ).errorCode,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    'ConsumerGroupHeartbeat',
  );

  open();
  let fetched: any;
  for (let attempt = 0; attempt < 100; attempt++) {
    fetched = await call(here, 9, 8, { groups: [{ groupId, topics: null }], requireStable: false });
    if (fetched.groups[0].errorCode === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal(fetched.groups[0].topics[0]?.partitions[0].committedOffset, 7n, 'loaded: the offset committed at the old coordinator');
  t.equal((await commit(here, groupId, 'loading', 9n)).topics[0].partitions[0].errorCode, 0, 'and commits are taken again');
});

t.test('the broker-to-broker APIs need CLUSTER_ACTION once an authorizer is set', async (t) => {
  const broker = await startTestBroker(t, { config: { 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer' } });
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const markers = await call(client, 27, 1, {
    markers: [{ producerId: 1n, producerEpoch: 0, transactionResult: true, coordinatorEpoch: 0, topics: [{ name: 'any', partitionIndexes: [0] }] }],
  });
  t.equal(markers.markers[0].topics[0].partitions[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'WriteTxnMarkers');
  const added = await call(client, 24, 5, {
    transactions: [{ transactionalId: 'x', producerId: 1n, producerEpoch: 0, verifyOnly: true, topics: [{ name: 'any', partitions: [0] }] }],
  });
  t.equal(added.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'AddPartitionsToTxn v5 (the batched, broker form)');
});
