// The LogCleaner: compaction of cleanup.policy=compact topics, as Kafka's LogCleaner and
// LogCleanerManager schedule it. Every log.cleaner.backoff.ms (sooner after a config
// change) it picks the compacted partition with the highest dirty ratio at or above
// min.cleanable.dirty.ratio (or whose oldest dirty record is older than
// max.compaction.lag.ms, or whose tombstones reached their delete horizon), and cleans it
// in its worker thread (compaction.ts). Only segments below the active one whose newest
// record is older than min.compaction.lag.ms are cleanable. The first dirty offset of each
// partition survives restarts in its `cleaner-offset-checkpoint` file.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { type BrokerConfig } from '../config/broker-config.js';
import { brokerConfigValue } from '../config/topic-config.js';
import { type Logger } from '../logger.js';
import { type CleanResult, type CleanTask } from './compaction.js';
import { writeFileDurably } from './durable-file.js';
import { type PartitionLog } from './partition-log.js';

const WORKER = new URL(import.meta.url.endsWith('.ts') ? './cleaner-worker.ts' : './cleaner-worker.js', import.meta.url);
const CHECKPOINT_FILE = 'cleaner-offset-checkpoint';

export interface LogSource {
  allLogs(): Iterable<PartitionLog>;
}

/** Why and how dirty a log is: what the cleaner ranks logs by. */
export interface Cleanability {
  readonly log: PartitionLog;
  readonly firstDirtyOffset: bigint;
  readonly firstUncleanableOffset: bigint;
  readonly cleanBytes: number;
  readonly dirtyBytes: number;
  readonly dirtyRatio: number;
  /** max.compaction.lag.ms passed, or a tombstone horizon: clean whatever the ratio. */
  readonly due: boolean;
}

export interface CleanerStats {
  readonly passes: number;
  readonly recordsRemoved: number;
  readonly segmentsSwapped: number;
}

export class LogCleaner {
  private pool: Piscina | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** Per log: the earliest pending tombstone horizon (ms). */
  private readonly horizons = new WeakMap<PartitionLog, number>();
  private readonly forgotten = new WeakSet<PartitionLog>();
  /** Per log: the first dirty offset, as in its checkpoint file. */
  private readonly checkpoints = new WeakMap<PartitionLog, bigint | undefined>();
  private stats = { passes: 0, recordsRemoved: 0, segmentsSwapped: 0 };

  /**
   * `runInline` runs compaction on the calling thread instead of the worker: for tests of
   * the compaction itself (coverage does not follow worker threads).
   */
  constructor(
    private readonly logs: LogSource,
    private readonly config: BrokerConfig,
    private readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>,
    private readonly runInline?: (task: CleanTask) => Promise<CleanResult>,
  ) {}

  get enabled(): boolean {
    return brokerConfigValue('log.cleaner.enable', this.config) === true && (brokerConfigValue('log.cleaner.threads', this.config) as number) > 0;
  }

  get statistics(): CleanerStats {
    return { ...this.stats };
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const pool = this.pool;
    this.pool = undefined;
    void pool?.destroy();
  }

