// The log cleaner on real partition logs: the last value per key survives with its
// original offset, batch boundaries and codecs are kept, tombstones go after their delete
// horizon, the dirty ratio and compaction lags are respected, a reader holding a segment
// during the swap keeps a consistent view, and an interrupted swap completes on restart.

import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBrokerConfig } from '../../src/config/broker-config.js';
import { resolveLogConfig } from '../../src/config/topic-config.js';
import { PartitionLog } from '../../src/log/partition-log.js';
import { LogCleaner } from '../../src/log/log-cleaner.js';
import { cleanLog } from '../../src/log/compaction.js';
import runCleanerWorker from '../../src/log/cleaner-worker.js';
import { SegmentLog } from '../../src/log/native.js';
import { CompressionPool } from '../../src/compression/pool.js';
import { batchesOf, recordsOf, recordsSection, sealBatch, Attribute } from '../../src/compression/batches.js';
import { Codec, compress, initCodecs } from '../../src/compression/codecs.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

const silent = { info() {}, warn() {}, error() {} };

interface ReadRecord {
  offset: bigint;
  key: string | null;
  value: string | null;
  timestamp: bigint;
  batchBase: bigint;
  codec: number;
}

async function readAll(log: PartitionLog, from = log.logStartOffset): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const slice = await log.read(offset, 1 << 20, true);
    if (slice === null) break;
    for (const batch of batchesOf(Buffer.from(slice.buffer))) {
      const section = recordsSection(batch);
      for (const record of recordsOf(section, batch.recordCount)) {
        const at = batch.baseOffset + BigInt(record.offsetDelta);
        if (at < offset) continue;
        const end = section.subarray(record.start, record.end);
        const value = record.hasValue ? valueOf(end) : null;
        out.push({
          offset: at,
          key: record.key?.toString() ?? null,
          value,
          timestamp: batch.baseTimestamp + BigInt(record.timestampDelta),
          batchBase: batch.baseOffset,
          codec: batch.codec,
        });
      }
      offset = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
    }
    slice.release();
  }
  return out;
}

/** The value of one encoded record (after key), decoded the long way for the test. */
function valueOf(record: Buffer): string {
  const decoded = encodeless(record);
  return decoded;
}

function readVarint(buffer: Buffer, at: number): [number, number] {
  let raw = 0;
  let scale = 1;
  for (;;) {
    const byte = buffer[at++]!;
    raw += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2, at];
  }
}

function encodeless(record: Buffer): string {
  let [, at] = readVarint(record, 0); // length
  at += 1; // attributes
  [, at] = readVarint(record, at); // timestamp delta
  [, at] = readVarint(record, at); // offset delta
  const [keyLength, afterKey] = readVarint(record, at);
  at = afterKey;
  if (keyLength > 0) at += keyLength;
  const [valueLength, valueAt] = readVarint(record, at);
  return record.subarray(valueAt, valueAt + valueLength).toString();
}

function keyedBatch(entries: Array<[string, string | null]>, timestamp: number, codec = 0): Buffer {
  const batch = encodeRecordBatch({ records: entries.map(([key, value]) => ({ key, value, timestamp })) });
  if (codec === 0) return batch;
  const section = compress(codec as 1, batch.subarray(61));
  const out = Buffer.concat([batch.subarray(0, 61), section]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE(codec, 21);
  sealBatch(out);
  return out;
}

// The first test runs the cleaner in its worker thread; the others inline (coverage of the
// compaction code does not follow worker threads).
let inline: typeof cleanLog | undefined;

function setup(t: Test, topicConfigs: Record<string, string> = {}, brokerOverrides: Record<string, string | number> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'spate-cleaner-'));
  const broker = loadBrokerConfig({ overrides: { 'log.cleaner.backoff.ms': 3600000, ...brokerOverrides } });
  const pool = new CompressionPool(1);
  const logConfig = resolveLogConfig({ 'cleanup.policy': 'compact', 'internal.segment.bytes': '600', ...topicConfigs }, broker);
  const log = new PartitionLog('compacted', 0, dir, logConfig, () => pool);
  const cleaner = new LogCleaner({ allLogs: () => [log] }, broker, silent, inline);
  inline = runCleanerWorker;
  t.teardown(async () => {
    cleaner.stop();
    log.close();
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, log, cleaner, broker, pool };
}

t.before(() => initCodecs());

