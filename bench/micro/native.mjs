#!/usr/bin/env node
// Micro-benchmarks of the native data plane (benchmark.js): CRC-32C hardware vs portable,
// validateBatches, SegmentLog.append, index lookup + read, and the two delivery modes of a
// 1 MiB read to a socket on 127.0.0.1 (mmap Buffer + socket.write vs sendfile(2) on a
// worker thread). Run `npm run build` first; then `node bench/micro/native.mjs [suite...]`
// with suites crc, validate, append, read, delivery, verify (default: all).
// verify: what Fetch's CRC check of batches not yet verified costs (a 1 MiB read of batches
// the process has not checked, as after a clean start, against the same read once they are
// known good), beside the CRC-32C throughput.
// The receiving end is a child process that only drains the socket, so the two modes
// compete for the same CPU the broker would have. Disk use stays under ~200 MB: the logs
// live in a temporary directory, trimmed as they grow and removed at the end.
import Benchmark from 'benchmark';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SegmentLog, crc32c, crc32cHardware, crc32cPortable, sendFile, socketFd, validateBatches } from '../../dist/log/native.js';

const MiB = 1 << 20;

// benchmark.js inlines test bodies by decompiling them, which loses their closures (and
// those are how the tests reach their logs and sockets): call the functions instead.
Benchmark.support.decompilation = false;

// ---- record batches --------------------------------------------------------------------

function zigZag(value) {
  let raw = (value << 1) ^ (value >> 31);
  const out = [];
  do {
    let byte = raw & 0x7f;
    raw >>>= 7;
    if (raw !== 0) byte |= 0x80;
    out.push(byte);
  } while (raw !== 0);
  return Buffer.from(out);
}

