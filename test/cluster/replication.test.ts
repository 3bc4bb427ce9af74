// The replica layer of a 3-broker one-process cluster over the raw protocol: replication to
// followers, the leader epoch stamped in each batch, KIP-951 leader hints, epoch fencing,
// min.insync.replicas with brokers down, and a restarted follower catching up.

import t from 'tap';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { type SpateCluster } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { partitionForKey } from '../../src/log/internal-topic.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartitionLog } from '../../src/log/partition-log.js';
import { resolveLogConfig } from '../../src/config/topic-config.js';
import { startTestCluster, waitFor } from '../helpers/cluster.js';

function batch(values: string[]): Buffer {
  return encodeRecordBatch({ records: values.map((value) => ({ key: null, value: Buffer.from(value), timestamp: BigInt(Date.now()) })) });
}

async function produce(client: RawClient, topic: string, values: string[], acks = -1, version = 10) {
  const response = await client.request(0, version, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch(values) }] }],
  });
  return response.body;
}

/** Every record value of a replica's log, in offset order, with each batch's partitionLeaderEpoch. */
async function replicaContents(cluster: SpateCluster, nodeId: number, topic: string): Promise<{ values: string[]; epochs: number[] }> {
  const log = cluster.broker(nodeId).replicas.partition(topic, 0)!.log;
  const values: string[] = [];
  const epochs: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const records = await log.read(offset, 1 << 20, true);
    if (records === null) break;
    try {
      for (const decoded of decodeRecordBatches(records.buffer)) {
        epochs.push(decoded.partitionLeaderEpoch);
        for (const record of decoded.records) values.push(record.value!.toString());
        offset = decoded.baseOffset + BigInt(decoded.lastOffsetDelta) + 1n;
      }
    } finally {
      records.release();
    }
  }
  return { values, epochs };
}

