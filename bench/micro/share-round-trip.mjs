#!/usr/bin/env node
// The latency of a share consumer's cycle on a single node: ShareFetch of one record, then
// ShareAcknowledge (ACCEPT) of it, over loopback from one raw client connection, sequential,
// with the broker in this process. Records are produced beforehand, one per batch. Prints
// the percentiles of the whole cycle and of each request, in microseconds.
//
//   node bench/micro/share-round-trip.mjs [DIST] [ITERATIONS]   (DIST: a built dist/ directory, default this tree's)

import { connect } from 'node:net';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const dist = pathToFileURL(resolve(process.argv[2] ?? new URL('../../dist/', import.meta.url).pathname) + '/');
const iterations = Number(process.argv[3] ?? 10000);
const warmup = 2000;
const load = (path) => import(new URL(path, dist).href);

const [{ startBroker }, { encodeRequest, decodeResponse }, { encodeRecordBatch }] = await Promise.all([
  load('index.js'),
  load('protocol/frame.js'),
  load('protocol/record-batch.js'),
]);

const broker = await startBroker({ port: 0, temporary: true, logLevel: 'warn', config: { 'group.share.record.lock.duration.ms': 60000 } });
const socket = connect({ host: '127.0.0.1', port: broker.port, noDelay: true });
await new Promise((done) => socket.once('connect', done));
let buffered = Buffer.alloc(0);
const waiting = new Map();
let correlation = 0;
socket.on('data', (chunk) => {
  buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
  while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
    const size = buffered.readInt32BE(0);
    const frame = buffered.subarray(4, 4 + size);
    buffered = buffered.subarray(4 + size);
    const id = frame.readInt32BE(0);
    const pending = waiting.get(id);
    waiting.delete(id);
    pending.resolve(decodeResponse(pending.apiKey, pending.version, frame).body);
  }
});
const call = (apiKey, version, body) =>
  new Promise((done) => {
    const id = ++correlation;
    waiting.set(id, { apiKey, version, resolve: done });
    socket.write(encodeRequest(apiKey, version, id, 'share-bench', body));
  });

const topic = 'queue';
await call(19, 5, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
const topicId = broker.logs.topic(topic).id;
const total = warmup + iterations + 1;
for (let i = 0; i < total; i += 100) {
  // 100 single-record batches per Produce request.
  const records = Buffer.concat(Array.from({ length: 100 }, (_, j) => encodeRecordBatch({ records: [{ key: null, value: Buffer.alloc(100, i + j) }] })));
  await call(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
}
await call(91, 0, { groupId: 'bench', topics: [{ topicName: topic, partitions: [{ partitionIndex: 0, startOffset: 0n }] }] });
await call(76, 1, { groupId: 'bench', memberId: 'bench-member', memberEpoch: 0, rackId: null, subscribedTopicNames: [topic] });
const fetch = (epoch) =>
  call(78, 2, {
    groupId: 'bench',
    memberId: 'bench-member',
    shareSessionEpoch: epoch,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    maxRecords: 1,
    batchSize: 1,
    shareAcquireMode: 0,
    isRenewAck: false,
    topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [] }] }],
    forgottenTopicsData: [],
  });
const opened = (await fetch(0)).responses[0].partitions[0].acquiredRecords[0];
const ackOf = (range, epoch) =>
  call(79, 2, {
    groupId: 'bench',
    memberId: 'bench-member',
    shareSessionEpoch: epoch,
    isRenewAck: false,
    topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: range.firstOffset, lastOffset: range.lastOffset, acknowledgeTypes: [1] }] }] }],
  });
await ackOf(opened, 1);
let epoch = 2;
const cycle = [];
const fetchTimes = [];
const ackTimes = [];
for (let i = 0; i < total; i++) {
  const started = process.hrtime.bigint();
  const fetched = await fetch(epoch++);
  const range = fetched.responses[0]?.partitions[0]?.acquiredRecords[0];
  if (range === undefined) throw new Error(`nothing acquired at iteration ${i}`);
  const middle = process.hrtime.bigint();
  const acked = await ackOf(range, epoch++);
  if (acked.responses[0].partitions[0].errorCode !== 0) throw new Error(`ack error ${acked.responses[0].partitions[0].errorCode}`);
  const ended = process.hrtime.bigint();
  if (i >= warmup) {
    cycle.push(Number(ended - started) / 1000);
    fetchTimes.push(Number(middle - started) / 1000);
    ackTimes.push(Number(ended - middle) / 1000);
  }
}
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))].toFixed(1);
const line = (name, values) => `${name.padEnd(17)} p50 ${percentile(values, 50)}  p90 ${percentile(values, 90)}  p99 ${percentile(values, 99)} us`;
console.log(`${iterations} cycles (${warmup} warm-up), dist ${dist.pathname}`);
console.log(line('fetch + ack', cycle));
console.log(line('ShareFetch', fetchTimes));
console.log(line('ShareAcknowledge', ackTimes));
socket.destroy();
await broker.stop();
