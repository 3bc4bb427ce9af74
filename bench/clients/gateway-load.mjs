// The gateway workloads' load, one mode per run, printing "result {json}" at the end (and
// "interval <ms> <records> <bytes>" each second) like bench/load/generator.mjs:
//
//   rest-produce   --url U --cluster ID --topic T [--concurrency 32] [--record-size 100] [--seconds 10]
//                  one record per POST .../records (acks=all inside the broker), --concurrency in flight
//   rest-stream    --url U --cluster ID --topic T [--concurrency 4] [--records-per-request 500] ...
//                  many records in one streamed POST body, answered one JSON line per record
//   kafkajs-produce --bootstrap H:P --topic T [--concurrency 32] ...
//                  the binary protocol's equivalent: kafkajs send() of one record, acks=all, --concurrency in flight
//   ws-fanout      --url U --bootstrap H:P --topic T [--subscribers 100] [--rate 1000] ...
//                  --subscribers WebSocket subscriptions of one topic from its end; kafkajs produces
//                  --rate records/s; each delivered record's latency is receipt minus its timestamp
//   wire-fanout    --bootstrap H:P --topic T [--subscribers 100] [--rate 1000] ...
//                  the same with Fetch long polls (v4, one connection each) instead of WebSockets
//
// Latencies are per record (produce: per request) in a log-bucketed histogram; the first
// --warmup seconds (default 2) are not counted.

import http from 'node:http';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import WebSocket from 'ws';
import { LatencyHistogram } from '../lib/histogram.mjs';
import { WireConnection } from '../lib/kafka-wire.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    cluster: { type: 'string' },
    bootstrap: { type: 'string' },
    topic: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    'record-size': { type: 'string', default: '100' },
    'records-per-request': { type: 'string', default: '500' },
    subscribers: { type: 'string', default: '100' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
  },
});
const mode = positionals[0];
const seconds = Number(values.seconds);
const warmupMs = Number(values.warmup) * 1000;
const started = performance.now();
const measureFrom = started + warmupMs;
const deadline = measureFrom + seconds * 1000;
const histogram = new LatencyHistogram();
const totals = { records: 0, bytes: 0, errors: 0, firstError: undefined };
let intervalRecords = 0;
let intervalBytes = 0;
const reporter = setInterval(() => {
  console.log(`interval ${Math.round(performance.now() - started)} ${intervalRecords} ${intervalBytes}`);
  intervalRecords = 0;
  intervalBytes = 0;
}, 1000);

function count(records, bytes, latencyMs) {
  if (performance.now() < measureFrom) return;
  totals.records += records;
  totals.bytes += bytes;
  intervalRecords += records;
  intervalBytes += bytes;
  if (latencyMs !== undefined) histogram.record(Math.max(0, latencyMs) * 1000);
}

function fail(message) {
  totals.errors++;
  totals.firstError ??= message;
}

const value = randomBytes(Math.ceil(Number(values['record-size']) / 2))
  .toString('hex')
  .slice(0, Number(values['record-size']));

// Node's http client with keep-alive connections, one per request in flight: much lighter
// than fetch (undici), which spent more CPU per request than the broker did.
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(values.concurrency) });

