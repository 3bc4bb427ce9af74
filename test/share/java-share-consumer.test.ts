// Kafka 4.3's own KafkaShareConsumer against Spate's share groups (KIP-932), with a small
// Java program (test/share/java/ShareWorker.java, compiled here with javac):
// - several consumers share one partition, each record accepted exactly once, none lost;
// - a consumer that holds records without acknowledging them loses them when its locks run
//   out, and the others get them (delivery count 2);
// - a consumer killed with SIGKILL while holding records: they are delivered to the others
//   (its connection closing releases them, long before the 60 s lock would);
// - a poison record released by every consumer is archived after
//   group.share.delivery.count.limit deliveries;
// - kafka-share-groups resets the offsets of a new group, lists and describes it.

import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { run } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

const LIB = fileURLToPath(new URL('../interop/java/lib', import.meta.url));
const SOURCE = fileURLToPath(new URL('./java/ShareWorker.java', import.meta.url));
const SHARE_GROUPS = 'org.apache.kafka.tools.consumer.group.ShareGroupCommand';
const classpath = () =>
  readdirSync(LIB)
    .filter((file) => file.endsWith('.jar'))
    .map((file) => join(LIB, file))
    .join(':');

interface Worker {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

function startWorker(classes: string, bootstrap: string, group: string, topic: string, mode: 'work' | 'hold', idleExitMs = 4000): Worker {
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
      'ShareWorker',
      bootstrap,
      group,
      topic,
      mode,
      String(idleExitMs),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      if (code !== 0 && code !== null) console.error(`ShareWorker ${mode} exited ${code}: ${stderr.slice(-2000)}`);
      resolve(code);
    }),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
  void exited.then(() => clearTimeout(timer));
  return { child, lines, exited };
}

