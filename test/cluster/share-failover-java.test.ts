// Kafka 4.3's KafkaShareConsumer against a 3-broker one-process cluster: three consumers
// share one partition replicated on the three brokers, acknowledging each record (ACCEPT, or
// RELEASE for a poison record) with commitSync (test/share/java/ShareAckWorker.java). Mid-run,
// (1) the broker leading the data partition stops: its share-partition moves with the
// leadership, the new leader starts from the state the share coordinator persisted; (2) in a
// second cluster, the broker hosting the share-partition's share coordinator stops: the
// __share_group_state partition's new leader replays it and the acknowledgements go on; (3)
// in a third, the broker hosting the group's group coordinator (membership) stops: the
// members find the new coordinator and join again while their share sessions go on.
// Either way every record is accepted exactly once as the consumers count confirmed
// acknowledgements (a record whose acknowledgement failed may come again, Kafka's
// at-least-once), none is lost, the poison record's persisted delivery count carries over
// and it is archived after group.share.delivery.count.limit (5) deliveries, and
// kafka-share-groups shows the start offset past every record with lag 0.

import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SpateCluster } from '../../src/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { partitionForKey } from '../../src/log/internal-topic.js';
import { shareCoordinatorKey, shareStatePartition } from '../../src/share/share-state-log.js';
import { startTestCluster } from '../helpers/cluster.js';
import { javaToolsAvailable, runKafkaTool } from '../helpers/java-tools.js';
import { run } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';

const LIB = fileURLToPath(new URL('../interop/java/lib', import.meta.url));
const SOURCE = fileURLToPath(new URL('../share/java/ShareAckWorker.java', import.meta.url));
const SHARE_GROUPS = 'org.apache.kafka.tools.consumer.group.ShareGroupCommand';
const RECORDS = 400;
const DELIVERY_LIMIT = 5;
const classpath = () =>
  readdirSync(LIB)
    .filter((file) => file.endsWith('.jar'))
    .map((file) => join(LIB, file))
    .join(':');

interface Worker {
  readonly child: ChildProcess;
  readonly lines: Array<{ at: number; text: string }>;
  readonly exited: Promise<number | null>;
}

function startWorker(classes: string, bootstrap: string, group: string, topic: string): Worker {
  const child = spawn(
    'java',
    [
      '-Xms32m',
      '-Xmx128m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      `${classes}:${classpath()}`,
      'ShareAckWorker',
      bootstrap,
      group,
      topic,
      '30000',
      '10',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: Worker['lines'] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    for (const text of parts) lines.push({ at: Date.now(), text });
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      if (code !== 0 && code !== null) console.error(`ShareAckWorker exited ${code}: ${stderr}`);
      resolve(code);
    }),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), 280_000);
  void exited.then(() => clearTimeout(timer));
  return { child, lines, exited };
}

async function waitFor(what: string, probe: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const parsed = (workers: readonly Worker[], kind: string) =>
  workers.flatMap((worker) =>
    worker.lines
      .filter((line) => line.text.startsWith(`${kind} `))
      .map((line) => {
        const [, value, extra] = line.text.split(' ');
        return { at: line.at, value: value!, extra: extra! };
      }),
  );

let correlation = 1;
const call = async (client: RawClient, apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body, correlation++)).body;

interface Roles {
  /** The data partition's leader. */
  readonly leader: number;
  /** The share coordinator of the group's share-partition. */
  readonly coordinator: number;
  /** The group coordinator (membership). */
  readonly groupCoordinator: number;
}

