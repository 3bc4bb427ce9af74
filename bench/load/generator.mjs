// The bench's own low-cost load generator, to find a broker's ceiling rather than a
// client's: it spends as little CPU per byte as a Kafka client can.
//
//   node generator.mjs produce --bootstrap H:P --topic T [--partitions 8] [--connections 4]
//        [--inflight 4] [--record-size 1024] [--batch-bytes 131072] [--acks 1] [--seconds 10]
//   node generator.mjs fetch --bootstrap H:P --topic T [--partitions 8] [--connections 4]
//        [--record-size 1024] [--until N] [--seconds 10] [--partition-max-bytes 1048576]
//
// produce: every connection builds its Produce v7 requests once (one v2 batch of 128 KiB of
// records per partition, as a batching producer sends them; --batch-bytes for smaller ones) and sends them again and again,
// --inflight of them pipelined; only the correlation id is rewritten, in a frame whose
// previous send has been answered (so the socket is done with its bytes). Responses are
// checked for partition errors and otherwise only counted.
// fetch: the partitions are split over the connections; each sends Fetch v11 for its share,
// walks only the record batch headers of the answer (next offset, record count) and counts
// bytes, until every partition has reached --until records or --seconds have passed.
//
// Prints "interval <ms> <records> <payload bytes>" each second and "result {json}" at the end.
// Payload bytes are record values (no keys): the unit ProducerPerformance reports.

import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { encodeRecordBatch } from '../lib/kafka-wire.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    bootstrap: { type: 'string' },
    topic: { type: 'string' },
    partitions: { type: 'string', default: '8' },
    connections: { type: 'string', default: '4' },
    inflight: { type: 'string', default: '4' },
    'record-size': { type: 'string', default: '1024' },
    'batch-bytes': { type: 'string', default: String(128 * 1024) },
    acks: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '10' },
    until: { type: 'string', default: '0' },
    'partition-max-bytes': { type: 'string', default: String(1024 * 1024) },
  },
});
const mode = positionals[0];
if ((mode !== 'produce' && mode !== 'fetch') || !values.bootstrap || !values.topic) {
  console.error('usage: generator.mjs produce|fetch --bootstrap HOST:PORT --topic TOPIC [options]');
  process.exit(2);
}
const [host, portText] = values.bootstrap.split(':');
const port = Number(portText);
const topic = values.topic;
const partitions = Number(values.partitions);
const connections = Number(values.connections);
const recordSize = Number(values['record-size']);
const seconds = Number(values.seconds);
const started = performance.now();
const deadline = started + seconds * 1000;

const totals = { requests: 0, records: 0, bytes: 0, wireBytes: 0, errors: 0, firstError: undefined };
let intervalRecords = 0;
let intervalBytes = 0;
const reporter = setInterval(() => {
  console.log(`interval ${Math.round(performance.now() - started)} ${intervalRecords} ${intervalBytes}`);
  intervalRecords = 0;
  intervalBytes = 0;
}, 1000);

function count(records, bytes) {
  totals.records += records;
  totals.bytes += bytes;
  intervalRecords += records;
  intervalBytes += bytes;
}

function fail(message) {
  totals.errors++;
  totals.firstError ??= message;
}

// --- framing ---------------------------------------------------------------------------

const CLIENT_ID = Buffer.from('spate-load');

/** A request frame with room for the body: size, header v1 (key, version, correlation, client id). */
function frameWith(apiKey, apiVersion, bodyLength) {
  const frame = Buffer.allocUnsafe(4 + 10 + CLIENT_ID.length + bodyLength);
  frame.writeInt32BE(frame.length - 4, 0);
  frame.writeInt16BE(apiKey, 4);
  frame.writeInt16BE(apiVersion, 6);
  frame.writeInt32BE(0, 8);
  frame.writeInt16BE(CLIENT_ID.length, 12);
  CLIENT_ID.copy(frame, 14);
  return { frame, body: 14 + CLIENT_ID.length };
}

/**
 * Calls onFrame(buffer, start, end) for each whole response frame (start at the correlation
 * id). A frame inside one socket read is handed over as a view; only frames split across
 * reads are assembled, with a single copy.
 */
