// Many client connections: opens N connections (each sends ApiVersions and Metadata, as
// every Kafka client does first), then each produces one 1 KiB record (acks=1, Produce v7)
// once a second to its own partition for S seconds, staggered over the second. Measures
// how long opening them took and the produce latency with all of them open. Uses the
// bench's wire client: no Kafka client library is built to open a thousand connections
// from one process.
//
//   node connections.mjs --bootstrap H:P --topic T --partitions P --connections N --seconds S

import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { API, WireConnection, encodeRecordBatch, metadataV1Body, produceV7Body, produceV7FirstError } from '../lib/kafka-wire.mjs';
import { LatencyHistogram } from '../lib/histogram.mjs';

const { values } = parseArgs({
  options: {
    bootstrap: { type: 'string' },
    topic: { type: 'string' },
    partitions: { type: 'string', default: '8' },
    connections: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '20' },
  },
});
const [host, portText] = values.bootstrap.split(':');
const port = Number(portText);
const wanted = Number(values.connections);
const partitions = Number(values.partitions);
const seconds = Number(values.seconds);

const connections = [];
let connectErrors = 0;
let firstError;
const openStart = performance.now();
for (let i = 0; i < wanted; i += 50) {
  const group = await Promise.allSettled(
    Array.from({ length: Math.min(50, wanted - i) }, async () => {
      const connection = await WireConnection.connect(host, port, 10_000);
      await connection.request(API.apiVersions, 0, Buffer.alloc(0));
      await connection.request(API.metadata, 1, metadataV1Body([values.topic]));
      return connection;
    }),
  );
  for (const result of group) {
    if (result.status === 'fulfilled') connections.push(result.value);
    else {
      connectErrors++;
      firstError ??= String(result.reason?.message ?? result.reason);
    }
  }
}
const openMs = performance.now() - openStart;
console.log(`connected ${connections.length} in ${Math.round(openMs)} ms`);

const value = randomBytes(1024);
const histogram = new LatencyHistogram();
let requests = 0;
let produceErrors = 0;
const start = performance.now();
const end = start + seconds * 1000;
let intervalRequests = 0;
const reporter = setInterval(() => {
  console.log(`interval ${Math.round(performance.now() - start)} ${intervalRequests} ${intervalRequests * 1024}`);
  intervalRequests = 0;
}, 1000);

await Promise.all(
  connections.map(async (connection, index) => {
    await new Promise((resolve) => setTimeout(resolve, (1000 * index) / connections.length));
    let next = performance.now();
    while (next < end && !connection.closed) {
      const sentAt = performance.now();
      try {
        const body = produceV7Body(values.topic, 1, 30_000, [{ partition: index % partitions, batch: encodeRecordBatch(value, 1) }]);
        const response = await connection.request(API.produce, 7, body);
        histogram.record((performance.now() - sentAt) * 1000);
        requests++;
        intervalRequests++;
        const error = produceV7FirstError(response);
        if (error !== 0) {
          produceErrors++;
          firstError ??= `Produce error code ${error}`;
        }
      } catch (error) {
        produceErrors++;
        firstError ??= String(error.message ?? error);
        break;
      }
      next += 1000;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }),
);
clearInterval(reporter);
const elapsed = (performance.now() - start) / 1000;
for (const connection of connections) connection.close();
console.log(
  `result ${JSON.stringify({
    connections: connections.length,
    connectErrors,
    openMs,
    requests,
    produceErrors,
    requestsPerSec: requests / elapsed,
    latency: histogram.summaryMs(),
    error: firstError,
  })}`,
);
process.exit(0);
