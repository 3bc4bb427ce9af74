// Kafka's own tools (kafka-tools 4.3.1, the Java client) against Spate: kafka-topics
// create/list/describe, the console producer (idempotent by default) and the console
// consumer reading a partition from the earliest offset.

import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { kcatConsume } from '../helpers/kcat.js';

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  t.test('kafka-topics, console producer and console consumer', async (t) => {
    const broker = await startTestBroker(t);
    const bootstrap = broker.bootstrap;

    const created = await runKafkaTool(TOOLS.topics, ['--bootstrap-server', bootstrap, '--create', '--topic', 'java-topic', '--partitions', '3', '--replication-factor', '1']);
    t.equal(created.code, 0, created.stderr);
    t.match(created.stdout, /Created topic java-topic/);

    const duplicate = await runKafkaTool(TOOLS.topics, ['--bootstrap-server', bootstrap, '--create', '--topic', 'java-topic', '--partitions', '1']);
    t.not(duplicate.code, 0, 'creating it again fails');
    t.match(duplicate.stdout + duplicate.stderr, /already exists/);

    const listed = await runKafkaTool(TOOLS.topics, ['--bootstrap-server', bootstrap, '--list']);
    t.equal(listed.code, 0, listed.stderr);
    t.match(listed.stdout, /^java-topic$/m);

    const described = await runKafkaTool(TOOLS.topics, ['--bootstrap-server', bootstrap, '--describe', '--topic', 'java-topic']);
    t.equal(described.code, 0, described.stderr);
    t.match(described.stdout, /PartitionCount: 3/);
    t.match(described.stdout, /Partition: 2\s+Leader: 1\s+Replicas: 1\s+Isr: 1/);

    const lines = Array.from({ length: 100 }, (_, i) => `k${i % 5}\tjava value ${i}`);
    const produced = await runKafkaTool(
      TOOLS.consoleProducer,
      ['--bootstrap-server', bootstrap, '--topic', 'java-topic', '--property', 'parse.key=true', '--property', 'key.separator=\t'],
      lines.join('\n') + '\n',
    );
    t.equal(produced.code, 0, produced.stderr);

    const fromKcat = await kcatConsume(bootstrap, 'java-topic');
    t.equal(fromKcat.length, 100, 'kcat reads every record the Java producer wrote');
    t.same(new Set(fromKcat.map((r) => `${r.key}\t${r.value}`)), new Set(lines));

    const partition0 = fromKcat.filter((r) => r.partition === 0).sort((a, b) => a.offset - b.offset);
    const consumed = await runKafkaTool(TOOLS.consoleConsumer, [
      '--bootstrap-server',
      bootstrap,
      '--topic',
      'java-topic',
      '--partition',
      '0',
      '--offset',
      'earliest',
      '--max-messages',
      String(partition0.length),
      '--timeout-ms',
      '20000',
      '--formatter-property',
      'print.key=true',
      '--formatter-property',
      'key.separator=\t',
    ]);
    t.equal(consumed.code, 0, consumed.stderr);
    t.same(
      consumed.stdout.split('\n').filter((line) => line !== ''),
      partition0.map((r) => `${r.key}\t${r.value}`),
      'the console consumer reads partition 0 in offset order',
    );
  });
}