function post(target, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function restProduce() {
  const target = `${values.url}/v3/clusters/${values.cluster}/topics/${values.topic}/records`;
  const body = JSON.stringify({ value: { type: 'STRING', data: value } });
  const loop = async () => {
    while (performance.now() < deadline && totals.errors < 100) {
      const sent = performance.now();
      try {
        const answer = await post(target, body);
        if (answer.status !== 200) fail(`REST produce: ${answer.status} ${answer.text.slice(0, 200)}`);
        else count(1, value.length, performance.now() - sent);
      } catch (error) {
        fail(error.message);
      }
    }
  };
  await Promise.all(Array.from({ length: Number(values.concurrency) }, loop));
}

async function restStream() {
  const target = `${values.url}/v3/clusters/${values.cluster}/topics/${values.topic}/records`;
  const perRequest = Number(values['records-per-request']);
  const body = JSON.stringify({ value: { type: 'STRING', data: value } }).repeat(perRequest);
  const loop = async () => {
    while (performance.now() < deadline && totals.errors < 100) {
      const sent = performance.now();
      try {
        const lines = (await post(target, body)).text.trim().split('\n');
        const failed = lines.find((line) => !line.includes('"error_code":200'));
        if (lines.length !== perRequest || failed !== undefined) fail(`REST streamed produce: ${lines.length} answers, ${failed?.slice(0, 200)}`);
        // Per request: the time for all its records.
        else count(perRequest, perRequest * value.length, performance.now() - sent);
      } catch (error) {
        fail(error.message);
      }
    }
  };
  await Promise.all(Array.from({ length: Number(values.concurrency) }, loop));
}

async function kafkajsProduce() {
  const kafka = new Kafka({ clientId: 'gateway-bench', brokers: [values.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const loop = async () => {
    while (performance.now() < deadline && totals.errors < 100) {
      const sent = performance.now();
      try {
        await producer.send({ topic: values.topic, acks: -1, messages: [{ value }] });
        count(1, value.length, performance.now() - sent);
      } catch (error) {
        fail(error.message);
      }
    }
  };
  await Promise.all(Array.from({ length: Number(values.concurrency) }, loop));
  await producer.disconnect();
}

/** kafkajs sends --rate records/s in a batch every 10 ms until the deadline; record timestamps are the send time. */
async function paced() {
  const kafka = new Kafka({ clientId: 'gateway-bench-producer', brokers: [values.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const perTick = Math.max(1, Math.round(Number(values.rate) / 100));
  let due = performance.now();
  let sent = 0;
  while (performance.now() < deadline) {
    const now = Date.now();
    try {
      await producer.send({ topic: values.topic, acks: 1, messages: Array.from({ length: perTick }, () => ({ value, timestamp: String(now) })) });
      if (performance.now() >= measureFrom) sent += perTick;
    } catch (error) {
      fail(`produce: ${error.message}`);
    }
    due += 10;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await producer.disconnect();
  return sent;
}

async function wsFanout() {
  const subscribers = Number(values.subscribers);
  const sockets = await Promise.all(
    Array.from(
      { length: subscribers },
      (_, index) =>
        new Promise((resolve, reject) => {
          const socket = new WebSocket(`${values.url.replace(/^http/, 'ws')}/v3/ws`);
          socket.once('error', reject);
          socket.on('message', (data) => {
            const message = JSON.parse(data.toString());
            if (message.op === 'subscribed') resolve(socket);
            else if (message.op === 'records') {
              const now = Date.now();
              for (const record of message.records) count(1, record.value.length, now - record.timestamp);
            } else if (message.op === 'error') fail(`subscriber ${index}: ${message.message}`);
          });
          socket.once('open', () => socket.send(JSON.stringify({ op: 'subscribe', id: `s${index}`, topic: values.topic, from: 'end' })));
        }),
    ),
  );
  const sent = await paced();
  await new Promise((resolve) => setTimeout(resolve, 500)); // the last records in flight
  for (const socket of sockets) socket.close();
  return { sent, expected: sent * subscribers };
}

/** Fetch v4 for one partition from `offset` (500 ms long poll, 1 MiB). */
function fetchV4Body(topic, partition, offset) {
  const name = Buffer.from(topic);
  const body = Buffer.alloc(4 * 4 + 1 + 4 + 2 + name.length + 4 + 4 + 8 + 4);
  let at = body.writeInt32BE(-1, 0);
  at = body.writeInt32BE(500, at);
  at = body.writeInt32BE(1, at);
  at = body.writeInt32BE(1 << 20, at);
  at = body.writeInt8(0, at);
  at = body.writeInt32BE(1, at);
  at = body.writeInt16BE(name.length, at);
  at += name.copy(body, at);
  at = body.writeInt32BE(1, at);
  at = body.writeInt32BE(partition, at);
  at = body.writeBigInt64BE(offset, at);
  body.writeInt32BE(1 << 20, at);
  return body;
}

function readVarint(buffer, state) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buffer[state.at++];
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return (value >>> 1) ^ -(value & 1);
}

/** Walks a Fetch v4 response of one partition: calls onRecord(timestampMs, valueLength); returns the next offset. */
function walkFetchV4(body, offset, onRecord) {
  let at = 4 + 4; // throttle, topic count
  at += 2 + body.readInt16BE(at) + 4 + 4; // topic name, partition count, partition index
  const error = body.readInt16BE(at);
  if (error !== 0) throw new Error(`fetch error code ${error}`);
  at += 2 + 8 + 8; // error, high watermark, last stable offset
  const aborted = body.readInt32BE(at);
  at += 4 + Math.max(0, aborted) * 16;
  const size = body.readInt32BE(at);
  at += 4;
  const end = at + Math.max(0, size);
  let next = offset;
  while (at + 61 <= end) {
    const batchLength = body.readInt32BE(at + 8);
    if (at + 12 + batchLength > end) break;
    const base = body.readBigInt64BE(at);
    const firstTimestamp = Number(body.readBigInt64BE(at + 27));
    const count = body.readInt32BE(at + 57);
    const state = { at: at + 61 };
    for (let index = 0; index < count; index++) {
      readVarint(body, state); // length
      state.at++; // attributes
      const timestampDelta = readVarint(body, state);
      const offsetDelta = readVarint(body, state);
      const keyLength = readVarint(body, state);
      if (keyLength > 0) state.at += keyLength;
      const valueLength = readVarint(body, state);
      if (valueLength > 0) state.at += valueLength;
      const headers = readVarint(body, state);
      for (let header = 0; header < headers; header++) {
        state.at += readVarint(body, state);
        const headerValue = readVarint(body, state);
        if (headerValue > 0) state.at += headerValue;
      }
      const recordOffset = base + BigInt(offsetDelta);
      if (recordOffset >= offset) onRecord(firstTimestamp + timestampDelta, valueLength);
    }
    next = base + BigInt(body.readInt32BE(at + 23)) + 1n;
    at += 12 + batchLength;
  }
  return next;
}

async function wireFanout() {
  const subscribers = Number(values.subscribers);
  const [host, port] = values.bootstrap.split(':');
  // Where the topic ends now (ListOffsets v1, latest): every consumer starts there, as ws-fanout's "from end".
  const probe = await WireConnection.connect(host, Number(port));
  const name = Buffer.from(values.topic);
  const list = Buffer.alloc(4 + 4 + 2 + name.length + 4 + 4 + 8);
  let at = list.writeInt32BE(-1, 0);
  at = list.writeInt32BE(1, at);
  at = list.writeInt16BE(name.length, at);
  at += name.copy(list, at);
  at = list.writeInt32BE(1, at);
  at = list.writeInt32BE(0, at);
  list.writeBigInt64BE(-1n, at);
  const listed = await probe.request(2, 1, list);
  const endOffset = listed.readBigInt64BE(4 + 2 + name.length + 4 + 4 + 2 + 8);
  probe.close();
  let running = true;
  const connections = await Promise.all(Array.from({ length: subscribers }, () => WireConnection.connect(host, Number(port))));
  const loops = connections.map(async (connection) => {
    let offset = endOffset;
    while (running) {
      try {
        const body = await connection.request(1, 4, fetchV4Body(values.topic, 0, offset));
        const now = Date.now();
        offset = walkFetchV4(body, offset, (timestamp, length) => count(1, length, now - timestamp));
      } catch (error) {
        if (running) fail(error.message);
        return;
      }
    }
  });
  const sent = await paced();
  await new Promise((resolve) => setTimeout(resolve, 500));
  running = false;
  for (const connection of connections) connection.close();
  await Promise.all(loops);
  return { sent, expected: sent * subscribers };
}

const modes = { 'rest-produce': restProduce, 'rest-stream': restStream, 'kafkajs-produce': kafkajsProduce, 'ws-fanout': wsFanout, 'wire-fanout': wireFanout };
if (!(mode in modes)) {
  console.error(`usage: gateway-load.mjs ${Object.keys(modes).join('|')} [options]`);
  process.exit(2);
}
const extra = (await modes[mode]()) ?? {};
clearInterval(reporter);
const measuredSeconds = Math.max(0.001, (Math.min(performance.now(), deadline) - measureFrom) / 1000);
console.log(
  `result ${JSON.stringify({
    mode,
    seconds: measuredSeconds,
    records: totals.records,
    recordsPerSec: totals.records / measuredSeconds,
    mbPerSec: totals.bytes / 1048576 / measuredSeconds,
    latencyMs: histogram.summaryMs(),
    errors: totals.errors,
    firstError: totals.firstError,
    ...extra,
  })}`,
);
process.exit(0);
