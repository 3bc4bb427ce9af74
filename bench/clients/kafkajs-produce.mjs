// kafkajs producer load: sends `records` records of `size` bytes to `topic` as fast as
// kafkajs allows, each send() carrying up to `batchBytes` of records (kafkajs spreads them
// over the partitions round-robin, one batch per partition per request), with `inFlight`
// sends outstanding. Bounded by count and by --max-seconds. Prints "interval <ms> <records>
// <bytes>" once a second and a final "result {json}".
//
//   node kafkajs-produce.mjs --bootstrap H:P --topic T --records N --size B --acks 1|-1

import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

const { values } = parseArgs({
  options: {
    bootstrap: { type: 'string' },
    topic: { type: 'string' },
    records: { type: 'string' },
    size: { type: 'string', default: '1024' },
    acks: { type: 'string', default: '1' },
    'batch-bytes': { type: 'string', default: String(1024 * 1024) },
    'in-flight': { type: 'string', default: '5' },
    'max-seconds': { type: 'string', default: '60' },
  },
});
const total = Number(values.records);
const size = Number(values.size);
const acks = Number(values.acks);
const perSend = Math.max(1, Math.floor(Number(values['batch-bytes']) / size));
const inFlight = Number(values['in-flight']);
const deadline = performance.now() + Number(values['max-seconds']) * 1000;

const kafka = new Kafka({ clientId: 'spate-bench-kafkajs', brokers: [values.bootstrap], logLevel: logLevel.NOTHING });
const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: inFlight });
await producer.connect();

const value = randomBytes(size);
const messages = Array.from({ length: perSend }, () => ({ value }));
let sent = 0;
let acked = 0;
let errors = 0;
let firstError;
const start = performance.now();
let intervalRecords = 0;
let lastReport = start;
const reporter = setInterval(() => {
  const now = performance.now();
  console.log(`interval ${Math.round(now - start)} ${intervalRecords} ${intervalRecords * size}`);
  intervalRecords = 0;
  lastReport = now;
}, 1000);

async function worker() {
  while (sent < total && performance.now() < deadline) {
    const count = Math.min(perSend, total - sent);
    sent += count;
    try {
      await producer.send({ topic: values.topic, acks, messages: count === perSend ? messages : messages.slice(0, count) });
      acked += count;
      intervalRecords += count;
    } catch (error) {
      errors++;
      firstError ??= error;
      if (errors > 10) break;
    }
  }
}
await Promise.all(Array.from({ length: inFlight }, worker));
const seconds = (performance.now() - start) / 1000;
clearInterval(reporter);
console.log(`interval ${Math.round(performance.now() - start)} ${intervalRecords} ${intervalRecords * size}`);
void lastReport;
await producer.disconnect();
console.log(
  `result ${JSON.stringify({
    records: acked,
    bytes: acked * size,
    seconds,
    recordsPerSec: acked / seconds,
    mbPerSec: (acked * size) / seconds / (1024 * 1024),
    errors,
    error: firstError ? String(firstError.message ?? firstError) : undefined,
    stopped: acked >= total ? 'count' : 'time',
  })}`,
);
process.exit(0);
