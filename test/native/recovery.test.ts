// Recovery after an unclean stop: the log ends exactly at the last whole valid batch.
// A crash is simulated by copying the partition directory while the log is still open
// (the copy has the preallocated indexes and no clean-shutdown marker), then damaging it.
import { cpSync, existsSync, readdirSync, rmSync, statSync, truncateSync, appendFileSync, writeFileSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { validateBatches, type SegmentLogOptions } from '../../src/log/native.js';
import { buildBatch, simpleRecords } from './fixtures/batch-builder.js';
import { appendMany, openLog, readAll, tempDir, type Appended } from './fixtures/helpers.js';

function segmentPath(dir: string, base: bigint, suffix = '.log'): string {
  return join(dir, `${String(base).padStart(20, '0')}${suffix}`);
}

/** Copies `from` into a fresh directory, as a crash would leave it. */
function crashCopy(t: Test, from: string): string {
  const to = tempDir(t, 'crashed');
  cpSync(from, to, { recursive: true });
  rmSync(join(to, '.spate-clean'), { force: true });
  return to;
}

/** Opens `dir` and checks it holds exactly `expected` batches, each readable at every offset. */
async function expectLog(t: Test, dir: string, expected: Appended[], options?: SegmentLogOptions) {
  const log = openLog(t, dir, options);
  const end = expected.length ? expected.at(-1)!.lastOffset + 1n : 0n;
  t.equal(log.logEndOffset, end, `log end offset ${end}`);
  t.ok((await readAll(log)).equals(Buffer.concat(expected.map((b) => b.bytes))), 'batches read back intact');
  let wrong = 0;
  for (const batch of expected) {
    const slice = (await log.read(batch.lastOffset, 1, true))!;
    if (!slice.buffer!.equals(batch.bytes)) wrong++;
    slice.release();
  }
  t.equal(wrong, 0, 'rebuilt indexes find every batch');
  // The recovered log accepts appends at the right offset.
  const bytes = buildBatch({ records: simpleRecords(1, 5) });
  t.equal(log.append(bytes, validateBatches(bytes), Date.now()).baseOffset, end);
  log.close();
}

t.test('torn tail at many random byte positions', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, dir);
  const batches = appendMany(log, 40);
  const crashed = crashCopy(t, dir);
  log.close();
  const logFile = segmentPath(crashed, 0n);
  const size = statSync(logFile).size;
  const ends: number[] = [];
  let at = 0;
  for (const b of batches) ends.push((at += b.bytes.length));
  const cuts = new Set<number>([0, 1, 11, 12, 60, 61, ends[0]! - 1, ends[0]!, ends[0]! + 1, size - 1, size]);
  while (cuts.size < 40) cuts.add(Math.floor(Math.random() * size));
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    await t.test(`cut at ${cut}`, async (t) => {
      const copy = crashCopy(t, crashed);
      truncateSync(segmentPath(copy, 0n), cut);
      const whole = ends.filter((end) => end <= cut).length;
      await expectLog(t, copy, batches.slice(0, whole));
    });
  }
});

t.test('garbage after the last batch', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, dir);
  const batches = appendMany(log, 10);
  const crashed = crashCopy(t, dir);
  log.close();
  const firstBatch = Buffer.from(batches[0]!.bytes);
  const badCrc = Buffer.from(batches[3]!.bytes);
  badCrc.writeBigInt64BE(batches.at(-1)!.lastOffset + 1n, 0);
  badCrc[badCrc.length - 1] ^= 0xff;
  const nextOffsetGood = Buffer.from(batches[3]!.bytes);
  nextOffsetGood.writeBigInt64BE(batches.at(-1)!.lastOffset + 1n, 0);
  const tails: Record<string, Buffer> = {
    zeros: Buffer.alloc(4096),
    random: randomBytes(3000),
    'an old batch (offset goes backwards)': firstBatch,
    'a batch with a bad CRC': badCrc,
    'a header claiming more bytes than the file has': nextOffsetGood.subarray(0, 100),
  };
  for (const [name, tail] of Object.entries(tails)) {
    await t.test(name, async (t) => {
      const copy = crashCopy(t, crashed);
      appendFileSync(segmentPath(copy, 0n), tail);
      await expectLog(t, copy, batches);
    });
  }
  await t.test('a valid next batch is kept', async (t) => {
    const copy = crashCopy(t, crashed);
    appendFileSync(segmentPath(copy, 0n), nextOffsetGood);
    const extra = { ...batches[3]!, baseOffset: batches.at(-1)!.lastOffset + 1n, bytes: nextOffsetGood };
    extra.lastOffset = extra.baseOffset + (batches[3]!.lastOffset - batches[3]!.baseOffset);
    await expectLog(t, copy, [...batches, extra]);
  });
});

