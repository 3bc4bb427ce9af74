// The indexes on a full disk: an index is a shared mapping of a sparse, preallocated file,
// and a store into a page the file system cannot back raises SIGBUS (the process dies).
// Each new index page is populated first (MADV_POPULATE_WRITE), which fails with an error
// instead: the entry is skipped, the append itself succeeds while the .log has room, and
// the log reads back whole once space is free. Needs a small tmpfs (root); skipped otherwise.

import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { LogError, SegmentLog, validateBatches } from '../../src/log/native.js';
import { buildBatch } from './fixtures/batch-builder.js';

function mountTmpfs(kibibytes: number): { dir: string } | { skip: string } {
  const dir = mkdtempSync(join(tmpdir(), 'spate-index-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kibibytes}k`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}); run as root` };
  }
}

/** Writes zeros until the file system is full; returns the file's path. */
function fillUp(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return path;
}

const mounted = mountTmpfs(1024);
if ('dir' in mounted) {
  t.teardown(() => {
    try {
      execFileSync('umount', ['-l', mounted.dir], { stdio: 'pipe' });
    } finally {
      rmSync(mounted.dir, { recursive: true, force: true });
    }
  });
}

t.test('an index page the full disk cannot back: the entry is skipped, no SIGBUS, nothing lost', 'skip' in mounted ? { skip: mounted.skip } : {}, async (t) => {
  if (!('dir' in mounted)) return;
  // An offset index entry for every batch (8 bytes: 512 to a page); one timestamp, so the
  // time index stays at one entry.
  const log = new SegmentLog(join(mounted.dir, 'p-0'), { indexIntervalBytes: 0, segmentIndexBytes: 64 * 1024 });
  t.teardown(() => log.closed || log.close());
  const stored: Buffer[] = [];
  const append = (i: number) => {
    const bytes = buildBatch({ baseTimestamp: 1_700_000_000_000n, records: [{ value: Buffer.from(`value-${i}`) }] });
    log.append(bytes, validateBatches(bytes), 1_700_000_000_000);
    stored.push(bytes);
  };
  for (let i = 0; i < 500; i++) append(i);
  const filler = fillUp(mounted.dir);
  // The .log's last page still has room for a few dozen batches; the 512th index entry
  // needs the index's second page, which the full tmpfs cannot give.
  let refused = 0;
  for (let i = 500; i < 700; i++) {
    try {
      append(i);
    } catch (error) {
      t.equal((error as LogError).kafkaCode, 56, 'KAFKA_STORAGE_ERROR');
      refused++;
      if (refused === 3) break;
    }
  }
  t.ok(stored.length > 512, `${stored.length} batches appended, past the index page boundary`);
  t.equal(refused, 3, 'then the .log itself is refused');
  rmSync(filler);
  for (let i = 700; i < 900; i++) append(i);
  let at = 0n;
  const read: Buffer[] = [];
  while (at < log.logEndOffset) {
    const slice = (await log.read(at, 1 << 20, true))!;
    read.push(Buffer.from(slice.buffer!));
    at = slice.lastOffset + 1n;
    slice.release();
  }
  t.ok(Buffer.concat(read).equals(Buffer.concat(stored)), `all ${stored.length} batches read back`);
  let found = 0;
  for (const [i, bytes] of stored.entries()) {
    const slice = (await log.read(BigInt(i), 1, true))!;
    if (slice.buffer!.equals(bytes)) found++;
    slice.release();
  }
  t.equal(found, stored.length, 'every offset finds its batch (the skipped entries only lengthen the scan)');
});
