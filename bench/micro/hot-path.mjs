#!/usr/bin/env node
// The produce and fetch hot paths, step by step, as the broker runs them on a request:
// frame assembly (FrameReader), request decode (header + body, as Dispatcher.dispatch does),
// validate and append (the native data plane), read, and response encode
// (dispatcher.encodeResponse). Each step gets benchmark.js's ops/s and the bytes it leaves
// for the garbage collector per call (JS heap and Buffer memory, measured between two
// full collections with no collection in between), since per-request garbage is what the
// profiles blame.
//
//   node bench/micro/hot-path.mjs                       the build in dist/
//   SPATE_BASE_DIST=<dir> node bench/micro/hot-path.mjs  A/B: each step against that build
//                                                        too, interleaved in this process
//
// A base build for A/B: `git stash` or a worktree at the old commit, then
// `npx tsc -p tsconfig.json --outDir <root>/dist` with <root>/build pointing at build/
// (the native addon is found at ../../build from dist/log/).

import Benchmark from 'benchmark';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// The allocation figures need global.gc and a young generation that one batch of calls
// cannot fill: run as a script, this restarts itself with them (`npm run bench:micro`
// passes them to the whole run).
const isMain = import.meta.url === pathToFileURL(process.argv[1] ?? '').href;
if (isMain && typeof globalThis.gc !== 'function') {
  const child = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=128', '--min-semi-space-size=128', ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const MiB = 1024 * 1024;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const PARTITIONS = 8;
const dirOf = (path) => pathToFileURL(`${path.replace(/\/$/, '')}/`);
const builds = [{ name: 'new', dist: new URL('../../dist/', import.meta.url) }];
if (process.env.SPATE_BASE_DIST) builds.unshift({ name: 'base', dist: dirOf(process.env.SPATE_BASE_DIST) });

async function loadBuild({ name, dist }) {
  const load = (path) => import(new URL(path, dist).href);
  const [primitives, frame, generated, frameReader, dispatcher, recordBatch, native, brokerConfig, logger, logManager, brokerState, brokerHandlers, replicaManager, metadataStore] =
    await Promise.all([
      load('protocol/primitives.js'),
      load('protocol/frame.js'),
      load('protocol/generated/index.js'),
      load('server/frame-reader.js'),
      load('server/dispatcher.js'),
      load('protocol/record-batch.js'),
      load('log/native.js'),
      load('config/broker-config.js'),
      load('logger.js'),
      load('log/log-manager.js'),
      load('broker/broker-state.js'),
      load('broker/index.js'),
      load('cluster/replica-manager.js').catch(() => ({})),
      load('cluster/metadata-store.js').catch(() => ({})),
    ]);
  const broker = { ...brokerConfig, ...logger, ...logManager, ...brokerState, ...replicaManager, ...metadataStore, handlers: brokerHandlers.handlers };
  // frame.js last: the generated index exports a versioned readRequestHeader of its own.
  return { name, ...primitives, ...generated, ...frameReader, ...recordBatch, ...frame, dispatcher, native, broker };
}

// Buffer memory is counted where it is asked for: large ArrayBuffers are external memory,
// which V8 may collect at any moment, so a heap delta cannot see them reliably.
let bufferBytes = 0;
for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow']) {
  const original = Buffer[name];
  Buffer[name] = function counted(size, ...rest) {
    bufferBytes += size;
    return original.call(Buffer, size, ...rest);
  };
}

/** JS heap bytes (median of 5 batches) and Buffer bytes allocated per call. */
function garbagePerCall(fn, calls) {
  for (let i = 0; i < 200; i++) fn(); // past the JIT's tiers, whose own allocations would count
  const samples = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    globalThis.gc();
    const before = process.memoryUsage().heapUsed;
    const buffersBefore = bufferBytes;
    for (let i = 0; i < calls; i++) fn();
    samples.push({ heap: (process.memoryUsage().heapUsed - before) / calls, buffers: (bufferBytes - buffersBefore) / calls });
  }
  const mid = (key) => samples.map((x) => x[key]).sort((a, b) => a - b)[2];
  return { heap: mid('heap'), buffers: mid('buffers') };
}

