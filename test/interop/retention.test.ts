// Retention with real clients: a topic with small segments and a short retention.ms loses
// its old segments in the background while kafkajs keeps consuming it; the log start
// offset moves up (ListOffsets earliest), a reader far behind is told OFFSET_OUT_OF_RANGE
// and librdkafka resets to the new start, and nothing the live consumer reads is lost.

import t from 'tap';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { kcatConsume } from '../helpers/kcat.js';

t.test('old segments go by retention.ms while a consumer reads', async (t) => {
  const broker = await startTestBroker(t, { config: { 'log.retention.check.interval.ms': 200, 'group.initial.rebalance.delay.ms': 0 } });
  const kafka = new Kafka({ clientId: 'spate-retention', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({
    topics: [
      {
        topic: 'expiring',
        numPartitions: 1,
        configEntries: [
          { name: 'segment.ms', value: '150' },
          { name: 'retention.ms', value: '1500' },
        ],
      },
    ],
  });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const consumer = kafka.consumer({ groupId: 'live-reader', maxWaitTimeInMs: 100 });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'expiring', fromBeginning: true });
  const received: number[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void received.push(Number(message.offset)) });

  const log = broker.logs.partition('expiring', 0)!;
  let sent = 0;
  const deadline = Date.now() + 20_000;
  while ((log.logStartOffset === 0n || sent < 60) && Date.now() < deadline) {
    await producer.send({ topic: 'expiring', messages: [{ value: `record ${sent++} ${'x'.repeat(200)}` }] });
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
  // Keep what is left from here on: a config change applies to the running log at once.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: 2,
        name: 'expiring',
        configEntries: [
          { name: 'segment.ms', value: '150' },
          { name: 'retention.ms', value: '-1' },
        ],
      },
    ],
  });
  t.ok(log.logStartOffset > 0n, `retention moved the log start offset to ${log.logStartOffset}`);
  const [offsets] = await admin.fetchTopicOffsets('expiring');
  t.ok(Number(offsets!.low) > 0, `ListOffsets earliest is ${offsets!.low}`);
  t.equal(offsets!.high, String(sent));
  t.ok(log.segmentInfo().length < sent, `${log.segmentInfo().length} segments left of the rolled ones`);

  while (received.length < sent && Date.now() < deadline + 10_000) await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(
    received,
    Array.from({ length: sent }, (_, i) => i),
    'the live consumer read every record in order, none lost to retention',
  );

  // A reader starting below the log start is out of range and resets to the earliest offset.
  const late = await kcatConsume(broker.bootstrap, 'expiring', ['-X', 'topic.auto.offset.reset=earliest', '-o', '0']);
  t.ok(late.length > 0);
  t.ok(late[0]!.offset >= Number(offsets!.low), `librdkafka restarted at ${late[0]!.offset}, not below the log start`);
  t.equal(late.at(-1)!.offset, sent - 1);
});
