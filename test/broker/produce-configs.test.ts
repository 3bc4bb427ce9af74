// The configs an append reads are resolved once per topic (not per request), so a change
// must reach them at once: min.insync.replicas altered as a topic override, as the
// cluster-wide broker default and as this broker's own dynamic config (kafkajs's
// AlterConfigs; the cluster-wide default with kafka-configs --entity-default, which kafkajs
// cannot name), each checked by the very next acks=all send of a warmed-up producer.

import t from 'tap';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';

const TOPIC = 'guarded';
// kafkajs' ConfigResourceTypes, which its ESM entry does not export by name.
const ConfigResourceTypes = { TOPIC: 2, BROKER: 4 } as const;

/** The Kafka error name of an acks=all send ('NONE' when it was written). */
async function sendAcksAll(producer: Producer, value: string): Promise<string> {
  try {
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ value }] });
    return 'NONE';
  } catch (error) {
    const failure = error as { type?: string; cause?: { type?: string } };
    return failure.type ?? failure.cause?.type ?? String(error);
  }
}

t.test('min.insync.replicas changes apply to the next acks=all produce', { skip: !javaToolsAvailable() && 'Kafka Java tools are missing' }, async (t) => {
  const broker = await startTestBroker(t);
  const kafka = new Kafka({ clientId: 'produce-configs', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await admin.connect();
  await producer.connect();
  t.teardown(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] });
  const alter = (type: number, name: string, configEntries: Array<{ name: string; value: string }>) =>
    admin.alterConfigs({ validateOnly: false, resources: [{ type, name, configEntries }] });

  for (let i = 0; i < 20; i++) t.equal(await sendAcksAll(producer, `warm ${i}`), 'NONE');

  const alterDefault = async (...change: string[]) => {
    const result = await runKafkaTool(TOOLS.configs, ['--bootstrap-server', broker.bootstrap, '--alter', '--entity-type', 'brokers', '--entity-default', ...change]);
    t.equal(result.code, 0, result.stderr);
  };
  await alterDefault('--add-config', 'min.insync.replicas=2');
  t.equal(await sendAcksAll(producer, 'cluster default 2'), 'NOT_ENOUGH_REPLICAS', 'the cluster-wide default applies at once');
  await producer.send({ topic: TOPIC, acks: 1, messages: [{ value: 'acks=1 is not concerned' }] });

  await alter(ConfigResourceTypes.TOPIC, TOPIC, [{ name: 'min.insync.replicas', value: '1' }]);
  t.equal(await sendAcksAll(producer, 'topic override 1'), 'NONE', 'a topic override wins over the broker default');
  await alter(ConfigResourceTypes.TOPIC, TOPIC, []);
  t.equal(await sendAcksAll(producer, 'override removed'), 'NOT_ENOUGH_REPLICAS', 'removing the override brings the broker default back');

  await alterDefault('--delete-config', 'min.insync.replicas');
  t.equal(await sendAcksAll(producer, 'default removed'), 'NONE', 'removing the cluster default brings Kafka default 1 back');

  await alter(ConfigResourceTypes.BROKER, String(broker.config.nodeId), [{ name: 'min.insync.replicas', value: '3' }]);
  t.equal(await sendAcksAll(producer, 'per-broker 3'), 'NOT_ENOUGH_REPLICAS', "this broker's own dynamic config applies at once");
  await alter(ConfigResourceTypes.BROKER, String(broker.config.nodeId), []);
  t.equal(await sendAcksAll(producer, 'per-broker removed'), 'NONE');

  const offsets = await admin.fetchTopicOffsets(TOPIC);
  t.equal(offsets[0]?.high, '24', 'only the accepted sends were written');
});
