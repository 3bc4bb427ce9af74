// Replication throttles (Kafka's ReplicationQuotaManager): `kafka-reassign-partitions
// --throttle R` sets leader/follower.replication.throttled.rate on the brokers and lists the
// moving replicas in the topic's *.replication.throttled.replicas; the added replica then
// copies the partition at about R bytes per second. A partition the lists do not name moves
// at full speed meanwhile, as does a move without a throttle; `--verify` removes the throttle.
//
// The brokers run with replication.quota.window.num=2 (Kafka's default is 11): Kafka's rate
// counts at least num - 1 windows of elapsed time, so a move starts with a burst of
// (num - 1) seconds at the rate; with 11 a move of a few seconds would be mostly burst.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { type SpateCluster } from '../../src/index.js';
import { startTestCluster, waitFor } from '../helpers/cluster.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { RawClient } from '../helpers/raw-client.js';

const RATE = 4_000_000;
/** Batches of 900 records of 1 KiB (under message.max.bytes): 40 of them are about 37 MB. */
const BATCHES = 40;
const RECORDS_PER_BATCH = 900;

/** Writes `batches` batches to partition 0 of `topic` at its leader (acks=1); resolves once every replica has them. */
async function fill(cluster: SpateCluster, topic: string, batches: number): Promise<number> {
  const leader = cluster.broker(cluster.leaderOf(topic, 0));
  const client = await RawClient.connect(leader.bootstrap);
  const value = Buffer.alloc(1024, 'x');
  try {
    for (let i = 0; i < batches; i++) {
      const records = encodeRecordBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, () => ({ key: null, value, timestamp: BigInt(Date.now()) })) });
      const response = await client.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }, i + 1);
      const code = response.body.responses[0].partitionResponses[0].errorCode;
      if (code !== 0) throw new Error(`produce to ${topic} answered ${code}`);
    }
  } finally {
    client.close();
  }
  const log = leader.replicas.partition(topic, 0)!.log;
  await waitFor(`${topic} replicated`, () => log.highWatermark === log.logEndOffset);
  return log.sizeInBytes;
}

/** Times a move from the moment the store shows it started to the moment it completed. */
function timeMove(cluster: SpateCluster, topic: string, target: string): Promise<number> {
  let startedAt = 0;
  return new Promise((resolve) => {
    const unwatch = cluster.store.watch((event) => {
      if (event.kind !== 'partition-state' || event.topic !== topic) return;
      const state = cluster.store.partitionState(topic, 0)!;
      if (startedAt === 0 && (state.addingReplicas?.length ?? 0) > 0) startedAt = performance.now();
      if (startedAt > 0 && state.replicas.join() === target && (state.addingReplicas?.length ?? 0) === 0) {
        unwatch();
        resolve(performance.now() - startedAt);
      }
    });
  });
}

async function createTopics(admin: Admin, names: string[]): Promise<void> {
  await admin.createTopics({ topics: names.map((topic) => ({ topic, replicaAssignment: [{ partition: 0, replicas: [0, 1] }] })) });
}

const mbps = (bytes: number, ms: number) => ((bytes / ms) * 1000) / 1e6;

