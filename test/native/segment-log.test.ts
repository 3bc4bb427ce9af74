import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { LogError, SegmentLog, validateBatches } from '../../src/log/native.js';
import { buildBatch, simpleRecords } from './fixtures/batch-builder.js';
import { appendBatch, appendMany, openLog, readAll, tempDir, type Appended } from './fixtures/helpers.js';

const small = { segmentBytes: 4096, indexIntervalBytes: 256, segmentIndexBytes: 4096 };

function batchFor(batches: Appended[], offset: bigint): Appended {
  return batches.find((b) => b.baseOffset <= offset && offset <= b.lastOffset)!;
}

t.test('append assigns offsets and patches baseOffset in the caller buffer', async (t) => {
  const log = openLog(t, tempDir(t));
  t.equal(log.logEndOffset, 0n);
  const first = appendBatch(log, simpleRecords(3, 10));
  const second = appendBatch(log, simpleRecords(2, 10));
  t.same([first.baseOffset, first.lastOffset, second.baseOffset, second.lastOffset], [0n, 2n, 3n, 4n]);
  t.equal(second.bytes.readBigInt64BE(0), 3n);
  t.equal(log.logEndOffset, 5n);
  t.equal(log.size, first.bytes.length + second.bytes.length);
  // The CRC does not cover baseOffset: the patched batches still validate.
  t.equal(validateBatches(Buffer.concat([first.bytes, second.bytes])).batchCount, 2);
});

t.test('one append with several batches', async (t) => {
  const log = openLog(t, tempDir(t));
  const bytes = Buffer.concat([buildBatch({ records: simpleRecords(2, 5) }), buildBatch({ records: simpleRecords(4, 5) })]);
  const result = log.append(bytes, validateBatches(bytes), Date.now());
  t.match(result, { baseOffset: 0n, lastOffset: 5n, logAppendTime: -1n, position: 0 });
  const slice = (await log.read(2n, 1 << 20, true))!;
  t.equal(slice.baseOffset, 2n);
  t.equal(slice.lastOffset, 5n);
  slice.release();
});

t.test('round trip across segment rolls, every offset finds its batch', async (t) => {
  const log = openLog(t, tempDir(t), small);
  const batches = appendMany(log, 120);
  t.ok(log.segmentCount > 5, `rolled into ${log.segmentCount} segments`);
  t.equal(log.logEndOffset, batches.at(-1)!.lastOffset + 1n);
  t.equal(
    log.size,
    batches.reduce((n, b) => n + b.bytes.length, 0),
  );

  let wrong = 0;
  for (let offset = 0n; offset < log.logEndOffset; offset++) {
    const expected = batchFor(batches, offset);
    for (const delivery of ['mmap', 'sendfile'] as const) {
      const slice = (await log.read(offset, 1, true, delivery))!;
      if (slice.baseOffset !== expected.baseOffset || slice.lastOffset !== expected.lastOffset || slice.length !== expected.bytes.length) wrong++;
      if (delivery === 'mmap' && !slice.buffer!.equals(expected.bytes)) wrong++;
      if (delivery === 'sendfile' && slice.buffer !== undefined) wrong++;
      slice.release();
    }
  }
  t.equal(wrong, 0, 'each read returns exactly the batch holding the offset');
  t.ok((await readAll(log)).equals(Buffer.concat(batches.map((b) => b.bytes))), 'whole log reads back');
});

t.test('a read never crosses a segment boundary', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, dir, small);
  const batches = appendMany(log, 60);
  const slice = (await log.read(0n, 1 << 20, true))!;
  const firstSegment = statSync(join(dir, '00000000000000000000.log')).size;
  t.equal(slice.length, firstSegment, 'the first read is the whole first segment');
  t.ok(
    batches.some((b) => b.baseOffset === slice.lastOffset + 1n),
    'the next read starts at a batch boundary',
  );
  t.ok(existsSync(join(dir, `${String(slice.lastOffset + 1n).padStart(20, '0')}.log`)), 'which is the next segment');
  slice.release();
});

