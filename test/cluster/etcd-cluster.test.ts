// A multi-process cluster on etcd: a real etcd and three `spate start --cluster etcd://...`
// processes. kafkajs produces idempotently with acks=all while the leader's process (also
// the controller) is killed with SIGKILL: the producer goes on at the new leader, every
// acknowledged record is read back once, in order; the dead broker's lease expires and
// Metadata drops it; restarted, it rejoins and catches up into the ISR. Then a leader is
// frozen with SIGSTOP past its lease: leadership moves; after SIGCONT it registers again and
// follows, its old leader epoch fenced. Last, a leader killed and restarted before its lease
// expires leaves the cluster first, so it comes back as a follower.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { runCommand } from '../../src/cli/commands.js';
import { etcdMissing, startEtcd } from '../helpers/etcd.js';
import { startProcessBroker, type ProcessBroker } from '../helpers/process-broker.js';
import { RawClient } from '../helpers/raw-client.js';

const missing = etcdMissing();
const TOPIC = 'etcd-failover';
/** broker.session.timeout.ms of the test brokers: a dead broker leaves after about this long. */
const SESSION_TIMEOUT_MS = 3000;

/** Polls `check` every 100 ms for at most `ms`; throws naming `what` (and the last check's error) when it never held. */
async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    const held = await check().catch((error: unknown) => ((last = `: last check failed with ${(error as Error).message}`), false));
    if (held) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Leader, ISR and live brokers as one broker's own Metadata answers them, over a socket of
 * its own: a client's metadata refresh may pick a frozen broker and wait out its request
 * timeout, where this asks exactly the brokers that still run.
 */
