// The codecs byte for byte as Kafka clients write them, checked against independent
// implementations (lz4js, snappyjs through kafkajs-snappy, hand-built zstd and snappy
// frames), the batch transformations, and the worker pool that runs them.

import t from 'tap';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { Codec, CodecError, compress, decompress, initCodecs } from '../../src/compression/codecs.js';
import { batchesOf, recordsOf, recordsSection } from '../../src/compression/batches.js';
import { transformBatches } from '../../src/compression/transform.js';
import { CompressionPool } from '../../src/compression/pool.js';
import runWorker from '../../src/compression/worker.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/record-batch.js';

const require = createRequire(import.meta.url);
const lz4js = require('lz4js') as { compress(data: Uint8Array): number[]; decompress(data: Uint8Array): number[] };
const snappyCodec = (require('kafkajs-snappy') as () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> })();

const text = Buffer.from(Array.from({ length: 3000 }, (_, i) => `record ${i} ${'payload '.repeat(i % 7)}`).join('\n'));

t.before(() => initCodecs());

t.test('every codec round-trips', async (t) => {
  for (const codec of [Codec.NONE, Codec.GZIP, Codec.SNAPPY, Codec.LZ4, Codec.ZSTD]) {
    const packed = compress(codec, text, { gzip: 9, zstd: 5 });
    if (codec !== Codec.NONE) t.ok(packed.length < text.length, `codec ${codec} compresses`);
    t.ok(decompress(codec, packed).equals(text), `codec ${codec} round-trips`);
  }
  t.ok(decompress(Codec.GZIP, Buffer.concat([gzipSync('ab'), gzipSync('cd')])).equals(Buffer.from('abcd')), 'gzip members back to back');
});

t.test('snappy: xerial framing out, framed and raw in', async (t) => {
  const framed = compress(Codec.SNAPPY, text);
  t.same([...framed.subarray(0, 16)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1], 'the 16-byte xerial header');
  t.ok(framed.readInt32BE(16) > 0, 'then a length-prefixed block');
  t.ok((await snappyCodec.decompress(framed)).equals(text), 'kafkajs-snappy (snappyjs) reads our framing');
  const raw = await snappyCodec.compress({ buffer: text });
  t.ok(decompress(Codec.SNAPPY, raw).equals(text), 'unframed raw snappy as kafkajs-snappy writes it');
  t.throws(() => decompress(Codec.SNAPPY, Buffer.concat([framed.subarray(0, 20), Buffer.alloc(3)])), CodecError);
});

t.test('lz4: the frame format, readable by an independent implementation', async (t) => {
  const frame = compress(Codec.LZ4, text);
  t.equal(frame.readUInt32LE(0), 0x184d2204, 'LZ4 frame magic');
  t.equal(frame[4]! & 0x20, 0x20, 'independent blocks, as the Java client writes');
  t.ok(Buffer.from(lz4js.decompress(frame)).equals(text), 'lz4js reads it');
  t.ok(decompress(Codec.LZ4, Buffer.from(lz4js.compress(text))).equals(text), 'we read lz4js frames');
  t.throws(() => decompress(Codec.LZ4, Buffer.from('not lz4 at all')), CodecError);
});

t.test('zstd: frames with and without a content size', async (t) => {
  const frame = compress(Codec.ZSTD, text);
  t.equal(frame.readUInt32LE(0), 0xfd2fb528);
  // A frame as streaming writers (zstd-jni) produce it: no content size, one raw block.
  const payload = Buffer.from('a zstd frame without its size');
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]);
  const block = Buffer.alloc(3);
  block.writeUIntLE((payload.length << 3) | 1, 0, 3); // last block, raw, size
  t.ok(decompress(Codec.ZSTD, Buffer.concat([header, block, payload])).equals(payload));
  const big = Buffer.alloc(300_000, 'z');
  const bigBlocks: Buffer[] = [header];
  for (let at = 0; at < big.length; at += 100_000) {
    const size = Math.min(100_000, big.length - at);
    const blockHeader = Buffer.alloc(3);
    blockHeader.writeUIntLE((size << 3) | (at + size >= big.length ? 1 : 0), 0, 3);
    bigBlocks.push(blockHeader, big.subarray(at, at + size));
  }
  t.ok(decompress(Codec.ZSTD, Buffer.concat(bigBlocks)).equals(big), 'the output buffer grows when the size is unknown');
  t.throws(() => decompress(Codec.ZSTD, Buffer.from('definitely not zstd')), CodecError);
  t.throws(() => decompress(Codec.ZSTD, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x08, 0, 0, 0])), CodecError, 'reserved bit');
});

const keyed = (count: number, keyless = -1) =>
  encodeRecordBatch({
    producerId: 7n,
    producerEpoch: 1,
    baseSequence: 0,
    records: Array.from({ length: count }, (_, i) => ({ key: i === keyless ? null : `key-${i}`, value: `value ${i} ${'v'.repeat(50)}`, timestamp: 1700000000000 + i })),
  });

/** A batch with its records section compressed, as a producer sends it. */
function compressed(batch: Buffer, codec: number): Buffer {
  const [view] = [...batchesOf(batch)];
  const out = Buffer.from(view!.bytes);
  const section = compress(codec as 0, out.subarray(61));
  const result = Buffer.concat([out.subarray(0, 61), section]);
  result.writeInt32BE(result.length - 12, 8);
  result.writeInt16BE(codec, 21);
  return result;
}

