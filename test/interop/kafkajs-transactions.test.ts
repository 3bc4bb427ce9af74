// kafkajs transactions against Spate: commit and abort seen by read_committed and
// read_uncommitted readers, the last stable offset while a transaction is open, fencing of a
// zombie producer, and consume-transform-produce that stays exactly-once across a kill -9 of
// the broker. Plus the idempotent producer across a broker restart.

import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { kcatConsume } from '../helpers/kcat.js';
import { freePort, startProcessBroker } from '../helpers/process-broker.js';

const TRANSFORM = fileURLToPath(new URL('../fixtures/transform.mjs', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quiet = { logLevel: logLevel.NOTHING };

t.test('commit and abort: what read_committed and read_uncommitted readers see', async (t) => {
  const broker = await startTestBroker(t, { config: { 'group.initial.rebalance.delay.ms': 0 } });
  const kafka = new Kafka({ clientId: 'txn', brokers: [broker.bootstrap], ...quiet });
  const producer = kafka.producer({ transactionalId: 'txn-1', maxInFlightRequests: 1, idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const send = async (label: string, commit: boolean) => {
    const txn = await producer.transaction();
    await txn.send({ topic: 'txn-topic', messages: Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `${label}-${i}` })) });
    if (commit) await txn.commit();
    else await txn.abort();
  };
  await send('a', true);
  await send('b', false);
  await send('c', true);

  const committed = await kcatConsume(broker.bootstrap, 'txn-topic', ['-X', 'isolation.level=read_committed']);
  t.same(
    committed.map((r) => r.value),
    [...Array.from({ length: 10 }, (_, i) => `a-${i}`), ...Array.from({ length: 10 }, (_, i) => `c-${i}`)],
    'read_committed: committed records only',
  );
  const uncommitted = await kcatConsume(broker.bootstrap, 'txn-topic', ['-X', 'isolation.level=read_uncommitted']);
  t.equal(uncommitted.length, 30, 'read_uncommitted: every data record, aborted ones included');

  // An open transaction holds the last stable offset back.
  const open = await producer.transaction();
  await open.send({ topic: 'txn-topic', messages: [{ key: 'k', value: 'pending' }] });
  const log = broker.logs.partition('txn-topic', 0)!;
  t.ok(log.lastStableOffset < log.highWatermark, `LSO ${log.lastStableOffset} < HW ${log.highWatermark} while open`);
  const whileOpen = await kcatConsume(broker.bootstrap, 'txn-topic', ['-X', 'isolation.level=read_committed']);
  t.notOk(
    whileOpen.some((r) => r.value === 'pending'),
    'the open transaction is invisible to read_committed',
  );
  await open.commit();
  t.equal(log.lastStableOffset, log.highWatermark, 'commit releases the LSO');
  const afterCommit = await kcatConsume(broker.bootstrap, 'txn-topic', ['-X', 'isolation.level=read_committed']);
  t.ok(afterCommit.some((r) => r.value === 'pending'));

  const consumer = kafka.consumer({ groupId: 'txn-readers' });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'txn-topic', fromBeginning: true });
  const seen: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
  for (let i = 0; i < 100 && seen.length < 21; i++) await sleep(100);
  t.equal(seen.length, 21, 'a kafkajs consumer (read_committed by default) sees the 21 committed records');
  t.notOk(
    seen.some((v) => v.startsWith('b-')),
    'and none of the aborted ones',
  );
});

t.test('a second producer with the same transactional ID fences the first', async (t) => {
  const broker = await startTestBroker(t);
  const kafka = new Kafka({ clientId: 'fence', brokers: [broker.bootstrap], ...quiet, retry: { retries: 1 } });
  const first = kafka.producer({ transactionalId: 'shared', maxInFlightRequests: 1, idempotent: true, retry: { retries: 1 } });
  await first.connect();
  const zombie = await first.transaction();
  await zombie.send({ topic: 'fenced', messages: [{ value: 'zombie' }] });
  const second = kafka.producer({ transactionalId: 'shared', maxInFlightRequests: 1, idempotent: true });
  await second.connect();
  t.teardown(async () => {
    await first.disconnect().catch(() => undefined);
    await second.disconnect();
  });
  // kafkajs initialises the transactional producer ID in transaction(): that fences the first.
  const txn = await second.transaction();
  await t.rejects(zombie.commit(), /fenced|epoch/i, 'the older producer cannot commit');
  await txn.send({ topic: 'fenced', messages: [{ value: 'fresh' }] });
  await txn.commit();
  const records = await kcatConsume(broker.bootstrap, 'fenced', ['-X', 'isolation.level=read_committed']);
  t.same(
    records.map((r) => r.value),
    ['fresh'],
    "the zombie's open transaction was aborted",
  );
});