  /** Run a pass soon (a topic config changed). */
  wake(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), 10);
    this.timer.unref();
  }

  reconfigure(): void {
    this.wake();
  }

  /** A deleted log: never picked again. */
  forget(log: PartitionLog): void {
    this.forgotten.add(log);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const backoff = Number(brokerConfigValue('log.cleaner.backoff.ms', this.config) as bigint);
    this.timer = setTimeout(() => this.tick(), Math.min(Math.max(backoff, 10), 2147483647));
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped || this.running !== undefined) return;
    if (!this.enabled) {
      this.schedule();
      return;
    }
    this.running = this.cleanFilthiest()
      .then(() => undefined)
      .catch((error: unknown) => this.logger.error(`Log cleaner: ${(error as Error).message}`))
      .finally(() => {
        this.running = undefined;
        this.schedule();
      });
  }

  /** How dirty a compacted log is; undefined when it has nothing cleanable. */
  cleanability(log: PartitionLog, nowMs: number): Cleanability | undefined {
    const config = log.logConfig;
    if (!config.cleanupPolicy.includes('compact') || log.isDeleted || this.forgotten.has(log)) return undefined;
    const segments = log.segmentInfo();
    if (segments.length < 2) return undefined;
    const logStart = log.logStartOffset;
    if (!this.checkpoints.has(log)) this.checkpoints.set(log, readCheckpoint(log.dir));
    const checkpoint = this.checkpoints.get(log);
    const firstDirty = checkpoint === undefined || checkpoint < logStart ? logStart : checkpoint;
    // The active segment is never cleaned, nor a segment with records newer than the lag.
    let uncleanable = segments.length - 1;
    for (let i = 0; i < segments.length - 1; i++) {
      const segment = segments[i]!;
      if (segment.nextOffset > firstDirty && segment.maxTimestamp >= 0 && nowMs - segment.maxTimestamp < config.minCompactionLagMs) {
        uncleanable = i;
        break;
      }
    }
    const firstUncleanable = segments[uncleanable]!.baseOffset;
    let cleanBytes = 0;
    let dirtyBytes = 0;
    let firstDirtySegment: (typeof segments)[number] | undefined;
    for (let i = 0; i < uncleanable; i++) {
      const segment = segments[i]!;
      const end = segments[i + 1]!.baseOffset;
      if (end <= logStart) continue;
      if (end <= firstDirty) cleanBytes += segment.size;
      else {
        dirtyBytes += segment.size;
        firstDirtySegment ??= segment;
      }
    }
    const total = cleanBytes + dirtyBytes;
    if (total === 0) return undefined;
    const horizon = this.horizons.get(log);
    const lagDue = firstDirtySegment !== undefined && firstDirtySegment.firstBatchTimestamp >= 0 && nowMs - firstDirtySegment.firstBatchTimestamp > config.maxCompactionLagMs;
    return {
      log,
      firstDirtyOffset: firstDirty,
      firstUncleanableOffset: firstUncleanable,
      cleanBytes,
      dirtyBytes,
      dirtyRatio: dirtyBytes / total,
      due: lagDue || (horizon !== undefined && horizon <= nowMs),
    };
  }

  /** One pass: the filthiest log that needs cleaning, if any. Resolves with its result. */
  async cleanFilthiest(nowMs = Date.now()): Promise<CleanResult | undefined> {
    let best: Cleanability | undefined;
    for (const log of this.logs.allLogs()) {
      const candidate = this.cleanability(log, nowMs);
      if (candidate === undefined) continue;
      const eligible = candidate.due || (candidate.dirtyBytes > 0 && candidate.dirtyRatio >= log.logConfig.minCleanableDirtyRatio);
      if (!eligible) continue;
      if (best === undefined || (candidate.due && !best.due) || (candidate.due === best.due && candidate.dirtyRatio > best.dirtyRatio)) best = candidate;
    }
    if (best === undefined) return undefined;
    return this.clean(best, nowMs);
  }

  /** Cleans one log now (in the worker) and swaps the cleaned segments in. */
  async clean(target: Cleanability, nowMs = Date.now()): Promise<CleanResult> {
    const { log } = target;
    const segments = log.segmentInfo().filter((segment) => segment.baseOffset < target.firstUncleanableOffset);
    const firstKept = segments.findIndex((segment, i) => (segments[i + 1]?.baseOffset ?? target.firstUncleanableOffset) > log.logStartOffset);
    const task: CleanTask = {
      dir: log.dir,
      segments: segments.slice(Math.max(0, firstKept)).map((segment) => ({ baseOffset: String(segment.baseOffset), size: segment.size })),
      endOffset: String(target.firstUncleanableOffset),
      firstDirtyOffset: String(target.firstDirtyOffset),
      nowMs,
      deleteRetentionMs: log.logConfig.deleteRetentionMs,
      mapCapacity: Math.max(1, Math.floor(Number(brokerConfigValue('log.cleaner.dedupe.buffer.size', this.config) as bigint) / 24)),
    };
    let result: CleanResult;
    if (this.runInline !== undefined) {
      result = await this.runInline(task);
    } else {
      this.pool ??= new Piscina({ filename: WORKER.href, minThreads: 0, maxThreads: 1, idleTimeout: 30_000 });
      result = (await this.pool.run(task)) as CleanResult;
    }
    let swapped = 0;
    for (const segment of result.segments) {
      if (!segment.rewritten) continue;
      if (await log.replaceSegment(BigInt(segment.baseOffset), segment.expectedSize)) swapped++;
    }
    if (!log.isDeleted) {
      writeFileDurably(join(log.dir, CHECKPOINT_FILE), `${result.cleanedUpTo}\n`);
      this.checkpoints.set(log, BigInt(result.cleanedUpTo));
    }
    if (result.nextHorizonMs >= 0) this.horizons.set(log, result.nextHorizonMs);
    else this.horizons.delete(log);
    this.stats.passes++;
    this.stats.recordsRemoved += result.recordsRemoved;
    this.stats.segmentsSwapped += swapped;
    this.logger.info(
      `Cleaned ${log.topic}-${log.partition} up to offset ${result.cleanedUpTo}: ${result.recordsRemoved} record(s) removed, ` +
        `${result.bytesBefore} -> ${result.bytesAfter} bytes, ${swapped} segment(s) swapped`,
    );
    return result;
  }
}

function readCheckpoint(dir: string): bigint | undefined {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8').trim();
  return /^\d+$/.test(text) ? BigInt(text) : undefined;
}
