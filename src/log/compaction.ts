// Log compaction of one partition (Kafka's Cleaner.doClean), run in the cleaner worker
// thread (cleaner-worker.ts): never on the event loop.
//
// 1. The offset map: the last offset of every key in the dirty segments
//    [firstDirtyOffset, end), up to the map's capacity (then the pass stops at a segment
//    boundary and the rest stays dirty, as Kafka does).
// 2. Every segment from the log start up to where the map reaches is copied into
//    `<base>.log.cleaned`, keeping a record when no later record has its key. Offsets are
//    kept (the gaps stay), and so are batch boundaries: a batch keeps its base offset,
//    lastOffsetDelta and producer fields, and is left out only when it has no record left.
//    Control batches (transaction markers) are kept as they are; keyless records go.
// 3. Tombstones (null values) follow KIP-534: the first pass that keeps one stamps its
//    batch with a delete horizon (now + delete.retention.ms, in baseTimestamp, attribute
//    bit 6); a later pass after the horizon removes it.
// The main thread then swaps each cleaned file in (SegmentLog.replaceSegment).

import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  Attribute,
  batchesOf,
  buildBatch,
  HEADER_SIZE,
  LOG_OVERHEAD,
  recordsOf,
  recordsSection,
  withTimestampDelta,
  type BatchView,
  type RecordView,
} from '../compression/batches.js';
import { initCodecs } from '../compression/codecs.js';

export interface CleanableSegment {
  readonly baseOffset: string; // bigint as text: crosses the thread boundary
  readonly size: number;
}

export interface CleanTask {
  readonly dir: string;
  /** The segments from the log start up to the first uncleanable offset, oldest first. */
  readonly segments: readonly CleanableSegment[];
  /** The first uncleanable offset: where the last listed segment ends. */
  readonly endOffset: string;
  readonly firstDirtyOffset: string;
  readonly nowMs: number;
  readonly deleteRetentionMs: number;
  /** Keys the offset map may hold (log.cleaner.dedupe.buffer.size / 24, as in Kafka). */
  readonly mapCapacity: number;
}

export interface CleanedSegment {
  readonly baseOffset: string;
  readonly expectedSize: number;
  /** Whether a `.cleaned` file was written (false: nothing in it would change). */
  readonly rewritten: boolean;
  readonly sizeAfter: number;
}

