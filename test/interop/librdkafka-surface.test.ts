// librdkafka 2.16 (the library inside confluent-kafka-python's wheel, and behind
// confluent-kafka-go/-dotnet/-javascript and node-rdkafka) across its surface: listing all
// topics sends a Metadata v12 request with 3 bytes after its body, which Kafka ignores; the
// admin client; a ^regex subscription; and a compacted topic refusing keyless records with
// per-record errors (KIP-467), so that only those records fail with INVALID_RECORD.

import t from 'tap';
import { fileURLToPath } from 'node:url';
import { startTestBroker } from '../helpers/broker.js';
import { run } from '../helpers/kcat.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/librdkafka_surface.py', import.meta.url));
const INVALID_RECORD = 87;
const INVALID_DIFFERENT_RECORD = -138; // librdkafka's local code for the batch's other records

t.test('librdkafka 2.16: list topics, admin client, regex subscription, record errors', async (t) => {
  const available = await run('python3', ['-c', 'import confluent_kafka']);
  if (available.code !== 0) {
    t.fail('confluent-kafka is not installed: `python3 -m pip install confluent-kafka==2.16.1` (.ci/run does)');
    return;
  }
  const broker = await startTestBroker(t, { config: { 'group.initial.rebalance.delay.ms': 0 } });
  const result = await run('python3', [SCRIPT, broker.bootstrap, 'surf'], undefined, 150_000);
  t.equal(result.code, 0, result.stderr.slice(-3000));
  const seen = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}');
  t.same(seen.listed, ['surf-a', 'surf-b', 'surf-c', 'surf-compacted'], 'list_topics() lists every topic');
  t.same(seen.brokers, [1], 'and the broker');
  t.equal(seen.partitions_a, 2);
  t.equal(seen.cluster_id, broker.logs.clusterId, 'describe_cluster');
  t.equal(seen.cleanup_policy, 'compact', 'describe_configs');
  t.equal(seen.partitions_c, 3, 'create_partitions');
  const delivery = seen.delivery as Array<[number, number, string]>; // librdkafka keeps only the code per message
  t.same(
    delivery.map(([index, code]) => [index, code]),
    [0, 1, 2, 3, 4, 5].map((index) => [index, index === 1 || index === 4 ? INVALID_RECORD : INVALID_DIFFERENT_RECORD]),
    'the keyless records fail with INVALID_RECORD, the others of their batch with INVALID_DIFFERENT_RECORD',
  );
  const expected = ['surf-a', 'surf-b', 'surf-c'].flatMap((name) => [0, 1, 2, 3, 4].map((i) => `${name}:${i}`)).sort();
  t.same(seen.regex_seen, expected, 'the ^regex subscription reads every matching topic');
  t.same(seen.assigned_topics, ['surf-a', 'surf-b', 'surf-c'], 'and only those');
  t.same(seen.groups, ['surf-regex'], 'list_consumer_groups');
  t.equal(seen.committed_a, 5, 'list_consumer_group_offsets');
  t.same(seen.after_delete, ['surf-a', 'surf-c', 'surf-compacted'], 'delete_topics');
});