t.test('maxBytes and minOneBatch (KIP-74)', async (t) => {
  const log = openLog(t, tempDir(t));
  const a = appendBatch(log, simpleRecords(2, 100));
  const b = appendBatch(log, simpleRecords(2, 100));
  appendBatch(log, simpleRecords(2, 100));
  const tooSmall = (await log.read(0n, a.bytes.length - 1, false))!;
  t.equal(tooSmall.length, 0, 'without minOneBatch an oversized first batch gives nothing');
  t.equal(tooSmall.buffer!.length, 0);
  const one = (await log.read(0n, a.bytes.length - 1, true))!;
  t.equal(one.length, a.bytes.length, 'with minOneBatch the first batch comes whole');
  t.equal(one.lastOffset, a.lastOffset);
  const exactlyTwo = (await log.read(0n, a.bytes.length + b.bytes.length, false))!;
  t.equal(exactlyTwo.length, a.bytes.length + b.bytes.length);
  t.equal(exactlyTwo.lastOffset, b.lastOffset);
  const almostTwo = (await log.read(1n, a.bytes.length + b.bytes.length - 1, false))!;
  t.equal(almostTwo.length, a.bytes.length, 'only whole batches');
});

t.test('reads at and beyond the log end', async (t) => {
  const log = openLog(t, tempDir(t));
  t.equal(await log.read(0n, 100, true), null, 'an empty log reads null at offset 0');
  appendBatch(log, simpleRecords(3, 10));
  t.equal(await log.read(3n, 100, true), null);
  await t.rejects(log.read(4n, 100, true), { kafkaCode: 1, code: 'OFFSET_OUT_OF_RANGE' });
  await t.rejects(log.read(-1n, 100, true), { name: 'LogError', kafkaCode: 1 });
  const error = await log.read(99n, 100, true).catch((e: unknown) => e);
  t.type(error, LogError);
});

t.test('offsetForTimestamp follows Kafka ListOffsets semantics', async (t) => {
  const log = openLog(t, tempDir(t), small);
  // Batch i: base timestamp 10_000 + 100 i, record deltas 0..n-1; batch 40 jumps ahead.
  type Rec = { offset: bigint; timestamp: bigint };
  const batches: Array<{ records: Rec[]; maxTimestamp: bigint }> = [];
  for (let i = 0; i < 80; i++) {
    const base = i === 40 ? 50_000n : 10_000n + BigInt(i) * 100n;
    const count = 1 + (i % 3);
    const appended = appendBatch(log, simpleRecords(count, 60, i), base);
    const records = Array.from({ length: count }, (_, r) => ({ offset: appended.baseOffset + BigInt(r), timestamp: base + BigInt(r) }));
    batches.push({ records, maxTimestamp: appended.maxTimestamp });
  }
  // Kafka: the first batch whose maxTimestamp >= target, then its first record >= target.
  const expected = (target: bigint) => batches.find((b) => b.maxTimestamp >= target)?.records.find((r) => r.timestamp >= target) ?? null;
  const targets = [0n, 10_000n, 10_001n, 10_150n, 12_345n, 13_999n, 17_901n, 17_902n, 17_903n, 49_999n, 50_001n, 50_002n, 60_000n];
  for (let i = 0; i < 30; i++) targets.push(10_000n + BigInt(Math.floor(Math.random() * 8_000)));
  for (const target of targets) t.same(await log.offsetForTimestamp(target), expected(target), `timestamp ${target}`);
  t.equal(await log.offsetForTimestamp(60_000n), null);
});

t.test('maxTimestamp tracks the batch with the largest timestamp', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, dir, small);
  t.same(log.maxTimestamp(), { offset: -1n, timestamp: -1n });
  appendMany(log, 30);
  const peak = appendBatch(log, simpleRecords(3, 50), 9_000_000n);
  appendMany(log, 30, 7);
  t.same(log.maxTimestamp(), { offset: peak.lastOffset, timestamp: 9_000_002n });
  log.close();
  const reopened = openLog(t, dir, small);
  t.same(reopened.maxTimestamp(), { offset: peak.lastOffset, timestamp: 9_000_002n });
});