export interface CleanResult {
  readonly segments: readonly CleanedSegment[];
  /** The new firstDirtyOffset: everything below it is clean now. */
  readonly cleanedUpTo: string;
  /** The earliest delete horizon still pending, -1 if none: a pass is due then. */
  readonly nextHorizonMs: number;
  readonly recordsRemoved: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

export const CLEANED_SUFFIX = '.cleaned';

export function segmentFileName(baseOffset: bigint | string, suffix: string): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`;
}

/** Reads the batches of a segment file chunk by chunk, up to `size` bytes. */
function* readSegment(path: string, size: number): Generator<BatchView> {
  const fd = openSync(path, 'r');
  try {
    let position = 0;
    let buffer = Buffer.alloc(1 << 20);
    while (position < size) {
      const want = Math.min(buffer.length, size - position);
      const got = readSync(fd, buffer, 0, want, position);
      if (got < LOG_OVERHEAD) throw new Error(`${path}: short read at ${position}`);
      // Whole batches in this chunk; a batch larger than the buffer grows it.
      let used = 0;
      while (used + LOG_OVERHEAD <= got) {
        const batchSize = buffer.readInt32BE(used + 8) + LOG_OVERHEAD;
        if (batchSize < HEADER_SIZE) throw new Error(`${path}: invalid batch length at ${position + used}`);
        if (used + batchSize > got) break;
        // Copy: the chunk buffer is reused by the next read.
        yield* batchesOf(Buffer.from(buffer.subarray(used, used + batchSize)));
        used += batchSize;
      }
      if (used === 0) {
        const batchSize = buffer.readInt32BE(8) + LOG_OVERHEAD;
        if (batchSize > size - position) throw new Error(`${path}: batch at ${position} runs past the segment`);
        buffer = Buffer.alloc(batchSize);
        continue;
      }
      position += used;
    }
  } finally {
    closeSync(fd);
  }
}

const keyOf = (key: Buffer): string => key.toString('latin1');

export async function cleanLog(task: CleanTask): Promise<CleanResult> {
  await initCodecs();
  const firstDirty = BigInt(task.firstDirtyOffset);

  // 1. The offset map over the dirty segments.
  const offsetMap = new Map<string, number>();
  const segmentEnd = (i: number): bigint => BigInt(i + 1 < task.segments.length ? task.segments[i + 1]!.baseOffset : task.endOffset);
  let cleanedUpTo = firstDirty;
  for (let i = 0; i < task.segments.length; i++) {
    const segment = task.segments[i]!;
    const end = segmentEnd(i);
    if (end <= firstDirty) continue;
    const keysBefore = offsetMap.size;
    for (const batch of readSegment(join(task.dir, segmentFileName(segment.baseOffset, '.log')), segment.size)) {
      if (batch.isControl) continue;
      const section = recordsSection(batch);
      for (const record of recordsOf(section, batch.recordCount)) {
        const offset = Number(batch.baseOffset) + record.offsetDelta;
        if (record.key !== null && offset >= Number(firstDirty)) offsetMap.set(keyOf(record.key), offset);
      }
    }
    // Full: this segment stays dirty. Its keys in the map only make older records of
    // those keys go, which is right since the segment itself is kept.
    if (offsetMap.size > task.mapCapacity && keysBefore > 0) break;
    cleanedUpTo = end;
  }

  // 2. Copy every segment below cleanedUpTo, keeping the latest record of each key.
  const results: CleanedSegment[] = [];
  let nextHorizonMs = -1;
  let recordsRemoved = 0;
  let bytesBefore = 0;
  let bytesAfter = 0;
  for (let i = 0; i < task.segments.length; i++) {
    const segment = task.segments[i]!;
    if (segmentEnd(i) > cleanedUpTo) break;
    const output: Buffer[] = [];
    let changed = false;
    for (const batch of readSegment(join(task.dir, segmentFileName(segment.baseOffset, '.log')), segment.size)) {
      if (batch.isControl) {
        output.push(batch.bytes);
        continue;
      }
      const section = recordsSection(batch);
      const kept: RecordView[] = [];
      let tombstones = 0;
      let removed = 0;
      const horizonSet = (batch.attributes & Attribute.DELETE_HORIZON) !== 0;
      const horizonPassed = horizonSet && Number(batch.baseTimestamp) <= task.nowMs;
      for (const record of recordsOf(section, batch.recordCount)) {
        const offset = Number(batch.baseOffset) + record.offsetDelta;
        const latest = record.key === null ? undefined : offsetMap.get(keyOf(record.key));
        const superseded = record.key === null || (latest !== undefined && offset < latest);
        const expiredTombstone = !record.hasValue && horizonPassed;
        if (superseded || expiredTombstone) {
          removed++;
          continue;
        }
        if (!record.hasValue) tombstones++;
        kept.push(record);
      }
      recordsRemoved += removed;
      const stampHorizon = tombstones > 0 && !horizonSet;
      if (tombstones > 0) {
        const horizon = stampHorizon ? task.nowMs + task.deleteRetentionMs : Number(batch.baseTimestamp);
        if (nextHorizonMs < 0 || horizon < nextHorizonMs) nextHorizonMs = horizon;
      }
      if (removed === 0 && !stampHorizon) {
        output.push(batch.bytes);
        continue;
      }
      changed = true;
      if (kept.length === 0) continue;
      let newSection: Buffer;
      let baseTimestamp: bigint | undefined;
      if (stampHorizon) {
        // The base timestamp carries the horizon; record deltas are rebased so every
        // record keeps its own timestamp.
        baseTimestamp = BigInt(task.nowMs + task.deleteRetentionMs);
        const shift = Number(batch.baseTimestamp - baseTimestamp);
        newSection = Buffer.concat(kept.map((record) => withTimestampDelta(section, record, record.timestampDelta + shift)));
      } else {
        newSection = Buffer.concat(kept.map((record) => section.subarray(record.start, record.end)));
      }
      output.push(
        buildBatch(batch, newSection, {
          recordCount: kept.length,
          ...(baseTimestamp !== undefined ? { baseTimestamp, setAttributes: Attribute.DELETE_HORIZON } : {}),
        }),
      );
    }
    bytesBefore += segment.size;
    const sizeAfter = output.reduce((total, part) => total + part.length, 0);
    bytesAfter += changed ? sizeAfter : segment.size;
    if (changed) writeCleaned(join(task.dir, segmentFileName(segment.baseOffset, `.log${CLEANED_SUFFIX}`)), output);
    results.push({ baseOffset: segment.baseOffset, expectedSize: segment.size, rewritten: changed, sizeAfter: changed ? sizeAfter : segment.size });
  }
  return { segments: results, cleanedUpTo: String(cleanedUpTo), nextHorizonMs, recordsRemoved, bytesBefore, bytesAfter };
}

/** Writes and syncs a cleaned segment; its name tells recovery it is not part of the log yet. */
function writeCleaned(path: string, parts: readonly Buffer[]): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    for (const part of parts) {
      let written = 0;
      while (written < part.length) written += writeSync(fd, part, written, part.length - written);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
