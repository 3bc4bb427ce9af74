// Every codec in both directions between kcat (librdkafka), kafkajs (gzip built in;
// snappy through kafkajs-snappy, lz4 and zstd through codec adapters over lz4js and
// zstd-wasm) and the Java client (console producer with compression.type=zstd, console
// consumer): what one client writes, the others read. Topics whose compression.type names a
// codec store every batch recompressed with it; compacted topics refuse keyless records
// also inside compressed batches.

import t from 'tap';
import { createRequire } from 'node:module';
import { Kafka, logLevel, Partitioners, CompressionTypes } from 'kafkajs';
import { startTestBroker } from '../helpers/broker.js';
import { kcatConsume, kcatProduce, run } from '../helpers/kcat.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { batchesOf } from '../../src/compression/batches.js';
import { type PartitionLog } from '../../src/log/partition-log.js';

const require = createRequire(import.meta.url);
// Not a named export of kafkajs' ESM face; the CommonJS module is the same instance.
const { CompressionCodecs } = require('kafkajs') as { CompressionCodecs: Record<number, unknown> };
const lz4js = require('lz4js') as {
  decompress(data: Uint8Array): number[];
  compressBlock(src: Uint8Array, dst: Uint8Array, start: number, length: number, hashTable: Uint32Array): number;
};
const xxh32 = require('lz4js/xxh32.js') as { hash(seed: number, data: Uint8Array, start: number, length: number): number };

/**
 * An LZ4 frame as Kafka's Java client writes it (independent 64 KiB blocks, FLG 0x60, BD
 * 0x40), built from lz4js' block compressor: lz4js' own frames use dependent blocks, which
 * the Java client cannot read (and Kafka's broker refuses).
 */
function lz4Frame(data: Buffer): Buffer {
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0]);
  header[6] = (xxh32.hash(0, header, 4, 2) >> 8) & 0xff;
  const parts: Buffer[] = [header];
  for (let at = 0; at < data.length; at += 65536) {
    const length = Math.min(65536, data.length - at);
    const block = new Uint8Array(length + Math.ceil(length / 255) + 16);
    const size = lz4js.compressBlock(data, block, at, length, new Uint32Array(1 << 16));
    const prefix = Buffer.alloc(4);
    if (size === 0 || size >= length) {
      prefix.writeUInt32LE((0x80000000 | length) >>> 0, 0);
      parts.push(prefix, data.subarray(at, at + length));
    } else {
      prefix.writeUInt32LE(size, 0);
      parts.push(prefix, Buffer.from(block.subarray(0, size)));
    }
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}
const zstd = require('@bokuweb/zstd-wasm') as {
  init(): Promise<void>;
  compress(d: Uint8Array, level?: number): Uint8Array;
  decompress(d: Uint8Array, o?: { defaultHeapSize: number }): Uint8Array;
};

// kafkajs takes codecs as plug-ins: { compress(encoder) -> Buffer, decompress(buffer) -> Buffer }.
(CompressionCodecs as Record<number, unknown>)[CompressionTypes.Snappy] = require('kafkajs-snappy');
(CompressionCodecs as Record<number, unknown>)[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => lz4Frame(encoder.buffer),
  decompress: async (buffer: Buffer) => Buffer.from(lz4js.decompress(buffer)),
});
(CompressionCodecs as Record<number, unknown>)[CompressionTypes.ZSTD] = () => ({
  compress: async (encoder: { buffer: Buffer }) => Buffer.from(zstd.compress(encoder.buffer, 3)),
  decompress: async (buffer: Buffer) => Buffer.from(zstd.decompress(buffer, { defaultHeapSize: 8 << 20 })),
});

const CODECS = { gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD } as const;
type CodecName = keyof typeof CODECS;
const CODEC_IDS: Record<CodecName | 'none', number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** The codecs of the batches stored in a partition, in order. */
async function storedCodecs(log: PartitionLog): Promise<number[]> {
  const codecs: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const slice = await log.read(offset, 1 << 20, true);
    if (slice === null) break;
    for (const batch of batchesOf(Buffer.from(slice.buffer))) {
      codecs.push(batch.codec);
      offset = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
    }
    slice.release();
  }
  return codecs;
}

const valuesFor = (label: string, count = 60) => Array.from({ length: count }, (_, i) => `${label} ${i} ${'payload '.repeat(i % 9)}`);

t.before(() => zstd.init());

