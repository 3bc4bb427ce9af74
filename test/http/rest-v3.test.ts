// The REST Proxy v3 resources with Node's fetch(): clusters, topics (create, list, get,
// delete), partitions, configs, produce with JSON/STRING/BINARY keys and values and headers
// (read back with kafkajs), several records in one body, consumer groups, consumers and lags,
// and errors in the proxy's {"error_code", "message"} form.

import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { partitionForKey } from '../../src/http/partitioner.js';
import { parseJsonSequence } from '../../src/http/record-stream.js';
import { createRequire } from 'node:module';

// kafkajs's Java-compatible murmur2, as the reference for Kafka's default placement.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

t.test('REST v3 round trips', async (t) => {
  const broker = await startTestBroker(t);
  const url = broker.httpUrl!;
  const clusters = (await (await fetch(`${url}/v3/clusters`)).json()) as { kind: string; data: Array<{ cluster_id: string; topics: { related: string } }> };
  t.equal(clusters.kind, 'KafkaClusterList');
  const clusterId = clusters.data[0]!.cluster_id;
  const cluster = `${url}/v3/clusters/${clusterId}`;
  t.equal(clusters.data[0]!.topics.related, `${cluster}/topics`);

  const created = await fetch(`${cluster}/topics`, json({ topic_name: 'orders', partitions_count: 3, configs: [{ name: 'retention.ms', value: '3600000' }] }));
  t.equal(created.status, 201);
  const topic = (await created.json()) as Record<string, unknown>;
  t.match(topic, { kind: 'KafkaTopic', topic_name: 'orders', partitions_count: 3, is_internal: false, cluster_id: clusterId });

  const again = await fetch(`${cluster}/topics`, json({ topic_name: 'orders', partitions_count: 3 }));
  t.equal(again.status, 400);
  t.match(await again.json(), { error_code: 40002, message: /already exists/ });
  const badConfig = await fetch(`${cluster}/topics`, json({ topic_name: 'bad', configs: [{ name: 'cleanup.policy', value: 'sometimes' }] }));
  t.equal(badConfig.status, 400);
  t.match(await badConfig.json(), { error_code: 40002 });
  const malformed = await fetch(`${cluster}/topics`, { method: 'POST', body: '{"topic_name":' });
  t.equal(malformed.status, 400);
  t.match(await malformed.json(), { error_code: 400, message: /Malformed JSON/ });

  const list = (await (await fetch(`${cluster}/topics`)).json()) as { kind: string; data: Array<{ topic_name: string }> };
  t.equal(list.kind, 'KafkaTopicList');
  t.ok(list.data.some((entry) => entry.topic_name === 'orders'));
  const missing = await fetch(`${cluster}/topics/nope`);
  t.equal(missing.status, 404);
  t.match(await missing.json(), { error_code: 40403 });
  const wrongCluster = await fetch(`${url}/v3/clusters/other/topics`);
  t.equal(wrongCluster.status, 404);
  t.match(await wrongCluster.json(), { error_code: 404 });

  const partitions = (await (await fetch(`${cluster}/topics/orders/partitions`)).json()) as { data: Array<{ partition_id: number; kind: string }> };
  t.same(
    partitions.data.map((p) => p.partition_id),
    [0, 1, 2],
  );
  t.equal(partitions.data[0]!.kind, 'KafkaPartition');
  const configs = (await (await fetch(`${cluster}/topics/orders/configs`)).json()) as { data: Array<{ name: string; value: string; source: string; is_default: boolean }> };
  t.match(
    configs.data.find((c) => c.name === 'retention.ms'),
    { value: '3600000', source: 'TOPIC_CONFIG', is_default: false },
  );
  t.match(
    configs.data.find((c) => c.name === 'cleanup.policy'),
    { value: 'delete', is_default: true, source: 'DEFAULT_CONFIG' },
  );

  // Produce: JSON key and value, headers; STRING; BINARY; explicit partition.
  const first = await fetch(
    `${cluster}/topics/orders/records`,
    json({ key: { type: 'JSON', data: { id: 7 } }, value: { type: 'JSON', data: { total: 12.5 } }, headers: [{ name: 'source', value: Buffer.from('rest').toString('base64') }] }),
  );
  t.equal(first.status, 200);
  const firstAnswer = (await first.json()) as Record<string, unknown>;
  t.match(firstAnswer, { error_code: 200, topic_name: 'orders', offset: 0, key: { type: 'JSON', size: 8 }, value: { type: 'JSON', size: 14 } });
  t.equal(firstAnswer['partition_id'], partitionForKey(Buffer.from('{"id":7}'), 3), 'keyed records follow the murmur2 partitioner');
  const stringRecord = (await (
    await fetch(`${cluster}/topics/orders/records`, json({ partition_id: 1, key: { type: 'STRING', data: 'alice' }, value: { type: 'STRING', data: 'hello' } }))
  ).json()) as Record<string, unknown>;
  t.match(stringRecord, { partition_id: 1, offset: 0 });
  const binary = (await (
    await fetch(`${cluster}/topics/orders/records`, json({ partition_id: 1, value: { type: 'BINARY', data: Buffer.from([0, 255, 1]).toString('base64') } }))
  ).json()) as Record<string, unknown>;
  t.match(binary, { partition_id: 1, offset: 1, key: null, value: { type: 'BINARY', size: 3 } });

  // Streamed produce: several records in one body, one answer per record.
  const stream = await fetch(`${cluster}/topics/orders/records`, {
    method: 'POST',
    body: `{"partition_id":2,"value":{"type":"STRING","data":"a"}}\n{"partition_id":2,"value":{"type":"STRING","data":"b"}}{"partition_id":9,"value":{"type":"STRING","data":"c"}}`,
  });
  t.equal(stream.status, 200);
  const answers = (await stream.text()).split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  t.equal(answers.length, 3);
  t.match(answers[0], { partition_id: 2, error_code: 200 });
  t.match(answers[1], { partition_id: 2, error_code: 200 });
  t.match(answers[2], { error_code: 40403 }, 'a bad partition fails that record only');
  const badType = await fetch(`${cluster}/topics/orders/records`, json({ value: { type: 'AVRO', data: 1 } }));
  t.equal(badType.status, 400);
  t.match(await badType.json(), { error_code: 400, message: /unsupported type/ });

  // What REST wrote, a Kafka client reads.
  const kafka = new Kafka({ clientId: 'rest-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: 'rest-readers' });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  const seen: Array<{ partition: number; key: string | null; value: Buffer | null; headers: Record<string, unknown> }> = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafkajs read ${seen.length} records`)), 30_000);
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ partition, key: message.key?.toString() ?? null, value: message.value, headers: message.headers ?? {} });
        if (seen.length === 5) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  const keyed = seen.find((record) => record.key === '{"id":7}')!;
  t.equal(keyed.value!.toString(), '{"total":12.5}');
  t.equal(String(keyed.headers['source']), 'rest');
  t.same([...seen.find((record) => record.partition === 1 && record.key === null)!.value!], [0, 255, 1]);
  t.equal(seen.find((record) => record.key === 'alice')!.value!.toString(), 'hello');

  // Consumer groups: the live group, its consumer and its lags.
  const groups = (await (await fetch(`${cluster}/consumer-groups`)).json()) as { data: Array<Record<string, unknown>> };
  t.match(
    groups.data.find((group) => group['consumer_group_id'] === 'rest-readers'),
    { kind: 'KafkaConsumerGroup', state: 'STABLE', is_simple: false, type: 'CLASSIC' },
  );
  const consumers = (await (await fetch(`${cluster}/consumer-groups/rest-readers/consumers`)).json()) as { data: Array<Record<string, unknown>> };
  t.equal(consumers.data.length, 1);
  t.match(consumers.data[0], { kind: 'KafkaConsumer', client_id: 'rest-test' });
  await consumer.stop(); // commits
  const lags = (await (await fetch(`${cluster}/consumer-groups/rest-readers/lags`)).json()) as { data: Array<Record<string, unknown>> };
  t.equal(lags.data.length, 3);
  for (const lag of lags.data) t.match(lag, { kind: 'KafkaConsumerLag', lag: 0 });
  t.equal(
    lags.data.reduce((sum, lag) => sum + (lag['log_end_offset'] as number), 0),
    5,
  );
  await fetch(`${cluster}/topics/orders/records`, json({ partition_id: 0, value: { type: 'STRING', data: 'late' } }));
  const later = (await (await fetch(`${cluster}/consumer-groups/rest-readers/lags`)).json()) as { data: Array<Record<string, unknown>> };
  t.equal(later.data.find((lag) => lag['partition_id'] === 0)!['lag'], 1, 'lag grows with a record produced after the commit');
  t.equal((await fetch(`${cluster}/consumer-groups/nobody/lags`)).status, 404);
  await consumer.disconnect();

  const deleted = await fetch(`${cluster}/topics/orders`, { method: 'DELETE' });
  t.equal(deleted.status, 204);
  t.equal((await fetch(`${cluster}/topics/orders`)).status, 404);
  const deleteMissing = await fetch(`${cluster}/topics/orders`, { method: 'DELETE' });
  t.equal(deleteMissing.status, 404);
  t.match(await deleteMissing.json(), { error_code: 40403 });
  t.equal((await fetch(`${url}/v4/nothing`)).status, 404);
});

