// Byte-rate quotas set with AlterClientQuotas are enforced: a kafkajs producer over its
// producer_byte_rate gets throttle_time_ms and a muted connection, and its measured rate
// stays at the quota (printed); a consumer over consumer_byte_rate gets throttle_time_ms in
// its Fetch answers. quota.window.num=2 keeps the allowed initial burst short.

import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

t.test('producer_byte_rate and consumer_byte_rate', async (t) => {
  const broker = await startTestBroker(t, { config: { 'quota.window.num': 2, 'quota.window.size.seconds': 1 } });
  const rate = 256 * 1024;
  const raw = await RawClient.connect(broker.bootstrap);
  const altered = await raw.request(49, 1, {
    entries: [
      { entity: [{ entityType: 'client-id', entityName: 'slow-producer' }], ops: [{ key: 'producer_byte_rate', value: rate, remove: false }] },
      { entity: [{ entityType: 'user', entityName: null }], ops: [{ key: 'consumer_byte_rate', value: 64 * 1024, remove: false }] },
    ],
    validateOnly: false,
  });
  t.same(
    altered.body.entries.map((e: { errorCode: number }) => e.errorCode),
    [0, 0],
    'quotas stored',
  );
  const described = await raw.request(48, 1, { components: [{ entityType: 'client-id', matchType: 0, match: 'slow-producer' }], strict: true });
  t.same(described.body.entries[0].values, [{ key: 'producer_byte_rate', value: rate }], 'DescribeClientQuotas (strict, exact name)');

  const kafka = new Kafka({ clientId: 'slow-producer', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'quota-topic' }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const value = Buffer.alloc(16 * 1024, 7);
  const total = 2 * 1024 * 1024;
  const started = Date.now();
  for (let sent = 0; sent < total; sent += value.length) await producer.send({ topic: 'quota-topic', acks: 1, messages: [{ value }] });
  const seconds = (Date.now() - started) / 1000;
  await producer.disconnect();
  const measured = total / seconds;
  t.comment(`producer: ${(total / 1048576).toFixed(1)} MiB in ${seconds.toFixed(1)} s = ${(measured / 1024).toFixed(0)} KiB/s against a quota of ${rate / 1024} KiB/s`);
  // The quota is an upper bound: what must hold is that the producer is not faster than it
  // (a busy machine may make it slower; that is reported above, not asserted).
  t.ok(measured <= rate * 1.2, `the producer stays within 20% above its quota (${(measured / 1024).toFixed(0)} KiB/s)`);

  const fetchOnce = async (id: number) =>
    (
      await raw.request(
        1,
        12,
        {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1048576,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: 'quota-topic',
              partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1048576 }],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        },
        id,
      )
    ).body;
  const first = await fetchOnce(10);
  t.ok(first.responses[0].partitions[0].records !== null, 'the fetch returns records');
  t.ok(first.throttleTimeMs > 0, `a 1 MiB fetch over a 64 KiB/s consumer quota answers throttle_time_ms=${first.throttleTimeMs}`);
  raw.close();
});