t.test('consume-transform-produce stays exactly-once across kill -9 of the broker', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-eos-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const options = ['--port', String(port), '--override', 'group.initial.rebalance.delay.ms=0'];
  let broker = await startProcessBroker(dataDir, options);
  t.teardown(() => void broker.child.kill('SIGKILL'));
  const kafka = new Kafka({ clientId: 'eos-test', brokers: [broker.bootstrap], ...quiet, retry: { retries: 100, initialRetryTime: 100, maxRetryTime: 1000 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'input', numPartitions: 2 },
      { topic: 'output', numPartitions: 2 },
    ],
  });
  await admin.disconnect();
  // A supervisor: a transformer that exits is started again with the same transactional ID.
  let transformer: ChildProcess;
  let finished = false;
  const superviseTransformer = () => {
    transformer = spawn(process.execPath, [TRANSFORM, broker.bootstrap, 'eos-transformer'], { stdio: ['ignore', 'ignore', 'inherit'] });
    transformer.once('exit', () => {
      if (!finished) superviseTransformer();
    });
  };
  superviseTransformer();
  t.teardown(() => {
    finished = true;
    transformer.kill('SIGKILL');
  });

  // Input arrives over time, so the transformer is mid-stream when the broker is killed.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 100, initialRetryTime: 100, maxRetryTime: 1000 } });
  await producer.connect();
  const inputs = Array.from({ length: 10000 }, (_, i) => `value-${i}`);
  for (let i = 0; i < inputs.length; i += 250) {
    await producer.send({ topic: 'input', acks: -1, messages: inputs.slice(i, i + 250).map((value) => ({ key: value, value })) });
    if (i === 5000) {
      broker.child.kill('SIGKILL');
      await broker.exited;
      broker = await startProcessBroker(dataDir, options);
    }
    await sleep(20);
  }
  await producer.disconnect();
  const outputCount = async () => (await kcatConsume(broker.bootstrap, 'output', ['-X', 'isolation.level=read_committed'])).length;
  for (let i = 0; i < 300 && (await outputCount()) < inputs.length; i++) await sleep(200);
  const output = await kcatConsume(broker.bootstrap, 'output', ['-X', 'isolation.level=read_committed']);
  const counts = new Map<string, number>();
  for (const record of output) counts.set(record.value!, (counts.get(record.value!) ?? 0) + 1);
  t.equal(counts.size, inputs.length, 'every input was transformed');
  t.same(
    [...counts].filter(([, n]) => n > 1),
    [],
    'and none twice',
  );
  t.same(new Set(counts.keys()), new Set(inputs.map((v) => v.toUpperCase())));
});

t.test('the idempotent producer writes no duplicate across a broker restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-idem-restart-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  let broker = await startProcessBroker(dataDir, ['--port', String(port)]);
  t.teardown(() => void broker.child.kill('SIGKILL'));
  const kafka = new Kafka({ clientId: 'idem', brokers: [broker.bootstrap], ...quiet, retry: { retries: 100, initialRetryTime: 100, maxRetryTime: 1000 } });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 100 }, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  let sent = 0;
  const sending = (async () => {
    for (; sent < 400; sent++) await producer.send({ topic: 'idem-restart', acks: -1, messages: [{ key: 'k', value: `n-${sent}` }] });
  })();
  while (sent < 100) await sleep(10);
  broker.child.kill('SIGKILL');
  await broker.exited;
  broker = await startProcessBroker(dataDir, ['--port', String(port)]);
  await sending;
  const records = await kcatConsume(broker.bootstrap, 'idem-restart');
  t.equal(records.length, 400, 'each record once');
  t.same(
    records.map((r) => r.value),
    Array.from({ length: 400 }, (_, i) => `n-${i}`),
    'in order',
  );
});
