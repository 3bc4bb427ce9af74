// kafkajs consumer groups against Spate: three members share a six-partition topic; one
// leaves cleanly, one is killed (its session expires), the broker restarts in the middle;
// every record is consumed and committed exactly once by the group.

import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';

const MEMBER = fileURLToPath(new URL('../fixtures/group-consumer.mjs', import.meta.url));

interface Member {
  readonly child: ChildProcess;
  readonly name: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('three kafkajs members, a clean leave, a kill and a broker restart: exactly once', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-groups-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = { 'group.initial.rebalance.delay.ms': 200 };
  let broker = await startTestBroker(t, { dataDir, config });
  const port = broker.port;
  const bootstrap = broker.bootstrap;

  const kafka = new Kafka({ clientId: 'groups-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'work', numPartitions: 6 }] });
  await admin.disconnect();

  const consumed: string[] = [];
  const members: Member[] = [];
  const startMember = (name: string) => {
    const child = spawn(process.execPath, [MEMBER, bootstrap, 'workers', 'work', name], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line !== 'READY') consumed.push(line.split(' ')[2]!);
    });
    members.push({ child, name });
    return child;
  };
  t.teardown(() => members.forEach((m) => m.child.kill('SIGKILL')));

  let produced = 0;
  const produce = async (count: number) => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let i = 0; i < count; i += 50) {
      await producer.send({ topic: 'work', acks: -1, messages: Array.from({ length: 50 }, (_, j) => ({ key: `k${produced + j}`, value: `m${produced + i + j}` })) });
    }
    produced += count;
    await producer.disconnect();
  };
  const waitForAll = async (label: string) => {
    for (let i = 0; i < 600 && new Set(consumed).size < produced; i++) await sleep(100);
    t.equal(new Set(consumed).size, produced, `${label}: all ${produced} records consumed`);
  };

  await produce(300);
  const first = startMember('a');
  startMember('b');
  startMember('c');
  await waitForAll('three members');

  first.kill('SIGTERM'); // clean leave
  await produce(300);
  await waitForAll('after a clean leave');

  members[1]!.child.kill('SIGKILL'); // dies without leaving: the session must expire
  await produce(300);
  await waitForAll('after a member was killed');

  await broker.stop();
  broker = await startTestBroker(t, { dataDir, port, config });
  await produce(300);
  await waitForAll('after a broker restart');

  const counts = new Map<string, number>();
  for (const value of consumed) counts.set(value, (counts.get(value) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1);
  t.same(duplicates, [], 'no record was committed twice');
  t.equal(consumed.length, produced);
});
