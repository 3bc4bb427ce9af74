// kafkajs 2.2.4 against a 3-broker one-process cluster while the broker hosting the group
// and transaction coordinators is stopped and started again (kafkajs looks a group
// coordinator up only when it joins, so its consumers crash once their retries against the
// stopped broker run out and restart at the new coordinator): a consumer group keeps its
// committed offsets (a consumer of the group resumes where it committed), and a
// consume-transform-produce loop (transactional producer, offsets sent in the transaction)
// stays exactly once: every input appears once in the committed output.

import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { partitionForKey } from '../../src/log/internal-topic.js';
import { type SpateCluster } from '../../src/index.js';
import { startTestCluster, waitFor } from '../helpers/cluster.js';
import { kcatConsume, kcatProduce } from '../helpers/kcat.js';

const TRANSFORM = fileURLToPath(new URL('../fixtures/transform.mjs', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const retry = { retries: 100, initialRetryTime: 100, maxRetryTime: 1000 };

const groupCoordinator = (cluster: SpateCluster, groupId: string) => cluster.leaderOf('__consumer_offsets', partitionForKey(groupId, 50));
const transactionCoordinator = (cluster: SpateCluster, transactionalId: string) => cluster.leaderOf('__transaction_state', partitionForKey(transactionalId, 50));

/** A name with `prefix` whose coordinator is `nodeId`. */
function keyOn(prefix: string, nodeId: number, coordinatorOf: (key: string) => number): string {
  for (let i = 0; i < 1000; i++) if (coordinatorOf(`${prefix}-${i}`) === nodeId) return `${prefix}-${i}`;
  throw new Error(`no ${prefix} key coordinated by broker ${nodeId}`);
}

t.test('a consumer group keeps its committed offsets when its coordinator stops', async (t) => {
  const cluster = await startTestCluster(t, { config: { 'group.initial.rebalance.delay.ms': 0 } });
  const groupId = keyOn('readers', 1, (key) => groupCoordinator(cluster, key));
  const kafka = new Kafka({ clientId: 'group-failover', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  t.ok(await admin.createTopics({ topics: [{ topic: 'plain', numPartitions: 2, replicationFactor: 3 }] }));
  // Input through librdkafka (kcat, acks=all): kafkajs 2.2.4's producer can report records as
  // sent that a stopped broker never kept (the client bug the cluster README measures).
  const send = (from: number, to: number) =>
    kcatProduce(
      cluster.bootstrap,
      'plain',
      Array.from({ length: to - from }, (_, i) => `k${from + i}:v${from + i}`),
      ['-K', ':'],
    );

  const seen: string[] = [];
  // kafkajs finds the group coordinator only when it joins: after its coordinator's broker is
  // gone its heartbeats fail until its retries run out; it then restarts (restartOnFailure)
  // and joins at the new coordinator. Few retries keep that short.
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 200,
    sessionTimeout: 10000,
    heartbeatInterval: 500,
    retry: { retries: 4, initialRetryTime: 100, maxRetryTime: 500 },
  });
  await consumer.connect();
  await consumer.subscribe({ topic: 'plain', fromBeginning: true });
  await consumer.run({ autoCommitInterval: 100, eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
  await send(0, 200);
  await waitFor('the first 200 records read', () => seen.length >= 200, 30_000);

  // The coordinator's broker stops (controlled shutdown): broker 0 or 2 takes its partitions.
  await cluster.stopBroker(1);
  t.not(groupCoordinator(cluster, groupId), 1, 'another broker coordinates the group now');
  await send(200, 400);
  await waitFor('the consumer read on through the failover', () => new Set(seen).size >= 400, 60_000);
  await sleep(500); // one more auto-commit
  await consumer.disconnect();
  await cluster.startBroker(1);

  const committed = await admin.fetchOffsets({ groupId, topics: ['plain'] });
  const ends = await admin.fetchTopicOffsets('plain');
  t.same(
    committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort(),
    ends.map((p) => [p.partition, p.offset]).sort(),
    'the committed offsets reach the end of each partition',
  );
  // A new member of the group resumes where the group committed: only what came after.
  await send(400, 450);
  const resumed: string[] = [];
  const next = kafka.consumer({ groupId, maxWaitTimeInMs: 200, retry });
  await next.connect();
  t.teardown(() => next.disconnect());
  await next.subscribe({ topic: 'plain', fromBeginning: true });
  await next.run({ eachMessage: async ({ message }) => void resumed.push(message.value!.toString()) });
  await waitFor('the new member read the 50 new records', () => resumed.length >= 50, 30_000);
  await sleep(500);
  t.same(resumed.sort(), Array.from({ length: 50 }, (_, i) => `v${400 + i}`).sort(), 'the group resumed where it committed, nothing read again');
});

t.test('consume-transform-produce stays exactly once while its coordinators stop and return', async (t) => {
  const cluster = await startTestCluster(t, { config: { 'group.initial.rebalance.delay.ms': 0 } });
  // The group and the transactional ID are coordinated by the same broker, the one stopped.
  const victim = 2;
  const groupId = keyOn('transformers', victim, (key) => groupCoordinator(cluster, key));
  const transactionalId = keyOn('eos', victim, (key) => transactionCoordinator(cluster, key));
  const kafka = new Kafka({ clientId: 'eos-failover', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({
    topics: [
      { topic: 'input', numPartitions: 2, replicationFactor: 3 },
      { topic: 'output', numPartitions: 2, replicationFactor: 3 },
    ],
  });

  // A supervisor: a transformer that exits is started again with the same transactional ID.
  let transformer: ChildProcess;
  let finished = false;
  let restarts = -1;
  const superviseTransformer = () => {
    restarts++;
    transformer = spawn(process.execPath, [TRANSFORM, cluster.bootstrap, transactionalId, groupId, '4'], { stdio: ['ignore', 'ignore', 'pipe'] });
    transformer.stderr!.on('data', (chunk: Buffer) => t.comment(`transformer: ${chunk.toString().trim()}`));
    transformer.once('exit', () => {
      if (!finished) superviseTransformer();
    });
  };
  superviseTransformer();
  t.teardown(() => {
    finished = true;
    transformer.kill('SIGKILL');
  });

  // Input arrives over time through librdkafka (kcat, acks=all), so the transformer is
  // mid-stream when the coordinators' broker stops.
  const inputs = Array.from({ length: 4000 }, (_, i) => `value-${i}`);
  let stopping: Promise<void> | undefined;
  for (let i = 0; i < inputs.length; i += 100) {
    await kcatProduce(
      cluster.bootstrap,
      'input',
      inputs.slice(i, i + 100).map((value) => `${value}:${value}`),
      ['-K', ':'],
    );
    if (i === 1500) stopping = cluster.stopBroker(victim);
    if (i === 3000) {
      await stopping;
      await cluster.startBroker(victim);
    }
    await sleep(20);
  }
  t.equal((await kcatConsume(cluster.bootstrap, 'input')).length, inputs.length, 'every input is in the input topic');
  const outputCount = async () => (await kcatConsume(cluster.bootstrap, 'output', ['-X', 'isolation.level=read_committed'])).length;
  for (let i = 0; i < 150 && (await outputCount()) < inputs.length; i++) await sleep(200);
  const output = await kcatConsume(cluster.bootstrap, 'output', ['-X', 'isolation.level=read_committed']);
  const counts = new Map<string, number>();
  for (const record of output) counts.set(record.value!, (counts.get(record.value!) ?? 0) + 1);
  t.equal(counts.size, inputs.length, `every input was transformed (transformer restarts: ${restarts})`);
  t.same(
    [...counts].filter(([, n]) => n > 1),
    [],
    'and none twice',
  );
  t.same(new Set(counts.keys()), new Set(inputs.map((v) => v.toUpperCase())));
  const committed = await admin.fetchOffsets({ groupId, topics: ['input'] });
  const ends = await admin.fetchTopicOffsets('input');
  t.same(
    committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort(),
    ends.map((p) => [p.partition, p.offset]).sort(),
    'the offsets committed in the transactions reach the end of the input',
  );
});