async function metadataAt(bootstrap: string): Promise<{ leader: number; isr: number[]; brokers: number[] }> {
  const client = await RawClient.connect(bootstrap);
  try {
    const { body } = await client.request(3, 12, { topics: [{ name: TOPIC, topicId: Buffer.alloc(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const partition = body.topics[0].partitions[0];
    return {
      leader: partition.leaderId,
      isr: [...(partition.isrNodes as number[])].sort(),
      brokers: (body.brokers as Array<{ nodeId: number }>).map((broker) => broker.nodeId).sort(),
    };
  } finally {
    client.close();
  }
}

/** The partition's values from its leader, read without a consumer group (`spate consume`). */
async function readBack(bootstrap: string): Promise<string[]> {
  const values: string[] = [];
  const code = await runCommand('consume', undefined, {
    bootstrap,
    json: false,
    values: { topic: TOPIC, partition: '0', offset: 'earliest', 'timeout-ms': '2000' },
    out: (line) => values.push(line),
    input: process.stdin,
  });
  if (code !== 0) throw new Error(`spate consume exited ${code}`);
  return values;
}

/** Record i is sent as k<i>a and k<i>b: its place in the send order. */
function sentIndex(value: string): number {
  return Number(value.slice(1, -1)) * 2 + (value.endsWith('b') ? 1 : 0);
}

function checkLog(t: Test, read: readonly string[], acked: readonly string[]): void {
  t.equal(new Set(read).size, read.length, `no duplicates among the ${read.length} records in the log`);
  const present = new Set(read);
  t.same(
    acked.filter((value) => !present.has(value)),
    [],
    `0 of ${acked.length} acknowledged records lost`,
  );
  const order = read.map(sentIndex);
  t.ok(
    order.every((value, index) => index === 0 || value > order[index - 1]!),
    'the log keeps the order the records were sent in',
  );
}

async function partitionInfo(admin: Admin): Promise<{ leader: number; isr: number[] }> {
  const metadata = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  const partition = metadata.topics[0]!.partitions[0]!;
  return { leader: partition.leader, isr: [...partition.isr].sort() };
}

async function liveBrokers(admin: Admin): Promise<number[]> {
  return (await admin.describeCluster()).brokers.map((broker) => broker.nodeId).sort();
}

/** Sends records `from`..`to`-1 (two values each) with acks=all; `during(i)` runs before send i. */
async function produce(t: Test, producer: Producer, from: number, to: number, acked: string[], during: (i: number) => void = () => undefined): Promise<void> {
  for (let i = from; i < to; i++) {
    during(i);
    const values = [`k${i}a`, `k${i}b`];
    try {
      await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value) => ({ value })) });
      acked.push(...values);
    } catch (error) {
      t.comment(`send ${i} failed: ${(error as Error).message}`);
    }
  }
}

t.test('three spate processes on etcd', { skip: missing, timeout: 240_000 }, async (t) => {
  const etcd = await startEtcd();
  const dir = mkdtempSync(join(tmpdir(), 'spate-etcd-cluster-'));
  const brokers = new Map<number, ProcessBroker>();
  t.teardown(async () => {
    // What the brokers logged, when something failed: the order of their elections and lease events.
    if (!t.passing()) for (const [id, broker] of brokers) t.comment(`broker ${id}:\n${broker.output().slice(-4000)}`);
    for (const broker of brokers.values()) {
      broker.child.kill('SIGCONT');
      broker.child.kill('SIGKILL');
    }
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (nodeId: number) => {
    const broker = await startProcessBroker(join(dir, `broker-${nodeId}`), [
      '--node-id',
      String(nodeId),
      '--cluster',
      `etcd://${etcd.hostPort}/test`,
      '--override',
      `broker.session.timeout.ms=${SESSION_TIMEOUT_MS}`,
      // The internal topics are created (three brokers are live) but not used: one partition each.
      '--override',
      'offsets.topic.num.partitions=1',
      '--override',
      'transaction.state.log.num.partitions=1',
    ]);
    brokers.set(nodeId, broker);
    return broker;
  };
  for (const nodeId of [0, 1, 2]) await start(nodeId);
  const bootstrap = () => [...brokers.values()].map((broker) => broker.bootstrap);

  // A frozen broker (SIGSTOP) keeps its connections open and never answers: the requests to it time out after 3 s, not kafkajs' 30.
  const kafka = new Kafka({
    clientId: 'etcd-cluster',
    brokers: bootstrap(),
    logLevel: logLevel.NOTHING,
    requestTimeout: 3000,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  t.same(await liveBrokers(admin), [0, 1, 2], 'the three processes registered in etcd');
  t.equal((await admin.describeCluster()).controller, 0, 'the controller is the lowest node id');
  t.ok(await admin.createTopics({ topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [0, 1, 2] }] }] }));
  await until('the topic on every broker with a full ISR', async () => (await partitionInfo(admin)).isr.length === 3, 20_000);
  t.equal((await partitionInfo(admin)).leader, 0);

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const acked: string[] = [];

  await t.test('kill -9 of the leader (and controller) mid-write', async (t) => {
    let killedAt = 0;
    await produce(t, producer, 0, 80, acked, (i) => {
      if (i !== 30) return;
      killedAt = performance.now();
      brokers.get(0)!.child.kill('SIGKILL');
    });
    t.comment(`${Math.round(performance.now() - killedAt)} ms for the 50 sends after the kill (includes the ${SESSION_TIMEOUT_MS} ms lease)`);
    t.ok(acked.length >= 150, `${acked.length} of 160 records acknowledged`);
    await brokers.get(0)!.exited;
    brokers.delete(0);
    await until("broker 0's lease expired: Metadata drops it", async () => (await liveBrokers(admin)).join() === '1,2', 20_000);
    t.pass('Metadata lists brokers 1 and 2');
    const after = await partitionInfo(admin);
    t.not(after.leader, 0, `a new leader (${after.leader})`);
    t.same(after.isr, [1, 2], 'the dead broker left the ISR');
    t.equal((await admin.describeCluster()).controller, 1, 'broker 1 took over as controller');
    checkLog(t, await readBack(bootstrap().join(',')), acked);
  });

  await t.test('the killed broker restarts, rejoins and catches up', async (t) => {
    await start(0);
    await until('broker 0 registered again', async () => (await liveBrokers(admin)).join() === '0,1,2', 20_000);
    t.pass('Metadata lists broker 0 again');
    await produce(t, producer, 80, 100, acked);
    await until('broker 0 back in the ISR', async () => (await partitionInfo(admin)).isr.length === 3, 30_000);
    t.pass('broker 0 caught up into the ISR');
    checkLog(t, await readBack(bootstrap().join(',')), acked);
  });

  await t.test('SIGSTOP of the leader past its lease, then SIGCONT', async (t) => {
    const frozenId = (await partitionInfo(admin)).leader;
    const frozen = brokers.get(frozenId)!;
    const othersBootstrap = [...brokers.entries()].filter(([id]) => id !== frozenId).map(([, broker]) => broker.bootstrap);
    // A client that never met the frozen broker: kafkajs would otherwise keep sending to it
    // (and time out) until its metadata refresh happens to ask another broker.
    const others = new Kafka({
      clientId: 'etcd-cluster-others',
      brokers: othersBootstrap,
      logLevel: logLevel.NOTHING,
      requestTimeout: 3000,
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const othersAdmin = others.admin();
    await othersAdmin.connect();
    t.teardown(() => othersAdmin.disconnect());
    frozen.child.kill('SIGSTOP');
    const survivor = othersBootstrap[0]!;
    await until(`broker ${frozenId}'s lease expired`, async () => !(await metadataAt(survivor)).brokers.includes(frozenId), 20_000);
    await until('a new leader', async () => ![frozenId, -1].includes((await metadataAt(survivor)).leader), 10_000);
    const leader = (await metadataAt(survivor)).leader;
    t.pass(`broker ${frozenId} frozen: leadership moved to ${leader}`);
    const othersProducer = others.producer({ idempotent: true, maxInFlightRequests: 1 });
    await othersProducer.connect();
    t.teardown(() => othersProducer.disconnect());
    await produce(t, othersProducer, 100, 120, acked);
    frozen.child.kill('SIGCONT');
    await until(`broker ${frozenId} registered again`, async () => (await liveBrokers(othersAdmin)).includes(frozenId), 20_000);
    t.match(frozen.output(), /lease of broker \d+ lost/, 'it noticed its lease was gone and registered anew');
    await until(`broker ${frozenId} back in the ISR`, async () => (await partitionInfo(othersAdmin)).isr.length === 3, 30_000);
    t.equal((await partitionInfo(othersAdmin)).leader, leader, `broker ${leader} still leads: the thawed broker follows`);
    const thawedAdmin = new Kafka({ clientId: 'etcd-cluster-thawed', brokers: [frozen.bootstrap], logLevel: logLevel.NOTHING, requestTimeout: 3000 }).admin();
    await thawedAdmin.connect();
    t.teardown(() => thawedAdmin.disconnect());
    t.equal((await partitionInfo(thawedAdmin)).leader, leader, `the thawed broker's own Metadata names broker ${leader} as leader`);
    await produce(t, othersProducer, 120, 130, acked);
    checkLog(t, await readBack(bootstrap().join(',')), acked);
  });

  await t.test('kill -9 of the leader and a restart within its session timeout', async (t) => {
    const victimId = (await partitionInfo(admin)).leader;
    const survivors = [...brokers.entries()].filter(([id]) => id !== victimId).map(([, broker]) => broker.bootstrap);
    const client = new Kafka({
      clientId: 'etcd-cluster-restart',
      brokers: survivors,
      logLevel: logLevel.NOTHING,
      requestTimeout: 3000,
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const survivorsAdmin = client.admin();
    await survivorsAdmin.connect();
    t.teardown(() => survivorsAdmin.disconnect());
    const restartProducer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    await restartProducer.connect();
    t.teardown(() => restartProducer.disconnect());
    const victim = brokers.get(victimId)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    brokers.delete(victimId);
    const restarted = await start(victimId);
    t.match(restarted.output(), /still registered/, 'the new run saw the earlier registration and removed it');
    const after = await partitionInfo(survivorsAdmin);
    t.not(after.leader, victimId, `leadership moved to broker ${after.leader} before the broker came back`);
    await produce(t, restartProducer, 130, 150, acked);
    await until(`broker ${victimId} back in the ISR`, async () => (await partitionInfo(survivorsAdmin)).isr.length === 3, 30_000);
    t.pass(`broker ${victimId} rejoined as a follower and caught up`);
    checkLog(t, await readBack(bootstrap().join(',')), acked);
  });
});
