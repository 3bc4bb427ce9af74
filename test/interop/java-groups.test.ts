// Kafka's own tools with consumer groups (classic protocol): the console consumer with
// --group, then kafka-consumer-groups --list, --describe (lag = log end - committed),
// --reset-offsets --to-earliest --execute and --delete.

import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { kcatProduce } from '../helpers/kcat.js';

interface DescribeRow {
  readonly partition: number;
  readonly current: number | null;
  readonly logEnd: number;
  readonly lag: number | null;
}

function parseDescribe(stdout: string, topic: string): DescribeRow[] {
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[1] === topic)
    .map((cols) => ({
      partition: Number(cols[2]),
      current: cols[3] === '-' ? null : Number(cols[3]),
      logEnd: Number(cols[4]),
      lag: cols[5] === '-' ? null : Number(cols[5]),
    }))
    .sort((a, b) => a.partition - b.partition);
}

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  t.test('console consumer --group and kafka-consumer-groups', async (t) => {
    const broker = await startTestBroker(t, { config: { 'num.partitions': 3, 'group.initial.rebalance.delay.ms': 0 } });
    const bootstrap = broker.bootstrap;
    const lines = Array.from({ length: 90 }, (_, i) => `grouped ${i}`);
    await kcatProduce(bootstrap, 'jg', lines);

    const consumed = await runKafkaTool(TOOLS.consoleConsumer, [
      '--bootstrap-server',
      bootstrap,
      '--topic',
      'jg',
      '--group',
      'jgroup',
      '--from-beginning',
      '--max-messages',
      '40',
      '--timeout-ms',
      '30000',
      '--consumer-property',
      'group.protocol=classic',
    ]);
    t.equal(consumed.code, 0, consumed.stderr);
    t.equal(consumed.stdout.split('\n').filter((line) => line.startsWith('grouped')).length, 40);

    const listed = await runKafkaTool(TOOLS.consumerGroups, ['--bootstrap-server', bootstrap, '--list']);
    t.equal(listed.code, 0, listed.stderr);
    t.match(listed.stdout, /^jgroup$/m);

    const described = await runKafkaTool(TOOLS.consumerGroups, ['--bootstrap-server', bootstrap, '--describe', '--group', 'jgroup']);
    t.equal(described.code, 0, described.stderr);
    const rows = parseDescribe(described.stdout, 'jg');
    t.equal(rows.length, 3, described.stdout);
    for (const row of rows) {
      const log = broker.logs.partition('jg', row.partition)!;
      t.equal(row.logEnd, Number(log.highWatermark), `partition ${row.partition}: LOG-END-OFFSET is the high watermark`);
      const committed = broker.logs.partition('jg', row.partition) && (await committedOffset(broker, 'jgroup', 'jg', row.partition));
      t.equal(row.current, committed, `partition ${row.partition}: CURRENT-OFFSET is the commit`);
      if (row.current !== null) t.equal(row.lag, row.logEnd - row.current, `partition ${row.partition}: LAG = end - committed`);
    }
    t.ok(
      rows.some((row) => (row.current ?? 0) > 0),
      'something was committed',
    );

    const reset = await runKafkaTool(TOOLS.consumerGroups, [
      '--bootstrap-server',
      bootstrap,
      '--reset-offsets',
      '--group',
      'jgroup',
      '--topic',
      'jg',
      '--to-earliest',
      '--execute',
    ]);
    t.equal(reset.code, 0, reset.stderr);
    const afterReset = parseDescribe((await runKafkaTool(TOOLS.consumerGroups, ['--bootstrap-server', bootstrap, '--describe', '--group', 'jgroup'])).stdout, 'jg');
    t.same(
      afterReset.map((row) => row.current),
      [0, 0, 0],
      'offsets reset to the earliest',
    );
    t.same(
      afterReset.map((row) => row.lag),
      afterReset.map((row) => row.logEnd),
    );

    const deleted = await runKafkaTool(TOOLS.consumerGroups, ['--bootstrap-server', bootstrap, '--delete', '--group', 'jgroup']);
    t.equal(deleted.code, 0, deleted.stderr);
    t.match(deleted.stdout, /Deletion of requested consumer groups \('jgroup'\) was successful/);
    const relisted = await runKafkaTool(TOOLS.consumerGroups, ['--bootstrap-server', bootstrap, '--list']);
    t.notMatch(relisted.stdout, /^jgroup$/m);
  });
}

async function committedOffset(broker: Awaited<ReturnType<typeof startTestBroker>>, group: string, topic: string, partition: number): Promise<number | null> {
  const { RawClient } = await import('../helpers/raw-client.js');
  const client = await RawClient.connect(broker.bootstrap);
  try {
    const answer = await client.request(9, 5, { groupId: group, topics: [{ name: topic, partitionIndexes: [partition] }] });
    const offset = answer.body.topics[0].partitions[0].committedOffset as bigint;
    return offset < 0n ? null : Number(offset);
  } finally {
    client.close();
  }
}
