// Client telemetry (KIP-714): client-metrics subscriptions as config resources, the
// GetTelemetrySubscriptions / PushTelemetry rules at the wire level, pushed values on
// /metrics; then Kafka's own kafka-client-metrics tool and a Java producer pushing its
// metrics to the broker.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SpateBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { decodeMetricsData } from '../../src/telemetry/otlp.js';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable, runKafkaTool } from '../helpers/java-tools.js';
import { RawClient, encodeRequest } from '../helpers/raw-client.js';
import { run } from '../helpers/kcat.js';
import { decodeResponse } from '../../src/protocol/frame.js';

const CLIENT_METRICS = 16;
const SET = 0;
const APPEND = 2;
const ZERO = Buffer.alloc(16);

// A protobuf writer for the test's MetricsData (the broker's reader is the code under test).
function varint(value: number | bigint): Buffer {
  let rest = BigInt(value);
  const bytes: number[] = [];
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0n);
  return Buffer.from(bytes);
}
const field = (number: number, body: Buffer) => Buffer.concat([varint((number << 3) | 2), varint(body.length), body]);
const text = (number: number, value: string) => field(number, Buffer.from(value));
const double = (number: number, value: number) => {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleLE(value);
  return Buffer.concat([varint((number << 3) | 1), bytes]);
};
const keyValue = (key: string, value: string) => Buffer.concat([text(1, key), field(2, text(1, value))]);
const point = (value: number, attributes: Array<[string, string]>) =>
  Buffer.concat([double(4, value), ...attributes.map(([key, v]) => field(7, keyValue(key, v))), Buffer.from([0x19]), Buffer.alloc(8)]);
const gauge = (name: string, value: number, attributes: Array<[string, string]> = []) =>
  field(2, Buffer.concat([text(1, name), text(3, '1'), field(5, field(1, point(value, attributes)))]));
const sum = (name: string, value: number) => field(2, Buffer.concat([text(1, name), field(7, Buffer.concat([field(1, point(value, [])), Buffer.from([0x10, 0x01, 0x18, 0x01])]))]));
const histogram = (name: string) => field(2, Buffer.concat([text(1, name), field(9, Buffer.from([0x10, 0x01]))]));
function metricsData(metrics: Buffer[]): Buffer {
  const resource = field(1, field(1, keyValue('client_id', 'raw')));
  return field(1, Buffer.concat([resource, field(2, Buffer.concat([field(1, text(1, 'test-scope')), ...metrics]))]));
}

async function scrape(broker: SpateBroker): Promise<string[]> {
  return (await (await fetch(`${broker.httpUrl!}/metrics`)).text()).split('\n');
}