async function createTopic(client: RawClient, name: string, assignment: number[], configs: Record<string, string> = {}) {
  const response = await client.request(19, 5, {
    topics: [
      {
        name,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [{ partitionIndex: 0, brokerIds: assignment }],
        configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })),
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  return response.body.topics[0];
}

t.test('acks=all waits for the ISR, followers keep offsets and epochs, failover bumps the epoch', async (t) => {
  const cluster = await startTestCluster(t);
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  t.match(await createTopic(client, 'replicated', [1, 2, 0]), { errorCode: 0, replicationFactor: 3 });

  const metadata = (
    await client.request(3, 12, { topics: [{ name: 'replicated', topicId: Buffer.alloc(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })
  ).body;
  t.same(
    metadata.brokers.map((broker: any) => broker.nodeId),
    [0, 1, 2],
    'Metadata lists every broker',
  );
  t.equal(metadata.controllerId, 0, 'the lowest live node id is the controller');
  t.match(metadata.topics[0].partitions[0], { leaderId: 1, leaderEpoch: 0, replicaNodes: [1, 2, 0], isrNodes: [1, 2, 0], offlineReplicas: [] });
  const cluster60 = (await client.request(60, 0, { includeClusterAuthorizedOperations: false })).body;
  t.same(
    cluster60.brokers.map((broker: any) => broker.brokerId),
    [0, 1, 2],
    'DescribeCluster lists every broker',
  );
  const coordinators = (await client.request(10, 4, { keyType: 0, coordinatorKeys: ['g-one', 'g-two', 'g-three'] })).body.coordinators;
  for (const found of coordinators) {
    const leaderId = cluster.leaderOf('__consumer_offsets', partitionForKey(found.key, 50));
    t.match(found, { errorCode: 0, nodeId: leaderId, port: cluster.broker(leaderId).port }, `FindCoordinator names the leader of ${found.key}'s __consumer_offsets partition`);
  }
  t.equal(cluster.store.partitionState('__consumer_offsets', 0)!.replicas.length, 3, 'internal topics are replicated min(3, brokers) times');

  // Broker 0 follows: a produce there names the leader (KIP-951).
  const refused = await produce(client, 'replicated', ['nowhere']);
  const refusal = refused.responses[0].partitionResponses[0];
  t.equal(refusal.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  t.same(refusal.currentLeader, { leaderId: 1, leaderEpoch: 0 }, 'the answer carries the current leader');
  t.same(
    refused.nodeEndpoints.map((node: any) => [node.nodeId, node.port]),
    [[1, cluster.broker(1).port]],
    'and its endpoint',
  );

  const leader = await RawClient.connect(cluster.broker(1).bootstrap);
  t.teardown(() => leader.close());
  const first = (await produce(leader, 'replicated', ['a', 'b'])).responses[0].partitionResponses[0];
  t.match(first, { errorCode: 0, baseOffset: 0n });
  // The answer came after the high watermark passed the batch: both followers hold it.
  for (const nodeId of [0, 2]) t.ok(cluster.broker(nodeId).replicas.partition('replicated', 0)!.log.logEndOffset >= 2n, `follower ${nodeId} has the batch at the answer`);

  // A consumer fetch with an older leader epoch is fenced, with a newer one unknown.
  const fetch = (epoch: number) =>
    leader.request(1, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        { topic: 'replicated', partitions: [{ partition: 0, currentLeaderEpoch: epoch, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
  t.equal((await fetch(0)).body.responses[0].partitions[0].errorCode, ErrorCode.NONE);
  t.equal((await fetch(1)).body.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);

  leader.close();
  await cluster.stopBroker(1);
  t.equal(cluster.leaderOf('replicated', 0), 2, 'the first live ISR member of the replica list leads');
  const state = cluster.store.partitionState('replicated', 0)!;
  t.equal(state.leaderEpoch, 1, 'the leader epoch is bumped');
  t.same(state.isr, [2, 0], 'the stopped broker left the ISR');
  const stale = await RawClient.connect(cluster.broker(2).bootstrap);
  t.teardown(() => stale.close());
  const fenced = await stale.request(1, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      { topic: 'replicated', partitions: [{ partition: 0, currentLeaderEpoch: 0, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  t.equal(fenced.body.responses[0].partitions[0].errorCode, ErrorCode.FENCED_LEADER_EPOCH, 'a reader at the old epoch is fenced');
  t.match((await produce(stale, 'replicated', ['c'])).responses[0].partitionResponses[0], { errorCode: 0, baseOffset: 2n });

  const epochs = await stale.request(23, 4, { replicaId: -1, topics: [{ topic: 'replicated', partitions: [{ partition: 0, currentLeaderEpoch: 1, leaderEpoch: 0 }] }] });
  t.match(epochs.body.topics[0].partitions[0], { errorCode: 0, leaderEpoch: 0, endOffset: 2n }, 'epoch 0 ended where epoch 1 began');

  for (const nodeId of [2, 0]) {
    await waitFor(`broker ${nodeId} at offset 3`, () => cluster.broker(nodeId).replicas.partition('replicated', 0)!.log.logEndOffset === 3n);
    const contents = await replicaContents(cluster, nodeId, 'replicated');
    t.same(contents.values, ['a', 'b', 'c'], `replica ${nodeId} holds the records in order`);
    t.same(contents.epochs, [0, 1], `replica ${nodeId} keeps the partitionLeaderEpoch each leader stamped`);
  }
});

t.test('min.insync.replicas=2: NOT_ENOUGH_REPLICAS with two brokers down, accepted again when one returns', async (t) => {
  const cluster = await startTestCluster(t);
  const setup = await RawClient.connect(cluster.broker(0).bootstrap);
  t.match(await createTopic(setup, 'guarded', [0, 1, 2], { 'min.insync.replicas': '2' }), { errorCode: 0 });
  t.match((await produce(setup, 'guarded', ['before'])).responses[0].partitionResponses[0], { errorCode: 0, baseOffset: 0n });
  setup.close();

  await cluster.stopBroker(0);
  await cluster.stopBroker(1);
  t.equal(cluster.leaderOf('guarded', 0), 2);
  t.same(cluster.store.partitionState('guarded', 0)!.isr, [2]);
  const client = await RawClient.connect(cluster.broker(2).bootstrap);
  t.teardown(() => client.close());
  const refused = (await produce(client, 'guarded', ['refused'])).responses[0].partitionResponses[0];
  t.equal(refused.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS, 'acks=all is refused below min.insync.replicas');
  t.match(refused.errorMessage, /insufficient to satisfy the min.isr requirement of 2/);
  t.match((await produce(client, 'guarded', ['acks-1'], 1)).responses[0].partitionResponses[0], { errorCode: 0 }, 'acks=1 is still accepted');

  await cluster.startBroker(1);
  await waitFor('broker 1 back in the ISR', () => cluster.store.partitionState('guarded', 0)!.isr.includes(1));
  t.match((await produce(client, 'guarded', ['after'])).responses[0].partitionResponses[0], { errorCode: 0, baseOffset: 2n }, 'accepted again');
  const contents = await replicaContents(cluster, 1, 'guarded');
  t.same(contents.values, ['before', 'acks-1', 'after'], 'the returned follower caught up');
});

t.test('a restarted follower truncates past its high watermark and catches up', async (t) => {
  const cluster = await startTestCluster(t);
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  t.match(await createTopic(client, 'catch-up', [0, 1, 2]), { errorCode: 0 });
  for (let i = 0; i < 5; i++) t.equal((await produce(client, 'catch-up', [`early-${i}`])).responses[0].partitionResponses[0].errorCode, 0);
  await cluster.stopBroker(2);
  for (let i = 0; i < 20; i++) t.equal((await produce(client, 'catch-up', [`late-${i}`, `late-${i}b`])).responses[0].partitionResponses[0].errorCode, 0);
  const restarted = await cluster.startBroker(2);
  await waitFor('broker 2 caught up', () => restarted.replicas.partition('catch-up', 0)!.log.logEndOffset === 45n && cluster.store.partitionState('catch-up', 0)!.isr.includes(2));
  t.same((await replicaContents(cluster, 2, 'catch-up')).values, (await replicaContents(cluster, 0, 'catch-up')).values, 'the follower holds what the leader holds');
  t.equal(restarted.replicas.partition('catch-up', 0)!.highWatermark, 45n, 'and learned the high watermark');
});

t.test('the ISR shrinks after replica.lag.time.max.ms and grows back when the follower catches up', async (t) => {
  const cluster = await startTestCluster(t, { brokers: 1, config: { 'replica.lag.time.max.ms': 500 } });
  // A second replica that this test plays by hand, over the follower Fetch (ReplicaState, v15).
  await cluster.store.registerBroker({ nodeId: 7, endpoints: [{ listener: 'PLAINTEXT', host: '127.0.0.1', port: 1 }], rack: null });
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  t.match(await createTopic(client, 'laggard', [0, 7]), { errorCode: 0 });
  t.same(cluster.store.partitionState('laggard', 0)!.isr, [0, 7]);
  const topicId = cluster.store.topic('laggard')!.id;
  const followerFetch = (fetchOffset: bigint) =>
    client.request(
      1,
      15,
      {
        replicaState: { replicaId: 7, replicaEpoch: -1n },
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: 0, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      },
      2,
    );

  // acks=all waits for replica 7, which does not fetch: the ISR shrinks, then the write is committed.
  const parked = produce(client, 'laggard', ['waits']);
  const answer = (await parked).responses[0].partitionResponses[0];
  t.match(answer, { errorCode: 0, baseOffset: 0n }, 'the write is acknowledged once the laggard left the ISR');
  t.same(cluster.store.partitionState('laggard', 0)!.isr, [0], 'replica 7 left the ISR');

  // A consumer sees the record (high watermark 1); the follower fetch reads to the log end.
  const fetched = await followerFetch(0n);
  const data = fetched.body.responses[0].partitions[0];
  t.equal(data.errorCode, 0);
  t.equal(
    decodeRecordBatches(data.records)
      .flatMap((b) => b.records.map((r) => r.value!.toString()))
      .join(),
    'waits',
    'the follower fetch returns the records',
  );
  t.same(cluster.store.partitionState('laggard', 0)!.isr, [0], 'not caught up yet: fetching from 0 proves nothing past it');
  await followerFetch(1n);
  t.same(cluster.store.partitionState('laggard', 0)!.isr, [0, 7], 'a follower at the high watermark rejoins the ISR');

  // With replica 7 in sync again, the high watermark waits for its fetch.
  const second = produce(client, 'laggard', ['second']);
  await waitFor('the append', () => cluster.broker(0).replicas.partition('laggard', 0)!.log.logEndOffset === 2n);
  t.equal(cluster.broker(0).replicas.partition('laggard', 0)!.highWatermark, 1n, 'the high watermark waits for the in-sync follower');
  const follower = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => follower.close());
  await follower.request(1, 15, {
    replicaState: { replicaId: 7, replicaEpoch: -1n },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: 0, fetchOffset: 2n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  t.match((await second).responses[0].partitionResponses[0], { errorCode: 0, baseOffset: 1n }, 'acknowledged after the follower fetched past it');
  t.equal(cluster.broker(0).replicas.partition('laggard', 0)!.highWatermark, 2n);
  const stranger = await follower.request(
    1,
    15,
    {
      replicaState: { replicaId: 9, replicaEpoch: -1n },
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: 0, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    },
    3,
  );
  t.equal(stranger.body.responses[0].partitions[0].errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'a broker without a replica may not fetch as a follower');
  await cluster.store.unregisterBroker(7);
});

t.test('a returning old leader truncates its divergent tail where the new leader says its epoch ended', async (t) => {
  const lines: string[] = [];
  const logger = { debug() {}, info: (line: string) => void lines.push(line), warn: (line: string) => void lines.push(line), error: (line: string) => void lines.push(line) };
  const cluster = await startTestCluster(t, { logger });
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.match(await createTopic(client, 'diverging', [0, 1, 2]), { errorCode: 0 });
  t.equal((await produce(client, 'diverging', ['a', 'b'])).responses[0].partitionResponses[0].errorCode, 0);
  client.close();
  const dir = cluster.broker(0).replicas.partition('diverging', 0)!.log.dir;
  const config = cluster.broker(0).config;
  await cluster.stopBroker(0);
  t.equal(cluster.leaderOf('diverging', 0), 1);

  // What an old leader cut off mid-write leaves behind: records of epoch 0 nobody else has.
  const stranded = new PartitionLog('diverging', 0, dir, resolveLogConfig({}, config));
  t.equal(stranded.logEndOffset, 2n);
  await stranded.append(batch(['z1', 'z2', 'z3']), Date.now());
  t.equal(stranded.logEndOffset, 5n);
  stranded.close();
  // Without its high-watermark checkpoint only the leader's epoch answer can place the cut.
  rmSync(join(config.dataDir, 'replication-offset-checkpoint'));

  const leader = await RawClient.connect(cluster.broker(1).bootstrap);
  t.teardown(() => leader.close());
  t.match((await produce(leader, 'diverging', ['c', 'd'])).responses[0].partitionResponses[0], { errorCode: 0, baseOffset: 2n });
  const returned = await cluster.startBroker(0);
  await waitFor('broker 0 caught up', () => returned.replicas.partition('diverging', 0)!.log.logEndOffset === 4n && cluster.store.partitionState('diverging', 0)!.isr.includes(0));
  t.ok(
    lines.some((line) => /diverging-0: truncating the divergent tail from 2 \(log end 5\)/.test(line)),
    'truncated at the end of epoch 0 on the new leader',
  );
  const contents = await replicaContents(cluster, 0, 'diverging');
  t.same(contents.values, ['a', 'b', 'c', 'd'], "the stranded records are gone, the new leader's are there");
  t.same(contents.epochs, [0, 1]);
});

t.test('producer IDs are unique across the brokers and across runs on the same data directories', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-pids-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const initProducerId = async (bootstrap: string) => {
    const client = await RawClient.connect(bootstrap);
    try {
      const answer = await client.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
      return answer.body.producerId as bigint;
    } finally {
      client.close();
    }
  };
  const first = await startTestCluster(t, { dataDir });
  const ids = [await initProducerId(first.broker(0).bootstrap), await initProducerId(first.broker(1).bootstrap), await initProducerId(first.broker(2).bootstrap)];
  t.equal(new Set(ids).size, 3, `three brokers hand out three different IDs (${ids.join(', ')})`);
  await first.stop();
  const second = await startTestCluster(t, { dataDir });
  const later = await initProducerId(second.broker(0).bootstrap);
  t.ok(
    ids.every((id) => later > id),
    `a new run starts past every block handed out (${later})`,
  );
});