/** An uncompressed magic-2 batch of `count` records with `valueBytes`-byte values. */
function makeBatch(count, valueBytes) {
  const records = [];
  for (let i = 0; i < count; i++) {
    const key = Buffer.from(`key-${i}`);
    const body = Buffer.concat([
      Buffer.from([0]),
      zigZag(i), // timestamp delta
      zigZag(i), // offset delta
      zigZag(key.length),
      key,
      zigZag(valueBytes),
      randomBytes(valueBytes),
      zigZag(0),
    ]);
    records.push(zigZag(body.length), body);
  }
  const section = Buffer.concat(records);
  const header = Buffer.alloc(61);
  header.writeInt32BE(49 + section.length, 8);
  header.writeInt32BE(-1, 12);
  header.writeInt8(2, 16);
  header.writeInt32BE(count - 1, 23);
  header.writeBigInt64BE(BigInt(Date.now()), 27);
  header.writeBigInt64BE(BigInt(Date.now() + count - 1), 35);
  header.writeBigInt64BE(-1n, 43);
  header.writeInt16BE(-1, 51);
  header.writeInt32BE(-1, 53);
  header.writeInt32BE(count, 57);
  const batch = Buffer.concat([header, section]);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

// ---- helpers ---------------------------------------------------------------------------

function runSuite(name, build) {
  return new Promise((resolve) => {
    const suite = new Benchmark.Suite(name);
    build(suite);
    const results = new Map();
    suite.on('cycle', (event) => {
      const bench = event.target;
      results.set(bench.name, bench);
      if (bench.error) console.log(`  ${bench.name}: ${bench.error.stack ?? bench.error}`);
      const bytes = bytesPerOp.get(bench.name);
      const extra = bytes ? `  ${((bench.hz * bytes) / 1e9).toFixed(2)} GB/s` : '';
      console.log(`  ${String(bench)}${extra}`);
    });
    suite.on('complete', () => resolve(results));
    console.log(`\n${name}`);
    suite.run({ async: true });
  });
}

// Throughput per benchmark name, for the GB/s column.
const bytesPerOp = new Map();

/** suite.add, remembering how many bytes one call processes. */
function add(suite, name, fn, { bytes, defer = false } = {}) {
  if (bytes) bytesPerOp.set(name, bytes);
  suite.add(name, fn, { defer });
}

/** A log of `totalBytes` of 16 x 1 KiB batches in a fresh directory. */
function filledLog(root, name, totalBytes, options) {
  const log = new SegmentLog(join(root, name), options);
  const batch = makeBatch(16, 1024);
  const info = validateBatches(batch);
  while (log.size < totalBytes) log.append(batch, info, Date.now());
  return log;
}

/** A child process that connects to `port` and discards everything it receives. */
async function drainingPeer(server) {
  const { port } = server.address();
  const accepted = once(server, 'connection');
  const child = spawn(process.execPath, ['-e', `require('net').connect(${port}, '127.0.0.1').on('data', () => {}).on('error', () => {})`], { stdio: 'ignore' });
  const [socket] = await accepted;
  return { socket, child };
}

// ---- suites ----------------------------------------------------------------------------

async function crcSuite() {
  const data = randomBytes(MiB);
  const results = await runSuite(`CRC-32C of 1 MiB (hardware path: ${crc32cHardware})`, (suite) => {
    add(suite, 'crc32c (native dispatch)', () => crc32c(data), { bytes: MiB });
    add(suite, 'crc32cPortable (slicing-by-8)', () => crc32cPortable(data), { bytes: MiB });
  });
  const [native, portable] = [...results.values()];
  console.log(`  => native is ${(native.hz / portable.hz).toFixed(1)}x the portable code`);
}

async function validateSuite() {
  const batch = makeBatch(16, 1024);
  const blob = Buffer.concat(Array.from({ length: 64 }, () => batch));
  await runSuite('validateBatches', (suite) => {
    add(suite, `one batch, 16 x 1 KiB records (${batch.length} B)`, () => validateBatches(batch), { bytes: batch.length });
    add(suite, `64 batches (${blob.length} B)`, () => validateBatches(blob), { bytes: blob.length });
  });
}

async function appendSuite(root) {
  const log = new SegmentLog(join(root, 'append'), { segmentBytes: 64 * MiB });
  const batch = makeBatch(16, 1024);
  const info = validateBatches(batch);
  await runSuite('SegmentLog.append', (suite) => {
    add(
      suite,
      `append one 16 x 1 KiB batch (${batch.length} B)`,
      () => {
        log.append(batch, info, Date.now());
        // Retention keeps the benchmark's disk use bounded.
        if (log.size > 160 * MiB) log.deleteSegmentsBefore(log.logEndOffset);
      },
      { bytes: batch.length },
    );
  });
  log.close();
}

async function readSuite(root) {
  const log = filledLog(root, 'read', 64 * MiB, { segmentBytes: 16 * MiB });
  const end = Number(log.logEndOffset);
  const random = () => BigInt(Math.floor(Math.random() * end));
  const read = (delivery) => async (deferred) => {
    const slice = await log.read(random(), 1, true, delivery);
    slice.release();
    deferred.resolve();
  };
  await runSuite(`index lookup + read of one batch at a random offset (${log.segmentCount} segments, page cache warm)`, (suite) => {
    add(suite, 'read, mmap delivery (map + prefault)', read('mmap'), { defer: true });
    add(suite, 'read, sendfile delivery (locate only)', read('sendfile'), { defer: true });
  });
  log.close();
}

async function deliverySuite(root) {
  const log = filledLog(root, 'delivery', 64 * MiB, { segmentBytes: 64 * MiB });
  const end = log.logEndOffset;
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const mmapPeer = await drainingPeer(server);
  const sendfilePeer = await drainingPeer(server);
  const sendfileFd = socketFd(sendfilePeer.socket);

  let mmapOffset = 0n;
  let sendfileOffset = 0n;
  const nextOffset = (_offset, slice) => (slice.lastOffset + 1n >= end ? 0n : slice.lastOffset + 1n);
  const results = await runSuite('delivery of a 1 MiB read to a socket on 127.0.0.1', (suite) => {
    add(
      suite,
      'mmap: read -> socket.write(buffer)',
      async (deferred) => {
        const slice = await log.read(mmapOffset, MiB, true, 'mmap');
        mmapOffset = nextOffset(mmapOffset, slice);
        mmapPeer.socket.write(slice.buffer, () => {
          slice.release();
          deferred.resolve();
        });
      },
      { bytes: MiB, defer: true },
    );
    add(
      suite,
      'sendfile: read -> sendFile(fd, slice) on a worker',
      async (deferred) => {
        const slice = await log.read(sendfileOffset, MiB, true, 'sendfile');
        sendfileOffset = nextOffset(sendfileOffset, slice);
        await sendFile(sendfileFd, slice);
        slice.release();
        deferred.resolve();
      },
      { bytes: MiB, defer: true },
    );
  });
  const [mmap, sendfile] = [...results.values()];
  console.log(`  benchmark.js: sendfile / mmap = ${(sendfile.hz / mmap.hz).toFixed(2)}`);

  // benchmark.js runs one mode after the other; on a busy machine the load can change in
  // between. Alternate short fixed rounds too and report the median ratio.
  const deliverMmap = async () => {
    const slice = await log.read(mmapOffset, MiB, true, 'mmap');
    mmapOffset = nextOffset(mmapOffset, slice);
    await new Promise((resolve) => mmapPeer.socket.write(slice.buffer, resolve));
    slice.release();
  };
  const deliverSendfile = async () => {
    const slice = await log.read(sendfileOffset, MiB, true, 'sendfile');
    sendfileOffset = nextOffset(sendfileOffset, slice);
    await sendFile(sendfileFd, slice);
    slice.release();
  };
  // CPU of this process (all its threads: the event loop and the libuv workers).
  const cpu = { mmap: 0, sendfile: 0 };
  const timeRound = async (deliver, reads, mode) => {
    const start = process.hrtime.bigint();
    const startCpu = process.cpuUsage();
    for (let i = 0; i < reads; i++) await deliver();
    const used = process.cpuUsage(startCpu);
    cpu[mode] += (used.user + used.system) / 1000;
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  const ratios = [];
  let mmapSeconds = 0;
  let sendfileSeconds = 0;
  const reads = 100;
  for (let round = 0; round < 9; round++) {
    const m = await timeRound(deliverMmap, reads, 'mmap');
    const f = await timeRound(deliverSendfile, reads, 'sendfile');
    mmapSeconds += m;
    sendfileSeconds += f;
    ratios.push(m / f); // > 1: sendfile took less time
  }
  ratios.sort((a, b) => a - b);
  const median = ratios[Math.floor(ratios.length / 2)];
  const gbps = (seconds) => ((9 * reads * MiB) / seconds / 1e9).toFixed(2);
  console.log(
    `  alternating 9 x ${reads} reads: mmap ${gbps(mmapSeconds)} GB/s, sendfile ${gbps(sendfileSeconds)} GB/s; ` +
      `median sendfile / mmap = ${median.toFixed(2)} (${median >= 1 ? 'sendfile' : 'mmap'} faster)`,
  );
  const gib = (9 * reads * MiB) / 2 ** 30;
  console.log(`  broker-side CPU per GiB delivered: mmap ${(cpu.mmap / gib).toFixed(0)} ms, sendfile ${(cpu.sendfile / gib).toFixed(0)} ms`);
  for (const peer of [mmapPeer, sendfilePeer]) {
    peer.socket.destroy();
    peer.child.kill();
  }
  server.close();
  log.close();
}

/**
 * Fetch verifies a batch's CRC the first time it is read after a clean start; batches this
 * process appended or recovered are known good. A 64 MiB log of 16 x 1 KiB batches, read
 * whole in 1 MiB mmap reads (page cache warm): each pass after a reopen checks every CRC,
 * the pass after it checks none. Reported per GiB, to compare with the broker's CPU per GiB
 * fetched (README, Benchmarks).
 */
async function verifySuite(root) {
  const dir = join(root, 'verify');
  const options = { segmentBytes: 64 * MiB };
  filledLog(root, 'verify', 64 * MiB, options).close();
  const pass = async (log) => {
    const started = process.hrtime.bigint();
    let bytes = 0;
    for (let offset = 0n; offset < log.logEndOffset;) {
      const slice = await log.read(offset, MiB, true, 'mmap');
      bytes += slice.length;
      offset = slice.lastOffset + 1n;
      slice.release();
    }
    return { ns: Number(process.hrtime.bigint() - started), bytes };
  };
  const unverified = [];
  const verified = [];
  const freshMapping = [];
  for (let round = 0; round < 7; round++) {
    const log = new SegmentLog(dir, { ...options, cleanShutdown: true });
    unverified.push(await pass(log));
    verified.push(await pass(log));
    log.close();
    // Opened as after a crash: recovery checks every CRC at open (not timed), so the first
    // read pays only what any first read of a new mapping pays (page faults), no CRC.
    const recovered = new SegmentLog(dir, options);
    freshMapping.push(await pass(recovered));
    recovered.close();
  }
  const perGiB = (samples) => {
    const sorted = samples.map(({ ns, bytes }) => ((ns / bytes) * 2 ** 30) / 1e9).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  };
  const first = perGiB(unverified);
  const again = perGiB(verified);
  const mapped = perGiB(freshMapping);
  const data = randomBytes(MiB);
  let crcNs = Infinity;
  for (let round = 0; round < 20; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < 16; i++) crc32c(data);
    crcNs = Math.min(crcNs, Number(process.hrtime.bigint() - started) / 16);
  }
  console.log('\nFetch CRC check of unverified batches (64 MiB, 1 MiB mmap reads, 16 x 1 KiB batches, page cache warm; median of 7)');
  console.log(`  first read after a clean start (every CRC checked): ${first.toFixed(3)} s per GiB`);
  console.log(`  first read of verified batches (after recovery):    ${mapped.toFixed(3)} s per GiB`);
  console.log(`  a later read (mapping warm, no CRC):                ${again.toFixed(3)} s per GiB`);
  console.log(
    `  => the check costs ${(first - mapped).toFixed(3)} s per GiB read (first read with it, against without); CRC-32C alone ${(((crcNs / MiB) * 2 ** 30) / 1e9).toFixed(3)} s per GiB (${(MiB / crcNs).toFixed(1)} GB/s)`,
  );
  return { firstReadSecondsPerGiB: first, firstVerifiedReadSecondsPerGiB: mapped, laterReadSecondsPerGiB: again, crcSecondsPerGiB: ((crcNs / MiB) * 2 ** 30) / 1e9 };
}

const suites = { crc: crcSuite, validate: validateSuite, append: appendSuite, read: readSuite, delivery: deliverySuite, verify: verifySuite };

/** Runs the named suites (all by default): `node bench/micro/native.mjs delivery crc`. */
export async function run(names = Object.keys(suites)) {
  const root = mkdtempSync(join(tmpdir(), 'spate-bench-native-'));
  try {
    for (const name of names) {
      if (!(name in suites)) throw new Error(`unknown suite ${name}; have ${Object.keys(suites).join(', ')}`);
      await suites[name](root);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run(process.argv.length > 2 ? process.argv.slice(2) : undefined);
}