t.test('leader.replication.throttled.rate alone: the leader holds back an out-of-ISR follower of a listed replica', async (t) => {
  const cluster = await startTestCluster(t, { config: { 'replication.quota.window.num': 2 } });
  const admin = new Kafka({ clientId: 'throttle-leader', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await createTopics(admin, ['leaderside']);
  const bytes = await fill(cluster, 'leaderside', BATCHES);
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  const responses = (
    await client.request(44, 1, {
      resources: [
        { resourceType: 4, resourceName: '0', configs: [{ name: 'leader.replication.throttled.rate', configOperation: 0, value: String(RATE) }] },
        { resourceType: 2, resourceName: 'leaderside', configs: [{ name: 'leader.replication.throttled.replicas', configOperation: 0, value: '*' }] },
      ],
      validateOnly: false,
    })
  ).body.responses;
  t.same(
    responses.map((response: { errorCode: number }) => response.errorCode),
    [0, 0],
  );
  const move = timeMove(cluster, 'leaderside', '2,1');
  await admin.alterPartitionReassignments({ topics: [{ topic: 'leaderside', partitionAssignment: [{ partition: 0, replicas: [2, 1] }] }] });
  const ms = await move;
  const rate = (bytes / ms) * 1000;
  t.comment(`leader-throttled move: ${bytes} bytes in ${Math.round(ms)} ms: ${(rate / 1e6).toFixed(2)} MB/s against a throttle of ${RATE / 1e6} MB/s`);
  t.ok(rate > RATE * 0.7 && rate < RATE * 1.3, `the move ran at ${(rate / RATE).toFixed(2)} times the leader's throttle (within 30%)`);
  // Broker 1 was in sync all along: the leader never held it back.
  t.equal(cluster.broker(1).replicas.partition('leaderside', 0)!.log.logEndOffset, BigInt(BATCHES * RECORDS_PER_BATCH));
});

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  t.test('kafka-reassign-partitions --throttle moves a partition at about the throttled rate; unlisted partitions at full speed', async (t) => {
    const cluster = await startTestCluster(t, { config: { 'replication.quota.window.num': 2 } });
    const admin = new Kafka({ clientId: 'throttle', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    await createTopics(admin, ['baseline', 'throttled', 'unlisted']);

    // Without a throttle: the move is as fast as the brokers go.
    const baselineBytes = await fill(cluster, 'baseline', BATCHES / 2);
    const baselineMove = timeMove(cluster, 'baseline', '2,1');
    await admin.alterPartitionReassignments({ topics: [{ topic: 'baseline', partitionAssignment: [{ partition: 0, replicas: [2, 1] }] }] });
    const baselineMs = await baselineMove;
    t.comment(`unthrottled move: ${baselineBytes} bytes in ${Math.round(baselineMs)} ms (${mbps(baselineBytes, baselineMs).toFixed(1)} MB/s)`);

    const throttledBytes = await fill(cluster, 'throttled', BATCHES);
    const unlistedBytes = await fill(cluster, 'unlisted', BATCHES / 2);
    const dir = mkdtempSync(join(tmpdir(), 'spate-throttle-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const plan = join(dir, 'plan.json');
    writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic: 'throttled', partition: 0, replicas: [2, 1] }] }));
    const throttledMove = timeMove(cluster, 'throttled', '2,1');
    const executed = await runKafkaTool(TOOLS.reassignPartitions, [
      '--bootstrap-server',
      cluster.bootstrap,
      '--reassignment-json-file',
      plan,
      '--execute',
      '--throttle',
      String(RATE),
    ]);
    t.equal(executed.code, 0, executed.stderr);
    t.match(executed.stdout, /The inter-broker throttle limit was set to 4000000 B\/s/);
    const configs = cluster.broker(0).logs.topic('throttled')!.configs;
    t.equal(configs['leader.replication.throttled.replicas'], '0:0,0:1', 'the current replicas are leader-throttled');
    t.equal(configs['follower.replication.throttled.replicas'], '0:2', 'the added replica is follower-throttled');
    t.equal(cluster.broker(2).logs.topic('throttled')!.configs['follower.replication.throttled.replicas'], '0:2', 'broker 2, the follower, knows it is throttled');
    t.equal(cluster.broker(2).config.dynamic.perBroker.get('follower.replication.throttled.rate'), String(RATE), 'the rate is set on broker 2');

    // A partition the lists do not name moves at full speed while the throttle is on.
    const unlistedMove = timeMove(cluster, 'unlisted', '2,1');
    await admin.alterPartitionReassignments({ topics: [{ topic: 'unlisted', partitionAssignment: [{ partition: 0, replicas: [2, 1] }] }] });
    const unlistedMs = await unlistedMove;
    t.comment(`unlisted move during the throttle: ${unlistedBytes} bytes in ${Math.round(unlistedMs)} ms (${mbps(unlistedBytes, unlistedMs).toFixed(1)} MB/s)`);
    t.ok(cluster.store.partitionState('throttled', 0)!.addingReplicas?.length, 'the unlisted partition finished while the throttled one still moves');

    const throttledMs = await throttledMove;
    const rate = (throttledBytes / throttledMs) * 1000;
    t.comment(`throttled move: ${throttledBytes} bytes in ${Math.round(throttledMs)} ms: ${(rate / 1e6).toFixed(2)} MB/s against a throttle of ${RATE / 1e6} MB/s`);
    t.ok(rate > RATE * 0.7 && rate < RATE * 1.3, `the throttled move ran at ${(rate / RATE).toFixed(2)} times the throttle (within 30%)`);
    t.ok(mbps(baselineBytes, baselineMs) > (RATE / 1e6) * 1.5, 'the unthrottled move was well above the throttle');
    t.ok(mbps(unlistedBytes, unlistedMs) > (RATE / 1e6) * 1.5, 'the unlisted move was well above the throttle');
    t.equal(cluster.broker(2).replicas.partition('throttled', 0)!.log.logEndOffset, BigInt(BATCHES * RECORDS_PER_BATCH), 'the new replica holds every record');

    const verified = await runKafkaTool(TOOLS.reassignPartitions, ['--bootstrap-server', cluster.bootstrap, '--reassignment-json-file', plan, '--verify']);
    t.equal(verified.code, 0, verified.stderr);
    t.match(verified.stdout, /Reassignment of partition throttled-0 is completed/);
    t.match(verified.stdout, /Clearing broker-level throttles on brokers/);
    for (const broker of cluster.brokers) {
      t.notOk(broker.config.dynamic.perBroker.has('leader.replication.throttled.rate'), `broker ${broker.nodeId}: the leader rate is cleared`);
      t.notOk('leader.replication.throttled.replicas' in broker.logs.topic('throttled')!.configs, `broker ${broker.nodeId}: the topic's throttle list is cleared`);
    }
  });
}