t.test('close and reopen give the same log', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, dir, small);
  const batches = appendMany(log, 70);
  const before = await readAll(log);
  const segments = log.segmentCount;
  log.close();
  t.equal(log.recoveryPoint, log.logEndOffset, 'closing flushed everything: the recovery point is the log end');
  t.notOk(existsSync(join(dir, '.spate-clean')), 'no marker of its own: the log dir keeps .kafka_cleanshutdown');
  t.throws(() => log.append(Buffer.alloc(0), { batchCount: 0 }, 0), { code: 'LOG_CLOSED', kafkaCode: 56 });
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.index')) t.equal(statSync(join(dir, name)).size % 8, 0);
    if (name.endsWith('.timeindex')) t.equal(statSync(join(dir, name)).size % 12, 0);
  }
  t.ok(statSync(join(dir, '00000000000000000000.index')).size < small.segmentIndexBytes, 'indexes trimmed');

  const reopened = openLog(t, dir, { ...small, cleanShutdown: true, recoveryPoint: log.recoveryPoint });
  t.equal(reopened.recoveryPoint, reopened.logEndOffset, 'a clean open starts with everything on disk');
  t.equal(reopened.segmentCount, segments);
  t.equal(reopened.logEndOffset, batches.at(-1)!.lastOffset + 1n);
  t.ok((await readAll(reopened)).equals(before));
  const more = appendBatch(reopened, simpleRecords(2, 10));
  t.equal(more.baseOffset, batches.at(-1)!.lastOffset + 1n);
  t.equal((await reopened.read(more.baseOffset, 1, true))!.buffer!.equals(more.bytes), true);
});

t.test('SegmentLog.open recovers on a worker thread', async (t) => {
  const dir = tempDir(t);
  const log = await SegmentLog.open(dir, small);
  t.teardown(() => log.closed || log.close());
  appendMany(log, 10);
  t.equal(log.segmentCount >= 1, true);
  await t.rejects(SegmentLog.open(dir, small), { code: 'LOG_DIR_LOCKED' });
});

t.test('rolls on segmentMs and rejects appends larger than a segment', async (t) => {
  const log = openLog(t, tempDir(t), { segmentMs: 1000, segmentBytes: 8192 });
  const bytes = () => buildBatch({ records: simpleRecords(1, 10) });
  const append = (nowMs: number) => {
    const b = bytes();
    return log.append(b, validateBatches(b), nowMs);
  };
  append(10_000);
  append(10_500);
  t.equal(log.segmentCount, 1);
  append(11_001);
  t.equal(log.segmentCount, 2, 'the segment older than segmentMs rolled');
  const huge = buildBatch({ records: simpleRecords(1, 9000) });
  t.throws(() => log.append(huge, validateBatches(huge), 11_002), { kafkaCode: 18, code: 'RECORD_LIST_TOO_LARGE' });
  t.throws(() => log.append(bytes(), { batchCount: 2 }, 0), { name: 'LogError', kafkaCode: 87 });
});

t.test('flush policies', async (t) => {
  const log = openLog(t, tempDir(t), { flushMessages: 1 });
  appendMany(log, 5);
  log.flush();
  t.equal(log.logEndOffset > 0n, true);
});

t.test('truncateTo removes whole batches, across segments', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, dir, small);
  const batches = appendMany(log, 80);
  const target = batches[50]!;
  const segmentsBefore = log.segmentCount;
  log.truncateTo(target.baseOffset + (target.lastOffset > target.baseOffset ? 1n : 0n));
  t.equal(log.logEndOffset, target.baseOffset, 'the batch holding the offset goes too');
  t.ok(log.segmentCount < segmentsBefore);
  t.ok((await readAll(log)).equals(Buffer.concat(batches.slice(0, 50).map((b) => b.bytes))));
  const again = appendBatch(log, simpleRecords(2, 10));
  t.equal(again.baseOffset, target.baseOffset);
  log.close();
  const reopened = openLog(t, dir, small);
  t.equal(reopened.logEndOffset, target.baseOffset + 2n);
});

t.test('deleteSegmentsBefore advances the log start offset durably', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, dir, small);
  const batches = appendMany(log, 80);
  const cut = batches[40]!.baseOffset + 1n;
  const deleted = log.deleteSegmentsBefore(cut);
  t.ok(deleted > 0);
  t.equal(log.logStartOffset, cut);
  await t.rejects(log.read(0n, 100, true), { name: 'LogError', kafkaCode: 1 });
  const slice = (await log.read(cut, 1, true))!;
  t.equal(slice.baseOffset, batchFor(batches, cut).baseOffset, 'the batch holding the start offset is still served');
  slice.release();
  const segments = log.segmentCount;
  log.close();
  const reopened = openLog(t, dir, small);
  t.equal(reopened.logStartOffset, cut);
  t.equal(reopened.segmentCount, segments);
});

