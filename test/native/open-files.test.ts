// The open-file cache: only the active segment's .log stays open, older segments are opened
// on read and the least recently used closed beyond spate.log.max.open.segment.files; a
// slice keeps its descriptor and a Buffer its mapping after the cache let go of them, so a
// close never pulls bytes from under a reader. And openAll / closeAll, the parallel open
// and close of many logs on native threads.

import { once } from 'node:events';
import { fstatSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { LogError, openFileCount, openSegmentFileStats, SegmentLog, sendFile, setOpenSegmentFileLimit, socketFd, type ReadSlice } from '../../src/log/native.js';
import { appendMany, openLog, tempDir, type Appended } from './fixtures/helpers.js';

const small = { segmentBytes: 4096, indexIntervalBytes: 256 };

/** Sets the cache limit for one test and puts the previous one back after it. */
function limitOpenFiles(t: Test, limit: number): void {
  const previous = openSegmentFileStats().limit;
  setOpenSegmentFileLimit(limit);
  t.teardown(() => setOpenSegmentFileLimit(previous));
}

/** A log of many segments whose rolled segments were flushed (the flush threads hold descriptors while they run). */
async function manySegments(t: Test, dir: string, count: number): Promise<{ log: SegmentLog; batches: Appended[]; bases: bigint[] }> {
  const log = openLog(t, dir, small);
  const batches = appendMany(log, count);
  const bases = readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .map((name) => BigInt(name.slice(0, 20)))
    .sort((a, b) => (a < b ? -1 : 1));
  for (let waited = 0; log.recoveryPoint < bases.at(-1)! && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  return { log, batches, bases };
}

t.test('older segments are opened on read and closed beyond the limit', async (t) => {
  limitOpenFiles(t, 3);
  const before = openFileCount();
  const { log, batches, bases } = await manySegments(t, tempDir(t), 300);
  t.ok(bases.length >= 30, `${bases.length} segments`);
  t.ok(openFileCount() - before <= 1 + 3, `after appending: ${openFileCount() - before} descriptors for ${bases.length} segments`);
  const evictedBefore = openSegmentFileStats().evicted;
  let wrong = 0;
  for (const batch of batches) {
    const slice = (await log.read(batch.lastOffset, 1, true))!;
    if (!slice.buffer!.equals(batch.bytes)) wrong++;
    slice.release();
  }
  t.equal(wrong, 0, 'every batch of every segment reads back');
  const stats = openSegmentFileStats();
  t.ok(stats.open <= 3, `the cache holds ${stats.open} of at most 3`);
  t.ok(stats.evicted - evictedBefore >= bases.length - 4, `${stats.evicted - evictedBefore} closed as least recently used`);
  t.ok(openFileCount() - before <= 1 + 3, `after reading all: ${openFileCount() - before} descriptors`);
  log.close();
  t.ok(openFileCount() - before <= 0, 'closing the log closes its descriptors');
});

t.test('a slice keeps its descriptor, and a Buffer its mapping, after the cache closed them', async (t) => {
  limitOpenFiles(t, 1);
  const dir = tempDir(t);
  const { log, batches, bases } = await manySegments(t, dir, 120);
  const first = batches[0]!;
  const mapped = (await log.read(first.baseOffset, 1 << 20, true, 'mmap'))!;
  const buffer = mapped.buffer!;
  const expected = Buffer.from(buffer);
  mapped.release(); // the Buffer alone keeps the mapping
  const forSendfile = (await log.read(first.baseOffset, 1 << 20, true, 'sendfile'))!;
  const inode = statSync(join(dir, '00000000000000000000.log')).ino;
  // Reading the later segments pushes the first one's descriptor out of the cache.
  const evicted = openSegmentFileStats().evicted;
  for (const base of bases.slice(1, 6)) (await log.read(base, 1, true))!.release();
  t.ok(openSegmentFileStats().evicted > evicted, 'the first segment was closed by the cache');
  t.equal(fstatSync(forSendfile.fd).ino, inode, "the slice's descriptor is still that segment's file");
  t.ok(buffer.equals(expected), 'the Buffer still reads the bytes');

  // Deleting the segment changes nothing for either.
  log.deleteSegmentsBefore(bases[3]!);
  t.ok(buffer.equals(expected), 'and after the segment was deleted');
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const receiver = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [sender] = (await once(server, 'connection')) as [net.Socket];
  t.teardown(() => {
    receiver.destroy();
    sender.destroy();
    server.close();
  });
  const chunks: Buffer[] = [];
  receiver.on('data', (chunk: Buffer) => chunks.push(chunk));
  t.equal(await sendFile(socketFd(sender), forSendfile), forSendfile.length);
  for (let waited = 0; Buffer.concat(chunks).length < forSendfile.length && waited < 5000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
  t.ok(Buffer.concat(chunks).equals(expected), 'sendfile from the deleted, uncached segment sends its bytes');
  forSendfile.release();
});

t.test('reads racing with retention deletions answer the bytes or OFFSET_OUT_OF_RANGE, nothing else', async (t) => {
  limitOpenFiles(t, 0); // every read of an older segment opens it afresh
  const { log, batches } = await manySegments(t, tempDir(t), 200);
  const outcomes = new Map<string, number>();
  const reads: Array<Promise<void>> = [];
  for (let i = 0; i < batches.length; i++) {
    const batch = batches[i]!;
    reads.push(
      log.read(batch.lastOffset, 1, true).then(
        (slice: ReadSlice | null) => {
          const key = slice !== null && slice.buffer!.equals(batch.bytes) ? 'bytes' : 'wrong bytes';
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
          slice?.release();
        },
        (error: LogError) => {
          outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
        },
      ),
    );
    if (i % 20 === 19) log.deleteSegmentsBefore(batches[i - 10]!.baseOffset);
  }
  await Promise.all(reads);
  t.same(
    [...outcomes.keys()].filter((key) => key !== 'bytes' && key !== 'OFFSET_OUT_OF_RANGE'),
    [],
    `outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`,
  );
  t.ok((outcomes.get('bytes') ?? 0) > 0);
});

t.test('openAll opens many logs on several threads; a failure is that entry only; closeAll closes them', async (t) => {
  const root = tempDir(t, 'logs');
  const dirs = Array.from({ length: 24 }, (_, i) => join(root, `p-${i}`));
  // Fill a few logs first, so that the opening recovers data (no clean-shutdown hint).
  const filled = new Map<number, bigint>();
  for (const i of [0, 5, 23]) {
    const log = new SegmentLog(dirs[i]!, small);
    filled.set(i, appendMany(log, 30).at(-1)!.lastOffset + 1n);
    log.close();
  }
  writeFileSync(join(root, 'not-a-dir'), 'x');
  const specs = [...dirs.map((dir) => ({ dir, options: small })), { dir: join(root, 'not-a-dir'), options: small }];
  const opened = await SegmentLog.openAll(specs, 4);
  t.equal(opened.length, specs.length);
  const failure = opened.at(-1);
  t.ok(failure instanceof LogError, 'the entry that cannot open is a LogError');
  t.match((failure as LogError).message, /not-a-dir/);
  const logs = opened.slice(0, -1) as SegmentLog[];
  t.ok(
    logs.every((log) => log instanceof Object && typeof log.append === 'function'),
    'the others are open logs',
  );
  t.same(
    [...filled.keys()].map((i) => logs[i]!.logEndOffset),
    [...filled.values()],
    'recovered to their log end',
  );
  t.same(await SegmentLog.closeAll(logs, 3), new Array(logs.length).fill(null), 'closeAll: no errors');
  t.ok(
    logs.every((log) => log.closed && log.recoveryPoint === log.logEndOffset),
    'closed, flushed to the log end',
  );
  t.throws(() => SegmentLog.openAll(specs, 0), { code: 'ERR_INVALID_ARG_TYPE' });
});
