// The issue's failover proof on etcd: three `spate start --cluster` processes, and three
// idempotent acks=all producers writing at once, each to its own partition replicated on the
// three brokers: librdkafka 2.16 (confluent-kafka-python), the Java client 4.3.1 (Kafka's
// VerifiableProducer, which prints every acknowledgement) and kafkajs 2.2.4 (several sends in
// flight, as applications use it). The leader of their partitions is killed with SIGKILL and
// restarted, round after round (20 by default; SPATE_FAILOVER_ROUNDS). Each round reports the
// failover time of every client: from the kill to its first acknowledgement of a record the
// new leader wrote. At the end every acknowledged record must be in the log exactly once and
// in the order sent, and a librdkafka consumer (assign mode, no group) that read on through
// the rounds must have seen every one of them. broker.session.timeout.ms is 2 s: a killed
// broker's lease expires after about that long, which is most of a failover.

import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { runCommand } from '../../src/cli/commands.js';
import { decodeResponse } from '../../src/protocol/frame.js';
import { decodeRecordBatches, type DecodedBatch } from '../../src/protocol/record-batch.js';
import { etcdMissing, startEtcd } from '../helpers/etcd.js';
import { javaToolsAvailable, kafkaToolArgs, TOOLS } from '../helpers/java-tools.js';
import { run } from '../helpers/kcat.js';
import { startProcessBroker, type ProcessBroker } from '../helpers/process-broker.js';
import { encodeRequest, RawClient } from '../helpers/raw-client.js';

const ROUNDS = Number(process.env.SPATE_FAILOVER_ROUNDS ?? 20);
const SESSION_TIMEOUT_MS = 2000;
/** Records a second each producer aims at. */
const RATE = 200;
/** kafkajs: sends in flight at once, each of this many records. */
const KAFKAJS_SENDERS = 4;
const KAFKAJS_BATCH = 5;
const PYTHON_PRODUCER = fileURLToPath(new URL('../fixtures/librdkafka_produce_until.py', import.meta.url));
const PYTHON_CONSUMER = fileURLToPath(new URL('../fixtures/librdkafka_assign_consume.py', import.meta.url));
const CLIENTS = ['librdkafka', 'java', 'kafkajs'] as const;
type ClientName = (typeof CLIENTS)[number];

interface Ack {
  readonly value: string;
  readonly offset: bigint;
  readonly at: number;
}

interface ClientRun {
  readonly acked: Ack[];
  readonly failed: string[];
  /** Resolves when the producer has flushed and exited. */
  stop(): Promise<void>;
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One request on its own connection. */
async function ask(bootstrap: string, apiKey: number, version: number, body: unknown): Promise<any> {
  const client = await RawClient.connect(bootstrap);
  try {
    client.write(encodeRequest(apiKey, version, 1, body));
    return decodeResponse(apiKey, version, await client.nextFrame(3000)).body;
  } finally {
    client.close();
  }
}

/** Leader, leader epoch and ISR of partition 0 of each topic, asked of one broker. */
async function partitions(bootstrap: string, topics: readonly string[]): Promise<Map<string, { leader: number; epoch: number; isr: number[] }>> {
  const body = await ask(bootstrap, 3, 12, { topics: topics.map((name) => ({ name })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  return new Map(
    (body.topics as any[]).map((topic) => [
      topic.name,
      { leader: topic.partitions[0].leaderId, epoch: topic.partitions[0].leaderEpoch, isr: [...topic.partitions[0].isrNodes].sort() },
    ]),
  );
}

/** The first offset the leader wrote at `epoch`: where OffsetForLeaderEpoch says the epoch before ended. */
async function epochStart(bootstrap: string, topic: string, epoch: number): Promise<bigint> {
  const body = await ask(bootstrap, 23, 4, { replicaId: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: epoch, leaderEpoch: epoch - 1 }] }] });
  const answer = body.topics[0].partitions[0];
  if (answer.errorCode !== 0) throw new Error(`OffsetForLeaderEpoch ${topic} at ${bootstrap}: error ${answer.errorCode}`);
  return answer.endOffset as bigint;
}

/** Lines of a child's stdout as they come. */
function lines(child: ChildProcess, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    createInterface({ input: child.stdout! }).on('line', onLine).on('close', resolve);
  });
}