/** garbagePerCall for a function returning a promise. */
async function garbagePerAsyncCall(fn, calls) {
  for (let i = 0; i < 200; i++) await fn();
  const samples = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    globalThis.gc();
    const before = process.memoryUsage().heapUsed;
    const buffersBefore = bufferBytes;
    for (let i = 0; i < calls; i++) await fn();
    samples.push({ heap: (process.memoryUsage().heapUsed - before) / calls, buffers: (bufferBytes - buffersBefore) / calls });
  }
  const mid = (key) => samples.map((x) => x[key]).sort((a, b) => a - b)[2];
  return { heap: mid('heap'), buffers: mid('buffers') };
}

/** A broker's dispatcher over a fresh data directory, with the bench topic created. */
async function dispatcherOf(b, state) {
  const { loadBrokerConfig, createLogger, LogManager, BrokerState, ReplicaManager, InProcessMetadataStore, handlers } = b.broker;
  const config = loadBrokerConfig({
    overrides: { 'log.dirs': join(state.dir, `broker-${b.name}`), 'log.segment.bytes': String(64 * MiB), 'log.retention.bytes': String(160 * MiB) },
  });
  const logger = createLogger('silent');
  const logs = new LogManager(config, logger);
  await logs.loadState(Date.now());
  // The replica layer, as SpateBroker.start() builds it for a single node (builds before it had none).
  let replicas;
  if (ReplicaManager !== undefined) {
    replicas = new ReplicaManager(logs, config, logger, { store: new InProcessMetadataStore(), clustered: false });
    await replicas.open();
  }
  const brokerState = new BrokerState(config, logs, logger, replicas);
  if (replicas !== undefined) {
    brokerState.advertised.push({ listener: 'PLAINTEXT', host: '127.0.0.1', port: 9092 });
    await replicas.register(brokerState.advertised);
  }
  state.closers.push(() => logs.close());
  const dispatcher = new b.dispatcher.Dispatcher(handlers, brokerState);
  const connection = { id: 1, remoteAddress: '127.0.0.1:1', remoteHost: '127.0.0.1', closed: new Promise(() => {}), isOpen: true };
  // Who is asking (builds with the security layer): an anonymous PLAINTEXT client.
  if (brokerState.security?.session !== undefined) connection.security = brokerState.security.session('PLAINTEXT', 'User:ANONYMOUS');
  const create = b.encodeRequest(b.ApiKey.CreateTopics, 7, 9, 'bench', {
    topics: [{ name: 'bench-topic', numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  await dispatcher.dispatch(create.subarray(4), connection);
  return { dispatcher, connection, logs };
}

function fixtures(b) {
  const value = Buffer.alloc(1024, 7);
  // What a batching producer sends: per partition one batch of 128 records of 1 KiB.
  const batches = Array.from({ length: PARTITIONS }, () =>
    b.encodeRecordBatch({
      baseTimestamp: 1_700_000_000_000n,
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
      records: Array.from({ length: 128 }, () => ({ key: null, value })),
    }),
  );
  const produceRequest = {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30000,
    topicData: [{ name: 'bench-topic', partitionData: batches.map((records, index) => ({ index, records })) }],
  };
  const produceFrame = b.encodeRequest(b.ApiKey.Produce, 9, 1, 'bench-client', produceRequest);
  const fetchFrame = b.encodeRequest(b.ApiKey.Fetch, 12, 2, 'bench-client', {
    replicaId: -1,
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 50 * MiB,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: 'bench-topic',
        partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({
          partition,
          currentLeaderEpoch: -1,
          fetchOffset: 1000n,
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: MiB,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  // A consumer near the log end: 16 KiB a partition, answered inline (copyTo) rather than by sendfile.
  const smallFetchFrame = b.encodeRequest(b.ApiKey.Fetch, 12, 3, 'bench-client', {
    replicaId: -1,
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 50 * MiB,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: 'bench-topic',
        partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({
          partition,
          currentLeaderEpoch: -1,
          fetchOffset: 1000n,
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: 16 * 1024,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  const produceResponse = () => ({
    responses: [
      {
        name: 'bench-topic',
        partitionResponses: Array.from({ length: PARTITIONS }, (_, index) => ({
          index,
          errorCode: 0,
          baseOffset: 1000n,
          logAppendTimeMs: -1n,
          logStartOffset: 0n,
          recordErrors: [],
          errorMessage: null,
        })),
      },
    ],
    throttleTimeMs: 0,
  });
  const fetchResponse = (records) => ({
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic: 'bench-topic',
        partitions: Array.from({ length: PARTITIONS }, (_, partitionIndex) => ({
          partitionIndex,
          errorCode: 0,
          highWatermark: 100_000n,
          lastStableOffset: 100_000n,
          logStartOffset: 0n,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records,
        })),
      },
    ],
  });
  // The 1 MiB produce frame as a socket delivers it: 64 KiB reads.
  const chunks = [];
  for (let at = 0; at < produceFrame.length; at += 64 * 1024) chunks.push(produceFrame.subarray(at, at + 64 * 1024));
  // Many small requests in one read: 64 ApiVersions-sized frames.
  const small = b.encodeRequest(b.ApiKey.ApiVersions, 3, 3, 'bench-client', { clientSoftwareName: 'bench', clientSoftwareVersion: '1' });
  const smallChunk = Buffer.concat(Array.from({ length: 64 }, () => small));
  return {
    batches,
    produceFrame,
    fetchFrame,
    smallFetchFrame,
    produceResponse,
    fetchResponse,
    chunks,
    smallChunk,
    inlineRecords: Buffer.alloc(16 * 1024, 3),
    fileRegion: { byteLength: MiB, fd: 3, position: 0 },
  };
}

/** [name, fn(build, fixtures, state) => () => void] for every step. */
const STEPS = [
  [
    'FrameReader: 1 MiB produce frame in 16 reads of 64 KiB',
    (b, f) => {
      const reader = new b.FrameReader(100 * MiB);
      return () => {
        let n = 0;
        for (const chunk of f.chunks) n += reader.push(chunk).length;
        if (n !== 1) throw new Error('frame not assembled');
      };
    },
  ],
  [
    // The plain TCP path (connection.ts): the socket reads into the reader's own buffers. The
    // first read of a frame lands in the slab (64 KiB here), the rest straight in the frame.
    'FrameReader, own buffers: 1 MiB produce frame, first read 64 KiB then the rest',
    (b, f) => {
      if (b.FrameReader.prototype.readBuffer === undefined) return null;
      const reader = new b.FrameReader(100 * MiB);
      return () => {
        let n = 0;
        for (let at = 0; at < f.produceFrame.length;) {
          const target = reader.readBuffer();
          const bytes = Math.min(target.length, f.produceFrame.length - at, at === 0 ? 64 * 1024 : Infinity);
          f.produceFrame.copy(target, 0, at, at + bytes);
          at += bytes;
          n += reader.received(bytes).length;
        }
        if (n !== 1) throw new Error('frame not assembled');
      };
    },
  ],
  [
    'FrameReader: 64 small frames in one read',
    (b, f) => {
      const reader = new b.FrameReader(100 * MiB);
      return () => {
        if (reader.push(f.smallChunk).length !== 64) throw new Error('frames not split');
      };
    },
  ],
  [
    'decode Produce v9 (8 partitions x 128 KiB), header + body',
    (b, f) => {
      const frame = f.produceFrame.subarray(4);
      const schema = b.apiSchemas.get(b.ApiKey.Produce);
      return () => {
        const reader = new b.Reader(frame);
        const header = b.readRequestHeader(reader);
        schema.readRequest(reader, header.apiVersion);
      };
    },
  ],
  [
    'decode Fetch v12 (8 partitions), header + body',
    (b, f) => {
      const frame = f.fetchFrame.subarray(4);
      const schema = b.apiSchemas.get(b.ApiKey.Fetch);
      return () => {
        const reader = new b.Reader(frame);
        const header = b.readRequestHeader(reader);
        schema.readRequest(reader, header.apiVersion);
      };
    },
  ],
  ['validate one 128 KiB batch (native)', (b, f) => () => b.native.validateBatches(f.batches[0])],
  [
    'append one 128 KiB batch (native)',
    (b, f, state) => {
      const log = new b.native.SegmentLog(join(state.dir, `append-${b.name}`), { segmentBytes: 64 * MiB });
      state.logs.push(log);
      const info = b.native.validateBatches(f.batches[0]);
      return () => {
        log.append(f.batches[0], info, Date.now());
        if (log.size > 160 * MiB) log.deleteSegmentsBefore(log.logEndOffset);
      };
    },
  ],
  [
    // A consumer near the log end: the active segment, in the page cache.
    'read 128 KiB from the active segment on the event loop (readNow)',
    (b, f, state) => {
      const log = new b.native.SegmentLog(join(state.dir, `read-now-${b.name}`), { segmentBytes: 64 * MiB });
      state.logs.push(log);
      if (log.readNow === undefined) return null;
      for (const batch of f.batches) log.append(Buffer.from(batch), b.native.validateBatches(batch), Date.now());
      return () => {
        const slice = log.readNow(1n, 128 * 1024, true);
        if (!slice) throw new Error('readNow declined');
        slice.release();
      };
    },
  ],
  [
    'encode Produce v9 response (8 partitions)',
    (b, f) => {
      const schema = b.apiSchemas.get(b.ApiKey.Produce);
      const response = f.produceResponse(); // the encoder only reads it: built once, outside the figures
      return () => b.dispatcher.encodeResponse(b.ApiKey.Produce, 9, 1, response, (w, m) => schema.writeResponse(w, 9, m));
    },
  ],
  [
    'encode Fetch v12 response, 8 x 16 KiB records copied inline',
    (b, f) => {
      const schema = b.apiSchemas.get(b.ApiKey.Fetch);
      const response = f.fetchResponse(f.inlineRecords);
      return () => b.dispatcher.encodeResponse(b.ApiKey.Fetch, 12, 2, response, (w, m) => schema.writeResponse(w, 12, m));
    },
  ],
  [
    'encode Fetch v12 response, 8 x 1 MiB file regions (out of band)',
    (b, f) => {
      const schema = b.apiSchemas.get(b.ApiKey.Fetch);
      const response = f.fetchResponse(f.fileRegion);
      return () => b.dispatcher.encodeResponse(b.ApiKey.Fetch, 12, 2, response, (w, m) => schema.writeResponse(w, 12, m));
    },
  ],
];

/** Whole requests through Dispatcher.dispatch: decode, handler, log, encode ([name, async make]). */
const REQUESTS = [
  [
    // On a worker thread in builds before readNow; in the answer's buffer (copyTo) or mapped.
    'read 128 KiB from the active segment on a worker thread (read)',
    async (b, f, state) => {
      const log = new b.native.SegmentLog(join(state.dir, `read-worker-${b.name}`), { segmentBytes: 64 * MiB });
      state.logs.push(log);
      for (const batch of f.batches) log.append(Buffer.from(batch), b.native.validateBatches(batch), Date.now());
      return async () => {
        const slice = await log.read(1n, 128 * 1024, true);
        slice.release();
      };
    },
  ],
  [
    'whole Produce v9 request, 8 x 128 KiB, acks=1 (dispatch: decode, handler, append, encode)',
    async (b, f, state) => {
      const { dispatcher, connection } = await state.broker(b);
      const frame = f.produceFrame.subarray(4);
      return async () => {
        const chunks = await dispatcher.dispatch(frame, connection);
        if (chunks === null) throw new Error('no produce response');
      };
    },
  ],
  [
    'whole Fetch v12 request, 8 partitions, 1 MiB each (dispatch: decode, handler, read, encode)',
    async (b, f, state) => {
      const { dispatcher, connection } = await state.broker(b);
      for (let i = 0; i < 10; i++) await dispatcher.dispatch(f.produceFrame.subarray(4), connection); // data to read
      const frame = f.fetchFrame.subarray(4);
      return async () => {
        const chunks = await dispatcher.dispatch(frame, connection);
        if (chunks === null) throw new Error('no fetch response');
        // Mapped views are given back once sent, as the connection does.
        for (const chunk of chunks) chunk.release?.();
      };
    },
  ],
  [
    'whole Fetch v12 request, 8 partitions, 16 KiB each (small answer: records inline)',
    async (b, f, state) => {
      const { dispatcher, connection } = await state.broker(b);
      for (let i = 0; i < 10; i++) await dispatcher.dispatch(f.produceFrame.subarray(4), connection);
      const frame = f.smallFetchFrame.subarray(4);
      return async () => {
        const chunks = await dispatcher.dispatch(frame, connection);
        if (chunks === null) throw new Error('no fetch response');
        for (const chunk of chunks) chunk.release?.();
      };
    },
  ],
];

/** ops/s of one function over `maxTime` seconds (benchmark.js); async ones are deferred. */
function opsPerSecond(name, fn, maxTime, async = false) {
  return new Promise((resolve) => {
    const body = async ? (deferred) => fn().then(() => deferred.resolve()) : fn;
    const bench = new Benchmark(name, body, { maxTime, minSamples: 5, defer: async });
    bench.on('complete', () => resolve(bench.error ? Number.NaN : bench.hz));
    bench.run({ async: true });
  });
}

const format = (n) => (Number.isNaN(n) ? 'n/a' : Math.abs(n) < 1 ? '0' : Math.round(n).toLocaleString('en-US'));

function report(step, fns, hz, garbage) {
  console.log(`  ${step}`);
  const best = new Map([...hz].map(([name, values]) => [name, Math.max(...values)]));
  for (const [name] of fns) {
    const g = garbage.get(name);
    const values = hz.get(name).sort((a, b) => a - b);
    console.log(
      `    ${name.padEnd(5)} ${format(best.get(name)).padStart(12)} ops/s best (median ${format(values[Math.floor(values.length / 2)])})   ${format(g.heap).padStart(8)} B heap + ${format(g.buffers).padStart(8)} B buffers per call`,
    );
  }
  if (fns.length === 2) console.log(`    new/base ${(best.get('new') / best.get('base')).toFixed(2)}x`);
}

export async function run() {
  Benchmark.support.decompilation = false;
  const loaded = await Promise.all(builds.map(loadBuild));
  const state = { dir: mkdtempSync(join(tmpdir(), 'spate-micro-hot-')), logs: [], closers: [] };
  const brokers = new Map();
  state.broker = (b) => {
    if (!brokers.has(b.name)) brokers.set(b.name, dispatcherOf(b, state));
    return brokers.get(b.name);
  };
  try {
    console.log(`\nhot path, ${loaded.map((b) => b.name).join(' vs ')} (ops/s ±rme; garbage per call: JS heap + Buffer memory)`);
    for (const [step, make] of STEPS) {
      // A step a build cannot run (an API it does not have) makes null for it.
      const fns = loaded.map((b) => [b.name, make(b, fixtures(b), state)]).filter(([, fn]) => fn !== null);
      if (fns.length === 0) continue;
      const garbage = new Map(fns.map(([name, fn]) => [name, typeof globalThis.gc === 'function' ? garbagePerCall(fn, 300) : { heap: Number.NaN, buffers: Number.NaN }]));
      // Rounds alternate the builds, so a busy moment of the machine falls on both alike;
      // the best round is the least disturbed one.
      const hz = new Map(fns.map(([name]) => [name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, fn] of round % 2 ? [...fns].reverse() : fns) hz.get(name).push(await opsPerSecond(`${step} [${name}]`, fn, 1));
      }
      report(step, fns, hz, garbage);
    }
    for (const [step, make] of REQUESTS) {
      const fns = [];
      try {
        for (const b of loaded) fns.push([b.name, await make(b, fixtures(b), state)]);
      } catch (error) {
        console.log(`  ${step}: could not set up: ${error.message}`);
        continue;
      }
      const garbage = new Map();
      for (const [name, fn] of fns) garbage.set(name, typeof globalThis.gc === 'function' ? await garbagePerAsyncCall(fn, 100) : { heap: Number.NaN, buffers: Number.NaN });
      const hz = new Map(fns.map(([name]) => [name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, fn] of round % 2 ? [...fns].reverse() : fns) hz.get(name).push(await opsPerSecond(`${step} [${name}]`, fn, 1, true));
      }
      report(step, fns, hz, garbage);
    }
  } finally {
    for (const close of state.closers) close();
    for (const log of state.logs) log.close();
    rmSync(state.dir, { recursive: true, force: true });
  }
}

if (isMain) await run();