t.test('transformBatches recompresses to the topic codec and keeps the records', async (t) => {
  const input = Buffer.concat([compressed(keyed(20), Codec.SNAPPY), keyed(5)]);
  const result = await transformBatches({ records: input, targetCodec: Codec.ZSTD, requireKeys: true, levels: {} });
  if (!result.ok) throw new Error(result.message);
  t.equal(result.changed, true);
  const batches = [...batchesOf(Buffer.from(result.records))];
  t.same(
    batches.map((b) => b.codec),
    [Codec.ZSTD, Codec.ZSTD],
  );
  t.equal(batches[0]!.producerId, 7n, 'producer fields kept');
  const values = batches.flatMap((b) => [...recordsOf(recordsSection(b), b.recordCount)].map((r) => r.key!.toString()));
  t.same(values, [...Array.from({ length: 20 }, (_, i) => `key-${i}`), ...Array.from({ length: 5 }, (_, i) => `key-${i}`)]);

  const decompressed = await transformBatches({ records: compressed(keyed(3), Codec.LZ4), targetCodec: Codec.NONE, requireKeys: false, levels: {} });
  if (!decompressed.ok) throw new Error(decompressed.message);
  t.same(
    decodeRecordBatches(Buffer.from(decompressed.records))[0]!.records.map((r) => r.value!.toString().slice(0, 7)),
    ['value 0', 'value 1', 'value 2'],
    'uncompressed batches decode with the plain decoder (CRC checked)',
  );

  const same = await transformBatches({ records: compressed(keyed(3), Codec.GZIP), targetCodec: -1, requireKeys: false, levels: {} });
  t.match(same, { ok: true, changed: false }, 'compression.type=producer keeps the batch');
});

t.test('transformBatches refuses keyless records and corrupt payloads', async (t) => {
  const keyless = await transformBatches({ records: compressed(keyed(4, 2), Codec.GZIP), targetCodec: -1, requireKeys: true, levels: {} });
  t.match(keyless, { ok: false, errorCode: 87, message: /without key/ });
  const corrupt = compressed(keyed(4), Codec.GZIP);
  corrupt.fill(0, 70, 90);
  t.match(await transformBatches({ records: corrupt, targetCodec: Codec.NONE, requireKeys: false, levels: {} }), { ok: false, errorCode: 2 });
});

t.test('the worker pool runs transformations off the event loop', async (t) => {
  const pool = new CompressionPool(2);
  t.teardown(() => pool.close());
  const input = compressed(keyed(50), Codec.SNAPPY);
  const framed = Buffer.concat([Buffer.alloc(10, 1), input, Buffer.alloc(10, 2)]).subarray(10, 10 + input.length);
  const results = await Promise.all(Array.from({ length: 6 }, () => pool.transform({ records: framed, targetCodec: Codec.GZIP, requireKeys: true, levels: { gzip: 1 } })));
  for (const result of results) {
    if (!result.ok) throw new Error(result.message);
    t.equal([...batchesOf(Buffer.from(result.records))][0]!.codec, Codec.GZIP);
  }
  t.ok(framed.buffer.byteLength > 0, "the caller's buffer is not detached");
  t.ok(pool.threads >= 1, `${pool.threads} worker thread(s)`);
  const unchanged = await pool.transform({ records: framed, targetCodec: -1, requireKeys: true, levels: {} });
  t.match(unchanged, { ok: true, changed: false });
  t.equal((unchanged as { records: Uint8Array }).records, framed, "an unchanged batch is the caller's own buffer");
});

t.test('tasks that arrive while the pool is first created share one pool, and all finish', async (t) => {
  // A burst of compressed produces right after start once made a pool per task; the tasks
  // of the pools that were replaced never finished (a broker under load answered nothing).
  const pool = new CompressionPool(2);
  t.teardown(() => pool.close());
  const input = compressed(keyed(20), Codec.GZIP);
  const burst = Promise.all(Array.from({ length: 160 }, () => pool.transform({ records: input, targetCodec: Codec.LZ4, requireKeys: false, levels: {} })));
  const outcome = await Promise.race([burst, new Promise<'stalled'>((resolve) => setTimeout(() => resolve('stalled'), 60_000))]);
  t.not(outcome, 'stalled', 'every task of the burst finished');
  if (outcome !== 'stalled') t.equal(outcome.filter((result) => result.ok && result.changed).length, 160);
  t.ok(pool.threads <= 2, `at most maxThreads workers (${pool.threads})`);
});

t.test('the worker entry answers with records of their own, or the refusal', async (t) => {
  const changed = await runWorker({ records: compressed(keyed(3), Codec.GZIP), targetCodec: Codec.LZ4, requireKeys: false, levels: {} });
  t.match(changed, { ok: true, changed: true });
  t.equal((changed as { records: Uint8Array }).records.byteOffset, 0);
  t.match(await runWorker({ records: keyed(2), targetCodec: -1, requireKeys: false, levels: {} }), { ok: true, changed: false });
  t.match(await runWorker({ records: compressed(keyed(2, 0), Codec.GZIP), targetCodec: -1, requireKeys: true, levels: {} }), { ok: false, errorCode: 87 });
});