function librdkafkaProducer(bootstrap: string, topic: string): ClientRun {
  const child = spawn('python3', [PYTHON_PRODUCER, bootstrap, topic, String(RATE)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const acked: Ack[] = [];
  const failed: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = lines(child, (line) => {
    const [kind, value, offset] = line.split(' ');
    if (kind === 'acked') acked.push({ value: value!, offset: BigInt(offset!), at: performance.now() });
    else if (kind === 'failed') failed.push(line);
  });
  return {
    acked,
    failed,
    async stop() {
      child.stdin!.end('stop\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      await done;
      clearTimeout(timer);
      if (child.exitCode !== 0 && child.exitCode !== null) failed.push(`python exited ${child.exitCode}: ${stderr.slice(-500)}`);
    },
  };
}

function javaProducer(bootstrap: string, topic: string, dir: string): ClientRun {
  const config = join(dir, 'verifiable-producer.properties');
  writeFileSync(
    config,
    [
      'enable.idempotence=true',
      'acks=all',
      // VerifiableProducer sets retries=0, which the idempotent producer refuses.
      'retries=2147483647',
      'linger.ms=5',
      'delivery.timeout.ms=300000',
      'retry.backoff.ms=50',
      'retry.backoff.max.ms=200',
      'reconnect.backoff.ms=50',
      'reconnect.backoff.max.ms=500',
      'metadata.max.age.ms=1000',
    ].join('\n'),
  );
  const child = spawn(
    'java',
    kafkaToolArgs(TOOLS.verifiableProducer, ['--bootstrap-server', bootstrap, '--topic', topic, '--throughput', String(RATE), '--acks', '-1', '--command-config', config]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const acked: Ack[] = [];
  const failed: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = lines(child, (line) => {
    if (!line.startsWith('{')) return;
    const event = JSON.parse(line) as { name: string; value?: string; offset?: number; exception?: string; message?: string };
    if (event.name === 'producer_send_success') acked.push({ value: event.value!, offset: BigInt(event.offset!), at: performance.now() });
    else if (event.name === 'producer_send_error') failed.push(`${event.value}: ${event.exception} ${event.message}`);
  });
  return {
    acked,
    failed,
    async stop() {
      // VerifiableProducer closes its producer (flushing what is in flight) on SIGTERM.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      await done;
      clearTimeout(timer);
      if (acked.length === 0) failed.push(`java: nothing acknowledged: ${stderr.slice(-500)}`);
    },
  };
}

/** kafkajs with KAFKAJS_SENDERS sends in flight, each of KAFKAJS_BATCH records "s<sender>-<n>". */
function kafkajsProducer(bootstraps: string[], topic: string): ClientRun {
  const kafka = new Kafka({ clientId: 'failover-kafkajs', brokers: bootstraps, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, maxRetryTime: 1000 } });
  const producer = kafka.producer({ idempotent: true });
  const acked: Ack[] = [];
  const failed: string[] = [];
  let stopped = false;
  const pauseMs = (1000 * KAFKAJS_SENDERS * KAFKAJS_BATCH) / RATE;
  const running = producer.connect().then(() =>
    Promise.all(
      Array.from({ length: KAFKAJS_SENDERS }, async (_, sender) => {
        for (let n = 0; !stopped; n += KAFKAJS_BATCH) {
          const values = Array.from({ length: KAFKAJS_BATCH }, (_, i) => `s${sender}-${n + i}`);
          try {
            const [result] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition: 0 })) });
            const base = BigInt(result!.baseOffset!);
            const at = performance.now();
            values.forEach((value, i) => acked.push({ value, offset: base + BigInt(i), at }));
          } catch (error) {
            failed.push(`${values[0]}..: ${(error as Error).message}`);
          }
          await new Promise((resolve) => setTimeout(resolve, pauseMs));
        }
      }),
    ),
  );
  return {
    acked,
    failed,
    async stop() {
      stopped = true;
      await running;
      await producer.disconnect();
    },
  };
}

async function readAll(bootstrap: string, topic: string, count: number): Promise<string[]> {
  const values: string[] = [];
  const code = await runCommand('consume', undefined, {
    bootstrap,
    json: false,
    values: { topic, partition: '0', offset: 'earliest', 'timeout-ms': '5000', count: String(count) },
    out: (line) => values.push(line),
    input: process.stdin,
  });
  if (code !== 0) throw new Error(`spate consume exited ${code}`);
  return values;
}

/** The position of a record in its sender's sequence: kafkajs "s<sender>-<n>", librdkafka "v<n>", Java "<n>". */
function senderAndIndex(value: string): [string, number] {
  const kafkajs = /^s(\d+)-(\d+)$/.exec(value);
  if (kafkajs !== null) return [kafkajs[1]!, Number(kafkajs[2])];
  return ['', Number(value.replace(/^v/, ''))];
}

