// `spate topics|produce|consume|groups` against a running Spate (the CLI runs from dist/, so
// `npm run build:ts` first): what the CLI creates and produces, kafkajs sees; what kafkajs
// produces, the CLI consumes; --json output; group offsets and lag; Kafka error names.

import t from 'tap';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { run } from '../helpers/kcat.js';

const BIN = fileURLToPath(new URL('../../bin/spate.js', import.meta.url));

t.test('the client commands against Spate', async (t) => {
  const broker = await startTestBroker(t);
  const spate = (input: string | undefined, ...args: string[]) => run(process.execPath, [BIN, ...args, '--bootstrap-server', broker.bootstrap], input);
  const kafka = new Kafka({ clientId: 'cli-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());

  const created = await spate(undefined, 'topics', 'create', '--topic', 'cli-topic', '--partitions', '3', '--config', 'retention.ms=600000');
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, /Created topic cli-topic/);
  const described = (await admin.fetchTopicMetadata({ topics: ['cli-topic'] })).topics[0]!;
  t.equal(described.partitions.length, 3, 'kafkajs sees the three partitions');
  const configs = await admin.describeConfigs({ resources: [{ type: 2, name: 'cli-topic', configNames: ['retention.ms'] }], includeSynonyms: false });
  t.equal(configs.resources[0]!.configEntries[0]!.configValue, '600000');

  const duplicate = await spate(undefined, 'topics', 'create', '--topic', 'cli-topic');
  t.equal(duplicate.code, 1);
  t.match(duplicate.stderr, /TOPIC_ALREADY_EXISTS/, 'errors carry the Kafka error name');

  const list = await spate(undefined, 'topics', 'list', '--json');
  t.ok((JSON.parse(list.stdout) as string[]).includes('cli-topic'));
  const describe = JSON.parse((await spate(undefined, 'topics', 'describe', '--topic', 'cli-topic', '--json')).stdout) as Array<{ partitions: Array<{ leader: number }> }>;
  t.equal(describe[0]!.partitions.length, 3);
  t.equal(describe[0]!.partitions[0]!.leader, broker.config.nodeId);

  const produced = await spate('k1=v1\nk2=v2\nk3=v3\nplain\n', 'produce', '--topic', 'cli-topic', '--key-separator', '=', '--header', 'origin=cli', '--json');
  t.equal(produced.code, 0, produced.stderr);
  t.match(JSON.parse(produced.stdout), { topic: 'cli-topic', records: 4 });

  // kafkajs reads what the CLI wrote, keys, values and headers intact.
  const consumer = kafka.consumer({ groupId: 'cli-check' });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'cli-topic', fromBeginning: true });
  const seen = new Map<string | null, { value: string; origin: string }>();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafkajs saw ${seen.size}`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.set(message.key?.toString() ?? null, { value: message.value!.toString(), origin: String(message.headers!['origin']) });
        if (seen.size === 4) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.stop();
  t.same(seen.get('k2'), { value: 'v2', origin: 'cli' });
  t.same(seen.get(null), { value: 'plain', origin: 'cli' });

  // The CLI reads what kafkajs wrote, and commits for its group.
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'cli-topic', messages: [{ key: 'js', value: 'from-kafkajs', partition: 1 }] });
  await producer.disconnect();
  const consumed = await spate(undefined, 'consume', '--topic', 'cli-topic', '--from-beginning', '--count', '5', '--group', 'cli-group', '--json');
  t.equal(consumed.code, 0, consumed.stderr);
  const lines = consumed.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { key: string | null; value: string; partition: number; headers: Record<string, string> });
  t.equal(lines.length, 5);
  t.match(
    lines.find((line) => line.key === 'js'),
    { value: 'from-kafkajs', partition: 1 },
  );
  t.same(lines.find((line) => line.key === 'k1')!.headers, { origin: 'cli' });
  const one = await spate(undefined, 'consume', '--topic', 'cli-topic', '--partition', '1', '--offset', 'earliest', '--count', '1');
  t.equal(one.stdout.trim().split('\n').length, 1, 'plain output: one value per line');

  const groups = JSON.parse((await spate(undefined, 'groups', 'list', '--json')).stdout) as Array<{ group: string }>;
  t.ok(groups.some((group) => group.group === 'cli-group'));
  const offsets = await admin.fetchOffsets({ groupId: 'cli-group', topics: ['cli-topic'] });
  const total = offsets[0]!.partitions.reduce((sum, partition) => sum + Number(partition.offset), 0);
  t.equal(total, 5, 'the CLI group committed past every record it printed');
  const describeGroup = JSON.parse((await spate(undefined, 'groups', 'describe', '--group', 'cli-group', '--json')).stdout) as {
    offsets: Array<{ lag: number; currentOffset: number }>;
  };
  t.equal(describeGroup.offsets.length, 3);
  t.ok(describeGroup.offsets.every((row) => row.lag === 0));
  const humanGroup = await spate(undefined, 'groups', 'describe', '--group', 'cli-group');
  t.match(humanGroup.stdout, /GROUP\s+TOPIC\s+PARTITION\s+CURRENTOFFSET\s+LOGENDOFFSET\s+LAG/);

  const topicConfigs = JSON.parse((await spate(undefined, 'configs', 'get', '--topic', 'cli-topic', '--json')).stdout) as Array<{ name: string; value: string; source: string }>;
  t.match(
    topicConfigs.find((config) => config.name === 'retention.ms'),
    { value: '600000', source: 'TOPIC_CONFIG' },
  );
  t.match(
    topicConfigs.find((config) => config.name === 'cleanup.policy'),
    { value: 'delete', source: 'DEFAULT_CONFIG' },
  );
  const brokerConfigs = JSON.parse((await spate(undefined, 'configs', 'get', '--broker', String(broker.config.nodeId), '--json')).stdout) as Array<{ name: string; value: string }>;
  t.equal(brokerConfigs.find((config) => config.name === 'num.partitions')!.value, '1');
  const clusterInfo = JSON.parse((await spate(undefined, 'cluster', '--json')).stdout) as {
    clusterId: string;
    controllerId: number;
    brokers: Array<{ nodeId: number; port: number }>;
  };
  t.same(
    clusterInfo.brokers.map((entry) => [entry.nodeId, entry.port]),
    [[broker.config.nodeId, broker.port]],
  );
  t.equal(clusterInfo.clusterId, broker.logs.clusterId);

  const groupDeleted = await spate(undefined, 'groups', 'delete', '--group', 'cli-group');
  t.equal(groupDeleted.code, 0, groupDeleted.stderr);
  t.notOk(
    (await admin.listGroups()).groups.some((group) => group.groupId === 'cli-group'),
    'kafkajs no longer lists the group',
  );
  const groupMissing = await spate(undefined, 'groups', 'delete', '--group', 'cli-group');
  t.equal(groupMissing.code, 1);
  t.match(groupMissing.stderr, /GROUP_ID_NOT_FOUND/);

  const deleted = await spate(undefined, 'topics', 'delete', '--topic', 'cli-topic');
  t.equal(deleted.code, 0, deleted.stderr);
  t.notOk((await admin.listTopics()).includes('cli-topic'));
  const missing = await spate(undefined, 'topics', 'delete', '--topic', 'cli-topic');
  t.equal(missing.code, 1);
  t.match(missing.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
  const unreachable = await run(process.execPath, [BIN, 'topics', 'list', '--bootstrap-server', '127.0.0.1:1']);
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, /No broker reachable/);
});