/** Scrapes /metrics every 200 ms (at most 2 minutes) and keeps the largest set of a client's series seen. */
function watchSeries(broker: SpateBroker, clientId: string): { stop(): Promise<string[]> } {
  let seen: string[] = [];
  let polling = true;
  const poller = (async () => {
    for (let round = 0; polling && round < 600; round++) {
      const lines = (await scrape(broker)).filter((line) => line.startsWith('spate_client_metric{') && line.includes(`client_id="${clientId}"`));
      if (lines.length > seen.length) seen = lines;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    async stop() {
      polling = false;
      await poller;
      return seen;
    },
  };
}

async function rawClient(t: Test, broker: SpateBroker, clientId: string): Promise<{ request: (apiKey: number, version: number, body: unknown) => Promise<any> }> {
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  let correlationId = 1;
  return {
    async request(apiKey, version, body) {
      const id = correlationId++;
      client.write(encodeRequest(apiKey, version, id, body, clientId));
      return (decodeResponse(apiKey, version, await client.nextFrame()) as { body: any }).body;
    },
  };
}

t.test('subscriptions, the push rules, and pushed values on /metrics', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-telemetry-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const broker = await startTestBroker(t, { dataDir });
  const admin = await rawClient(t, broker, 'admin');
  const alter = async (name: string, configs: Array<{ name: string; configOperation: number; value: string | null }>) =>
    (await admin.request(44, 1, { resources: [{ resourceType: CLIENT_METRICS, resourceName: name, configs }], validateOnly: false })).responses[0];

  const versions = await admin.request(18, 3, { clientSoftwareName: 'raw-test', clientSoftwareVersion: '1.0' });
  t.ok(versions.apiKeys.some((api: any) => api.apiKey === 71) && versions.apiKeys.some((api: any) => api.apiKey === 72), 'ApiVersions offers 71 and 72');

  t.match(await alter('bad', [{ name: 'interval.ms', configOperation: SET, value: '50' }]), { errorCode: ErrorCode.INVALID_CONFIG }, 'interval below 100 ms');
  t.match(await alter('bad', [{ name: 'match', configOperation: SET, value: 'colour=red' }]), { errorCode: ErrorCode.INVALID_CONFIG }, 'unknown match key');
  t.match(await alter('bad', [{ name: 'match', configOperation: SET, value: 'client_id=(' }]), { errorCode: ErrorCode.INVALID_CONFIG }, 'bad pattern');
  t.match(await alter('bad', [{ name: 'colour', configOperation: SET, value: 'x' }]), { errorCode: ErrorCode.INVALID_CONFIG }, 'unknown config');
  t.match(
    await alter('producers', [
      { name: 'metrics', configOperation: SET, value: 'org.apache.kafka.producer.' },
      { name: 'interval.ms', configOperation: SET, value: '1000' },
      { name: 'match', configOperation: SET, value: 'client_id=tel-.*' },
    ]),
    { errorCode: 0 },
  );
  t.match(await alter('producers', [{ name: 'metrics', configOperation: APPEND, value: 'org.apache.kafka.consumer.' }]), { errorCode: 0 }, 'APPEND to a list');
  const described = (
    await admin.request(32, 4, {
      resources: [{ resourceType: CLIENT_METRICS, resourceName: 'producers', configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    })
  ).results[0];
  t.same(Object.fromEntries(described.configs.map((c: any) => [c.name, c.value])), {
    metrics: 'org.apache.kafka.producer.,org.apache.kafka.consumer.',
    'interval.ms': '1000',
    match: 'client_id=tel-.*',
  });
  t.same((await admin.request(74, 0, {})).configResources, [{ resourceName: 'producers', resourceType: CLIENT_METRICS }], 'ListConfigResources v0 lists the subscription');

  const unmatched = await (await rawClient(t, broker, 'other')).request(71, 0, { clientInstanceId: ZERO });
  t.match(unmatched, { errorCode: 0, requestedMetrics: [], pushIntervalMs: 300000 }, 'a client no subscription matches pushes nothing');
  t.not(unmatched.clientInstanceId.toString('hex'), ZERO.toString('hex'), 'an instance id is assigned');

  const client = await rawClient(t, broker, 'tel-1');
  const subscription = await client.request(71, 0, { clientInstanceId: ZERO });
  t.match(subscription, { errorCode: 0, pushIntervalMs: 1000, acceptedCompressionTypes: [], telemetryMaxBytes: 1048576, deltaTemporality: true });
  t.same(subscription.requestedMetrics, ['org.apache.kafka.consumer.', 'org.apache.kafka.producer.']);
  const id: Buffer = subscription.clientInstanceId;
  const again = await client.request(71, 0, { clientInstanceId: id });
  t.equal(again.subscriptionId, subscription.subscriptionId, 'the same subscription id while nothing changes');
  t.same(again.clientInstanceId, id, 'and the same instance id');

  const push = (body: Partial<{ clientInstanceId: Buffer; subscriptionId: number; terminating: boolean; compressionType: number; metrics: Buffer }>) =>
    client.request(72, 0, { clientInstanceId: id, subscriptionId: subscription.subscriptionId, terminating: false, compressionType: 0, metrics: Buffer.alloc(0), ...body });
  const payload = metricsData([
    gauge('org.apache.kafka.producer.record.queue.time.avg', 2.5, [['client_id', 'tel-1']]),
    sum('org.apache.kafka.producer.record.send.total', 42),
    gauge('org.apache.kafka.other.thing', 7),
    histogram('org.apache.kafka.producer.latency.histogram'),
  ]);
  t.equal(decodeMetricsData(payload).points.length, 3, 'the payload holds three number points and a histogram');
  t.match(await push({ clientInstanceId: ZERO }), { errorCode: ErrorCode.INVALID_REQUEST }, 'a zero instance id');
  t.match(await push({ subscriptionId: subscription.subscriptionId + 1 }), { errorCode: ErrorCode.UNKNOWN_SUBSCRIPTION_ID }, 'a wrong subscription id');
  t.match(await push({ clientInstanceId: Buffer.alloc(16, 7) }), { errorCode: ErrorCode.UNKNOWN_SUBSCRIPTION_ID }, 'an unknown instance');
  t.match(await push({ compressionType: 1 }), { errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE }, 'gzip was not offered');
  t.match(await push({ metrics: Buffer.alloc(1048577) }), { errorCode: ErrorCode.TELEMETRY_TOO_LARGE });
  t.match(await push({ metrics: Buffer.from([0x0a, 0x7f, 0x01]) }), { errorCode: ErrorCode.INVALID_RECORD }, 'not MetricsData');
  t.match(await push({ metrics: payload }), { errorCode: 0 }, 'a good push');
  t.match(await push({ metrics: payload }), { errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED }, 'a second push at once is too early');

  const lines = (await scrape(broker)).filter((line) => line.startsWith('spate_client_metric{'));
  const hex = id.toString('hex');
  t.ok(
    lines.some(
      (line) =>
        line.includes(`client_instance_id="${hex}"`) &&
        line.includes('name="org.apache.kafka.producer.record.queue.time.avg"') &&
        line.includes('attributes="client_id=tel-1"') &&
        line.endsWith(' 2.5'),
    ),
    'a gauge with its attributes',
  );
  t.ok(
    lines.some((line) => line.includes('name="org.apache.kafka.producer.record.send.total"') && line.endsWith(' 42')),
    'a sum',
  );
  t.notOk(
    lines.some((line) => line.includes('org.apache.kafka.other.thing')),
    'a metric outside the subscription is not kept',
  );
  t.ok(
    (await scrape(broker)).some((line) => /^spate_client_telemetry_pushes_total\{result="THROTTLING_QUOTA_EXCEEDED"\} 1$/.test(line)),
    'outcomes are counted',
  );

  // A changed subscription: the old id is refused and the client asks again.
  t.match(await alter('producers', [{ name: 'interval.ms', configOperation: SET, value: '2000' }]), { errorCode: 0 });
  t.match(await push({ metrics: payload, terminating: true }), { errorCode: ErrorCode.UNKNOWN_SUBSCRIPTION_ID }, 'the subscription changed');
  const renewed = await client.request(71, 0, { clientInstanceId: id });
  t.not(renewed.subscriptionId, subscription.subscriptionId, 'a new subscription id');
  t.equal(renewed.pushIntervalMs, 2000);
  t.match(await push({ subscriptionId: renewed.subscriptionId, terminating: true }), { errorCode: 0 }, 'the terminating push is taken at once');
  t.notOk(
    (await scrape(broker)).some((line) => line.includes(`client_instance_id="${hex}"`)),
    "a terminated client's values are gone",
  );
  t.match(await push({ subscriptionId: renewed.subscriptionId }), { errorCode: ErrorCode.INVALID_REQUEST }, 'nothing after the terminating push');

  await broker.stop();
  const restarted = await startTestBroker(t, { dataDir });
  const after = await rawClient(t, restarted, 'admin');
  const kept = (
    await after.request(32, 4, {
      resources: [{ resourceType: CLIENT_METRICS, resourceName: 'producers', configurationKeys: ['interval.ms'] }],
      includeSynonyms: false,
      includeDocumentation: false,
    })
  ).results[0];
  t.match(kept.configs, [{ name: 'interval.ms', value: '2000', configSource: 7 }], 'subscriptions outlive a restart');
});

t.test('kafka-client-metrics, and a Java producer pushing its metrics', { skip: !javaToolsAvailable() && 'Kafka Java tools missing' }, async (t) => {
  const broker = await startTestBroker(t);
  const tool = (args: string[]) => runKafkaTool('org.apache.kafka.tools.ClientMetricsCommand', ['--bootstrap-server', broker.bootstrap, ...args]);
  const altered = await tool(['--alter', '--name', 'java-producers', '--metrics', 'org.apache.kafka.producer.', '--interval', '500', '--match', 'client_id=tel-java.*']);
  t.equal(altered.code, 0, altered.stderr);
  const described = await tool(['--describe', '--name', 'java-producers']);
  t.equal(described.code, 0, described.stderr);
  t.match(described.stdout, /org\.apache\.kafka\.producer\./);
  t.match(described.stdout, /500/);
  t.match(described.stdout, /client_id=tel-java\.\*/);
  const listed = await tool(['--list']);
  t.match(listed.stdout, /java-producers/);

  const watching = watchSeries(broker, 'tel-java');
  const producer = await runKafkaTool('org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    'telemetry',
    '--num-records',
    '20000',
    '--record-size',
    '100',
    '--throughput',
    '5000',
    '--producer-props',
    `bootstrap.servers=${broker.bootstrap}`,
    'client.id=tel-java',
    'acks=1',
  ]);
  const seen = await watching.stop();
  t.equal(producer.code, 0, producer.stderr);
  t.ok(seen.length > 5, `the producer's pushed metrics were on /metrics while it ran (${seen.length} series)`);
  t.ok(
    seen.every((line) => /name="org\.apache\.kafka\.producer\./.test(line)),
    'only the subscribed prefix',
  );
  t.ok(
    seen.some(
      (line) =>
        line.includes('name="org.apache.kafka.producer.record.send.total"') ||
        line.includes('name="org.apache.kafka.producer.request.total"') ||
        line.includes('org.apache.kafka.producer.node.request.latency'),
    ),
    'standard producer metrics among them',
  );
  const pushes = (await scrape(broker)).find((line) => line.startsWith('spate_client_telemetry_pushes_total{result="NONE"}'));
  t.ok(pushes !== undefined && Number(pushes.slice(pushes.lastIndexOf(' ') + 1)) >= 2, `accepted pushes counted (${pushes})`);
  // Whether the Java client's terminating push at close arrives depends on where its
  // telemetry state machine is when close() runs; the wire-level test covers what it does.
  t.comment((await scrape(broker)).filter((line) => line.startsWith('spate_client_telemetry_pushes_total')).join('; '));
});

// librdkafka 2.16 (confluent-kafka-python's wheel) pushes KIP-714 metrics too.
const LIBRDKAFKA_PRODUCER = `
import sys, time
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1], 'client.id': 'tel-rd', 'enable.metrics.push': True})
deadline = time.time() + 5
while time.time() < deadline:
    p.produce('telemetry-rd', b'x' * 100)
    p.poll(0.01)
p.flush(10)
`;

t.test('librdkafka pushes its metrics to a subscription', async (t) => {
  if ((await run('python3', ['-c', 'import confluent_kafka'])).code !== 0) {
    t.fail('confluent-kafka is not installed: `python3 -m pip install confluent-kafka==2.16.1` (.ci/run does)');
    return;
  }
  const broker = await startTestBroker(t);
  const admin = await rawClient(t, broker, 'admin');
  const altered = await admin.request(44, 1, {
    resources: [
      {
        resourceType: CLIENT_METRICS,
        resourceName: 'rd',
        configs: [
          { name: 'metrics', configOperation: SET, value: '*' },
          { name: 'interval.ms', configOperation: SET, value: '500' },
          { name: 'match', configOperation: SET, value: 'client_id=tel-rd,client_software_name=.*' },
        ],
      },
    ],
    validateOnly: false,
  });
  t.equal(altered.responses[0].errorCode, 0);
  const watching = watchSeries(broker, 'tel-rd');
  const producer = await run('python3', ['-c', LIBRDKAFKA_PRODUCER, broker.bootstrap], undefined, 60_000);
  const seen = await watching.stop();
  t.equal(producer.code, 0, producer.stderr.slice(-2000));
  t.ok(seen.length > 0, `librdkafka's pushed metrics were on /metrics (${seen.length} series)`);
  t.ok(
    seen.some((line) => line.includes('name="org.apache.kafka.producer.')),
    'under the standard producer names',
  );
});
