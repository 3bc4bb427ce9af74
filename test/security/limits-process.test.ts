// The resource limits at full size, against a broker in its own process so that its
// memory (RSS from /proc) is measured alone and printed: 2,000 connections against
// max.connections=1000, eight 100 MiB request frames against queued.max.request.bytes, and
// a CreateTopics of 50,000 partitions (and a CreatePartitions to 50,000) that the open file
// limit cannot hold. The broker runs with `ulimit -n 4096`, so the refusal does not depend
// on the machine's limit. Through all of it a well-behaved kafkajs client keeps producing
// and is answered.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { RawClient } from '../helpers/raw-client.js';

const BIN = fileURLToPath(new URL('../../bin/spate.js', import.meta.url));
const MiB = 1024 * 1024;
const FRAME_LIMIT = 16 * MiB;
const POLICY_VIOLATION = 44;
const INVALID_PARTITIONS = 37;

interface ChildBroker {
  readonly child: ChildProcess;
  readonly bootstrap: string;
  readonly exited: Promise<number | null>;
}

function startLimitedBroker(dataDir: string, overrides: Record<string, string | number>): Promise<ChildBroker> {
  const args = [BIN, 'start', '--port', '0', '--http-port', '0', '--data-dir', dataDir, ...Object.entries(overrides).flatMap(([key, value]) => ['--override', `${key}=${value}`])];
  // `ulimit -n` lowers the soft and hard open file limits of the broker only.
  const child = spawn('sh', ['-c', 'ulimit -n 4096 && exec "$0" --initial-heap-size=64 "$@"', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`broker did not become ready:\n${output}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready on (\S+:\d+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ child, bootstrap: match[1]!, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited (${code}) before ready:\n${output}`));
    });
  });
}

/** The broker process's resident memory in MiB. */
function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Number(match[1]) / 1024;
}

function openSocket(address: string): Promise<{ socket: Socket; closed: Promise<void>; isClosed: () => boolean }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    let closedFlag = false;
    const socket = connect({ host, port }, () => resolve({ socket, closed, isClosed: () => closedFlag }));
    const closed = new Promise<void>((done) =>
      socket.on('close', () => {
        closedFlag = true;
        done();
      }),
    );
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

/**
 * The sockets the broker process holds (connections and listeners). Counted at the broker:
 * when 2,000 connects arrive at once the listen backlog can overflow, and the kernel then
 * completes the client's side of a connection it never queued for accept, so a client may
 * believe it is connected to a broker that has never seen it.
 */
