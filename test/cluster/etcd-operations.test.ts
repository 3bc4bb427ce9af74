// A multi-process cluster on a 3-member etcd, and what operating it brings: topic configs and
// the cluster-wide broker default altered through one broker apply on every broker; one etcd
// member killed changes nothing for the brokers; etcd stopped whole, for less and for more
// than the session timeout, leaves the brokers serving what they lead (produce and fetch go
// on), a CreateTopics waits for etcd and succeeds once it is back (or answers
// REQUEST_TIMED_OUT naming etcd after controller.socket.timeout.ms), the registrations come
// back, and no acknowledged record is lost. An etcd that cannot be reached at start stops
// `spate start` with a message naming the endpoints.

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { runCommand } from '../../src/cli/commands.js';
import { decodeResponse } from '../../src/protocol/frame.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { etcdMissing, startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { freePort, startProcessBroker, type ProcessBroker } from '../helpers/process-broker.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { encodeRequest, RawClient } from '../helpers/raw-client.js';
import { describeOn, produceAcksAll } from '../helpers/cluster-requests.js';

const missing = etcdMissing();
const TOPIC = 'etcd-ops';
const SESSION_TIMEOUT_MS = 3000;
/** Broker 2 waits this long for etcd before answering REQUEST_TIMED_OUT; the others Kafka's 30 s. */
const SHORT_WRITE_TIMEOUT_MS = 5000;
const BIN = fileURLToPath(new URL('../../bin/spate.js', import.meta.url));

