// The Java client's transactions (kafka-tools' TransactionalMessageCopier: consume, produce
// and commit offsets in one transaction, with random aborts) against Spate: the output, read
// with read_committed, holds every input exactly once; kafka-transactions lists and describes
// the transactional ID.

import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { kcatConsume, kcatProduce } from '../helpers/kcat.js';

if (!javaToolsAvailable()) {
  t.fail('Kafka Java tools are missing: run `mvn -f test/interop/java/pom.xml dependency:copy-dependencies` (.ci/run does)');
} else {
  t.test('TransactionalMessageCopier with random aborts copies exactly once', async (t) => {
    const broker = await startTestBroker(t, { config: { 'num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 } });
    const inputs = Array.from({ length: 500 }, (_, i) => `java-${i}`);
    await kcatProduce(broker.bootstrap, 'copy-in', inputs);
    const copied = await runKafkaTool(
      TOOLS.transactionalCopier,
      [
        '--broker-list',
        broker.bootstrap,
        '--input-topic',
        'copy-in',
        '--input-partition',
        '0',
        '--output-topic',
        'copy-out',
        '--transactional-id',
        'java-copier',
        '--consumer-group',
        'java-copier-group',
        '--transaction-size',
        '50',
        '--enable-random-aborts',
        '--use-group-metadata',
      ],
      undefined,
      180_000,
    );
    t.equal(copied.code, 0, copied.stderr.slice(-2000));
    const output = await kcatConsume(broker.bootstrap, 'copy-out', ['-X', 'isolation.level=read_committed']);
    t.same(output.map((r) => r.value).sort(), [...inputs].sort(), 'each input once in the committed output');
    const everything = await kcatConsume(broker.bootstrap, 'copy-out', ['-X', 'isolation.level=read_uncommitted']);
    t.ok(everything.length >= output.length, `read_uncommitted also sees aborted copies (${everything.length})`);

    const listed = await runKafkaTool(TOOLS.transactions, ['--bootstrap-server', broker.bootstrap, 'list']);
    t.equal(listed.code, 0, listed.stderr);
    t.match(listed.stdout, /java-copier/);
    const described = await runKafkaTool(TOOLS.transactions, ['--bootstrap-server', broker.bootstrap, 'describe', '--transactional-id', 'java-copier']);
    t.equal(described.code, 0, described.stderr);
    t.match(described.stdout, /CompleteCommit|CompleteAbort|Empty/);
    // Transactions v2 (KIP-890 part 2, transaction.version 2 finalised): the Java client lets
    // each EndTxn bump its epoch, so ten or more transactions of 50 leave an epoch of 10 or more.
    // Columns: CoordinatorId TransactionalId ProducerId ProducerEpoch ...
    const epoch = Number(described.stdout.trim().split('\n').pop()!.trim().split(/\s+/)[3]);
    t.ok(epoch >= 10, `the producer epoch was bumped at every transaction end (${epoch})`);
  });
}

if (javaToolsAvailable()) {
  t.test('kafka-transactions forceTerminateTransaction aborts an open transaction; describe shows no start time', async (t) => {
    const { Kafka, logLevel } = await import('kafkajs');
    const broker = await startTestBroker(t, { config: { 'num.partitions': 1 } });
    const kafka = new Kafka({ clientId: 'force', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ transactionalId: 'to-terminate', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    t.teardown(() => producer.disconnect().catch(() => undefined));
    const transaction = await producer.transaction();
    await transaction.send({ topic: 'force-topic', messages: [{ value: 'left open' }] });
    const tool = (args: string[]) => runKafkaTool(TOOLS.transactions, ['--bootstrap-server', broker.bootstrap, ...args]);
    const open = await tool(['describe', '--transactional-id', 'to-terminate']);
    t.match(open.stdout, /Ongoing/, 'the transaction is open');
    const terminated = await tool(['forceTerminateTransaction', '--transactionalId', 'to-terminate']);
    t.equal(terminated.code, 0, terminated.stderr.slice(-2000));
    const after = await tool(['describe', '--transactional-id', 'to-terminate']);
    t.equal(after.code, 0, after.stderr);
    const row = after.stdout.trim().split('\n').pop() ?? '';
    t.match(row, /Empty|CompleteAbort/, 'no longer ongoing');
    // Columns: ... TransactionStartTimeMs TransactionDurationMs TopicPartitions (empty here)
    const columns = row.trim().split(/\s+/);
    t.same(columns.slice(-2), ['None', 'None'], `no start time and no duration: ${row}`);
    const committed = await kcatConsume(broker.bootstrap, 'force-topic', ['-X', 'isolation.level=read_committed']);
    t.same(committed, [], 'the open record was aborted');
  });
}
