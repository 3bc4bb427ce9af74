// librdkafka's high-level consumer (confluent-kafka-python 2.16 bundles librdkafka 2.16, the
// same library @confluentinc/kafka-javascript binds) in groups, under both the classic and
// the KIP-848 consumer protocol: two runs of a group, the second resumes after the commits.

import t from 'tap';
import { fileURLToPath } from 'node:url';
import { startTestBroker } from '../helpers/broker.js';
import { kcatProduce, run } from '../helpers/kcat.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/librdkafka_group.py', import.meta.url));

for (const protocol of ['classic', 'consumer']) {
  t.test(`librdkafka consumer group, group.protocol=${protocol}`, async (t) => {
    const available = await run('python3', ['-c', 'import confluent_kafka']);
    if (available.code !== 0) {
      t.fail('confluent-kafka is not installed: `python3 -m pip install confluent-kafka==2.16.1` (.ci/run does)');
      return;
    }
    const broker = await startTestBroker(t, { config: { 'num.partitions': 3, 'group.initial.rebalance.delay.ms': 0 } });
    const first = Array.from({ length: 60 }, (_, i) => `first-${i}`);
    await kcatProduce(broker.bootstrap, 'rd-group', first);
    const consume = async (count: number) => {
      const result = await run('python3', [SCRIPT, broker.bootstrap, `rd-${protocol}`, 'rd-group', String(count), protocol], undefined, 120_000);
      t.equal(result.code, 0, result.stderr.slice(-2000));
      return JSON.parse(result.stdout.trim().split('\n').pop() ?? '[]') as string[];
    };
    t.same(new Set(await consume(60)), new Set(first), 'the first run reads everything');
    const second = Array.from({ length: 30 }, (_, i) => `second-${i}`);
    await kcatProduce(broker.bootstrap, 'rd-group', second);
    t.same(new Set(await consume(30)), new Set(second), 'the second run starts after the committed offsets');
  });
}