async function until(what: string, check: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One request on its own connection to one broker, waiting up to `timeoutMs` for the answer. */
async function ask<T = any>(bootstrap: string, apiKey: number, version: number, body: unknown, timeoutMs: number): Promise<T> {
  const client = await RawClient.connect(bootstrap);
  try {
    client.write(encodeRequest(apiKey, version, 1, body));
    return decodeResponse(apiKey, version, await client.nextFrame(timeoutMs)).body as T;
  } finally {
    client.close();
  }
}

function createTopicsRequest(name: string, timeoutMs: number) {
  return { topics: [{ name, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs, validateOnly: false };
}

async function liveBrokersSeenBy(bootstrap: string): Promise<number[]> {
  const answer = await ask(bootstrap, 60, 0, { includeClusterAuthorizedOperations: false }, 5000);
  return (answer.brokers as Array<{ brokerId: number }>).map((broker) => broker.brokerId).sort();
}

/** The partition's records from its leader (`spate consume`), at most `count` of them. */
async function readBack(bootstrap: string, count?: number): Promise<string[]> {
  const values: string[] = [];
  const code = await runCommand('consume', undefined, {
    bootstrap,
    json: false,
    values: { topic: TOPIC, partition: '0', offset: 'earliest', 'timeout-ms': '2000', ...(count !== undefined ? { count: String(count) } : {}) },
    out: (line) => values.push(line),
    input: process.stdin,
  });
  if (code !== 0) throw new Error(`spate consume exited ${code}`);
  return values;
}

/** An idempotent acks=all kafkajs producer writing v0, v1, ... one at a time until stopped; `acked` gets each acknowledged value with its time. */
function backgroundProducer(kafka: Kafka, acked: Array<{ value: string; at: number }>, failures: string[]) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  let stopped = false;
  const running = (async () => {
    await producer.connect();
    for (let i = 0; !stopped && i < 100_000; i++) {
      const value = `v${i}`;
      try {
        await producer.send({ topic: TOPIC, acks: -1, messages: [{ value }] });
        acked.push({ value, at: Date.now() });
      } catch (error) {
        failures.push(`${value}: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await producer.disconnect();
  })();
  return {
    async stop() {
      stopped = true;
      await running;
    },
  };
}

function checkNoLoss(t: Test, all: readonly string[], acked: ReadonlyArray<{ value: string }>): void {
  // The producer's records only (the configs subtest wrote a few of its own).
  const read = all.filter((value) => /^v\d+$/.test(value));
  const present = new Set(read);
  t.equal(present.size, read.length, `no duplicates among the ${read.length} records in the log`);
  t.same(
    acked.filter(({ value }) => !present.has(value)).map(({ value }) => value),
    [],
    `0 of ${acked.length} acknowledged records lost`,
  );
  const order = read.map((value) => Number(value.slice(1)));
  t.ok(
    order.every((value, index) => index === 0 || value > order[index - 1]!),
    'the log keeps the order the records were sent in',
  );
}

t.test('spate start --cluster with no etcd listening: a clear message naming the endpoints, exit 1, no stack trace', { skip: missing }, async (t) => {
  const ports = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'spate-no-etcd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [BIN, 'start', '--node-id', '0', '--cluster', `etcd://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`, '--port', '0', '--data-dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  t.equal(code, 1, 'exit code 1');
  t.match(output, new RegExp(`Cannot reach etcd at 127\\.0\\.0\\.1:${ports[0]},127\\.0\\.0\\.1:${ports[1]} \\(connect ECONNREFUSED`), output);
  t.notMatch(output, /^\s+at /m, 'no stack trace');
});

t.test('a 3-broker cluster on a 3-member etcd: configs, an etcd member down, etcd stopped', { skip: missing, timeout: 300_000 }, async (t) => {
  const etcd: EtcdCluster = await startEtcdCluster(3);
  const dir = mkdtempSync(join(tmpdir(), 'spate-etcd-ops-'));
  const brokers = new Map<number, ProcessBroker>();
  t.teardown(async () => {
    for (const broker of brokers.values()) broker.child.kill('SIGKILL');
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (nodeId: number) => {
    const broker = await startProcessBroker(join(dir, `broker-${nodeId}`), [
      '--node-id',
      String(nodeId),
      '--cluster',
      `etcd://${etcd.endpoints}/ops`,
      '--override',
      `broker.session.timeout.ms=${SESSION_TIMEOUT_MS}`,
      '--override',
      'offsets.topic.num.partitions=1',
      '--override',
      'transaction.state.log.num.partitions=1',
      ...(nodeId === 2 ? ['--override', `controller.socket.timeout.ms=${SHORT_WRITE_TIMEOUT_MS}`] : []),
    ]);
    brokers.set(nodeId, broker);
    return broker;
  };
  for (const nodeId of [0, 1, 2]) await start(nodeId);
  const bootstrap = (nodeId: number) => brokers.get(nodeId)!.bootstrap;
  const everyBootstrap = () => [...brokers.values()].map((broker) => broker.bootstrap);

  const kafka = new Kafka({ clientId: 'etcd-ops', brokers: everyBootstrap(), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
  const admin: Admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await until('three brokers registered', async () => (await liveBrokersSeenBy(bootstrap(0))).join() === '0,1,2', 20_000);
  t.ok(await admin.createTopics({ topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [1, 2, 0] }] }] }));
  await until('the topic with a full ISR', async () => (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions[0]!.isr.length === 3, 20_000);

  await t.test('topic configs and the --entity-default broker configs altered through broker 0 apply on brokers 1 and 2', { skip: !javaToolsAvailable() }, async (t) => {
    const altered = await runKafkaTool(TOOLS.configs, [
      '--bootstrap-server',
      bootstrap(0),
      '--alter',
      '--entity-type',
      'topics',
      '--entity-name',
      TOPIC,
      '--add-config',
      'min.insync.replicas=4',
    ]);
    t.equal(altered.code, 0, altered.stderr);
    const defaults = await runKafkaTool(TOOLS.configs, [
      '--bootstrap-server',
      bootstrap(0),
      '--alter',
      '--entity-type',
      'brokers',
      '--entity-default',
      '--add-config',
      'log.retention.ms=7200000',
    ]);
    t.equal(defaults.code, 0, defaults.stderr);
    for (const nodeId of [1, 2]) {
      await until(`broker ${nodeId} applies the topic override`, async () => (await describeOn(bootstrap(nodeId), 2, TOPIC)).get('min.insync.replicas')?.value === '4', 10_000);
      t.pass(`broker ${nodeId} describes min.insync.replicas=4`);
      t.same(
        (await describeOn(bootstrap(nodeId), 4, String(nodeId))).get('log.retention.ms'),
        { value: '7200000', source: 3 },
        `broker ${nodeId}: log.retention.ms from the cluster-wide default`,
      );
    }
    // Broker 1 leads the partition: it refuses acks=all with an ISR of 3 under min.insync.replicas=4, set through broker 0.
    t.equal(await produceAcksAll(bootstrap(1), TOPIC, 'refused'), ErrorCode.NOT_ENOUGH_REPLICAS, 'broker 1, the leader, applies the change made on broker 0');
    const restored = await runKafkaTool(TOOLS.configs, [
      '--bootstrap-server',
      bootstrap(2),
      '--alter',
      '--entity-type',
      'topics',
      '--entity-name',
      TOPIC,
      '--delete-config',
      'min.insync.replicas',
    ]);
    t.equal(restored.code, 0, restored.stderr);
    await until('broker 1 accepts again', async () => (await produceAcksAll(bootstrap(1), TOPIC, 'accepted')) === ErrorCode.NONE, 10_000);
    t.pass('the override deleted through broker 2: broker 1 accepts acks=all again');
  });

  const acked: Array<{ value: string; at: number }> = [];
  const failures: string[] = [];
  const producer = backgroundProducer(kafka, acked, failures);
  t.teardown(() => producer.stop());
  await until('the producer to get going', () => acked.length >= 20, 20_000);

  await t.test('one etcd member killed: the cluster carries on', async (t) => {
    const victim = etcd.members[0]!;
    await victim.kill();
    const before = acked.length;
    await until('more records acknowledged', () => acked.length >= before + 50, 20_000);
    t.pass(`${acked.length - before} records acknowledged with one etcd member down`);
    const created = await ask(bootstrap(0), 19, 7, createTopicsRequest('with-two-members', 20_000), 30_000);
    t.equal(created.topics[0].errorCode, ErrorCode.NONE, 'CreateTopics succeeds on the two members left');
    // A broker killed now still loses its registration when its lease expires, and comes back.
    brokers.get(0)!.child.kill('SIGKILL');
    await brokers.get(0)!.exited;
    brokers.delete(0);
    await until("broker 0's lease expired", async () => (await liveBrokersSeenBy(bootstrap(1))).join() === '1,2', 20_000);
    t.pass('the two etcd members expired the killed broker');
    await start(0);
    await until('broker 0 registered again', async () => (await liveBrokersSeenBy(bootstrap(1))).join() === '0,1,2', 20_000);
    t.pass('the restarted broker registered through the two members left');
    await victim.restart();
  });

  await t.test(`etcd stopped for 1.5 s (less than the ${SESSION_TIMEOUT_MS} ms session timeout)`, async (t) => {
    await Promise.all(etcd.members.map((member) => member.kill()));
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const during = acked.filter(({ at }) => at > stoppedAt).length;
    await Promise.all(etcd.members.map((member) => member.restart()));
    t.ok(during > 0, `${during} records acknowledged while etcd was stopped`);
    const created = await ask(bootstrap(1), 19, 7, createTopicsRequest('after-short-outage', 20_000), 30_000);
    t.equal(created.topics[0].errorCode, ErrorCode.NONE, 'CreateTopics succeeds once etcd is back');
    for (const nodeId of [0, 1, 2]) t.same(await liveBrokersSeenBy(bootstrap(nodeId)), [0, 1, 2], `broker ${nodeId} still sees every broker`);
  });

  await t.test('etcd stopped for 10 s (more than twice the session timeout)', async (t) => {
    await Promise.all(etcd.members.map((member) => member.kill()));
    const stoppedAt = Date.now();
    // Broker 1 waits for etcd (controller.socket.timeout.ms 30 s); broker 2 gives up after 5 s.
    const waiting = ask(bootstrap(1), 19, 7, createTopicsRequest('created-during-outage', 60_000), 60_000);
    const refusedStart = Date.now();
    const refused = await ask(bootstrap(2), 19, 7, createTopicsRequest('refused-during-outage', 60_000), 60_000);
    t.equal(refused.topics[0].errorCode, ErrorCode.REQUEST_TIMED_OUT, `broker 2 answered REQUEST_TIMED_OUT after ${Date.now() - refusedStart} ms`);
    t.match(refused.topics[0].errorMessage, /etcd at 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+ did not answer for 5 s/, refused.topics[0].errorMessage);
    // The producer never pauses: read what was acknowledged so far.
    const ackedSoFar = acked.length;
    const readDuring = await readBack(everyBootstrap().join(','), ackedSoFar);
    t.equal(readDuring.length, ackedSoFar, `fetch goes on: the ${ackedSoFar} records acknowledged so far read while etcd is stopped`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + 10_000 - Date.now())));
    const during = acked.filter(({ at }) => at > stoppedAt).length;
    t.ok(during > 0, `${during} records acknowledged during the 10 s without etcd`);
    await Promise.all(etcd.members.map((member) => member.restart()));
    const returnedAt = Date.now();
    const created = await waiting;
    t.equal(created.topics[0].errorCode, ErrorCode.NONE, `the CreateTopics sent to broker 1 during the outage succeeded ${Date.now() - returnedAt} ms after etcd returned`);
    for (const nodeId of [0, 1, 2]) {
      t.match(brokers.get(nodeId)!.output(), /lease of broker \d+ lost/, `broker ${nodeId} saw its lease lost`);
      await until(`broker ${nodeId} registered again`, () => /Broker \d+ registered again/.test(brokers.get(nodeId)!.output()), 30_000);
      await until(`broker ${nodeId} sees every broker`, async () => (await liveBrokersSeenBy(bootstrap(nodeId))).join() === '0,1,2', 30_000);
      t.pass(`broker ${nodeId} registered again and sees every broker`);
    }
    t.comment(`registrations back ${Date.now() - returnedAt} ms after etcd returned`);
    const after = acked.length;
    await until('the producer goes on', () => acked.length >= after + 50, 30_000);
    t.pass('the producer goes on after the outage');
  });

  await producer.stop();
  if (failures.length > 0) t.comment(`sends that failed (their records may or may not be in the log): ${failures.slice(0, 5).join('; ')}`);
  checkNoLoss(t, await readBack(everyBootstrap().join(',')), acked);
});