t.test('codecs across kcat, kafkajs and the Java client', async (t) => {
  const broker = await startTestBroker(t, { config: { 'group.initial.rebalance.delay.ms': 0 } });
  const bootstrap = broker.bootstrap;
  const kafka = new Kafka({ clientId: 'spate-codecs', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());

  const expected = new Map<string, string[]>();
  for (const codec of Object.keys(CODECS) as CodecName[]) {
    // kcat -z: stored as produced (compression.type=producer).
    const kcatTopic = `from-kcat-${codec}`;
    expected.set(kcatTopic, valuesFor(kcatTopic));
    await kcatProduce(bootstrap, kcatTopic, expected.get(kcatTopic)!, ['-z', codec]);
    // librdkafka sends a batch uncompressed when compressing does not make it smaller.
    const kcatCodecs = await storedCodecs(broker.logs.partition(kcatTopic, 0)!);
    t.ok(kcatCodecs.includes(CODEC_IDS[codec]) && kcatCodecs.every((id) => id === CODEC_IDS[codec] || id === 0), `kcat -z ${codec} batches are stored as produced`);

    // kafkajs with each codec.
    const kafkajsTopic = `from-kafkajs-${codec}`;
    expected.set(kafkajsTopic, valuesFor(kafkajsTopic));
    await producer.send({ topic: kafkajsTopic, compression: CODECS[codec], messages: expected.get(kafkajsTopic)!.map((value, i) => ({ key: `k${i % 4}`, value })) });
    t.ok(
      (await storedCodecs(broker.logs.partition(kafkajsTopic, 0)!)).every((id) => id === CODEC_IDS[codec]),
      `kafkajs ${codec} batches are stored as produced`,
    );

    // A topic that names the codec: kcat's snappy (or gzip) batches are recompressed.
    const recompressed = `recompressed-${codec}`;
    const created = await kafka.admin();
    await created.connect();
    await created.createTopics({ topics: [{ topic: recompressed, numPartitions: 1, configEntries: [{ name: 'compression.type', value: codec }] }] });
    await created.disconnect();
    expected.set(recompressed, valuesFor(recompressed));
    await kcatProduce(bootstrap, recompressed, expected.get(recompressed)!, ['-z', codec === 'snappy' ? 'gzip' : 'snappy']);
    await kcatProduce(bootstrap, recompressed, ['uncompressed too'], []);
    expected.get(recompressed)!.push('uncompressed too');
    t.ok(
      (await storedCodecs(broker.logs.partition(recompressed, 0)!)).every((id) => id === CODEC_IDS[codec]),
      `compression.type=${codec}: every stored batch is ${codec}`,
    );
  }

  // The Java console producer with compression.type=zstd.
  if (javaToolsAvailable()) {
    const lines = valuesFor('from-java-zstd', 40);
    const produced = await runKafkaTool(
      TOOLS.consoleProducer,
      ['--bootstrap-server', bootstrap, '--topic', 'from-java-zstd', '--compression-codec', 'zstd'],
      lines.join('\n') + '\n',
    );
    t.equal(produced.code, 0, produced.stderr);
    expected.set('from-java-zstd', lines);
    t.ok(
      (await storedCodecs(broker.logs.partition('from-java-zstd', 0)!)).every((id) => id === CODEC_IDS.zstd),
      "the Java producer's zstd batches",
    );
  } else {
    t.fail('Kafka Java tools are missing');
  }

  // kcat reads everything back.
  for (const [topic, values] of expected) {
    t.same(
      (await kcatConsume(bootstrap, topic)).map((r) => r.value),
      values,
      `kcat reads ${topic}`,
    );
  }

  // kafkajs reads everything back.
  const consumer = kafka.consumer({ groupId: 'codec-reader' });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topics: [...expected.keys()], fromBeginning: true });
  const seen = new Map<string, string[]>();
  const total = [...expected.values()].reduce((sum, values) => sum + values.length, 0);
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafkajs read ${received} of ${total} records`)), 60_000);
    void consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (!seen.has(topic)) seen.set(topic, []);
        seen.get(topic)!.push(message.value!.toString());
        if (++received === total) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  for (const [topic, values] of expected) t.same(seen.get(topic), values, `kafkajs reads ${topic}`);

  // The Java console consumer reads what kafkajs and librdkafka compressed.
  if (javaToolsAvailable()) {
    const topics = ['from-kafkajs-lz4', 'from-kafkajs-zstd', 'from-kafkajs-snappy', 'from-kcat-lz4', 'recompressed-zstd', 'recompressed-snappy'];
    const wanted = topics.flatMap((topic) => expected.get(topic)!);
    const consumed = await runKafkaTool(TOOLS.consoleConsumer, [
      '--bootstrap-server',
      bootstrap,
      '--include',
      `^(${topics.join('|')})$`,
      '--from-beginning',
      '--max-messages',
      String(wanted.length),
      '--timeout-ms',
      '30000',
    ]);
    t.equal(consumed.code, 0, consumed.stderr);
    t.same(
      consumed.stdout
        .split('\n')
        .filter((line) => line !== '')
        .sort(),
      [...wanted].sort(),
      `the Java consumer reads every codec ${consumed.stderr.slice(-2000)}`,
    );
  }
});

t.test('keyless records are refused on compacted topics, compressed or not', async (t) => {
  const broker = await startTestBroker(t);
  const kafka = new Kafka({ clientId: 'spate-keyless', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'compacted', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.ZSTD]) {
    await t.rejects(
      producer.send({ topic: 'compacted', compression, messages: [{ key: 'k', value: 'v' }, { value: 'no key' }] }),
      { message: /[\s\S]*/, type: 'INVALID_RECORD' },
      `codec ${compression}`,
    );
    await producer.send({ topic: 'compacted', compression, messages: [{ key: 'k', value: `keyed ${compression}` }] });
  }
  const kcat = await run('kcat', ['-P', '-b', broker.bootstrap, '-t', 'compacted', '-z', 'lz4'], 'keyless\n');
  t.match(kcat.stderr, /failed to validate record/, 'librdkafka is told INVALID_RECORD');
  t.same(
    (await kcatConsume(broker.bootstrap, 'compacted')).map((r) => r.value),
    ['keyed 0', 'keyed 1', 'keyed 4'],
    'only keyed records were appended',
  );
});
