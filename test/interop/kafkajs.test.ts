// kafkajs 2.2.4 against Spate: admin, producers with every acks mode, the idempotent
// producer; everything read back by an independent client (kcat / librdkafka).

import t from 'tap';
import { Kafka, logLevel, Partitioners, CompressionTypes } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { kcatConsume } from '../helpers/kcat.js';

t.test('kafkajs admin creates topics and reads their metadata', async (t) => {
  const broker = await startTestBroker(t);
  const kafka = new Kafka({ clientId: 'spate-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());

  t.equal(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 4 }] }), true);
  t.equal(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 4 }] }), false, 'second create reports existing');
  const metadata = await admin.fetchTopicMetadata({ topics: ['orders'] });
  t.equal(metadata.topics.length, 1);
  t.equal(metadata.topics[0]!.name, 'orders');
  t.equal(metadata.topics[0]!.partitions.length, 4);
  for (const partition of metadata.topics[0]!.partitions) {
    t.equal(partition.leader, broker.config.nodeId);
    t.same(partition.replicas, [broker.config.nodeId]);
  }
  t.ok((await admin.listTopics()).includes('orders'));

  const failure = async (promise: Promise<unknown>) => {
    try {
      await promise;
      return undefined;
    } catch (error) {
      return (error as { errors?: Array<{ type: string }> }).errors?.map((e) => e.type);
    }
  };
  t.same(await failure(admin.createTopics({ topics: [{ topic: 'bad topic!', numPartitions: 1 }] })), ['INVALID_TOPIC_EXCEPTION'], 'an invalid name is refused');
  t.same(
    await failure(admin.createTopics({ topics: [{ topic: 'replicated', numPartitions: 1, replicationFactor: 3 }] })),
    ['INVALID_REPLICATION_FACTOR'],
    'replication factor 3 is refused on one node',
  );
  const cluster = await admin.describeCluster();
  t.equal(cluster.brokers.length, 1);
  t.equal(cluster.controller, broker.config.nodeId);
});

for (const acks of [0, 1, -1] as const) {
  t.test(`kafkajs producer with acks=${acks}: keyed records over several partitions read back exactly`, async (t) => {
    const broker = await startTestBroker(t);
    const kafka = new Kafka({ clientId: 'spate-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 3 }] });
    await admin.disconnect();

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    t.teardown(() => producer.disconnect());
    const sent: Array<{ key: string; value: string }> = [];
    for (let batch = 0; batch < 10; batch++) {
      const messages = Array.from({ length: 20 }, (_, i) => ({ key: `key-${(batch * 20 + i) % 7}`, value: `value-${batch}-${i}` }));
      sent.push(...messages);
      await producer.send({ topic: 'events', acks, messages });
    }
    // acks=0 has no response to wait for: wait until the broker holds every record.
    const logs = broker.logs.topic('events')!.partitions;
    for (let i = 0; i < 200 && logs.reduce((n, log) => n + Number(log.logEndOffset), 0) < sent.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const received = await kcatConsume(broker.bootstrap, 'events');
    t.equal(received.length, sent.length, 'every record arrived once');
    const byKey = new Map<string, string[]>();
    for (const record of received) {
      const list = byKey.get(record.key!) ?? [];
      list.push(record.value!);
      byKey.set(record.key!, list);
      t.equal(new Set(received.filter((r) => r.key === record.key).map((r) => r.partition)).size, 1, `key ${record.key} kept to one partition`);
    }
    for (const [key, values] of byKey) {
      t.same(
        values,
        sent.filter((m) => m.key === key).map((m) => m.value),
        `per-key order of ${key}`,
      );
    }
  });
}

t.test('kafkajs idempotent producer: retried batches are not duplicated', async (t) => {
  const broker = await startTestBroker(t);
  const kafka = new Kafka({ clientId: 'spate-idem', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  for (let i = 0; i < 5; i++) {
    const [result] = await producer.send({ topic: 'idempotent', messages: [{ key: 'k', value: `v${i}` }] });
    t.equal(result!.errorCode, 0);
    t.equal(result!.baseOffset, String(i));
  }
  const received = await kcatConsume(broker.bootstrap, 'idempotent');
  t.same(
    received.map((r) => r.value),
    ['v0', 'v1', 'v2', 'v3', 'v4'],
  );
});

t.test('kafkajs gzip-compressed batches are stored as produced', async (t) => {
  const broker = await startTestBroker(t);
  const kafka = new Kafka({ clientId: 'spate-gzip', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const [result] = await producer.send({
    topic: 'gzipped',
    compression: CompressionTypes.GZIP,
    messages: Array.from({ length: 50 }, (_, i) => ({ value: `compressed ${i}`.repeat(10) })),
  });
  t.equal(result!.errorCode, 0);
  t.equal(broker.logs.topic('gzipped')!.partitions[0]!.logEndOffset, 50n);
  const received = await kcatConsume(broker.bootstrap, 'gzipped');
  t.same(
    received.map((r) => r.value),
    Array.from({ length: 50 }, (_, i) => `compressed ${i}`.repeat(10)),
    'librdkafka decompresses what kafkajs compressed',
  );
});
