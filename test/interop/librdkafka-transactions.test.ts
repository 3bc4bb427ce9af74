// librdkafka's transactional producer (confluent-kafka-python 2.16, which bundles
// librdkafka 2.16) against Spate: a committed and an aborted transaction, read back with
// read_committed by librdkafka and with read_uncommitted by kcat.

import t from 'tap';
import { fileURLToPath } from 'node:url';
import { startTestBroker } from '../helpers/broker.js';
import { kcatConsume, run } from '../helpers/kcat.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/librdkafka_transactions.py', import.meta.url));

t.test('librdkafka transactions: commit visible, abort not', async (t) => {
  const available = await run('python3', ['-c', 'import confluent_kafka']);
  if (available.code !== 0) {
    t.fail('confluent-kafka is not installed: `python3 -m pip install confluent-kafka==2.16.1` (.ci/run does)');
    return;
  }
  const broker = await startTestBroker(t, { config: { 'auto.create.topics.enable': true } });
  const result = await run('python3', [SCRIPT, broker.bootstrap, 'rdkafka-txn'], undefined, 120_000);
  t.equal(result.code, 0, result.stderr);
  const committed = JSON.parse(result.stdout.trim().split('\n').pop()!) as string[];
  t.same(
    committed,
    Array.from({ length: 10 }, (_, i) => `committed-${i}`),
    'read_committed sees the committed transaction only',
  );
  const everything = await kcatConsume(broker.bootstrap, 'rdkafka-txn', ['-X', 'isolation.level=read_uncommitted']);
  t.equal(everything.length, 20, 'read_uncommitted sees both transactions');
});