t.test('slices outlive segment deletion, truncation and close', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, dir, small);
  const batches = appendMany(log, 80);
  const oldSlice = (await log.read(0n, 1 << 20, true))!;
  const expectedOld = Buffer.from(oldSlice.buffer!);
  const tail = batches.at(-1)!;
  const tailSlice = (await log.read(tail.baseOffset, 1 << 20, true))!;
  const tailBuffer = tailSlice.buffer!;
  tailSlice.release(); // the Buffer alone must keep the mapping (and the bytes) alive

  log.deleteSegmentsBefore(batches[60]!.baseOffset);
  log.truncateTo(tail.baseOffset);
  appendBatch(log, simpleRecords(4, 200)); // new bytes where the old tail was
  t.ok(oldSlice.buffer!.equals(expectedOld), 'a deleted segment is still readable through its slice');
  t.ok(tailBuffer.equals(tail.bytes), 'a truncated tail is still readable through its buffer');
  log.close();
  t.ok(oldSlice.buffer!.equals(expectedOld), 'and after close');
  oldSlice.release();
  oldSlice.release();
  t.equal(oldSlice.released, true);
});

/** Bytes of `file` in the page cache (util-linux fincore), or undefined without the tool. */
function residentBytes(file: string): number | undefined {
  try {
    return Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file], { encoding: 'utf8' }).trim());
  } catch {
    return undefined;
  }
}

t.test('an mmap read brings the pages it returns into the page cache before it resolves', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, dir);
  const batches = Array.from({ length: 64 }, (_, i) => appendBatch(log, simpleRecords(8, 4000, i)));
  log.flush(); // clean pages can be dropped
  const segment = join(dir, '00000000000000000000.log');
  // GNU dd: iflag=nocache with count=0 asks the kernel to drop the whole file's cached pages.
  execFileSync('dd', [`if=${segment}`, 'iflag=nocache', 'count=0', 'status=none']);
  const before = residentBytes(segment);
  if (before === undefined || before > log.size / 2) {
    t.pass(`not checked: cannot drop the segment's pages here (fincore: ${before ?? 'missing'})`);
    return;
  }
  const slice = (await log.read(batches[8]!.baseOffset, 1 << 20, true, 'mmap'))!;
  const after = residentBytes(segment)!;
  t.ok(after - before >= slice.length - 8192, `the ${slice.length} bytes read are resident (${before} -> ${after} bytes)`);
  t.ok(slice.buffer!.equals(Buffer.concat(batches.slice(8, 8 + Math.round(slice.length / batches[8]!.bytes.length)).map((b) => b.bytes))));
  slice.release();
  // Already resident: the read maps nothing and the Buffer is made on first use.
  const again = (await log.read(batches[8]!.baseOffset, 1 << 20, true, 'mmap'))!;
  t.equal(again.length, slice.length);
  t.ok(again.buffer!.equals(slice.buffer!), 'a Buffer made after a read that mapped nothing has the same bytes');
  again.release();
});

t.test('copyTo copies a slice into a buffer, within bounds, until released', async (t) => {
  const log = openLog(t, tempDir(t));
  const batches = Array.from({ length: 4 }, (_, i) => appendBatch(log, simpleRecords(3, 100, i)));
  const slice = (await log.read(batches[1]!.baseOffset, 1 << 20, true, 'sendfile'))!;
  const target = Buffer.alloc(slice.length + 10, 0xee);
  slice.copyTo(target, 10, slice.length);
  t.ok(target.subarray(10).equals(Buffer.concat(batches.slice(1).map((b) => b.bytes))), 'the bytes, at the offset');
  t.equal(target[9], 0xee, 'nothing before it');
  t.throws(() => slice.copyTo(target, 11, slice.length), /inside both/, 'past the end of the target');
  t.throws(() => slice.copyTo(Buffer.alloc(slice.length + 8), 0, slice.length + 1), /inside both/, 'past the end of the slice');
  slice.release();
  t.throws(() => slice.copyTo(target, 0, 1), { code: 'SLICE_RELEASED' });
});

