// kafkajs 2.2.4's admin client against Spate's topic administration: createPartitions,
// describeConfigs, alterConfigs, deleteTopicRecords and deleteTopics, with their effects
// checked through kcat (librdkafka) and kafkajs itself.

import t, { type Test } from 'tap';
import { Kafka, logLevel, Partitioners } from 'kafkajs';

// kafkajs' ConfigResourceTypes, which its ESM entry does not export by name.
const ConfigResourceTypes = { TOPIC: 2, BROKER: 4 } as const;
import { startTestBroker } from '../helpers/broker.js';
import { kcatConsume, run } from '../helpers/kcat.js';
import { KAFKA_TOPIC_CONFIG_DEFAULTS } from '../admin/kafka-topic-configs.js';

async function connect(t: Test) {
  const broker = await startTestBroker(t);
  const kafka = new Kafka({ clientId: 'spate-admin-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });
  return { broker, kafka, admin, producer };
}

const errorTypes = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return undefined;
  } catch (error) {
    const e = error as { type?: string; errors?: Array<{ type?: string; error?: { type?: string } }> };
    return e.errors?.map((inner) => inner.type ?? inner.error?.type) ?? [e.type];
  }
};

t.test('kafkajs createPartitions grows a topic that producers then use', async (t) => {
  const { broker, admin, producer } = await connect(t);
  await admin.createTopics({ topics: [{ topic: 'growing', numPartitions: 2 }] });
  await admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 5 }] });
  const metadata = await admin.fetchTopicMetadata({ topics: ['growing'] });
  t.equal(metadata.topics[0]!.partitions.length, 5);
  await producer.send({ topic: 'growing', messages: [{ partition: 4, value: 'in the new partition' }] });
  const records = await kcatConsume(broker.bootstrap, 'growing', ['-p', '4']);
  t.same(
    records.map((r) => r.value),
    ['in the new partition'],
  );
  t.match(await errorTypes(admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 3 }] })), ['INVALID_PARTITIONS']);
  t.match(await errorTypes(admin.createPartitions({ topicPartitions: [{ topic: 'nowhere', count: 3 }] })), ['UNKNOWN_TOPIC_OR_PARTITION']);
});

t.test('kafkajs describeConfigs and alterConfigs', async (t) => {
  const { admin, broker } = await connect(t);
  await admin.createTopics({ topics: [{ topic: 'configured', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '86400000' }] }] });
  const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'configured' }], includeSynonyms: true });
  const entries = described.resources[0]!.configEntries;
  t.same(entries.map((e) => e.configName).sort(), Object.keys(KAFKA_TOPIC_CONFIG_DEFAULTS).sort(), 'every Kafka 4.3 topic config');
  const retention = entries.find((e) => e.configName === 'retention.ms')!;
  t.match(retention, { configValue: '86400000', isDefault: false, readOnly: false });
  t.match(
    entries.find((e) => e.configName === 'segment.bytes'),
    { configValue: '1073741824', isDefault: true },
  );

  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: 'configured',
        configEntries: [
          { name: 'cleanup.policy', value: 'compact,delete' },
          { name: 'min.cleanable.dirty.ratio', value: '0.2' },
        ],
      },
    ],
  });
  const after = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'configured', configNames: ['cleanup.policy', 'retention.ms', 'min.cleanable.dirty.ratio'] }],
    includeSynonyms: false,
  });
  t.same(
    Object.fromEntries(after.resources[0]!.configEntries.map((e) => [e.configName, e.configValue])),
    { 'cleanup.policy': 'compact,delete', 'min.cleanable.dirty.ratio': '0.2', 'retention.ms': '604800000' },
    'AlterConfigs replaces the whole set: retention.ms is back to its default',
  );
  t.same(broker.logs.partition('configured', 0)!.logConfig.cleanupPolicy, ['compact', 'delete']);

  t.match(
    await errorTypes(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'configured', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
    ),
    ['INVALID_CONFIG'],
  );
  const brokerConfigs = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: String(broker.config.nodeId) }], includeSynonyms: false });
  t.ok(brokerConfigs.resources[0]!.configEntries.some((e) => e.configName === 'log.retention.hours' && e.configValue === '168'));
});

t.test('kafkajs deleteTopicRecords and deleteTopics', async (t) => {
  const { admin, producer, broker } = await connect(t);
  await admin.createTopics({
    topics: [
      { topic: 'trimmed', numPartitions: 1 },
      { topic: 'doomed', numPartitions: 2 },
    ],
  });
  await producer.send({ topic: 'trimmed', messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });
  await admin.fetchTopicMetadata({ topics: ['trimmed'] }); // kafkajs finds leaders from its cached metadata
  await admin.deleteTopicRecords({ topic: 'trimmed', partitions: [{ partition: 0, offset: '6' }] });
  const [offsets] = await admin.fetchTopicOffsets('trimmed');
  t.match(offsets, { partition: 0, low: '6', high: '10' });
  const records = await kcatConsume(broker.bootstrap, 'trimmed');
  t.same(
    records.map((r) => r.value),
    ['m6', 'm7', 'm8', 'm9'],
    'readers start at the new low watermark',
  );

  await admin.deleteTopics({ topics: ['doomed'] });
  t.notOk((await admin.listTopics()).includes('doomed'));
  t.equal(broker.logs.topic('doomed'), undefined);
  // Asking for it again auto-creates a new, empty topic with num.partitions.
  const listing = await run('kcat', ['-L', '-b', broker.bootstrap, '-t', 'doomed', '-J']);
  const topic = (JSON.parse(listing.stdout) as { topics: Array<{ partitions: unknown[] }> }).topics[0]!;
  t.equal(topic.partitions.length, 1, 'librdkafka sees a new topic, not the deleted one');
});