function brokerSockets(pid: number): number {
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) count++;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a broker under attack stays within its limits and keeps serving', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-limits-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const broker = await startLimitedBroker(dataDir, {
    'max.connections': 1000,
    'queued.max.request.bytes': FRAME_LIMIT,
    'spate.request.read.timeout.ms': 3000,
  });
  t.teardown(async () => {
    broker.child.kill('SIGKILL');
    await broker.exited;
  });
  const pid = broker.child.pid!;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 25);
  t.teardown(() => clearInterval(sampler));
  const measure = () => {
    peak = rssMiB(pid);
    return peak;
  };

  const kafka = new Kafka({ clientId: 'well-behaved', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'steady', numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  let sent = 0;
  const produce = async (what: string) => {
    const [result] = await producer.send({ topic: 'steady', acks: 1, messages: [{ value: `${what} ${sent++}` }] });
    return result!.errorCode;
  };
  t.equal(await produce('before'), 0, 'the well-behaved producer is served');
  const baseline = measure();

  t.test('2,000 connections against max.connections=1000', async (t) => {
    const before = measure();
    const socketsBefore = brokerSockets(pid);
    const flood = await Promise.all(Array.from({ length: 2000 }, () => openSocket(broker.bootstrap)));
    // The broker closes the connections over the limit as it accepts them (a loaded machine takes a moment for 2,000).
    const closedByBroker = () => flood.filter((entry) => entry.isClosed()).length;
    for (const deadline = Date.now() + 20_000; closedByBroker() < 1000 && brokerSockets(pid) - socketsBefore < 995 && Date.now() < deadline;) await pause(100);
    await pause(500);
    const open = brokerSockets(pid) - socketsBefore;
    // kafkajs holds two connections (bootstrap and broker), the admin one or two more.
    t.ok(open >= 995 && open <= 998, `the broker holds ${open} of the 2,000 new connections (1,000 with the clients' own), ${closedByBroker()} were closed at once`);
    // How many are closed depends on how many the backlog let through to the broker; those were all refused.
    t.ok(closedByBroker() > 0, 'connections over the limit were closed');
    t.equal(await produce('during the flood'), 0, 'the producer is served during the flood');
    t.comment(`2,000 connections: broker RSS ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);
    t.ok(peak - before < 150, `memory bounded: +${(peak - before).toFixed(0)} MiB for 1,000 idle connections`);
    for (const { socket } of flood) socket.destroy();
    await pause(300);
  });

  t.test('eight 100 MiB frames against queued.max.request.bytes=16 MiB', async (t) => {
    const before = measure();
    const senders = await Promise.all(Array.from({ length: 8 }, () => openSocket(broker.bootstrap)));
    const chunk = Buffer.alloc(MiB, 1);
    let pushed = 0;
    // Each sender claims a 100 MiB frame and writes it as fast as the broker reads it (no
    // more: what the kernel does not take waits here, not in the test's memory).
    const sending = senders.map(async ({ socket, isClosed }) => {
      const header = Buffer.alloc(4);
      header.writeInt32BE(100 * MiB, 0);
      socket.write(header);
      for (let i = 0; i < 100 && !isClosed(); i++) {
        pushed += MiB;
        if (!socket.write(chunk)) await new Promise<void>((resolve) => (socket.once('drain', resolve), socket.once('close', resolve)));
      }
    });
    await pause(500);
    const answered = await produce('during the big frames');
    t.equal(answered, 0, 'the producer is answered (reading resumes once the stalled frames are closed by spate.request.read.timeout.ms)');
    await Promise.all(senders.map(({ closed }) => closed));
    await Promise.all(sending);
    t.comment(
      `8 x 100 MiB frames (${(pushed / MiB).toFixed(0)} MiB written before the broker stopped reading): broker RSS ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MiB, queued.max.request.bytes ${FRAME_LIMIT / MiB} MiB`,
    );
    t.ok(pushed < 400 * MiB, `the broker stopped reading: ${(pushed / MiB).toFixed(0)} of 800 MiB sent`);
    t.ok(peak - before < 200, `memory bounded: +${(peak - before).toFixed(0)} MiB (800 MiB without the limit)`);
    t.equal(await produce('after the big frames'), 0, 'and served after');
  });

  t.test('CreateTopics of 50,000 partitions, CreatePartitions to 50,000', async (t) => {
    const before = measure();
    const raw = await RawClient.connect(broker.bootstrap);
    t.teardown(() => raw.close());
    const started = Date.now();
    const created = await raw.request(19, 5, {
      topics: [{ name: 'huge', numPartitions: 50_000, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const topic = created.body.topics[0];
    t.equal(topic.errorCode, POLICY_VIOLATION, 'CreateTopics of 50,000 partitions: POLICY_VIOLATION');
    t.match(topic.errorMessage, /file descriptors/, `with a message: ${topic.errorMessage}`);
    t.ok(Date.now() - started < 5000, `refused up front (${Date.now() - started} ms), nothing half-created`);
    const grown = await raw.request(37, 3, { topics: [{ name: 'steady', count: 50_000, assignments: null }], timeoutMs: 30_000, validateOnly: false });
    t.equal(grown.body.results[0].errorCode, INVALID_PARTITIONS, 'CreatePartitions to 50,000: INVALID_PARTITIONS');
    t.match(grown.body.results[0].errorMessage, /file descriptors/);
    const listed = await admin.listTopics();
    t.notOk(listed.includes('huge'), 'no topic huge exists');
    t.equal((await admin.fetchTopicMetadata({ topics: ['steady'] })).topics[0]!.partitions.length, 1, 'steady still has 1 partition');
    t.equal(await produce('after the big creations'), 0, 'the producer is still served');
    t.comment(`50,000-partition requests: broker RSS ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);
    t.ok(peak - before < 100, `memory bounded: +${(peak - before).toFixed(0)} MiB`);
  });

  t.test('the broker is still whole', async (t) => {
    await producer.disconnect();
    await admin.disconnect();
    t.equal(broker.child.exitCode, null, 'the broker process is running');
    t.comment(`broker RSS: ${baseline.toFixed(0)} MiB after startup, ${rssMiB(pid).toFixed(0)} MiB at the end, peak ${peak.toFixed(0)} MiB`);
  });
});
