// Kafka Streams 4.3 with group.protocol=streams (KIP-1071) against Spate: an exactly-once word
// count (test/streams/java/StreamsWorker.java, compiled here with javac) in two instances,
// one killed with SIGKILL in the middle of the input and started again. The broker creates the
// repartition and changelog topics, assigns the tasks and moves them on the kill; the counts
// read with read_committed must come out exact (nothing lost, nothing counted twice), and
// Kafka's kafka-streams-groups tool lists and describes the group.

import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable, runKafkaTool } from '../helpers/java-tools.js';
import { run } from '../helpers/kcat.js';

const LIB = fileURLToPath(new URL('../interop/java/lib', import.meta.url));
const SOURCE = fileURLToPath(new URL('./java/StreamsWorker.java', import.meta.url));
const STREAMS_GROUPS = 'org.apache.kafka.tools.streams.StreamsGroupCommand';
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

function startWorker(classes: string, args: string[]): Worker {
  const child = spawn(
    'java',
    [
      '-Xms32m',
      '-Xmx192m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      `${classes}:${classpath()}`,
      'StreamsWorker',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      if (code !== 0 && code !== null) console.error(`StreamsWorker exited ${code}: ${stderr}`);
      resolve(code);
    }),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  void exited.then(() => clearTimeout(timer));
  return { child, lines, exited };
}

async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const running = (worker: Worker) => worker.lines.filter((line) => line.startsWith('STATE ')).at(-1) === 'STATE RUNNING';

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  const work = mkdtempSync(join(tmpdir(), 'spate-streams-java-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const classes = join(work, 'classes');

  t.before(async () => {
    const compiled = await run('javac', ['-cp', classpath(), '-d', classes, SOURCE], undefined, 120_000);
    if (compiled.code !== 0) throw new Error(`javac failed: ${compiled.stderr}`);
  });

  t.test('an exactly-once word count survives kill -9 of one of its two instances', async (t) => {
    const broker = await startTestBroker(t, {
      config: { 'group.streams.session.timeout.ms': 6000, 'group.streams.heartbeat.interval.ms': 500 },
    });
    const kafka = new Kafka({ clientId: 'streams-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    await admin.createTopics({
      topics: [
        { topic: 'lines', numPartitions: 3 },
        { topic: 'counts', numPartitions: 1 },
      ],
    });
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    t.teardown(() => producer.disconnect());

    const vocabulary = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
    const expected = new Map<string, number>();
    let produced = 0;
    const produceLines = async (count: number) => {
      for (let sent = 0; sent < count; sent += 20) {
        const messages = Array.from({ length: 20 }, (_, i) => {
          const n = produced + sent + i;
          const words = [vocabulary[n % 8]!, vocabulary[(n * 3 + 1) % 8]!, vocabulary[(n * 5 + 2) % 8]!];
          for (const word of words) expected.set(word, (expected.get(word) ?? 0) + 1);
          return { key: `line-${n}`, value: words.join(' ') };
        });
        await producer.send({ topic: 'lines', acks: -1, messages });
      }
      produced += count;
    };

    const args = (dir: string) => [broker.bootstrap, 'wordcount', 'lines', 'counts', join(work, dir), 'streams'];
    const a = startWorker(classes, args('state-a'));
    t.teardown(() => a.child.kill('SIGKILL'));
    await waitFor('the first instance to run', () => running(a));
    await produceLines(200);
    const b = startWorker(classes, args('state-b'));
    t.teardown(() => b.child.kill('SIGKILL'));
    await waitFor('the second instance to run', () => running(b));

    // Both instances hold tasks: the group described by Kafka's own tool.
    const describeGroup = async () => (await runKafkaTool(STREAMS_GROUPS, ['--bootstrap-server', broker.bootstrap, '--describe', '--group', 'wordcount', '--members'])).stdout;
    await waitFor('two members in the group', async () => (await describeGroup()).split('\n').filter((line) => line.includes('wordcount')).length >= 2, 60_000);

    // Half of the rest, a kill -9 of the first instance, the other half.
    await produceLines(200);
    a.child.kill('SIGKILL');
    await a.exited;
    await produceLines(200);
    const again = startWorker(classes, args('state-a'));
    t.teardown(() => again.child.kill('SIGKILL'));
    await waitFor('the restarted instance to run', () => running(again));
    await produceLines(100);

    // The counts, read committed: the last count of every word must be exact.
    const consumer = kafka.consumer({ groupId: 'counts-reader', readUncommitted: false });
    await consumer.connect();
    t.teardown(() => consumer.disconnect());
    await consumer.subscribe({ topic: 'counts', fromBeginning: true });
    const latest = new Map<string, number>();
    let overshoot = false;
    await consumer.run({
      eachMessage: async ({ message }) => {
        const word = message.key!.toString();
        const count = Number(message.value!.readBigInt64BE());
        if (count > expected.get(word)!) overshoot = true;
        latest.set(word, count);
      },
    });
    const exact = () => [...expected].every(([word, count]) => latest.get(word) === count);
    await waitFor('exact counts', exact, 120_000).catch(() => undefined);
    t.same(Object.fromEntries([...latest].sort()), Object.fromEntries([...expected].sort()), `every word counted exactly once over ${produced} lines and a kill -9`);
    t.notOk(overshoot, 'no committed count ever went past the true count');

    // The broker made the internal topics, with the configs the application asked for.
    const topics = await admin.listTopics();
    const changelog = topics.find((name) => name.startsWith('wordcount-') && name.endsWith('-changelog'));
    const repartition = topics.find((name) => name.startsWith('wordcount-') && name.endsWith('-repartition'));
    t.ok(changelog !== undefined && repartition !== undefined, `the broker created ${changelog} and ${repartition}`);
    const metadata = await admin.fetchTopicMetadata({ topics: [changelog!, repartition!] });
    t.same(
      metadata.topics.map((topic) => topic.partitions.length),
      [3, 3],
      'both have as many partitions as the input topic',
    );
    const configs = await admin.describeConfigs({ resources: [{ type: 2, name: changelog!, configNames: ['cleanup.policy'] }], includeSynonyms: false });
    t.equal(configs.resources[0]!.configEntries[0]!.configValue, 'compact', 'the changelog is compacted');

    // Kafka's tools: listed as a streams group, described as Stable with both instances' tasks.
    const listed = await runKafkaTool(STREAMS_GROUPS, ['--bootstrap-server', broker.bootstrap, '--list']);
    t.match(listed.stdout, /wordcount/, 'kafka-streams-groups --list shows the group');
    const groups = await admin.listGroups();
    t.same(
      groups.groups.find((group) => group.groupId === 'wordcount'),
      { groupId: 'wordcount', protocolType: 'streams' },
      'ListGroups: protocol type streams',
    );
    await waitFor(
      'a stable group',
      async () => /Stable/.test((await runKafkaTool(STREAMS_GROUPS, ['--bootstrap-server', broker.bootstrap, '--describe', '--group', 'wordcount', '--state'])).stdout),
      60_000,
    ).catch(() => undefined);
    const state = await runKafkaTool(STREAMS_GROUPS, ['--bootstrap-server', broker.bootstrap, '--describe', '--group', 'wordcount', '--state']);
    t.match(state.stdout, /Stable/, 'kafka-streams-groups --describe --state: Stable');
    const offsets = await runKafkaTool(STREAMS_GROUPS, ['--bootstrap-server', broker.bootstrap, '--describe', '--group', 'wordcount', '--offsets']);
    t.match(offsets.stdout, /lines/, 'kafka-streams-groups --describe --offsets shows the input topic');
    t.comment(state.stdout.trim());
  });
}