async function waitFor(what: string, probe: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const received = (worker: Worker) =>
  worker.lines
    .filter((line) => / \d+$/.test(line))
    .map((line) => {
      const [mode, value, count] = line.split(' ');
      return { mode: mode!, value: value!, deliveryCount: Number(count) };
    });

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  const classes = mkdtempSync(join(tmpdir(), 'spate-share-java-'));
  t.teardown(() => rmSync(classes, { recursive: true, force: true }));

  t.before(async () => {
    const compiled = await run('javac', ['-cp', classpath(), '-d', classes, SOURCE], undefined, 120_000);
    if (compiled.code !== 0) throw new Error(`javac failed: ${compiled.stderr}`);
  });

  const setup = async (t: Test, lockMs: number, topic: string, sessionTimeoutMs = 6000) => {
    const broker = await startTestBroker(t, {
      config: { 'group.share.record.lock.duration.ms': lockMs, 'group.share.heartbeat.interval.ms': 1000, 'group.share.session.timeout.ms': sessionTimeoutMs },
    });
    const client = await RawClient.connect(broker.bootstrap);
    t.teardown(() => client.close());
    let correlation = 1;
    const call = async (apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body, correlation++)).body;
    await call(19, 5, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    /** Ten records a batch, so that consumers asking for 10 records at a time get one batch each. */
    const produce = async (values: string[]) => {
      for (let i = 0; i < values.length; i += 10) {
        const records = encodeRecordBatch({ records: values.slice(i, i + 10).map((value) => ({ key: null, value: Buffer.from(value) })) });
        await call(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
      }
    };
    const shareGroups = (args: string[]) => runKafkaTool(SHARE_GROUPS, ['--bootstrap-server', broker.bootstrap, ...args]);
    return { broker, produce, shareGroups };
  };

  t.test('consumers share a partition; held records time out; a poison record is archived; kafka-share-groups', async (t) => {
    const topic = 'jobs';
    const group = 'job-workers';
    const { broker, produce, shareGroups } = await setup(t, 3000, topic);
    const values = Array.from({ length: 150 }, (_, i) => `job${i}`);
    await produce(values);

    // A new group starts at the latest offset: reset it to the earliest with the tool first.
    const reset = await shareGroups(['--reset-offsets', '--to-earliest', '--execute', '--group', group, '--topic', topic]);
    t.equal(reset.code, 0, `reset-offsets: ${reset.stderr}`);
    await produce(['poison-pill']);

    const holder = startWorker(classes, broker.bootstrap, group, topic, 'hold');
    t.teardown(() => holder.child.kill('SIGKILL'));
    await waitFor('the holder to take records', () => holder.lines.includes('HOLDING'));
    const held = received(holder).map((r) => r.value);
    t.ok(held.length > 0, `the holder holds ${held.length} records`);

    const workers = [startWorker(classes, broker.bootstrap, group, topic, 'work'), startWorker(classes, broker.bootstrap, group, topic, 'work')];
    t.teardown(() => workers.forEach((w) => w.child.kill('SIGKILL')));
    // Describe while they run.
    await waitFor('the workers to get records', () => workers.every((w) => received(w).length > 0));
    const members = await shareGroups(['--describe', '--members', '--group', group]);
    t.equal(members.code, 0, members.stderr);
    t.equal(members.stdout.split('\n').filter((line) => line.startsWith(group)).length, 3, `three members described:\n${members.stdout}`);

    await Promise.all(workers.map((w) => w.exited));
    const accepted = workers.flatMap((w) => received(w)).filter((r) => !r.value.startsWith('poison'));
    const counts = new Map<string, number>();
    for (const record of accepted) counts.set(record.value, (counts.get(record.value) ?? 0) + 1);
    t.same([...counts.keys()].sort(), [...values].sort(), 'every record was accepted: none lost');
    t.same(
      [...counts.values()].filter((n) => n > 1),
      [],
      'and none twice',
    );
    t.ok(
      workers.every((w) => received(w).some((r) => !r.value.startsWith('poison'))),
      'both workers got records from the one partition',
    );
    const redelivered = accepted.filter((r) => held.includes(r.value));
    t.same(redelivered.map((r) => r.value).sort(), [...held].sort(), 'what the holder kept was delivered to the others after its locks ran out');
    t.ok(
      redelivered.every((r) => r.deliveryCount >= 2),
      'as a second delivery',
    );
    const poison = workers.flatMap((w) => received(w)).filter((r) => r.value === 'poison-pill');
    t.same(poison.map((r) => r.deliveryCount).sort(), [1, 2, 3, 4, 5], 'the poison record was delivered 5 times (group.share.delivery.count.limit), then archived');

    const offsets = await shareGroups(['--describe', '--group', group]);
    t.equal(offsets.code, 0, offsets.stderr);
    const row = offsets.stdout
      .split('\n')
      .find((line) => line.startsWith(group))
      ?.trim()
      .split(/\s+/);
    t.same(row?.slice(0, 5), [group, topic, '0', '151', '0'], `start offset past everything, lag 0:\n${offsets.stdout}`);
    t.comment(members.stdout + offsets.stdout + `held ${held.length}, poison deliveries ${poison.length}, per worker ${workers.map((w) => received(w).length).join('/')}`);
    const listed = await shareGroups(['--list']);
    t.match(listed.stdout, new RegExp(`^${group}$`, 'm'));
    holder.child.kill('SIGKILL');
    await holder.exited;

    // Once the killed member's session has timed out the group is empty and can be deleted.
    let state = '';
    for (let i = 0; i < 60 && !/Empty/.test(state); i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      state = (await shareGroups(['--describe', '--state', '--group', group])).stdout;
    }
    t.match(state, /Empty/, 'the group is empty after the session timeout');
    const deleted = await shareGroups(['--delete', '--group', group]);
    t.equal(deleted.code, 0, deleted.stderr);
    t.notMatch((await shareGroups(['--list'])).stdout, new RegExp(`^${group}$`, 'm'), 'kafka-share-groups --delete removed it');
  });

  t.test('records held by a consumer killed with SIGKILL go to the others', async (t) => {
    const topic = 'crash';
    const group = 'crash-workers';
    // A lock and a session timeout far longer than the test: only the dropped connection can explain a redelivery.
    const { broker, produce, shareGroups } = await setup(t, 120_000, topic, 120_000);
    const values = Array.from({ length: 40 }, (_, i) => `task${i}`);
    await produce(values);
    const reset = await shareGroups(['--reset-offsets', '--to-earliest', '--execute', '--group', group, '--topic', topic]);
    t.equal(reset.code, 0, reset.stderr);

    const holder = startWorker(classes, broker.bootstrap, group, topic, 'hold');
    t.teardown(() => holder.child.kill('SIGKILL'));
    await waitFor('the holder to take records', () => holder.lines.includes('HOLDING'));
    const held = received(holder).map((r) => r.value);
    const worker = startWorker(classes, broker.bootstrap, group, topic, 'work', 3000);
    t.teardown(() => worker.child.kill('SIGKILL'));
    await waitFor('the worker to get records', () => received(worker).length > 0);
    holder.child.kill('SIGKILL');
    await holder.exited;
    await worker.exited;
    const got = received(worker).map((r) => r.value);
    t.same([...new Set(got)].sort(), [...values].sort(), 'every record reached the surviving consumer, the held ones too');
    t.ok(held.length > 0 && held.every((value) => got.includes(value)), `the ${held.length} held records were redelivered`);

    // Kafka's own formatter for __share_group_state reads what Spate wrote.
    const dump = await runKafkaTool(TOOLS.consoleConsumer, [
      '--bootstrap-server',
      broker.bootstrap,
      '--topic',
      '__share_group_state',
      '--from-beginning',
      '--timeout-ms',
      '5000',
      '--formatter',
      'org.apache.kafka.tools.consumer.group.share.ShareGroupStateMessageFormatter',
    ]);
    const snapshots = dump.stdout.split('\n').filter((line) => line.includes(`"groupId":"${group}"`));
    t.ok(snapshots.length > 0, `Kafka's ShareGroupStateMessageFormatter decodes the records:\n${dump.stdout.slice(0, 600)}${dump.stderr.slice(-600)}`);
    t.match(snapshots[snapshots.length - 1], /"startOffset":40/, 'the last snapshot has the start offset past every record');
  });
}