/** A topic with one partition on all three brokers, its records, and a group whose data leader, share coordinator and group coordinator are three different brokers. */
async function prepare(t: Test, cluster: SpateCluster, topic: string): Promise<Roles & { groupId: string; values: string[] }> {
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  const created = await call(client, 19, 5, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  t.equal(created.topics[0].errorCode, 0, `created ${topic} (replication factor 3)`);
  const topicId = cluster.broker(0).replicas.topicId(topic)!;
  // The first share key looked up creates __share_group_state.
  for (let attempt = 0; attempt < 200; attempt++) {
    const found = await call(client, 10, 6, { keyType: 2, coordinatorKeys: [shareCoordinatorKey('probe', topicId, 0)] });
    if (found.coordinators[0].errorCode === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const leader = cluster.leaderOf(topic, 0);
  const coordinatorOf = (groupId: string) => cluster.leaderOf('__share_group_state', shareStatePartition(shareCoordinatorKey(groupId, topicId, 0), 50));
  const groupCoordinatorOf = (groupId: string) => cluster.leaderOf('__consumer_offsets', partitionForKey(groupId, 50));
  const groupId = Array.from({ length: 500 }, (_, i) => `${topic}-workers-${i}`).find((id) => new Set([leader, coordinatorOf(id), groupCoordinatorOf(id)]).size === 3)!;
  const values = Array.from({ length: RECORDS }, (_, i) => `${topic}-${i}`);
  const leaderClient = await RawClient.connect(cluster.broker(leader).bootstrap);
  t.teardown(() => leaderClient.close());
  for (const batch of [['poison-pill'], ...Array.from({ length: RECORDS / 10 }, (_, i) => values.slice(i * 10, i * 10 + 10))]) {
    const records = encodeRecordBatch({ records: batch.map((value) => ({ key: null, value: Buffer.from(value) })) });
    const produced = await call(leaderClient, 0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
    if (produced.responses[0].partitionResponses[0].errorCode !== 0) throw new Error(`produce: ${produced.responses[0].partitionResponses[0].errorCode}`);
  }
  return { groupId, leader, coordinator: coordinatorOf(groupId), groupCoordinator: groupCoordinatorOf(groupId), values };
}

/** Runs three consumers, stops `victim` once some records are accepted and the poison record came twice, and checks the outcome. */
async function runAndStop(t: Test, cluster: SpateCluster, classes: string, topic: string, choose: (roles: Roles) => number): Promise<void> {
  const prepared = await prepare(t, cluster, topic);
  const { groupId, values } = prepared;
  const shareGroups = (args: string[]) => runKafkaTool(SHARE_GROUPS, ['--bootstrap-server', cluster.bootstrap, ...args]);
  const reset = await shareGroups(['--reset-offsets', '--to-earliest', '--execute', '--group', groupId, '--topic', topic]);
  t.equal(reset.code, 0, `kafka-share-groups --reset-offsets --to-earliest: ${reset.stderr}`);

  const workers = [0, 1, 2].map(() => startWorker(classes, cluster.bootstrap, groupId, topic));
  t.teardown(() => workers.forEach((worker) => worker.child.kill('SIGKILL')));
  await waitFor(
    'records accepted and the poison record delivered twice',
    () => parsed(workers, 'ACKED').length >= 100 && parsed(workers, 'GOT').filter((got) => got.value === 'poison-pill').length >= 2,
  );
  const victim = choose(prepared);
  const stoppedAt = Date.now();
  await cluster.stopBroker(victim);
  t.comment(
    `stopped broker ${victim} (data leader ${prepared.leader}, share coordinator ${prepared.coordinator}, group coordinator ${prepared.groupCoordinator}) after ${parsed(workers, 'ACKED').length} acknowledgements`,
  );

  const accepted = () => new Set(parsed(workers, 'ACKED').map((ack) => ack.value));
  await waitFor('every record accepted', () => values.every((value) => accepted().has(value)));
  const firstAfter = parsed(workers, 'ACKED').find((ack) => ack.at > stoppedAt)?.at;
  t.comment(`first confirmed acknowledgement ${firstAfter === undefined ? '?' : firstAfter - stoppedAt} ms after the stop`);
  // The poison record is done once the start offset is past everything.
  let described = '';
  for (let attempt = 0; attempt < 60; attempt++) {
    described = (await shareGroups(['--describe', '--group', groupId])).stdout;
    if (new RegExp(`${topic}\\s+0\\s+${RECORDS + 1}\\s+0`).test(described)) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  t.match(described, new RegExp(`${topic}\\s+0\\s+${RECORDS + 1}\\s+0`), `kafka-share-groups: start offset past every record, lag 0:\n${described}`);
  let members = '';
  for (let attempt = 0; attempt < 40; attempt++) {
    members = (await shareGroups(['--describe', '--members', '--group', groupId])).stdout;
    if (members.split('\n').filter((line) => line.startsWith(groupId)).length === 3) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  t.equal(members.split('\n').filter((line) => line.startsWith(groupId)).length, 3, `the three members are in the group at its coordinator:\n${members}`);
  await new Promise((resolve) => setTimeout(resolve, 2000)); // a late duplicate would show now
  workers.forEach((worker) => worker.child.kill('SIGTERM'));
  await Promise.all(workers.map((worker) => worker.exited));

  const acks = parsed(workers, 'ACKED').filter((ack) => ack.extra === 'ACCEPT');
  const counts = new Map<string, number>();
  for (const ack of acks) counts.set(ack.value, (counts.get(ack.value) ?? 0) + 1);
  t.same([...counts.keys()].sort(), [...values].sort(), 'every record was accepted: none lost');
  t.same(
    [...counts].filter(([, count]) => count > 1),
    [],
    'none accepted twice: no acknowledged record came again',
  );
  const failed = parsed(workers, 'FAILED');
  const redelivered = parsed(workers, 'GOT').filter((got) => got.value !== 'poison-pill' && Number(got.extra) > 1);
  t.comment(`${failed.length} acknowledgements failed around the stop; ${redelivered.length} deliveries were later ones`);
  const poison = parsed(workers, 'GOT')
    .filter((got) => got.value === 'poison-pill')
    .sort((a, b) => a.at - b.at)
    .map((got) => Number(got.extra));
  t.same([...new Set(poison)].sort(), [1, 2, 3, 4, 5], `the poison record was delivered with every count up to the limit (deliveries ${poison.join(',')})`);
  t.ok(
    poison.every((count, index) => index === 0 || count >= poison[index - 1]!),
    'its delivery count went on from what was persisted, never back',
  );
  const poisonAfter = parsed(workers, 'GOT')
    .filter((got) => got.value === 'poison-pill' && got.at > stoppedAt)
    .sort((a, b) => a.at - b.at);
  t.ok(
    poisonAfter.length > 0 && poisonAfter.every((got) => Number(got.extra) >= 3),
    `after the stop it came back at the delivery count persisted before it, plus one (${poisonAfter.map((got) => got.extra).join(',')})`,
  );
  t.ok(
    poison.length <= DELIVERY_LIMIT + 1,
    `then it was archived: ${poison.length} deliveries (one may repeat across the stop: an interrupted delivery is not persisted, as in Kafka)`,
  );
  t.ok(
    workers.every((worker) => parsed([worker], 'ACKED').length > 0),
    `all three consumers accepted records (${workers.map((worker) => parsed([worker], 'ACKED').length).join('/')})`,
  );
}

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  const classes = mkdtempSync(join(tmpdir(), 'spate-share-failover-'));
  t.teardown(() => rmSync(classes, { recursive: true, force: true }));
  t.before(async () => {
    const compiled = await run('javac', ['-cp', classpath(), '-d', classes, SOURCE], undefined, 120_000);
    if (compiled.code !== 0) throw new Error(`javac failed: ${compiled.stderr}`);
  });
  const config = { 'group.share.heartbeat.interval.ms': 1000, 'group.share.session.timeout.ms': 10000, 'group.share.record.lock.duration.ms': 15000 };

  t.test('the broker leading the shared partition stops: the share-partition follows the leadership', async (t) => {
    const cluster = await startTestCluster(t, { config });
    await runAndStop(t, cluster, classes, 'jobs', ({ leader }) => leader);
  });

  t.test("the broker hosting the share-partition's share coordinator stops: the new coordinator replays its state", async (t) => {
    const cluster = await startTestCluster(t, { config });
    await runAndStop(t, cluster, classes, 'tasks', ({ coordinator }) => coordinator);
  });

  t.test("the broker hosting the share group's group coordinator stops: the members join the new one and read on", async (t) => {
    const cluster = await startTestCluster(t, { config });
    await runAndStop(t, cluster, classes, 'orders', ({ groupCoordinator }) => groupCoordinator);
  });
}
