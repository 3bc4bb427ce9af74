// The `spate` CLI against Apache Kafka 4.3.1 itself (the KRaft broker from the Maven jars in
// test/interop/java/lib): the same commands and --json output as against Spate. Kafka starts
// in about 10 s; the whole file takes well under a minute.

import t from 'tap';
import { fileURLToPath } from 'node:url';
import { javaToolsAvailable } from '../helpers/java-tools.js';
import { startKafka } from '../helpers/kafka-broker.js';
import { run } from '../helpers/kcat.js';

const BIN = fileURLToPath(new URL('../../bin/spate.js', import.meta.url));

if (!javaToolsAvailable()) {
  t.fail('Kafka jars are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  t.test('topics, produce, consume, groups, configs and cluster against Kafka 4.3.1', async (t) => {
    const kafka = await startKafka(t);
    const spate = (input: string | undefined, ...args: string[]) => run(process.execPath, [BIN, ...args, '--bootstrap-server', kafka.bootstrap], input);
    const json = async (input: string | undefined, ...args: string[]) => {
      const result = await spate(input, ...args, '--json');
      t.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      return result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as any);
    };

    t.same(await json(undefined, 'topics', 'create', '--topic', 'on-kafka', '--partitions', '2'), [{ topic: 'on-kafka', partitions: 2, replicationFactor: 1 }]);
    const duplicate = await spate(undefined, 'topics', 'create', '--topic', 'on-kafka');
    t.match(duplicate.stderr, /TOPIC_ALREADY_EXISTS/, "Kafka's error, by name");
    t.same(await json(undefined, 'topics', 'alter', '--topic', 'on-kafka', '--partitions', '3', '--config', 'retention.ms=3600000'), [
      { topic: 'on-kafka', partitions: 3, configs: { 'retention.ms': '3600000' } },
    ]);
    const [described] = await json(undefined, 'topics', 'describe', '--topic', 'on-kafka');
    t.equal(described[0].partitions.length, 3);
    const topicConfigs = (await json(undefined, 'configs', 'get', '--topic', 'on-kafka'))[0] as Array<{ name: string; value: string; source: string }>;
    t.match(
      topicConfigs.find((config) => config.name === 'retention.ms'),
      { value: '3600000', source: 'TOPIC_CONFIG' },
    );

    const lines = Array.from({ length: 30 }, (_, index) => `k${index % 3}=v${index}`).join('\n');
    const [produced] = await json(lines, 'produce', '--topic', 'on-kafka', '--key-separator', '=', '--header', 'origin=spate-cli');
    t.match(produced, { topic: 'on-kafka', records: 30 });
    const consumed = await json(undefined, 'consume', '--topic', 'on-kafka', '--from-beginning', '--count', '30', '--group', 'cli-on-kafka');
    t.equal(consumed.length, 30);
    t.same(consumed.map((record) => record.value).sort(), Array.from({ length: 30 }, (_, index) => `v${index}`).sort());
    t.same(consumed.find((record) => record.value === 'v4')!.headers, { origin: 'spate-cli' });
    t.ok(
      consumed.every((record) => record.key === `k${Number(record.value.slice(1)) % 3}`),
      'keys intact',
    );

    const [group] = await json(undefined, 'groups', 'describe', '--group', 'cli-on-kafka');
    t.equal(
      group.offsets.reduce((sum: number, row: any) => sum + row.currentOffset, 0),
      30,
      'the group committed every record',
    );
    t.ok(group.offsets.every((row: any) => row.lag === 0));
    const [reset] = await json(undefined, 'groups', 'reset-offsets', '--group', 'cli-on-kafka', '--all-topics', '--to-earliest', '--execute');
    t.ok(
      reset.offsets.every((row: any) => row.newOffset === 0),
      'reset to the earliest offsets',
    );
    const [after] = await json(undefined, 'groups', 'describe', '--group', 'cli-on-kafka');
    t.equal(
      after.offsets.reduce((sum: number, row: any) => sum + row.lag, 0),
      30,
      'Kafka took the reset: all 30 records are lag again',
    );

    await json(undefined, 'configs', 'set', '--group', 'cli-on-kafka', '--config', 'consumer.session.timeout.ms=50000');
    const groupConfigs = (await json(undefined, 'configs', 'get', '--group', 'cli-on-kafka'))[0] as Array<{ name: string; value: string }>;
    t.equal(groupConfigs.find((config) => config.name === 'consumer.session.timeout.ms')!.value, '50000');
    const [cluster] = await json(undefined, 'cluster');
    t.match(cluster, { brokers: [{ nodeId: 1, host: '127.0.0.1', port: Number(kafka.bootstrap.split(':')[1]) }] });
    const [groups] = await json(undefined, 'groups', 'list');
    t.ok(groups.some((entry: any) => entry.group === 'cli-on-kafka'));
    t.same(await json(undefined, 'groups', 'delete', '--group', 'cli-on-kafka'), [{ group: 'cli-on-kafka', deleted: true }]);
    t.same(await json(undefined, 'topics', 'delete', '--topic', 'on-kafka'), [{ topic: 'on-kafka', deleted: true }]);
  });
}