t.test('compaction keeps the last value of each key at its offset, batch by batch', async (t) => {
  const { log, cleaner } = setup(t);
  const now = Date.now();
  const expected = new Map<string, { offset: bigint; value: string }>();
  let offset = 0n;
  for (let round = 0; round < 12; round++) {
    const entries: Array<[string, string]> = Array.from({ length: 4 }, (_, i) => [`key-${(round * 3 + i) % 7}`, `value ${round}.${i}`]);
    await log.append(keyedBatch(entries, now - 60_000, round % 3 === 0 ? Codec.GZIP : round % 3 === 1 ? Codec.ZSTD : 0), now);
    for (const [key, value] of entries) expected.set(key, { offset: offset++, value });
  }
  const segmentsBefore = log.segmentInfo();
  t.ok(segmentsBefore.length >= 3, `${segmentsBefore.length} segments`);
  const before = await readAll(log);
  const reader = await log.read(0n, 1 << 20, true); // held across the swap

  const candidate = cleaner.cleanability(log, now)!;
  t.ok(candidate.dirtyRatio === 1, 'everything below the active segment is dirty at first');
  const result = await cleaner.cleanFilthiest(now);
  t.ok(result, 'a pass ran');
  t.ok(result!.recordsRemoved > 0, `${result!.recordsRemoved} records removed`);
  t.equal(cleaner.statistics.passes, 1);

  const after = await readAll(log);
  const activeBase = segmentsBefore[segmentsBefore.length - 1]!.baseOffset;
  const lastCleanable = new Map<string, bigint>();
  for (const record of before) if (record.offset < activeBase) lastCleanable.set(record.key!, record.offset);
  for (const record of after) {
    const original = before.find((r) => r.offset === record.offset)!;
    t.same([record.key, record.value, record.timestamp, record.codec], [original.key, original.value, original.timestamp, original.codec], `offset ${record.offset} unchanged`);
    if (record.offset < activeBase) t.equal(lastCleanable.get(record.key!), record.offset, `${record.key}: only its latest cleanable record is left`);
  }
  const latest = new Map(after.map((r) => [r.key, r.value]));
  for (const [key, { value }] of expected) t.equal(latest.get(key), value, `${key} reads ${value}`);
  t.ok(after.length < before.length);
  const batchBases = new Set(before.map((r) => r.batchBase));
  t.ok(
    after.every((r) => batchBases.has(r.batchBase)),
    'batches keep their base offsets',
  );
  t.equal(log.logEndOffset, offset, 'the log end offset is unchanged');

  t.ok(reader !== null);
  const held = [...batchesOf(Buffer.from(reader!.buffer))];
  t.equal(held[0]!.baseOffset, 0n, 'a slice read before the swap still reads the old segment whole');
  reader!.release();

  t.equal(cleaner.cleanability(log, now)!.dirtyRatio, 0, 'clean after the pass');
  t.equal(await cleaner.cleanFilthiest(now), undefined, 'nothing to do below min.cleanable.dirty.ratio');
  t.notOk(
    readdirSync(log.dir).some((name) => name.endsWith('.cleaned') || name.endsWith('.swap')),
    'no leftovers',
  );
});

t.test('tombstones stay until their delete horizon, then go', async (t) => {
  const { log, cleaner } = setup(t, { 'delete.retention.ms': '1000' });
  const now = Date.now();
  await log.append(
    keyedBatch(
      [
        ['a', '1'],
        ['b', '1'],
        ['c', '1'],
      ],
      now,
    ),
    now,
  );
  await log.append(
    keyedBatch(
      [
        ['a', null],
        ['b', '2'],
      ],
      now,
    ),
    now,
  );
  for (let i = 0; i < 6; i++) await log.append(keyedBatch([[`filler-${i}`, 'x'.repeat(200)]], now), now);

  await cleaner.cleanFilthiest(now);
  let records = await readAll(log);
  const tombstone = records.find((r) => r.key === 'a')!;
  t.equal(tombstone.value, null, 'the tombstone is the only record of a');
  t.equal(tombstone.offset, 3n);
  t.equal(tombstone.timestamp, BigInt(now), 'its timestamp survives the delete horizon stamp');
  const stamped = await log.read(3n, 1 << 20, true);
  const [batch] = [...batchesOf(Buffer.from(stamped!.buffer))];
  stamped!.release();
  t.ok((batch!.attributes & Attribute.DELETE_HORIZON) !== 0, 'the batch carries a delete horizon');
  t.equal(batch!.baseTimestamp, BigInt(now + 1000));

  t.equal(cleaner.cleanability(log, now + 500)!.due, false, 'not due before the horizon');
  t.equal(cleaner.cleanability(log, now + 1500)!.due, true, 'due once the horizon passed');
  await cleaner.cleanFilthiest(now + 1500);
  records = await readAll(log);
  t.notOk(
    records.some((r) => r.key === 'a'),
    'the tombstone is gone after delete.retention.ms',
  );
  t.same(
    records.filter((r) => r.key === 'b').map((r) => r.value),
    ['2'],
  );
});

