// kcat (librdkafka, from Debian) against Spate: metadata, produce with keys, read back
// byte for byte, offsets from the end, compression codecs stored as produced.

import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { kcatConsume, kcatProduce, run } from '../helpers/kcat.js';

t.test('kcat lists metadata', async (t) => {
  const broker = await startTestBroker(t, { config: { 'num.partitions': 2 } });
  await kcatProduce(broker.bootstrap, 'listed', ['one']);
  const result = await run('kcat', ['-L', '-b', broker.bootstrap, '-J']);
  t.equal(result.code, 0, result.stderr);
  const metadata = JSON.parse(result.stdout) as {
    brokers: Array<{ id: number; name: string }>;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number }> }>;
  };
  t.same(
    metadata.brokers.map((b) => b.id),
    [broker.config.nodeId],
  );
  t.equal(metadata.brokers[0]!.name, broker.bootstrap);
  const listed = metadata.topics.find((topic) => topic.topic === 'listed');
  t.ok(listed, 'auto-created topic is listed');
  t.equal(listed!.partitions.length, 2, 'num.partitions applies to auto-created topics');
});

t.test('kcat produces keyed records and reads them back exactly', async (t) => {
  const broker = await startTestBroker(t);
  const lines = Array.from({ length: 500 }, (_, i) => `key${i % 13}:value ${i} ${'x'.repeat(i % 50)}`);
  await kcatProduce(broker.bootstrap, 'kcat-topic', lines, ['-K:']);
  const records = await kcatConsume(broker.bootstrap, 'kcat-topic');
  t.equal(records.length, 500);
  t.same(
    records.map((r) => `${r.key}:${r.value}`),
    lines,
    'same keys, values and order',
  );
  t.same(
    records.map((r) => r.offset),
    lines.map((_, i) => i),
    'offsets are dense from 0',
  );

  const tail = await kcatConsume(broker.bootstrap, 'kcat-topic', ['-o', '-5']);
  t.equal(tail.length, 5, 'reading from 5 before the end');
  t.equal(tail[0]!.offset, 495);
});

for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
  t.test(`kcat -z ${codec}: compressed batches are stored as produced and read back`, async (t) => {
    const broker = await startTestBroker(t);
    const lines = Array.from({ length: 200 }, (_, i) => `${codec} record ${i} ${'payload '.repeat(20)}`);
    await kcatProduce(broker.bootstrap, `codec-${codec}`, lines, ['-z', codec]);
    const records = await kcatConsume(broker.bootstrap, `codec-${codec}`);
    t.same(
      records.map((r) => r.value),
      lines,
    );
  });
}

t.test('kcat with enable.idempotence produces without duplicates', async (t) => {
  const broker = await startTestBroker(t);
  const lines = Array.from({ length: 300 }, (_, i) => `idempotent ${i}`);
  await kcatProduce(broker.bootstrap, 'kcat-idempotent', lines, ['-X', 'enable.idempotence=true']);
  const records = await kcatConsume(broker.bootstrap, 'kcat-idempotent');
  t.same(
    records.map((r) => r.value),
    lines,
  );
});
