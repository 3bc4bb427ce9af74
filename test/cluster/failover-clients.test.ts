// Real clients against a 3-broker one-process cluster while the leader of their partition is
// stopped and restarted: kafkajs 2.2.4 and librdkafka 2.16 (confluent-kafka-python) produce
// idempotently with acks=all; every acknowledged record must be in the log exactly once, in
// order, on every replica, and a kafkajs consumer group keeps reading through the failover.

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { decodeRecordBatches } from '../../src/protocol/record-batch.js';
import { partitionForKey } from '../../src/log/internal-topic.js';
import { type SpateCluster } from '../../src/index.js';
import { startTestCluster, waitFor } from '../helpers/cluster.js';
import { run } from '../helpers/kcat.js';

const PYTHON_PRODUCER = fileURLToPath(new URL('../fixtures/librdkafka_cluster_produce.py', import.meta.url));

async function replicaValues(cluster: SpateCluster, nodeId: number, topic: string): Promise<string[]> {
  const log = cluster.broker(nodeId).replicas.partition(topic, 0)!.log;
  const values: string[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const records = await log.read(offset, 1 << 20, true);
    if (records === null) break;
    try {
      for (const batch of decodeRecordBatches(records.buffer)) {
        for (const record of batch.records) values.push(record.value!.toString());
        offset = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
      }
    } finally {
      records.release();
    }
  }
  return values;
}

/** Every replica holds the same committed records: the acknowledged ones once each, in the order sent. */
async function checkNoLoss(t: Test, cluster: SpateCluster, topic: string, acked: readonly string[], sent: (value: string) => number) {
  const leader = cluster.leaderOf(topic, 0);
  const committed = await replicaValues(cluster, leader, topic);
  t.equal(new Set(committed).size, committed.length, `${topic}: no duplicates in the log`);
  const position = new Map(committed.map((value, index) => [value, index]));
  const lost = acked.filter((value) => !position.has(value));
  t.same(lost, [], `${topic}: 0 of ${acked.length} acknowledged records lost`);
  const order = committed.map(sent);
  t.ok(
    order.every((value, index) => index === 0 || value > order[index - 1]!),
    `${topic}: the log keeps the order the records were sent in`,
  );
  for (const broker of cluster.brokers) {
    await waitFor(
      `${topic} replicated to ${broker.nodeId}`,
      () => broker.replicas.partition(topic, 0)!.highWatermark === cluster.broker(leader).replicas.partition(topic, 0)!.highWatermark,
    );
    t.same(await replicaValues(cluster, broker.nodeId, topic), committed, `${topic}: replica ${broker.nodeId} is identical`);
  }
}

/**
 * A leader other than the node coordinating `groupId`: this test is about the data path; the
 * coordinator's failover (which kafkajs's consumer rides out only once its retries run out)
 * has its own tests (coordinator-failover-*.test.ts).
 */
function leaderAvoiding(cluster: SpateCluster, groupId: string): number {
  const coordinator = cluster.leaderOf('__consumer_offsets', partitionForKey(groupId, 50));
  return [0, 1, 2].find((id) => id !== coordinator)!;
}

t.test('kafkajs: idempotent acks=all through a leader stop and restart, a consumer group reads on', async (t) => {
  const cluster = await startTestCluster(t);
  const groupId = 'failover-readers';
  const leader = leaderAvoiding(cluster, groupId);
  const kafka = new Kafka({ clientId: 'failover', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const replicas = [leader, ...[0, 1, 2].filter((id) => id !== leader)];
  t.ok(await admin.createTopics({ topics: [{ topic: 'kafkajs-failover', replicaAssignment: [{ partition: 0, replicas }] }] }));

  const received: string[] = [];
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'kafkajs-failover', fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value!.toString()) });

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const acked: string[] = [];
  let stopping: Promise<void> | undefined;
  let stoppedAt = 0;
  let failoverMs = -1;
  for (let i = 0; i < 120; i++) {
    if (i === 40) {
      stoppedAt = performance.now();
      stopping = cluster.stopBroker(leader);
    }
    if (i === 80) {
      await stopping;
      await cluster.startBroker(leader);
    }
    const values = [`k${i}a`, `k${i}b`];
    try {
      await producer.send({ topic: 'kafkajs-failover', acks: -1, messages: values.map((value) => ({ value })) });
      acked.push(...values);
      if (i >= 40 && failoverMs < 0) failoverMs = performance.now() - stoppedAt;
    } catch (error) {
      t.comment(`send ${i} failed: ${(error as Error).message}`);
    }
  }
  t.comment(`kafkajs failover: ${Math.round(failoverMs)} ms from the leader stop to the next acknowledged send (a measurement, not asserted)`);
  t.ok(acked.length >= 200, `kafkajs acknowledged ${acked.length} of 240 records`);
  t.not(cluster.store.partitionState('kafkajs-failover', 0)!.leaderEpoch, 0, 'the leader changed during the run');
  await checkNoLoss(t, cluster, 'kafkajs-failover', acked, (value) => Number(value.slice(1, -1)) * 2 + (value.endsWith('b') ? 1 : 0));
  await waitFor('the consumer read every acknowledged record', () => acked.every((value) => received.includes(value)), 30_000);
  t.pass(`the consumer group read all ${acked.length} acknowledged records through the failover`);
});

t.test('librdkafka: idempotent acks=all through a leader stop and restart', async (t) => {
  const available = await run('python3', ['-c', 'import confluent_kafka']);
  if (available.code !== 0) {
    t.fail('confluent-kafka is not installed: `python3 -m pip install confluent-kafka==2.16.1` (.ci/run does)');
    return;
  }
  const cluster = await startTestCluster(t);
  const kafka = new Kafka({ clientId: 'failover-admin', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const leader = 1;
  t.ok(await admin.createTopics({ topics: [{ topic: 'rdkafka-failover', replicaAssignment: [{ partition: 0, replicas: [1, 2, 0] }] }] }));

  const child = spawn('python3', [PYTHON_PRODUCER, cluster.bootstrap, 'rdkafka-failover', '3000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  t.teardown(() => {
    clearTimeout(killer);
    child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const acked: string[] = [];
  const failed: string[] = [];
  let summary = '';
  let phase: Promise<unknown> = Promise.resolve();
  let stoppedAt = 0;
  let failoverMs = -1;
  for await (const line of createInterface({ input: child.stdout })) {
    const [kind, value] = line.split(' ');
    if (kind === 'acked') acked.push(value!);
    else if (kind === 'failed') failed.push(line);
    else if (kind === 'done') summary = line;
    if (kind === 'acked' && stoppedAt > 0 && failoverMs < 0 && acked.length > 500) failoverMs = performance.now() - stoppedAt;
    if (acked.length === 500 && kind === 'acked') {
      stoppedAt = performance.now();
      phase = cluster.stopBroker(leader);
    }
    if (acked.length === 1500 && kind === 'acked') phase = phase.then(() => cluster.startBroker(leader));
  }
  await phase;
  t.comment(`librdkafka failover: ${Math.round(failoverMs)} ms from the leader stop to the next delivery report (a measurement, not asserted)`);
  t.match(summary, /^done \d+ 0$/, `librdkafka finished without failed deliveries (${failed.slice(0, 3).join('; ')}${stderr.slice(0, 200)})`);
  t.equal(acked.length, 3000, 'every record was acknowledged');
  t.not(cluster.store.partitionState('rdkafka-failover', 0)!.leaderEpoch, 0, 'the leader changed during the run');
  await checkNoLoss(t, cluster, 'rdkafka-failover', acked, (value) => Number(value.slice(1)));
});