t.test('a streamed body is split into its JSON records', async (t) => {
  t.same(parseJsonSequence(Buffer.from('{"a":"}{"} {"b":[1,{"c":2}]}\n')), [{ a: '}{' }, { b: [1, { c: 2 }] }]);
  t.throws(() => parseJsonSequence(Buffer.from('{"a":1')), /ends inside/);
  t.throws(() => parseJsonSequence(Buffer.from('{"a":1} x')), /unexpected/);
});

t.test('the partitioner places keys as Kafka murmur2 does (kafkajs as the reference)', async (t) => {
  for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'user-42', '{"id":7}', 'ünïcødé', 'x'.repeat(101)]) {
    const bytes = Buffer.from(key);
    t.equal(partitionForKey(bytes, 1000), (kafkajsMurmur2(bytes) & 0x7fffffff) % 1000, `key '${key.slice(0, 10)}'`);
  }
});

t.test('streamed produce answers each record while the body is still arriving', async (t) => {
  const broker = await startTestBroker(t);
  const url = new URL(broker.httpUrl!);
  const clusterId = ((await (await fetch(`${url.origin}/v3/clusters`)).json()) as { data: Array<{ cluster_id: string }> }).data[0]!.cluster_id;
  t.equal((await fetch(`${url.origin}/v3/clusters/${clusterId}/topics`, json({ topic_name: 'streamed', partitions_count: 1 }))).status, 201);
  const { request } = await import('node:http');
  const answers: Array<Record<string, unknown>> = [];
  let body = '';
  const waiters: Array<() => void> = [];
  const req = request({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path: `/v3/clusters/${clusterId}/topics/streamed/records`,
    headers: { 'transfer-encoding': 'chunked' },
  });
  const response = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        for (const wake of waiters.splice(0)) wake();
      });
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  const nextAnswer = async (count: number) => {
    const deadline = Date.now() + 20_000;
    while (body.split('\n').filter((line) => line.trim() !== '').length < count) {
      if (Date.now() > deadline) throw new Error(`only ${body}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  };
  // Two records first (the second makes it a stream), then one more after their answers came.
  req.write('{"value":{"type":"STRING","data":"one"}}');
  req.write('{"value":{"type":"STRING","data":"two"}}\n{"value":');
  await nextAnswer(2);
  t.pass('two answers arrived before the body was finished');
  req.write('{"type":"STRING","data":"three"}}');
  req.end();
  t.equal(await response, 200);
  for (const line of body.split('\n')) answers.push(JSON.parse(line) as Record<string, unknown>);
  t.same(
    answers.map((answer) => answer['offset']),
    [0, 1, 2],
  );
});