t.test('min.compaction.lag.ms holds back recent segments; max.compaction.lag.ms forces a pass', async (t) => {
  const { log, cleaner } = setup(t, { 'min.compaction.lag.ms': '60000', 'min.cleanable.dirty.ratio': '0.99', 'max.compaction.lag.ms': '120000' });
  const now = Date.now();
  for (let i = 0; i < 8; i++)
    await log.append(
      keyedBatch(
        [
          ['same', `v${i}`],
          ['other', 'x'.repeat(150)],
        ],
        now - 10_000,
      ),
      now,
    );
  t.equal(cleaner.cleanability(log, now), undefined, 'records younger than the minimum lag are not cleanable');
  const later = now + 100_000;
  const candidate = cleaner.cleanability(log, later)!;
  t.ok(candidate.dirtyBytes > 0 && candidate.due === false);
  const forced = cleaner.cleanability(log, now + 200_000)!;
  t.equal(forced.due, true, 'older than max.compaction.lag.ms: due whatever the ratio');
  t.ok(await cleaner.cleanFilthiest(now + 200_000));
});

t.test('keyless records are refused on a compacted topic, compressed or not', async (t) => {
  const { log } = setup(t);
  const now = Date.now();
  const plain = encodeRecordBatch({
    records: [
      { key: 'k', value: 'v' },
      { key: null, value: 'no key' },
    ],
  });
  t.throws(() => log.append(plain, now), { kafkaCode: 87, message: /without key in topic partition compacted-0/ });
  const zipped = keyedBatch([['k', 'v']], now, Codec.GZIP);
  const keylessZipped = (() => {
    const batch = encodeRecordBatch({ records: [{ key: null, value: 'v' }] });
    const section = compress(Codec.GZIP, batch.subarray(61));
    const out = Buffer.concat([batch.subarray(0, 61), section]);
    out.writeInt32BE(out.length - 12, 8);
    out.writeInt16BE(Codec.GZIP, 21);
    sealBatch(out);
    return out;
  })();
  await t.rejects(Promise.resolve(log.append(keylessZipped, now)), { message: /[\s\S]*/, kafkaCode: 87 });
  t.match(await log.append(zipped, now), { baseOffset: 0n });
});

t.test('an interrupted swap completes at open; a leftover .cleaned file is dropped', async (t) => {
  await initCodecs();
  const dir = mkdtempSync(join(tmpdir(), 'spate-swap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const options = { segmentBytes: 300 };
  const first = new SegmentLog(dir, options);
  const batches = [0, 1, 2, 3].map((i) => encodeRecordBatch({ records: [{ key: `k${i % 2}`, value: `value ${i} ${'x'.repeat(150)}` }] }));
  for (const batch of batches) first.append(batch, { batchCount: 1 }, Date.now());
  const segments = first.segments();
  t.ok(segments.length >= 3);
  first.close();
  // Segment 0 holds offset 0 only; its "cleaned" copy is empty (k0 is superseded at 2).
  const name = '00000000000000000000';
  writeFileSync(join(dir, `${name}.log.swap`), Buffer.alloc(0));
  writeFileSync(join(dir, `${name}.log.cleaned`), Buffer.alloc(10));
  copyFileSync(join(dir, `${name}.index`), join(dir, `${name}.index.swap`));
  const reopened = new SegmentLog(dir, options);
  t.teardown(() => reopened.close());
  t.equal(reopened.segments()[0]!.size, 0, 'the swapped-in (empty) segment replaced the old one');
  t.equal(reopened.logEndOffset, 4n);
  const files = readdirSync(dir);
  t.notOk(
    files.some((f) => f.endsWith('.swap') || f.endsWith('.cleaned')),
    'no swap or cleaned files remain',
  );
  t.notOk(existsSync(join(dir, `${name}.index`)), "the old segment's index was dropped (an empty segment needs none)");
  const slice = await reopened.read(0n, 1 << 20, true);
  t.equal(slice!.baseOffset, 1n, 'reads skip the emptied segment');
  slice!.release();
});

t.test('replaceSegment refuses a segment that changed since it was read', async (t) => {
  const { log } = setup(t);
  const now = Date.now();
  for (let i = 0; i < 6; i++) await log.append(keyedBatch([['k', `v${i} ${'x'.repeat(200)}`]], now), now);
  const [firstSegment] = log.segmentInfo();
  writeFileSync(join(log.dir, '00000000000000000000.log.cleaned'), Buffer.alloc(0));
  t.equal(await log.replaceSegment(firstSegment!.baseOffset, firstSegment!.size + 1), false, 'size mismatch: not swapped');
  t.notOk(readdirSync(log.dir).some((f) => f.endsWith('.swap') || f.endsWith('.cleaned')));
  t.equal(log.segmentInfo()[0]!.size, firstSegment!.size);
});
