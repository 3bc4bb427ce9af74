// /metrics moves with traffic: kafkajs produces, fetches and commits; the request counters
// and latency histograms per API and version, bytes and messages per topic, the log gauges,
// the consumer-group lag and the connection count all change, and the exposition passes
// `promtool check metrics` when promtool is installed. /health and /ready answer.

import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { run } from '../helpers/kcat.js';
import { countRecords } from '../../src/metrics/broker-metrics.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

/** `name{labels} value` lines of the exposition, by series. */
function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((path) => existsSync(path));

t.test('counters, histograms and gauges follow kafkajs traffic', async (t) => {
  const broker = await startTestBroker(t, { config: { 'num.partitions': 2 } });
  const url = broker.httpUrl!;
  t.ok(url.startsWith('http://127.0.0.1:'), 'an ephemeral HTTP port with an ephemeral Kafka port');
  t.equal((await fetch(`${url}/health`)).status, 200);
  const ready = await fetch(`${url}/ready`);
  t.equal(ready.status, 200);
  t.same(await ready.json(), { status: 'READY' });

  const before = parse(await (await fetch(`${url}/metrics`)).text());
  t.notOk(before.has('spate_topic_messages_in_total{topic="metered"}'));

  const kafka = new Kafka({ clientId: 'metrics-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'metered', numPartitions: 2 }] });
  const producer = kafka.producer();
  await producer.connect();
  const messages = Array.from({ length: 25 }, (_, index) => ({ key: `k${index}`, value: `value-${index}`.repeat(10) }));
  await producer.send({ topic: 'metered', messages });
  await producer.send({ topic: 'metered', messages: messages.slice(0, 5) });

  const consumer = kafka.consumer({ groupId: 'metered-group' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'metered', fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('kafkajs consumed only ' + seen)), 30_000);
    void consumer.run({
      eachMessage: async () => {
        if (++seen === 30) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.stop(); // commits what was consumed
  // Records produced after the commit are the group's lag.
  await producer.send({ topic: 'metered', messages: messages.slice(0, 4).map((m) => ({ ...m, partition: 0 })) });

  const text = await (await fetch(`${url}/metrics`)).text();
  const after = parse(text);
  t.equal(after.get('spate_topic_messages_in_total{topic="metered"}'), 34, 'every produced record counted');
  t.ok(after.get('spate_topic_bytes_in_total{topic="metered"}')! > 34 * 60, 'bytes in counted');
  t.ok(after.get('spate_topic_bytes_out_total{topic="metered"}')! > 30 * 60, 'fetched bytes counted');
  const produceRequests = [...after].filter(([key]) => key.startsWith('spate_requests_total{api="Produce"'));
  t.ok(produceRequests.reduce((sum, [, value]) => sum + value, 0) >= 3, 'produce requests counted per version');
  const fetchVersion = [...after.keys()].find((key) => key.startsWith('spate_request_duration_seconds_count{api="Fetch"'));
  t.ok(fetchVersion !== undefined && after.get(fetchVersion)! > 0, 'fetch latency histogram observed');
  const produceBucket = [...after].find(([key]) => key.startsWith('spate_request_duration_seconds_bucket{le="+Inf",api="Produce"'));
  t.ok(produceBucket !== undefined && produceBucket[1] >= 1, 'produce latency histogram has a +Inf bucket');
  const endOffsets = (after.get('spate_log_end_offset{topic="metered",partition="0"}') ?? 0) + (after.get('spate_log_end_offset{topic="metered",partition="1"}') ?? 0);
  t.equal(endOffsets, 34, 'log end offsets of both partitions');
  t.ok(after.get('spate_log_size_bytes{topic="metered",partition="0"}')! > 0);
  t.equal(after.get('spate_log_segments{topic="metered",partition="0"}'), 1);
  t.equal(after.get('spate_consumer_group_lag{group="metered-group",topic="metered",partition="0"}'), 4, 'lag after the commit');
  t.equal(after.get('spate_consumer_group_lag{group="metered-group",topic="metered",partition="1"}'), 0);
  t.ok(after.get('spate_active_connections{listener="PLAINTEXT"}')! >= 1, 'kafkajs connections counted');
  t.ok(after.has('nodejs_eventloop_lag_p99_seconds'), 'event loop lag from the default metrics');
  t.ok(after.has('nodejs_eventloop_utilization_ratio'));
  t.match(text, /# TYPE nodejs_gc_duration_seconds histogram/, 'GC pauses histogram');

  // An error code in a response is counted by name.
  await admin.createTopics({ topics: [{ topic: 'metered' }] }).catch(() => undefined);
  await producer.disconnect();
  await consumer.disconnect();
  await admin.disconnect();
  const final = parse(await (await fetch(`${url}/metrics`)).text());
  t.equal(final.get('spate_request_errors_total{api="CreateTopics",error="TOPIC_ALREADY_EXISTS"}'), 1, 'CreateTopics error counted by name');

  if (PROMTOOL === undefined) {
    t.comment('promtool not installed: exposition not checked');
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'spate-metrics-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'metrics.txt');
    writeFileSync(file, text);
    const checked = await run('/bin/sh', ['-c', `${PROMTOOL} check metrics < ${file}`]);
    // promtool exits 1 for lint findings too (help text style); only a parse error prints "error while linting".
    const output = checked.stderr + checked.stdout;
    t.notMatch(output, /error while linting|text format parsing error/, 'promtool parses the exposition');
    t.notMatch(output, /spate_/, `promtool finds nothing to lint in Spate's own metrics (prom-client's defaults: ${output.trim()})`);
  }
});

t.test('records are counted from the batch headers', async (t) => {
  const one = encodeRecordBatch({ records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
  const two = encodeRecordBatch({ baseOffset: 3n, records: [{ value: 'd' }] });
  t.equal(countRecords(Buffer.concat([one, two])), 4);
  t.equal(countRecords(Buffer.alloc(0)), 0);
});

t.test('http.listeners empty disables the HTTP side', async (t) => {
  const broker = await startTestBroker(t, { config: { 'http.listeners': '' } });
  t.equal(broker.httpPort, undefined);
  t.equal(broker.httpUrl, undefined);
});
