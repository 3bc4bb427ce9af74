// 10,000 partitions on one node (issue 13): created with kafkajs, written to, stopped with
// SIGTERM, restarted (nothing recovered: the log dir's .kafka_cleanshutdown), read back with
// kcat; written to again, killed with SIGKILL, restarted (only the partitions holding data
// are rescanned), read back. Each partition costs the broker one file descriptor (its active
// segment's .log), so 10,000 fit under a 20,000 limit.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { kcatConsume } from '../helpers/kcat.js';
import { startProcessBroker, type ProcessBroker } from '../helpers/process-broker.js';

const TOPICS = 100;
const PARTITIONS = 100;
/** Topics written to (one record per partition and round). */
const WRITTEN = ['t0', 't1', 't2'];
/** Descriptors the broker needs beyond one per partition: internal topics, connections, Node itself. */
const HEADROOM = 1000;

function hardFileLimit(): number {
  const text = execFileSync('/bin/sh', ['-c', 'ulimit -Hn']).toString().trim();
  return text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text);
}

/** A broker process whose open file limit fits 10,000 partitions (root may raise the hard limit). */
async function start(dataDir: string): Promise<ProcessBroker> {
  const needed = TOPICS * PARTITIONS + HEADROOM;
  const options = { readyTimeoutMs: 120_000, ...(hardFileLimit() < needed ? { fileLimit: 2 * needed } : {}) };
  return startProcessBroker(dataDir, [], options);
}

async function stop(broker: ProcessBroker, signal: NodeJS.Signals): Promise<number | null> {
  broker.child.kill(signal);
  return (await broker.exited).code;
}

async function produceRound(bootstrap: string, round: string): Promise<void> {
  const kafka = new Kafka({ clientId: `round-${round}`, brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (const topic of WRITTEN) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, key: `${partition}`, value: `${topic}-${partition}-${round}` })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

async function readBack(t: Test, bootstrap: string, rounds: string[]): Promise<void> {
  for (const topic of WRITTEN) {
    const records = await kcatConsume(bootstrap, topic);
    const expected = rounds.flatMap((round) => Array.from({ length: PARTITIONS }, (_, partition) => `${topic}-${partition}-${round}`)).sort();
    t.same(records.map((record) => record.value).sort(), expected, `${topic}: every record of rounds ${rounds.join(', ')}`);
  }
}

/** "Loaded N partition(s) ... after a clean|an unclean shutdown: S segment(s) of P partition(s) recovered". */
function loadLine(broker: ProcessBroker): { partitions: number; clean: boolean; segments: number; recoveredPartitions: number } {
  const match = /Loaded (\d+) partition\(s\) .* after (a clean|an unclean) shutdown: (\d+) segment\(s\) of (\d+) partition\(s\) recovered/.exec(broker.output());
  if (match === null) throw new Error(`no load line in:\n${broker.output()}`);
  return { partitions: Number(match[1]), clean: match[2] === 'a clean', segments: Number(match[3]), recoveredPartitions: Number(match[4]) };
}

const warnings = (broker: ProcessBroker) =>
  broker
    .output()
    .split('\n')
    .filter((line) => / (WARN|ERROR) /.test(line));

t.test('10,000 partitions: create, write, SIGTERM, restart, read; write, kill -9, restart, read', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-10k-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

  let phase = performance.now();
  const took = (what: string) => {
    t.comment(`${what}: ${Math.round(performance.now() - phase)} ms`);
    phase = performance.now();
  };
  const first = await start(dataDir);
  t.teardown(() => void first.child.kill('SIGKILL'));
  const admin = new Kafka({ clientId: 'create', brokers: [first.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  for (let topic = 0; topic < TOPICS; topic += 10) {
    const created = await admin.createTopics({
      topics: Array.from({ length: 10 }, (_, i) => ({ topic: `t${topic + i}`, numPartitions: PARTITIONS })),
      timeout: 120_000,
    });
    if (!created) throw new Error(`topics t${topic}.. were not created`);
  }
  const metadata = await admin.fetchTopicMetadata({ topics: [`t${TOPICS - 1}`] });
  t.equal(metadata.topics[0]!.partitions.length, PARTITIONS, 'the last topic has all its partitions');
  await admin.disconnect();
  took(`created ${TOPICS * PARTITIONS} partitions`);
  await produceRound(first.bootstrap, 'a');
  took('produced');
  t.equal(await stop(first, 'SIGTERM'), 0, 'SIGTERM: exit code 0');
  took('SIGTERM');
  t.ok(existsSync(join(dataDir, '.kafka_cleanshutdown')), "the clean stop left Kafka's .kafka_cleanshutdown");
  const checkpoint = readFileSync(join(dataDir, 'recovery-point-offset-checkpoint'), 'utf8').split('\n');
  t.equal(checkpoint[0], '0', 'recovery-point-offset-checkpoint: version 0');
  t.ok(Number(checkpoint[1]) >= TOPICS * PARTITIONS, `${checkpoint[1]} entries`);
  t.ok(checkpoint.includes('t0 7 1'), 'a written partition is checkpointed at its log end');
  t.ok(checkpoint.includes('t50 7 0'), 'an idle one at 0');

  const second = await start(dataDir);
  t.teardown(() => void second.child.kill('SIGKILL'));
  took('restart after SIGTERM');
  const clean = loadLine(second);
  t.ok(clean.partitions >= TOPICS * PARTITIONS, `${clean.partitions} partitions loaded`);
  t.match(clean, { clean: true, segments: 0, recoveredPartitions: 0 }, 'after a clean stop nothing is recovered');
  t.notOk(existsSync(join(dataDir, '.kafka_cleanshutdown')), 'the marker is removed as the start begins');
  await readBack(t, second.bootstrap, ['a']);
  took('read back');
  const descriptors = readdirSync(`/proc/${second.child.pid}/fd`).length;
  t.ok(descriptors < TOPICS * PARTITIONS + HEADROOM, `${descriptors} file descriptors open for ${clean.partitions} partitions`);
  await produceRound(second.bootstrap, 'b');
  t.equal(await stop(second, 'SIGKILL'), null, 'killed');

  took('produced, killed');
  const third = await start(dataDir);
  t.teardown(() => void third.child.kill('SIGKILL'));
  took('restart after kill -9');
  const unclean = loadLine(third);
  t.equal(unclean.clean, false, 'the start after kill -9 is unclean');
  // The written partitions' active segments are rescanned; the idle ones (empty) cost nothing.
  t.ok(unclean.recoveredPartitions >= WRITTEN.length * PARTITIONS, `${unclean.recoveredPartitions} partitions rescanned`);
  t.ok(unclean.recoveredPartitions < WRITTEN.length * PARTITIONS + 200, 'only the partitions holding data');
  t.same(warnings(third), [], 'nothing repaired: a kill -9 tears nothing that was acknowledged');
  await readBack(t, third.bootstrap, ['a', 'b']);
  took('read back');
  t.equal(await stop(third, 'SIGTERM'), 0, 'SIGTERM after recovery: exit code 0');
  took('SIGTERM');
  t.same(
    [...warnings(second), ...warnings(first)].filter((line) => !/Raised the open file limit/.test(line)),
    [],
    'no WARN or ERROR line in the other runs',
  );
});