function frameSplitter(onFrame) {
  let pending = [];
  let pendingBytes = 0;
  let needed = -1; // bytes of the frame being assembled, size prefix included
  return (chunk) => {
    let at = 0;
    if (pendingBytes > 0) {
      if (needed < 0) {
        const head = Buffer.concat([...pending, chunk.subarray(0, Math.min(chunk.length, 4))]);
        if (head.length < 4) {
          pending = [head];
          pendingBytes = head.length;
          return;
        }
        needed = 4 + head.readInt32BE(0);
      }
      const take = Math.min(chunk.length, needed - pendingBytes);
      pending.push(chunk.subarray(0, take));
      pendingBytes += take;
      at = take;
      if (pendingBytes < needed) return;
      const whole = Buffer.concat(pending, needed);
      pending = [];
      pendingBytes = 0;
      needed = -1;
      onFrame(whole, 4, whole.length);
    }
    while (chunk.length - at >= 4) {
      const size = chunk.readInt32BE(at);
      if (chunk.length - at < 4 + size) break;
      onFrame(chunk, at + 4, at + 4 + size);
      at += 4 + size;
    }
    if (at < chunk.length) {
      pending = [chunk.subarray(at)];
      pendingBytes = chunk.length - at;
      needed = pendingBytes >= 4 ? 4 + chunk.readInt32BE(at) : -1;
    }
  };
}

function connect() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

// --- produce ---------------------------------------------------------------------------

function produceFrame(acks, batches) {
  const topicBytes = Buffer.from(topic);
  let bodyLength = 2 + 2 + 4 + 4 + 2 + topicBytes.length + 4;
  for (const batch of batches) bodyLength += 4 + 4 + batch.length;
  const { frame, body } = frameWith(0, 7, bodyLength);
  let at = body;
  at = frame.writeInt16BE(-1, at); // transactional id: null
  at = frame.writeInt16BE(acks, at);
  at = frame.writeInt32BE(30_000, at);
  at = frame.writeInt32BE(1, at);
  at = frame.writeInt16BE(topicBytes.length, at);
  at += topicBytes.copy(frame, at);
  at = frame.writeInt32BE(batches.length, at);
  batches.forEach((batch, partition) => {
    at = frame.writeInt32BE(partition, at);
    at = frame.writeInt32BE(batch.length, at);
    at += batch.copy(frame, at);
  });
  return frame;
}

/** Error codes of a Produce v7 response (after the correlation id): the first non-zero, or 0. */
function produceError(buffer, at) {
  const topics = buffer.readInt32BE(at);
  at += 4;
  for (let t = 0; t < topics; t++) {
    at += 2 + buffer.readInt16BE(at);
    const count = buffer.readInt32BE(at);
    at += 4;
    for (let p = 0; p < count; p++) {
      const error = buffer.readInt16BE(at + 4);
      if (error !== 0) return error;
      at += 4 + 2 + 8 + 8 + 8; // index, error, base offset, log append time, log start offset
    }
  }
  return 0;
}

async function produce() {
  const inflight = Number(values.inflight);
  const acks = Number(values.acks);
  const recordsPerBatch = Math.max(1, Math.floor(Number(values['batch-bytes']) / recordSize));
  const value = randomBytes(recordSize);
  const batches = Array.from({ length: partitions }, () => encodeRecordBatch(value, recordsPerBatch));
  const template = produceFrame(acks, batches);
  const recordsPerRequest = partitions * recordsPerBatch;
  const payloadPerRequest = recordsPerRequest * recordSize;

  const runs = [];
  for (let c = 0; c < connections; c++) {
    const socket = await connect();
    // One copy of the request per pipeline slot, so a slot is rewritten only once answered.
    const slots = Array.from({ length: inflight }, () => Buffer.from(template));
    let nextCorrelation = c * 1_000_000;
    const waiting = []; // slot indexes in send order: answers come back in order
    const send = (slot) => {
      slots[slot].writeInt32BE(nextCorrelation++ & 0x7fffffff, 8);
      waiting.push(slot);
      totals.wireBytes += slots[slot].length;
      socket.write(slots[slot]);
    };
    runs.push(
      new Promise((resolve) => {
        socket.on(
          'data',
          frameSplitter((buffer, start) => {
            const slot = waiting.shift();
            totals.requests++;
            const error = acks === 0 ? 0 : produceError(buffer, start + 4);
            if (error !== 0) fail(`produce error code ${error}`);
            else count(recordsPerRequest, payloadPerRequest);
            if (performance.now() < deadline && totals.errors < 100) send(slot);
            else if (waiting.length === 0) socket.end();
          }),
        );
        socket.on('error', (error) => fail(error.message));
        socket.on('close', resolve);
        for (let slot = 0; slot < inflight; slot++) send(slot);
      }),
    );
  }
  await Promise.all(runs);
  return { recordsPerRequest, requestBytes: template.length };
}

// --- fetch -----------------------------------------------------------------------------

