// Kafka's RequestMetrics split of request time, as Prometheus histograms per API: a kafkajs
// produce shows local, queue, response-queue, send and total times with consistent counts;
// a Fetch long poll that waits for data shows as remote time; acks=all in a cluster waits
// for the followers (remote time on the leader). And the native read queue gauge counts
// reads queued to libuv's thread pool until they are answered.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { startTestCluster } from '../helpers/cluster.js';
import { readQueue, SegmentLog, validateBatches } from '../../src/log/native.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

const scrape = async (url: string) => parse(await (await fetch(`${url}/metrics`)).text());

t.test('the request time split of Produce and Fetch', async (t) => {
  const broker = await startTestBroker(t);
  const url = broker.httpUrl!;
  const kafka = new Kafka({ clientId: 'split', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'timed', numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  for (let i = 0; i < 20; i++) await producer.send({ topic: 'timed', acks: 1, messages: [{ value: `v${i}` }] });

  // A consumer that caught up parks its fetches (kafkajs: maxWaitTimeInMs) until new data.
  const consumer = kafka.consumer({ groupId: 'split-group', maxWaitTimeInMs: 2000 });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'timed', fromBeginning: true });
  let seen = 0;
  let wake: () => void = () => undefined;
  await consumer.run({
    eachMessage: async () => {
      seen++;
      wake();
    },
  });
  await new Promise<void>((resolve) => {
    wake = () => seen >= 20 && resolve();
    wake();
  });
  // Parked now; the produce wakes it.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await producer.send({ topic: 'timed', acks: 1, messages: [{ value: 'wake' }] });
  await new Promise<void>((resolve) => {
    wake = () => seen >= 21 && resolve();
    wake();
  });

  const after = await scrape(url);
  const count = (metric: string, api: string) => after.get(`${metric}_count{api="${api}"}`) ?? 0;
  const sum = (metric: string, api: string) => after.get(`${metric}_sum{api="${api}"}`) ?? 0;
  const produced = [...after].filter(([key]) => key.startsWith('spate_requests_total{api="Produce"')).reduce((total, [, value]) => total + value, 0);
  t.ok(produced >= 21, `Produce requests counted (${produced})`);
  t.equal(count('spate_request_local_time_seconds', 'Produce'), produced, 'one local time per Produce');
  t.equal(count('spate_request_remote_time_seconds', 'Produce'), produced, 'and one remote time');
  t.equal(sum('spate_request_remote_time_seconds', 'Produce'), 0, 'acks=1 on one broker never waits for others');
  for (const metric of ['spate_request_queue_time_seconds', 'spate_response_queue_time_seconds', 'spate_response_send_time_seconds', 'spate_request_total_time_seconds']) {
    t.equal(count(metric, 'Produce'), produced, `${metric}: one per answered Produce`);
  }
  const parts = ['spate_request_queue_time_seconds', 'spate_request_local_time_seconds', 'spate_response_queue_time_seconds', 'spate_response_send_time_seconds'].reduce(
    (total, metric) => total + sum(metric, 'Produce'),
    0,
  );
  t.ok(sum('spate_request_total_time_seconds', 'Produce') >= parts * 0.999, 'the total covers its parts (encoding shows only in the total)');
  t.ok(sum('spate_request_local_time_seconds', 'Produce') > 0, 'the handler takes some time');

  // The parked fetch: at least ~300 ms waited for the append, as remote time.
  t.ok(sum('spate_request_remote_time_seconds', 'Fetch') >= 0.25, `Fetch long polls are remote time (${sum('spate_request_remote_time_seconds', 'Fetch')} s)`);
  t.ok(sum('spate_request_total_time_seconds', 'Fetch') >= sum('spate_request_remote_time_seconds', 'Fetch'), 'and part of the total');
  t.ok((after.get('spate_request_remote_time_seconds_bucket{le="0.1",api="Fetch"}') ?? 0) < count('spate_request_remote_time_seconds', 'Fetch'), 'some fetch waited over 100 ms');
  t.ok(count('spate_request_total_time_seconds', 'JoinGroup') >= 1, 'every API has its histograms (JoinGroup)');
  t.ok(after.has('spate_native_read_queue_depth{state="queued"}'), 'the native read queue gauge is exported');
  t.equal(after.get('spate_leader_partitions'), after.get('spate_replica_partitions'), 'one broker leads every partition it holds');
  t.equal(after.get('spate_under_replicated_partitions'), 0);
  t.equal(after.get('spate_offline_partitions'), 0);
});

t.test('acks=all waits for the followers: remote time on the leader', async (t) => {
  const cluster = await startTestCluster(t, { brokers: 2 });
  const leader = cluster.broker(0);
  const kafka = new Kafka({ clientId: 'split-all', brokers: [leader.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'replicated', replicaAssignment: [{ partition: 0, replicas: [0, 1] }] }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  for (let i = 0; i < 10; i++) await producer.send({ topic: 'replicated', acks: -1, messages: [{ value: `v${i}` }] });
  const after = await scrape(leader.httpUrl!);
  const remote = after.get('spate_request_remote_time_seconds_sum{api="Produce"}') ?? 0;
  t.ok(remote > 0, `acks=all produces waited for broker 1 (${(remote * 1000).toFixed(1)} ms in all)`);
});

t.test('spate.metrics.request.hook.enable=false: no per-request series, the gauges stay', async (t) => {
  const broker = await startTestBroker(t, { config: { 'spate.metrics.request.hook.enable': false } });
  const kafka = new Kafka({ clientId: 'no-hook', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic: 'unhooked', messages: [{ value: 'v' }] });
  const after = await scrape(broker.httpUrl!);
  t.notOk(
    [...after.keys()].some((key) => key.startsWith('spate_requests_total{') || key.startsWith('spate_request_total_time_seconds_count{')),
    'no request counted or timed',
  );
  t.equal(after.get('spate_topic_messages_in_total{topic="unhooked"}'), undefined, 'no topic counters');
  t.equal(after.get('spate_log_end_offset{topic="unhooked",partition="0"}'), 1, 'the log gauges are read at scrape time as before');
});

t.test('the native read queue counts reads until they are answered', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-read-queue-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new SegmentLog(dir);
  t.teardown(() => log.close());
  const records = encodeRecordBatch({ records: [{ value: 'x'.repeat(1000) }] });
  log.append(records, validateBatches(records), Date.now());
  const before = readQueue().queued;
  const reads = Array.from({ length: 64 }, () => log.read(0n, 1 << 20, true));
  t.equal(readQueue().queued, before + 64, 'queued as soon as asked');
  t.ok(readQueue().running <= readQueue().queued, 'running ones are among the queued');
  const slices = await Promise.all(reads);
  for (const slice of slices) slice?.release();
  t.equal(readQueue().queued, before, 'and gone once answered');
});