t.test('a clean shutdown is trusted, an unclean one with missing indexes is rebuilt', async (t) => {
  const dir = tempDir(t);
  const options = { segmentBytes: 4096, indexIntervalBytes: 200 };
  const log = openLog(t, dir, options);
  const batches = appendMany(log, 60);
  log.close();
  const copy = crashCopy(t, dir);
  for (const name of readdirSync(copy)) if (name.endsWith('index')) rmSync(join(copy, name));
  await expectLog(t, copy, batches, options);
  t.ok(existsSync(segmentPath(copy, 0n, '.index')));
});

t.test('several segments: only the tail after the recovery point is rescanned', async (t) => {
  const dir = tempDir(t);
  const options = { segmentBytes: 4096, indexIntervalBytes: 200 };
  const log = openLog(t, dir, options);
  const batches = appendMany(log, 80);
  const segments = log.segmentCount;
  const lastBase = BigInt(
    readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .sort()
      .at(-1)!
      .slice(0, 20),
  );
  // Rolled segments are flushed in the background; then the recovery point moves past them.
  for (let waited = 0; log.recoveryPoint !== lastBase && waited < 10_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const crashed = crashCopy(t, dir);
  const recoveryPoint = log.recoveryPoint;
  log.close();
  t.equal(recoveryPoint, lastBase, 'the recovery point is the active segment once the rolled ones are flushed');
  const firstSegmentBatches: Appended[] = [];
  let bytes = 0;
  for (const b of batches) {
    if (bytes + b.bytes.length > options.segmentBytes) break;
    bytes += b.bytes.length;
    firstSegmentBatches.push(b);
  }
  /** Flips a byte inside the third batch of the first segment. */
  const damageFirstSegment = (copy: string) => {
    t.equal(statSync(segmentPath(copy, 0n)).size, bytes);
    const file = segmentPath(copy, 0n);
    const content = readFileSync(file);
    const third = firstSegmentBatches[0]!.bytes.length + firstSegmentBatches[1]!.bytes.length;
    content[third + 70] ^= 0x55;
    writeFileSync(file, content);
  };

  await t.test('torn active segment', async (t) => {
    const copy = crashCopy(t, crashed);
    const file = segmentPath(copy, lastBase);
    const lastSize = statSync(file).size;
    truncateSync(file, lastSize - 3);
    await expectLog(t, copy, batches.slice(0, -1), { ...options, recoveryPoint });
  });

  await t.test('segments below the recovery point are not rescanned (a read checks them)', async (t) => {
    const copy = crashCopy(t, crashed);
    damageFirstSegment(copy);
    const log = openLog(t, copy, { ...options, recoveryPoint });
    t.same(log.takeRepairs(), [], 'nothing repaired: the damaged segment was not read at open');
    t.equal(log.logEndOffset, batches.at(-1)!.lastOffset + 1n);
    await t.rejects(log.read(firstSegmentBatches[2]!.baseOffset, 1, true), { code: 'CORRUPT_MESSAGE' }, 'the read finds the damage');
  });

  await t.test('without a recovery point every segment is checked; a damaged one drops what follows', async (t) => {
    const copy = crashCopy(t, crashed);
    damageFirstSegment(copy);
    await expectLog(t, copy, batches.slice(0, 2), options);
    // Left: the damaged first segment, and at most the segment the check's append rolled
    // into (its first batch's timestamp is older than segment.ms, as in Kafka).
    const left = readdirSync(copy)
      .filter((n) => n.endsWith('.log'))
      .map((n) => BigInt(n.slice(0, 20)));
    t.same(
      left.filter((base) => base !== 0n && base !== batches[1]!.lastOffset + 1n),
      [],
      `later segments of ${segments} deleted`,
    );
  });
});