function fetchFrame(offsets, owned, partitionMaxBytes) {
  const topicBytes = Buffer.from(topic);
  const bodyLength = 4 * 4 + 1 + 4 + 4 + 4 + 2 + topicBytes.length + 4 + owned.length * (4 + 4 + 8 + 8 + 4) + 4 + 2;
  const { frame, body } = frameWith(1, 11, bodyLength);
  let at = body;
  at = frame.writeInt32BE(-1, at); // replica id
  at = frame.writeInt32BE(500, at); // max wait ms
  at = frame.writeInt32BE(1, at); // min bytes
  at = frame.writeInt32BE(64 * 1024 * 1024, at); // max bytes
  at = frame.writeInt8(0, at); // read uncommitted
  at = frame.writeInt32BE(0, at); // no fetch session
  at = frame.writeInt32BE(-1, at);
  at = frame.writeInt32BE(1, at);
  at = frame.writeInt16BE(topicBytes.length, at);
  at += topicBytes.copy(frame, at);
  at = frame.writeInt32BE(owned.length, at);
  for (const partition of owned) {
    at = frame.writeInt32BE(partition, at);
    at = frame.writeInt32BE(-1, at); // current leader epoch: unknown
    at = frame.writeBigInt64BE(BigInt(offsets[partition]), at);
    at = frame.writeBigInt64BE(-1n, at); // log start offset (followers only)
    at = frame.writeInt32BE(partitionMaxBytes, at);
  }
  at = frame.writeInt32BE(0, at); // forgotten topics
  frame.writeInt16BE(0, at); // rack id ""
  return frame;
}

/** Walks a Fetch v11 response; advances `offsets`, returns { records, batchBytes, error }. */
function readFetch(buffer, at, offsets) {
  let records = 0;
  let batchBytes = 0;
  let error = buffer.readInt16BE(at + 4 + 4);
  at += 4 + 4 + 2 + 4; // correlation, throttle, error, session id
  const topics = buffer.readInt32BE(at);
  at += 4;
  for (let t = 0; t < topics; t++) {
    at += 2 + buffer.readInt16BE(at);
    const count = buffer.readInt32BE(at);
    at += 4;
    for (let p = 0; p < count; p++) {
      const partition = buffer.readInt32BE(at);
      const partitionError = buffer.readInt16BE(at + 4);
      if (partitionError !== 0) error ||= partitionError;
      at += 4 + 2 + 8 + 8 + 8;
      const aborted = buffer.readInt32BE(at);
      at += 4 + Math.max(0, aborted) * 16 + 4; // aborted transactions, preferred read replica
      const size = buffer.readInt32BE(at);
      at += 4;
      if (size <= 0) continue;
      const end = at + size;
      let batch = at;
      // Whole batches only: a broker may cut the last one short at the size limit.
      while (end - batch >= 61) {
        const length = buffer.readInt32BE(batch + 8) + 12;
        if (batch + length > end) break;
        const baseOffset = Number(buffer.readBigInt64BE(batch));
        offsets[partition] = baseOffset + buffer.readInt32BE(batch + 23) + 1;
        records += buffer.readInt32BE(batch + 57);
        batchBytes += length;
        batch += length;
      }
      at = end;
    }
  }
  return { records, batchBytes, error };
}

async function fetch() {
  const until = Number(values.until);
  const partitionMaxBytes = Number(values['partition-max-bytes']);
  const offsets = new Array(partitions).fill(0);
  const runs = [];
  for (let c = 0; c < Math.min(connections, partitions); c++) {
    const owned = [];
    for (let p = c; p < partitions; p += connections) owned.push(p);
    const socket = await connect();
    const done = () => performance.now() >= deadline || totals.errors >= 100 || (until > 0 && owned.every((p) => offsets[p] >= until));
    let correlation = c * 1_000_000;
    const send = () => {
      const frame = fetchFrame(offsets, owned, partitionMaxBytes);
      frame.writeInt32BE(correlation++, 8);
      socket.write(frame);
    };
    runs.push(
      new Promise((resolve) => {
        socket.on(
          'data',
          frameSplitter((buffer, start, end) => {
            totals.requests++;
            totals.wireBytes += end - start;
            const { records, error } = readFetch(buffer, start, offsets);
            if (error !== 0) fail(`fetch error code ${error}`);
            count(records, records * recordSize);
            if (done()) socket.end();
            else send();
          }),
        );
        socket.on('error', (error) => fail(error.message));
        socket.on('close', resolve);
        send();
      }),
    );
  }
  await Promise.all(runs);
  return { offsets };
}

const extra = mode === 'produce' ? await produce() : await fetch();
clearInterval(reporter);
const elapsed = (performance.now() - started) / 1000;
console.log(`interval ${Math.round(elapsed * 1000)} ${intervalRecords} ${intervalBytes}`);
console.log(
  `result ${JSON.stringify({
    mode,
    ...totals,
    seconds: elapsed,
    mbPerSec: totals.bytes / elapsed / (1024 * 1024),
    recordsPerSec: totals.records / elapsed,
    wireMbPerSec: totals.wireBytes / elapsed / (1024 * 1024),
    ...extra,
    cpuSeconds: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
  })}`,
);
process.exit(totals.errors > 0 && totals.records === 0 ? 1 : 0);