/** Lost and doubled acknowledged records; order kept per sender. */
function audit(read: readonly string[], acked: readonly Ack[]): { lost: string[]; duplicates: string[]; outOfOrder: number } {
  const counts = new Map<string, number>();
  for (const value of read) counts.set(value, (counts.get(value) ?? 0) + 1);
  const lost = acked.filter(({ value }) => !counts.has(value)).map(({ value }) => value);
  const duplicates = [...counts].filter(([, count]) => count > 1).map(([value]) => value);
  const last = new Map<string, number>();
  let outOfOrder = 0;
  for (const value of read) {
    const [sender, index] = senderAndIndex(value);
    if ((last.get(sender) ?? -1) >= index) outOfOrder++;
    last.set(sender, index);
  }
  return { lost, duplicates, outOfOrder };
}

/** On a failure: the batches around the lost or doubled records, with offsets, epochs and producer sequences. */
async function describeBatches(t: Test, bootstrap: string, topic: string, values: ReadonlySet<string>): Promise<void> {
  const client = await RawClient.connect(bootstrap);
  const batches: DecodedBatch[] = [];
  try {
    let offset = 0n;
    for (let request = 1; request <= 1000; request++) {
      const partition = { partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 };
      const fetch = {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [partition] }],
      };
      client.write(encodeRequest(1, 12, request, { ...fetch, forgottenTopicsData: [], rackId: '' }));
      const records = (decodeResponse(1, 12, await client.nextFrame(5000)).body as any).responses[0].partitions[0].records as Buffer | null;
      const decoded = records === null ? [] : decodeRecordBatches(Buffer.from(records));
      if (decoded.length === 0) break;
      batches.push(...decoded);
      offset = decoded.at(-1)!.baseOffset + BigInt(decoded.at(-1)!.lastOffsetDelta) + 1n;
    }
  } finally {
    client.close();
  }
  for (const [index, batch] of batches.entries()) {
    if (!batch.records.some((record) => values.has(record.value!.toString()))) continue;
    for (const near of batches.slice(Math.max(0, index - 3), index + 4)) {
      const first = near.records[0]?.value?.toString();
      const last = near.records.at(-1)?.value?.toString();
      t.comment(
        `  offset ${near.baseOffset} leader epoch ${near.partitionLeaderEpoch} producer ${near.producerId}/${near.producerEpoch} sequence ${near.baseSequence}+${near.recordsCount}: ${first}..${last}${near === batch ? ' <==' : ''}`,
      );
    }
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const missing = etcdMissing() ?? (javaToolsAvailable() ? undefined : 'the Kafka Java tools are missing (mvn -f test/interop/java/pom.xml dependency:copy-dependencies)');

t.test(`${ROUNDS} rounds of kill -9 of the leader under librdkafka, the Java client and kafkajs, on etcd`, { skip: missing, timeout: 600_000 }, async (t) => {
  const python = await run('python3', ['-c', 'import confluent_kafka']);
  if (python.code !== 0) {
    t.fail('confluent-kafka is not installed: `python3 -m pip install confluent-kafka==2.16.1` (.ci/run does)');
    return;
  }
  const etcd = await startEtcd();
  const dir = mkdtempSync(join(tmpdir(), 'spate-failover-'));
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
      `etcd://${etcd.hostPort}/failover`,
      '--override',
      `broker.session.timeout.ms=${SESSION_TIMEOUT_MS}`,
      '--override',
      'offsets.topic.num.partitions=1',
      '--override',
      'transaction.state.log.num.partitions=1',
    ]);
    brokers.set(nodeId, broker);
    return broker;
  };
  for (const nodeId of [0, 1, 2]) await start(nodeId);
  const bootstraps = [...brokers.values()].map((broker) => broker.bootstrap);
  const topics: Record<ClientName, string> = { librdkafka: 'failover-librdkafka', java: 'failover-java', kafkajs: 'failover-kafkajs' };
  const admin = new Kafka({ clientId: 'failover-admin', brokers: bootstraps, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: Object.values(topics).map((topic) => ({ topic, replicaAssignment: [{ partition: 0, replicas: [0, 1, 2] }] })) });
  await admin.disconnect();
  const live = () => [...brokers.values()].map((broker) => broker.bootstrap);
  const fullIsr = async () => {
    const states = await partitions(live()[0]!, Object.values(topics));
    return [...states.values()].every((state) => state.isr.length === 3 && state.leader >= 0);
  };
  await until('a full ISR on every partition', fullIsr, 30_000);

  const consumer = spawn('python3', [PYTHON_CONSUMER, bootstraps.join(','), ...Object.values(topics)], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => void consumer.kill('SIGKILL'));
  const consumed = new Map<string, Set<string>>(Object.values(topics).map((topic) => [topic, new Set()]));
  const consumerDone = lines(consumer, (line) => {
    const [topic, value] = line.split(' ');
    consumed.get(topic!)?.add(value!);
  });

  const clients: Record<ClientName, ClientRun> = {
    librdkafka: librdkafkaProducer(bootstraps.join(','), topics.librdkafka),
    java: javaProducer(bootstraps.join(','), topics.java, dir),
    kafkajs: kafkajsProducer(bootstraps, topics.kafkajs),
  };
  t.teardown(() => Promise.all(Object.values(clients).map((client) => client.stop().catch(() => undefined))));
  await until('every producer acknowledged records', () => CLIENTS.every((name) => clients[name].acked.length >= 50), 60_000).catch((error: Error) => {
    throw new Error(`${error.message}: ${CLIENTS.map((name) => `${name} ${clients[name].acked.length} acked, failed ${clients[name].failed.slice(0, 2).join('; ')}`).join(' | ')}`);
  });

  const failovers: Record<ClientName, number[]> = { librdkafka: [], java: [], kafkajs: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    await until(`round ${round}: a full ISR on every partition`, fullIsr, 60_000);
    const states = await partitions(live()[0]!, Object.values(topics));
    const leader = states.get(topics.librdkafka)!.leader;
    const leaders = new Set([...states.values()].map((state) => state.leader));
    const victim = brokers.get(leader)!;
    const killedAt = performance.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    brokers.delete(leader);
    // A client's first acknowledgement of a record the new leader wrote (at or past the start of its epoch) ends its failover.
    const times = await Promise.all(
      CLIENTS.map(async (name) => {
        const topic = topics[name];
        let elected: { leader: number; epoch: number } | undefined;
        await until(
          `round ${round}: a new leader of ${topic}`,
          async () => {
            const state = (await partitions(live()[0]!, [topic])).get(topic)!;
            if (state.leader === leader || state.leader < 0) return false;
            elected = state;
            return true;
          },
          60_000,
        );
        const start = await epochStart(brokers.get(elected!.leader)!.bootstrap, topic, elected!.epoch);
        let ack: Ack | undefined;
        await until(`round ${round}: ${name} producing again`, () => (ack = clients[name].acked.find((candidate) => candidate.offset >= start)) !== undefined, 60_000).catch(
          (error: Error) => {
            throw new Error(`${error.message} (epoch ${elected!.epoch} starts at ${start}; last failed sends: ${clients[name].failed.slice(-4).join('; ')})`);
          },
        );
        return ack!.at - killedAt;
      }),
    );
    CLIENTS.forEach((name, index) => failovers[name].push(times[index]!));
    t.comment(
      `round ${round}: killed broker ${leader}${leaders.size > 1 ? ` (leaders ${[...leaders].join(',')})` : ''}; failover ${CLIENTS.map((name, index) => `${name} ${Math.round(times[index]!)} ms`).join(', ')}`,
    );
    await start(leader);
  }
  for (const name of CLIENTS) {
    t.comment(`${name} failover over ${ROUNDS} rounds: p50 ${Math.round(percentile(failovers[name], 50))} ms, max ${Math.round(Math.max(...failovers[name]))} ms`);
  }

  await Promise.all(CLIENTS.map((name) => clients[name].stop()));
  await until('a full ISR on every partition after the last round', fullIsr, 60_000);
  for (const name of CLIENTS) {
    const { acked, failed } = clients[name];
    const topic = topics[name];
    const ends = await partitions(live()[0]!, [topic]);
    t.ok(ends.get(topic)!.leader >= 0, `${topic} has a leader`);
    const read = await readAll(live().join(','), topic, Number.MAX_SAFE_INTEGER);
    const { lost, duplicates, outOfOrder } = audit(read, acked);
    t.comment(`${name}: ${acked.length} acknowledged, ${failed.length} failed sends, ${read.length} records in the log, ${lost.length} lost, ${duplicates.length} doubled`);
    if (failed.length > 0) t.comment(`${name} failed sends: ${failed.slice(0, 3).join('; ')}`);
    if (lost.length > 0 || duplicates.length > 0) t.comment(`${name}: lost ${lost.slice(0, 40).join(',')}; doubled ${duplicates.slice(0, 40).join(',')}`);
    if (duplicates.length > 0 || lost.length > 0) await describeBatches(t, brokers.get(ends.get(topic)!.leader)!.bootstrap, topic, new Set([...duplicates, ...lost]));
    t.same(lost.slice(0, 20), [], `${name}: 0 of ${acked.length} acknowledged records lost`);
    t.same(duplicates.slice(0, 20), [], `${name}: no record written twice`);
    t.equal(outOfOrder, 0, `${name}: every sender's records in the order sent`);
    await until(`the consumer read every acknowledged ${name} record`, () => acked.every(({ value }) => consumed.get(topic)!.has(value)), 60_000);
    t.pass(`${name}: the assign-mode consumer read all ${acked.length} acknowledged records through the ${ROUNDS} failovers`);
  }
  consumer.stdin!.end('stop\n');
  await consumerDone;
});
