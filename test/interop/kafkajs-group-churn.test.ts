// Group churn: 20 kafkajs members joining and leaving for a minute. Afterwards the group
// must settle (Stable, every member in it, every partition assigned) and keep consuming:
// no rebalance gets stuck.

import t from 'tap';
import { Kafka, logLevel, Partitioners, type Consumer } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';

const MEMBERS = 20;
const CHURN_MS = Number(process.env.SPATE_CHURN_MS ?? 60_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test(`${MEMBERS} members churning for ${CHURN_MS / 1000} s, then the group settles`, async (t) => {
  const broker = await startTestBroker(t, { config: { 'group.initial.rebalance.delay.ms': 500 } });
  const kafka = new Kafka({ clientId: 'churn', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 1000 } });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'churn', numPartitions: 10 }] });

  const seen = new Set<string>();
  const slots: Array<Consumer | undefined> = new Array(MEMBERS).fill(undefined);
  const start = async (slot: number) => {
    const consumer = kafka.consumer({ groupId: 'churners', sessionTimeout: 6000, rebalanceTimeout: 10000, heartbeatInterval: 500 });
    slots[slot] = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: 'churn', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.add(message.value!.toString()) });
  };
  const stop = async (slot: number) => {
    const consumer = slots[slot];
    slots[slot] = undefined;
    await consumer?.disconnect();
  };
  t.teardown(async () => {
    for (let slot = 0; slot < MEMBERS; slot++) await stop(slot).catch(() => undefined);
  });

  await Promise.all(Array.from({ length: MEMBERS }, (_, slot) => start(slot)));
  // Joins and leaves overlap: a member may come or go while a rebalance is under way.
  const busy = new Set<number>();
  const pending = new Set<Promise<void>>();
  const deadline = Date.now() + CHURN_MS;
  let changes = 0;
  while (Date.now() < deadline) {
    const slot = Math.floor(Math.random() * MEMBERS);
    if (!busy.has(slot)) {
      busy.add(slot);
      changes++;
      const change = (slots[slot] === undefined ? start(slot) : stop(slot))
        .catch(() => undefined)
        .finally(() => {
          busy.delete(slot);
          pending.delete(change);
        });
      pending.add(change);
    }
    await sleep(100 + Math.random() * 300);
  }
  await Promise.all([...pending]);
  for (let slot = 0; slot < MEMBERS; slot++) if (slots[slot] === undefined) await start(slot);
  t.ok(changes > 50, `${changes} joins and leaves`);

  let described;
  for (let i = 0; i < 120; i++) {
    described = (await admin.describeGroups(['churners'])).groups[0]!;
    if (described.state === 'Stable' && described.members.length === MEMBERS) break;
    await sleep(500);
  }
  t.equal(described!.state, 'Stable', 'the group settles');
  t.equal(described!.members.length, MEMBERS, 'with every member');

  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic: 'churn', messages: Array.from({ length: 200 }, (_, i) => ({ key: `${i}`, value: `after-${i}` })) });
  await producer.disconnect();
  for (let i = 0; i < 120 && [...seen].filter((v) => v.startsWith('after-')).length < 200; i++) await sleep(250);
  t.equal([...seen].filter((v) => v.startsWith('after-')).length, 200, 'and every partition is consumed again');
});
