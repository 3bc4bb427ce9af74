// librdkafka's balanced consumer (kcat -G) against Spate: two members split a topic,
// commit, and a second run of the group resumes after the committed offsets.

import t from 'tap';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { kcatProduce } from '../helpers/kcat.js';

interface GroupMember {
  readonly lines: string[];
  stop(): Promise<string[]>;
}

/** Starts `kcat -G`; `stop` interrupts it (SIGINT: librdkafka commits and leaves cleanly). */
function kcatGroup(bootstrap: string, group: string, topic: string): GroupMember {
  const child = spawn(
    'kcat',
    ['-b', bootstrap, '-G', group, '-f', '%p %o %s\n', '-X', 'auto.offset.reset=earliest', '-X', 'enable.auto.commit=true', '-X', 'auto.commit.interval.ms=100', '-q', '-u', topic],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let buffered = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  return {
    lines,
    async stop() {
      child.kill('SIGINT');
      await exited;
      return lines;
    },
  };
}

/** Polls until `done` holds or the deadline passes (bounded). */
async function waitFor(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await sleep(100);
  }
  return done();
}

const valuesOf = (lines: string[]) => lines.map((line) => line.split(' ').slice(2).join(' '));

t.test('kcat -G: balanced consumption and resume from committed offsets', async (t) => {
  const broker = await startTestBroker(t, { config: { 'group.initial.rebalance.delay.ms': 500 } });
  const kafka = new Kafka({ clientId: 'kcat-groups', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'kcat-group', numPartitions: 4 }] });

  // Both members join first, so the split does not depend on how fast each one starts.
  const a = kcatGroup(broker.bootstrap, 'kg', 'kcat-group');
  const b = kcatGroup(broker.bootstrap, 'kg', 'kcat-group');
  const split = await waitFor(async () => {
    const group = (await admin.describeGroups(['kg'])).groups[0];
    return group?.state === 'Stable' && group.members.length === 2 && group.members.every((m) => m.memberAssignment.length > 0);
  }, 30_000);
  t.ok(split, 'the group is stable with two members, each assigned partitions');

  // Keyed, so the records hash over all four partitions: with null keys librdkafka's sticky
  // partitioner may put a quick burst of 200 on one partition, which one member alone owns.
  const first = Array.from({ length: 200 }, (_, i) => `first ${i}`);
  await kcatProduce(
    broker.bootstrap,
    'kcat-group',
    first.map((value, i) => `k${i}:${value}`),
    ['-K', ':'],
  );
  await waitFor(() => a.lines.length + b.lines.length >= first.length, 30_000);
  const [linesA, linesB] = await Promise.all([a.stop(), b.stop()]);
  t.same(new Set(valuesOf([...linesA, ...linesB])), new Set(first), 'the two members together read everything');
  const partitionsA = new Set(linesA.map((line) => line.split(' ')[0]));
  const partitionsB = new Set(linesB.map((line) => line.split(' ')[0]));
  t.ok(linesA.length > 0 && linesB.length > 0, `both members read records (${linesA.length} + ${linesB.length})`);
  t.same(
    [...partitionsA].filter((p) => partitionsB.has(p)),
    [],
    'no partition was read by both members',
  );

  const second = Array.from({ length: 50 }, (_, i) => `second ${i}`);
  await kcatProduce(
    broker.bootstrap,
    'kcat-group',
    second.map((value, i) => `s${i}:${value}`),
    ['-K', ':'],
  );
  const resumed = kcatGroup(broker.bootstrap, 'kg', 'kcat-group');
  await waitFor(() => resumed.lines.length >= second.length, 30_000);
  t.same(new Set(valuesOf(await resumed.stop())), new Set(second), 'a new run starts after the committed offsets');
});