t.test('readNow reads the active segment from the page cache on the calling thread, and declines the rest', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, dir, small);
  const batches = appendMany(log, 60);
  t.ok(log.segmentCount > 2);
  const last = batches.at(-1)!;
  const now = log.readNow(last.baseOffset, 1 << 20, true, 'mmap');
  t.ok(now !== undefined && now !== null, 'the active segment is read at once');
  const later = (await log.read(last.baseOffset, 1 << 20, true, 'mmap'))!;
  t.same([now!.baseOffset, now!.lastOffset, now!.length], [later.baseOffset, later.lastOffset, later.length], 'as read() reads it');
  t.ok(now!.buffer!.equals(later.buffer!));
  now!.release();
  later.release();
  t.equal(log.readNow(log.logEndOffset, 1 << 20, true), null, 'null at the log end');
  t.equal(log.readNow(0n, 1 << 20, true), undefined, 'an older segment is left to a worker thread');
  t.throws(() => log.readNow(log.logEndOffset + 1n, 1, true), { code: 'OFFSET_OUT_OF_RANGE' });
});

t.test('readNow declines a read whose pages are not in the page cache', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, dir);
  const batches = Array.from({ length: 16 }, (_, i) => appendBatch(log, simpleRecords(8, 2000, i)));
  log.flush(); // clean pages can be dropped; nothing is mapped yet
  const segment = join(dir, '00000000000000000000.log');
  execFileSync('dd', [`if=${segment}`, 'iflag=nocache', 'count=0', 'status=none']);
  if ((residentBytes(segment) ?? 1) > 0) {
    t.pass('not checked: cannot drop the segment pages here');
    return;
  }
  t.equal(log.readNow(batches[4]!.baseOffset, 1 << 20, true), undefined, 'a read that would wait for the disk is declined');
  const read = (await log.read(batches[4]!.baseOffset, 1 << 20, true))!;
  t.ok(read.buffer!.equals(Buffer.concat(batches.slice(4).map((b) => b.bytes))), 'and read() serves it');
  read.release();
});

t.test('concurrent reads while appending', async (t) => {
  const log = openLog(t, tempDir(t), small);
  const batches: Appended[] = [];
  const reads: Array<Promise<void>> = [];
  let wrong = 0;
  for (let i = 0; i < 200; i++) {
    batches.push(appendBatch(log, simpleRecords(2, 40, i)));
    const target = batches[Math.floor(Math.random() * batches.length)]!;
    reads.push(
      log.read(target.lastOffset, 1, true).then((slice) => {
        if (!slice || !slice.buffer!.equals(target.bytes)) wrong++;
        slice?.release();
      }),
    );
  }
  await Promise.all(reads);
  t.equal(wrong, 0);
});

t.test('argument checks', async (t) => {
  t.throws(() => new SegmentLog(tempDir(t), { segmentBytes: -1 }), { code: 'ERR_INVALID_ARG_TYPE' });
  const log = openLog(t, tempDir(t));
  t.throws(() => log.append('x' as unknown as Buffer, { batchCount: 1 }, 0), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => log.read(0.5 as unknown as bigint, 1, true), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => log.read(0n, 1, true, 'pipe' as 'mmap'), { code: 'ERR_INVALID_ARG_TYPE' });
});

t.test('reads return the longest run of whole batches that fits maxBytes', async (t) => {
  const dir = tempDir(t);
  const options = { segmentBytes: 32768, indexIntervalBytes: 300 };
  const log = openLog(t, dir, options);
  const batches = appendMany(log, 300);
  const segmentBases = new Set(
    readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .map((n) => BigInt(n.slice(0, 20))),
  );
  let wrong = 0;
  for (let i = 0; i < 400; i++) {
    const offset = BigInt(Math.floor(Math.random() * Number(log.logEndOffset)));
    const maxBytes = Math.floor(Math.random() * 20000);
    const first = batches.findIndex((b) => b.lastOffset >= offset);
    let length = batches[first]!.bytes.length;
    let last = first;
    while (last + 1 < batches.length && !segmentBases.has(batches[last + 1]!.baseOffset) && length + batches[last + 1]!.bytes.length <= maxBytes) {
      length += batches[++last]!.bytes.length;
    }
    const slice = (await log.read(offset, maxBytes, true))!;
    const expected = Buffer.concat(batches.slice(first, last + 1).map((b) => b.bytes));
    if (slice.length !== length || slice.lastOffset !== batches[last]!.lastOffset || !slice.buffer!.equals(expected)) wrong++;
    slice.release();
  }
  t.equal(wrong, 0);
});
