// One partition's log: batch validation, idempotent-producer checks and the append into
// the native segment log; reads for Fetch; retention; and the wake-up of fetches parked
// on it.
//
// Appends that need the records of compressed batches (recompression to the topic's
// compression.type, the key check of a compacted topic) go through the compression worker
// pool and complete asynchronously; the others complete synchronously. Either way they
// reach the log in the order append() was called, so a producer's pipelined requests keep
// their sequence.

import type { CompressionPool } from '../compression/pool.js';
import { CODEC_NAMES, type CodecId } from '../compression/codec-ids.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type LogConfig } from '../config/topic-config.js';
import { LogRecords } from './log-records.js';
import { crc32c, LogError, SegmentLog, validateBatches, type BatchesInfo, type SegmentInfo, type SegmentLogOptions } from './native.js';
import { ProducerStateManager, recordsFingerprint, type ProducerBatch, type ProducerSnapshot, type StoredProducer } from './producer-state.js';
import { TransactionIndex, type AbortedTransaction } from './transaction-index.js';
import { decodeRecordBatches, encodeRecordBatch, RecordBatchAttribute } from '../protocol/record-batch.js';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { type Logger } from '../logger.js';
import { type StorageHealth } from './storage-health.js';
import { join } from 'node:path';

export interface AppendResult {
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  /** -1 unless the topic uses LogAppendTime. */
  readonly logAppendTime: bigint;
  readonly logStartOffset: bigint;
  readonly duplicate: boolean;
}

export interface TimestampLookup {
  readonly offset: bigint;
  readonly timestamp: bigint;
}

export interface RetentionResult {
  readonly deletedSegments: number;
  readonly logStartOffset: bigint;
}

const LOG_APPEND_TIME = 0x08;

interface SnapshotFile {
  readonly offset: bigint;
  readonly producers: StoredProducer[];
  readonly ongoing: Array<[string, string]>;
  readonly aborted: Array<[string, string, string]>;
}

/** What a PartitionLog may be given beyond its config: where it reports, how it opens. */
export interface PartitionLogOptions {
  /** Repairs at open, corrupt batches at read, storage failures: the broker's logger. */
  readonly logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** CRC-check every segment at open, also after a clean shutdown (internal topics). */
  readonly verifyOnOpen?: boolean;
  /** Shared by the broker's logs, so a full disk is logged once per episode. */
  readonly health?: StorageHealth;
  /** The native log, already opened (and recovered) by LogManager's parallel start; else it is opened here. */
  readonly segments?: SegmentLog;
  /** What the log dir knows before opening: the clean-shutdown marker and this partition's recovery point. */
  readonly loadHints?: Pick<SegmentLogOptions, 'cleanShutdown' | 'recoveryPoint'>;
  /** Truncation lowered the recovery point: the log dir's checkpoint must be written (Kafka does it at once). */
  readonly onRecoveryPointLowered?: () => void;
  /** The producer snapshot files the opening found (LogManager's start lists each directory once); else loadState lists it. */
  readonly snapshotFiles?: readonly string[];
}

/** The native log options of a topic config. */
export function segmentOptions(config: LogConfig): SegmentLogOptions {
  return {
    compacted: config.cleanupPolicy.includes('compact'),
    segmentBytes: config.segmentBytes,
    segmentMs: config.segmentMs,
    segmentIndexBytes: config.segmentIndexBytes,
    indexIntervalBytes: config.indexIntervalBytes,
    flushMessages: config.flushMessages,
    flushMs: config.flushMs,
  };
}

export class PartitionLog {
  private readonly producers = new ProducerStateManager();
  private readonly transactions = new TransactionIndex();
  private readonly appendListeners = new Set<() => void>();
  private readonly segments: SegmentLog;
  private closed = false;
  private deleted = false;
  /** The last queued asynchronous append; later appends wait for it. */
  private tail: Promise<unknown> = Promise.resolve();
  private pendingAppends = 0;
  private readonly reportedCorruption = new Set<string>();
  /** Recovery logged repairs at open (so the snapshot check below does not repeat them). */
  private readonly repairedAtOpen: boolean;
  /** The offset of the producer snapshot on disk; close writes a new one only when the log moved past it. */
  private snapshotOffset: bigint | undefined;
  /** The snapshot files on disk (the newest and older ones a crash left), removed once a newer one is written. */
  private snapshotNames: string[] | undefined;
  /** Set by the replica layer when followers must confirm records first; undefined: the log end. */
  private replicatedHighWatermark: bigint | undefined;
  /** Stamped into each appended batch's partitionLeaderEpoch (offset 12, outside the CRC). */
  leaderEpoch = 0;
  /** A follower replica: only appendAsFollower may write (a stray client or coordinator write would fork the log). */
  follower = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    private config: LogConfig,
    private readonly compression?: () => CompressionPool,
    private readonly options: PartitionLogOptions = {},
  ) {
    try {
      this.segments = options.segments ?? new SegmentLog(dir, { ...segmentOptions(config), verifyOnOpen: options.verifyOnOpen === true, ...options.loadHints });
    } catch (error) {
      throw new Error(
        `Cannot open the log of ${topic}-${partition} in ${dir}: ${(error as Error).message}. ` +
          'Fix the file named (permissions, disk) or move the directory aside to start without this partition',
        { cause: error },
      );
    }
    const repairs = this.segments.takeRepairs();
    this.repairedAtOpen = repairs.length > 0;
    for (const repair of repairs) {
      const range = repair.startOffset < 0n ? '' : repair.endOffset < 0n ? ` from offset ${repair.startOffset}` : ` offsets ${repair.startOffset}-${repair.endOffset}`;
      const bytes = repair.bytes > 0 ? ` (${repair.bytes} bytes at position ${repair.position})` : '';
      const what = { truncated: 'Truncated', deleted: 'Deleted', 'index-rebuilt': 'Rebuilt the index of', missing: 'Missing data in' }[repair.action];
      this.options.logger?.warn(`Recovery of ${topic}-${partition}: ${what} ${repair.file}${range}${bytes}: ${repair.reason}`);
    }
  }

  get logConfig(): LogConfig {
    return this.config;
  }

  get logStartOffset(): bigint {
    return this.segments.logStartOffset;
  }

  get logEndOffset(): bigint {
    return this.segments.logEndOffset;
  }

  /** Offsets below it are on disk; recovery-point-offset-checkpoint records it. */
  get recoveryPoint(): bigint {
    return this.segments.recoveryPoint;
  }

  /** The log end with one replica; with followers, what the replica layer set (never past the log end). */
  get highWatermark(): bigint {
    const end = this.segments.logEndOffset;
    return this.replicatedHighWatermark === undefined || this.replicatedHighWatermark > end ? end : this.replicatedHighWatermark;
  }

  /** The replica layer moves the high watermark (undefined: follow the log end); readers parked on the log wake when it rises. */
  setHighWatermark(offset: bigint | undefined): void {
    const before = this.highWatermark;
    this.replicatedHighWatermark = offset;
    if (this.highWatermark > before) this.notifyAppend();
  }

  /** The first offset of the oldest open transaction, or the high watermark when none is open. */
  get lastStableOffset(): bigint {
    return this.transactions.lastStableOffset(this.highWatermark);
  }

  /** Aborted transactions overlapping [fromOffset, toOffset), for read_committed fetches. */
  abortedTransactions(fromOffset: bigint, toOffset: bigint): AbortedTransaction[] {
    return this.transactions.abortedBetween(fromOffset, toOffset);
  }

  get sizeInBytes(): number {
    return this.segments.size;
  }

  get isDeleted(): boolean {
    return this.deleted;
  }

  /** A topic config change: applies at once (segment rolls, retention, validation). */
  updateConfig(config: LogConfig): void {
    this.config = config;
    if (!this.closed) this.segments.configure(segmentOptions(config));
  }

  /**
   * Validates and appends a Produce request's records; throws (or rejects with) KafkaError
   * on refusal. Synchronous unless the records must go through a compression worker.
   */
  append(records: Buffer, nowMs: number): AppendResult | Promise<AppendResult> {
    this.checkOpen();
    this.checkLeader();
    const config = this.config;
    const requireKeys = config.cleanupPolicy.includes('compact');
    let info: BatchesInfo;
    try {
      info = validateBatches(records, { requireKeys });
    } catch (error) {
      throw this.keyed(toKafkaError(error, ErrorCode.CORRUPT_MESSAGE), keylessRecordsOf(records));
    }
    this.checkBatches(info, nowMs);

    const targetCodec: CodecId | -1 = config.compressionType === 'producer' ? -1 : CODEC_NAMES[config.compressionType]!;
    const needsWorker = info.batches.some((batch) => (targetCodec !== -1 && batch.compression !== targetCodec) || (requireKeys && batch.compression !== 0));
    if (!needsWorker && this.pendingAppends === 0) return this.commit(records, info, nowMs);

    const work = needsWorker
      ? this.pool().transform({
          records,
          targetCodec,
          requireKeys,
          levels: { gzip: config.compressionGzipLevel, zstd: config.compressionZstdLevel },
        })
      : undefined;
    work?.catch(() => undefined); // observed below, once the earlier appends are done
    const run = this.tail.then(async () => {
      let bytes = records;
      let batches = info;
      if (work !== undefined) {
        const result = await work;
        if (!result.ok) throw this.keyed(new KafkaError(result.errorCode, result.message), result.keylessRecords);
        if (result.changed) {
          bytes = Buffer.from(result.records.buffer, result.records.byteOffset, result.records.byteLength);
          batches = validateBatches(bytes);
          this.checkSizes(batches);
        }
      }
      this.checkOpen();
      return this.commit(bytes, batches, nowMs);
    });
    this.pendingAppends++;
    const settled = () => {
      this.pendingAppends--;
    };
    this.tail = run.then(settled, settled);
    return run;
  }

  /** Kafka's produce-time checks that need only the batch headers. */
  private checkBatches(info: BatchesInfo, nowMs: number): void {
    if (info.batchCount === 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'The produce request has no record batch');
    this.checkSizes(info);
    const config = this.config;
    for (const batch of info.batches) {
      if (batch.isControl) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Clients may not write control batches');
      if (config.messageTimestampType !== 'CreateTime') continue;
      // message.timestamp.before.max.ms / after.max.ms (KIP-937), for CreateTime topics.
      const earliest = BigInt(nowMs) - BigInt(config.messageTimestampBeforeMaxMs);
      const latest = BigInt(nowMs) + BigInt(config.messageTimestampAfterMaxMs);
      const outOfRange = batch.maxTimestamp > latest ? batch.maxTimestamp : batch.minTimestamp < earliest ? batch.minTimestamp : undefined;
      if (outOfRange !== undefined && outOfRange >= 0n) {
        throw new KafkaError(
          ErrorCode.INVALID_TIMESTAMP,
          `Timestamp ${outOfRange} of message with offset 0 is out of range. The timestamp should be within [${earliest}, ${latest}]`,
        );
      }
    }
  }

  private checkSizes(info: BatchesInfo): void {
    for (const batch of info.batches) {
      if (batch.size > this.config.maxMessageBytes) {
        throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `A batch of ${batch.size} bytes exceeds max.message.bytes ${this.config.maxMessageBytes}`);
      }
    }
  }

  /** Producer checks, LogAppendTime, and the native append: always in call order. */
  private commit(records: Buffer, info: BatchesInfo, nowMs: number): AppendResult {
    let duplicates = 0;
    let duplicateRange: { firstOffset: bigint; lastOffset: bigint } | undefined;
    // Idempotent batches carry a fingerprint of their records (see producer-state.ts).
    const producerBatches: ProducerBatch[] = info.batches.map((batch) =>
      batch.producerId >= 0n ? { ...batch, fingerprint: recordsFingerprint(records, batch.position, batch.size) } : batch,
    );
    for (const batch of producerBatches) {
      const check = this.producers.check(batch);
      if (check.kind === 'duplicate') {
        duplicates++;
        duplicateRange ??= check;
      }
    }
    if (duplicates > 0) {
      if (duplicates !== info.batchCount) {
        throw new KafkaError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'A request mixes duplicate and new batches');
      }
      return {
        baseOffset: duplicateRange!.firstOffset,
        lastOffset: duplicateRange!.lastOffset,
        logAppendTime: -1n,
        logStartOffset: this.logStartOffset,
        duplicate: true,
      };
    }

    let logAppendTime = -1n;
    if (this.config.messageTimestampType === 'LogAppendTime') {
      logAppendTime = BigInt(nowMs);
      stampLogAppendTime(records, info, logAppendTime);
    }
    stampLeaderEpoch(records, info, this.leaderEpoch);
    const appended = this.appendToSegments(records, info, nowMs);
    let offset = appended.baseOffset;
    for (const [index, batch] of info.batches.entries()) {
      const last = offset + BigInt(batch.lastOffsetDelta);
      this.producers.update(producerBatches[index]!, offset, last, nowMs);
      if (batch.isTransactional) this.transactions.onTransactionalBatch(batch.producerId, offset);
      offset = last + 1n;
    }
    this.notifyAppend();
    return {
      baseOffset: appended.baseOffset,
      lastOffset: appended.lastOffset,
      logAppendTime,
      logStartOffset: this.logStartOffset,
      duplicate: false,
    };
  }

  private appendToSegments(records: Buffer, info: BatchesInfo, nowMs: number): ReturnType<SegmentLog['append']> {
    try {
      const appended = this.segments.append(records, info, nowMs);
      this.options.health?.succeeded(`${this.topic}-${this.partition}`);
      return appended;
    } catch (error) {
      if (error instanceof LogError && error.kafkaCode === ErrorCode.KAFKA_STORAGE_ERROR) {
        this.options.health?.failed(`${this.topic}-${this.partition} (${this.dir})`, error);
      }
      throw toKafkaError(error, ErrorCode.KAFKA_STORAGE_ERROR);
    }
  }

  /**
   * An append by a coordinator of this broker (transactional offset commits): validated, but
   * without the client checks (sequence numbers, the control-batch ban).
   */
  appendFromCoordinator(records: Buffer, nowMs: number): bigint {
    this.checkOpen();
    this.checkLeader();
    let info: BatchesInfo;
    try {
      info = validateBatches(records);
      stampLeaderEpoch(records, info, this.leaderEpoch);
    } catch (error) {
      throw toKafkaError(error, ErrorCode.KAFKA_STORAGE_ERROR);
    }
    const appended = this.appendToSegments(records, info, nowMs);
    let offset = appended.baseOffset;
    for (const batch of info.batches) {
      if (batch.isTransactional && !batch.isControl) this.transactions.onTransactionalBatch(batch.producerId, offset);
      offset += BigInt(batch.lastOffsetDelta) + 1n;
    }
    this.notifyAppend();
    return appended.baseOffset;
  }

  /**
   * A transaction marker (a control batch with one COMMIT or ABORT record, as Kafka writes
   * them): ends the producer's open transaction here, records an abort for read_committed
   * readers, and fences older epochs of the producer.
   */
  appendMarker(producerId: bigint, producerEpoch: number, commit: boolean, nowMs: number): bigint {
    const key = Buffer.alloc(4);
    key.writeInt16BE(0, 0); // ControlRecordType version
    key.writeInt16BE(commit ? 1 : 0, 2);
    const value = Buffer.alloc(6); // EndTxnMarker v0: coordinatorEpoch 0
    const batch = encodeRecordBatch({
      attributes: RecordBatchAttribute.TRANSACTIONAL | RecordBatchAttribute.CONTROL,
      producerId,
      producerEpoch,
      baseSequence: -1,
      records: [{ key, value, timestamp: BigInt(nowMs) }],
    });
    const offset = this.appendFromCoordinator(batch, nowMs);
    this.transactions.onMarker(producerId, offset, commit);
    this.producers.fence(producerId, producerEpoch, nowMs);
    this.notifyAppend();
    return offset;
  }

  /**
   * A follower's append of batches fetched from the leader: offsets, epochs and timestamps
   * are kept (only the format and CRC are checked), and the producer and transaction state
   * follows the batches so that this replica can take over as leader.
   */
  appendAsFollower(records: Buffer, nowMs: number): bigint {
    this.checkOpen();
    const from = this.logEndOffset;
    let info: BatchesInfo;
    try {
      info = validateBatches(records);
    } catch (error) {
      throw toKafkaError(error, ErrorCode.CORRUPT_MESSAGE);
    }
    if (info.batchCount === 0) return from;
    const first = records.readBigInt64BE(0);
    if (first !== from) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `${this.topic}-${this.partition}: a follower append at ${first} does not continue the log end ${from}`);
    }
    try {
      this.segments.append(records, info, nowMs);
    } catch (error) {
      throw toKafkaError(error, ErrorCode.KAFKA_STORAGE_ERROR);
    }
    this.replayHeaders(records, nowMs, from);
    this.notifyAppend();
    return this.logEndOffset;
  }

  /** Removes every record at or after `offset` (a divergent tail) and rebuilds the producer and transaction state. */
  async truncateTo(offset: bigint, nowMs: number): Promise<void> {
    this.checkOpen();
    if (offset >= this.logEndOffset) return;
    try {
      this.segments.truncateTo(offset);
    } catch (error) {
      throw toKafkaError(error, ErrorCode.KAFKA_STORAGE_ERROR);
    }
    this.options.onRecoveryPointLowered?.();
    this.snapshotOffset = undefined;
    this.producers.importState([]);
    this.transactions.restore({ ongoing: [], aborted: [] });
    let from = this.logStartOffset;
    while (from < this.logEndOffset) {
      const records = await this.read(from, 1 << 20, true);
      if (records === null) break;
      try {
        from = this.replayHeaders(records.buffer, nowMs, from);
      } finally {
        records.release();
      }
    }
  }

  /**
   * Rebuilds producer and transaction state at start: from the snapshot written at the last
   * clean close when it covers the whole log, else from the newest usable snapshot plus a
   * scan of the batch headers after it (Kafka's ProducerStateManager does the same).
   */
  async loadState(nowMs: number): Promise<void> {
    const snapshot = this.readSnapshot();
    this.snapshotOffset = snapshot?.offset;
    let from = this.logStartOffset;
    if (snapshot !== undefined && snapshot.offset > this.logEndOffset && !this.repairedAtOpen) {
      // The snapshot was written at a clean close: the log held that much then.
      this.options.logger?.warn(
        `Recovery of ${this.topic}-${this.partition}: the producer snapshot in ${this.dir} is at offset ${snapshot.offset} but the log ends at ${this.logEndOffset}: offsets ${this.logEndOffset}-${snapshot.offset - 1n} are lost (segment files removed or truncated)`,
      );
    }
    if (snapshot !== undefined && snapshot.offset >= this.logStartOffset && snapshot.offset <= this.logEndOffset) {
      this.producers.importState(snapshot.producers);
      this.transactions.restore({
        ongoing: snapshot.ongoing.map(([producerId, first]) => [BigInt(producerId), BigInt(first)]),
        aborted: snapshot.aborted.map(([producerId, first, last]) => ({ producerId: BigInt(producerId), firstOffset: BigInt(first), lastOffset: BigInt(last) })),
      });
      from = snapshot.offset;
    }
    while (from < this.logEndOffset) {
      const records = await this.read(from, 1 << 20, true);
      if (records === null) break;
      try {
        from = this.replayHeaders(records.buffer, nowMs, from);
      } finally {
        records.release();
      }
    }
  }

  /** Applies the producer and transaction effects of the batches in `buffer`; returns the next offset. */
  private replayHeaders(buffer: Buffer, nowMs: number, next: bigint): bigint {
    let position = 0;
    while (position + 61 <= buffer.length) {
      const size = 12 + buffer.readInt32BE(position + 8);
      if (position + size > buffer.length) break;
      const baseOffset = buffer.readBigInt64BE(position);
      const attributes = buffer.readInt16BE(position + 21);
      const lastOffset = baseOffset + BigInt(buffer.readInt32BE(position + 23));
      const producerId = buffer.readBigInt64BE(position + 43);
      const producerEpoch = buffer.readInt16BE(position + 51);
      if (producerId >= 0n && lastOffset >= next) {
        if ((attributes & RecordBatchAttribute.CONTROL) !== 0) {
          const [control] = decodeRecordBatches(buffer.subarray(position, position + size));
          const type = control?.records[0]?.key?.readInt16BE(2);
          if (type === 0 || type === 1) {
            this.transactions.onMarker(producerId, baseOffset, type === 1);
            this.producers.fence(producerId, producerEpoch, nowMs);
          }
        } else {
          const baseSequence = buffer.readInt32BE(position + 53);
          const recordCount = buffer.readInt32BE(position + 57);
          const fingerprint = recordsFingerprint(buffer, position, size);
          this.producers.update({ producerId, producerEpoch, baseSequence, recordCount, fingerprint }, baseOffset, lastOffset, nowMs);
          if ((attributes & RecordBatchAttribute.TRANSACTIONAL) !== 0) this.transactions.onTransactionalBatch(producerId, baseOffset);
        }
      }
      next = lastOffset + 1n;
      position += size;
    }
    return next;
  }

  private readSnapshot(): SnapshotFile | undefined {
    let newest: string | undefined;
    try {
      this.snapshotNames = (this.options.snapshotFiles ?? readdirSync(this.dir)).filter((name) => name.endsWith('.snapshot'));
      for (const name of this.snapshotNames) if (newest === undefined || name > newest) newest = name;
      if (newest === undefined) return undefined;
      const parsed = JSON.parse(readFileSync(join(this.dir, newest), 'utf8')) as SnapshotFile & { offset: string };
      if (!Array.isArray(parsed.producers) || !Array.isArray(parsed.ongoing) || !Array.isArray(parsed.aborted)) throw new Error('not a producer snapshot');
      return { ...parsed, offset: BigInt(parsed.offset) };
    } catch (error) {
      // A torn or unreadable snapshot: the state is rebuilt from the log, as Kafka does.
      this.options.logger?.warn(
        `Recovery of ${this.topic}-${this.partition}: the producer snapshot ${join(this.dir, newest ?? '')} is unreadable (${(error as Error).message}); the producer state is rebuilt from the log`,
      );
      return undefined;
    }
  }

  /**
   * Writes `<20-digit log end offset>.snapshot` and removes older ones; nothing when the
   * snapshot on disk is already at the log end, or when the log is empty (Kafka's
   * takeSnapshot skips the same), so stopping a broker of idle partitions writes nothing.
   */
  private writeSnapshot(): void {
    const snapshot = this.pendingSnapshot();
    if (snapshot === undefined) return;
    writeFileSync(snapshot.temp, snapshot.body);
    renameSync(snapshot.temp, snapshot.path);
    for (const stale of snapshot.stale) rmSync(stale, { force: true });
    this.snapshotWritten(snapshot);
  }

  /** writeSnapshot through libuv's threads (LogManager writes thousands at shutdown). */
  async writeSnapshotAsync(): Promise<void> {
    if (this.closed || this.deleted) return;
    const snapshot = this.pendingSnapshot();
    if (snapshot === undefined) return;
    try {
      await writeFile(snapshot.temp, snapshot.body);
      await rename(snapshot.temp, snapshot.path);
      await Promise.all(snapshot.stale.map((stale) => rm(stale, { force: true })));
      this.snapshotWritten(snapshot);
    } catch {
      // Without a snapshot the next start rebuilds the state from the log.
    }
  }

  private pendingSnapshot(): { offset: bigint; name: string; path: string; temp: string; body: string; stale: string[] } | undefined {
    const offset = this.logEndOffset;
    if (offset === this.snapshotOffset || (this.snapshotOffset === undefined && offset === this.logStartOffset) || !existsSync(this.dir)) return undefined;
    const state = this.transactions.snapshot();
    const body = JSON.stringify({
      version: 1,
      offset: String(offset),
      producers: this.producers.exportState(),
      ongoing: state.ongoing.map(([producerId, first]) => [String(producerId), String(first)]),
      aborted: state.aborted.map((txn) => [String(txn.producerId), String(txn.firstOffset), String(txn.lastOffset)]),
    });
    const name = `${String(offset).padStart(20, '0')}.snapshot`;
    const path = join(this.dir, name);
    // The older ones: known from the listing at open (no directory listing per close).
    const stale = (this.snapshotNames ?? readdirSync(this.dir).filter((other) => other.endsWith('.snapshot')))
      .filter((other) => other !== name)
      .map((other) => join(this.dir, other));
    return { offset, name, path, temp: `${path}.tmp`, body, stale };
  }

  private snapshotWritten(snapshot: { offset: bigint; name: string }): void {
    this.snapshotOffset = snapshot.offset;
    this.snapshotNames = [snapshot.name];
  }

  /** Reads whole batches from `offset`; null at the log end. Rejects OFFSET_OUT_OF_RANGE. */
  async read(offset: bigint, maxBytes: number, minOneBatch: boolean): Promise<LogRecords | null> {
    const now = this.readNow(offset, maxBytes, minOneBatch);
    if (now !== undefined) return now;
    try {
      const slice = await this.segments.read(offset, maxBytes, minOneBatch, 'mmap');
      return slice === null ? null : new LogRecords(slice);
    } catch (error) {
      throw this.readFailed(error, offset);
    }
  }

  /**
   * The same read, done on this thread when it cannot wait for the disk (the active segment,
   * in the page cache: consumers near the log end), without the two thread switches a worker
   * read costs; undefined when read() must do it. Throws what read() rejects with.
   */
  readNow(offset: bigint, maxBytes: number, minOneBatch: boolean): LogRecords | null | undefined {
    if (this.deleted) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${this.topic}-${this.partition} was deleted`);
    const end = this.logEndOffset;
    if (offset === end) return null;
    if (offset < this.logStartOffset || offset > end) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `Offset ${offset} is outside [${this.logStartOffset}, ${end}] of ${this.topic}-${this.partition}`);
    }
    let slice;
    try {
      slice = this.segments.readNow(offset, maxBytes, minOneBatch, 'mmap');
    } catch (error) {
      throw this.readFailed(error, offset);
    }
    return slice === undefined ? undefined : slice === null ? null : new LogRecords(slice);
  }

  /** The KafkaError a failed read answers; a corrupt batch is logged once. */
  private readFailed(error: unknown, offset: bigint): KafkaError {
    if (error instanceof LogError && error.kafkaCode === ErrorCode.CORRUPT_MESSAGE && !this.reportedCorruption.has(error.message)) {
      // Logged once per bad batch; every fetch of it answers CORRUPT_MESSAGE.
      this.reportedCorruption.add(error.message);
      this.options.logger?.error(
        `Fetch of ${this.topic}-${this.partition} at offset ${offset} answered CORRUPT_MESSAGE: ${error.message}. ` +
          'Consumers cannot pass this batch; delete the records before it is past (DeleteRecords) or restore the segment',
      );
    }
    return toKafkaError(error, ErrorCode.KAFKA_STORAGE_ERROR);
  }

  async offsetForTimestamp(timestamp: bigint): Promise<TimestampLookup | null> {
    return this.segments.offsetForTimestamp(timestamp);
  }

  maxTimestamp(): TimestampLookup {
    return this.segments.maxTimestamp();
  }

  /**
   * ListOffsets' MAX_TIMESTAMP spec (KIP-734): the offset of the first record carrying the
   * largest timestamp, as Kafka answers since KAFKA-16310. The segments track the first batch
   * holding it; the record is found inside that batch (decompressed when it must be).
   */
  async firstOffsetOfMaxTimestamp(): Promise<TimestampLookup> {
    const max = this.segments.maxTimestamp();
    if (max.offset < 0n || max.timestamp < 0n) return max;
    const records = await this.read(max.offset, 1, true).catch(() => null);
    if (records === null) return max;
    try {
      const { batchesOf, recordsOf, recordsSection } = await import('../compression/batches.js');
      for (const batch of batchesOf(records.buffer)) {
        const lastOffset = batch.baseOffset + BigInt(batch.lastOffsetDelta);
        if (lastOffset < max.offset) continue;
        if (batch.maxTimestamp !== max.timestamp) break;
        // LogAppendTime: every record of the batch carries the batch's timestamp.
        if ((batch.attributes & LOG_APPEND_TIME) !== 0) return { offset: batch.baseOffset, timestamp: max.timestamp };
        if (batch.codec !== 0) await (await import('../compression/codecs.js')).initCodecs();
        for (const record of recordsOf(recordsSection(batch), batch.recordCount)) {
          if (batch.baseTimestamp + BigInt(record.timestampDelta) === max.timestamp) {
            return { offset: batch.baseOffset + BigInt(record.offsetDelta), timestamp: max.timestamp };
          }
        }
        break;
      }
    } catch {
      // A batch that cannot be decoded: answer what the segment tracks.
    } finally {
      records.release();
    }
    return max;
  }

  /**
   * DeleteRecords: moves the log start offset up to `offset` (-1: the high watermark) and
   * deletes the segments wholly below it. Returns the new low watermark.
   */
  deleteRecordsBefore(offset: bigint): bigint {
    this.checkOpen();
    const target = offset === -1n ? this.highWatermark : offset;
    if (target < 0n || target > this.highWatermark) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `Cannot delete records of ${this.topic}-${this.partition} before ${offset}: the high watermark is ${this.highWatermark}`);
    }
    try {
      if (target > this.logStartOffset) this.segments.deleteSegmentsBefore(target);
    } catch (error) {
      throw toKafkaError(error, ErrorCode.KAFKA_STORAGE_ERROR);
    }
    this.transactions.truncateBefore(this.logStartOffset);
    return this.logStartOffset;
  }

  /**
   * Kafka's deleteOldSegments for cleanup.policy=delete: the oldest segments whose newest
   * record is older than retention.ms, and those beyond retention.bytes. When every
   * segment has expired, the active one is rolled first so it can go too.
   */
  applyRetention(nowMs: number): RetentionResult {
    if (this.closed || !this.config.cleanupPolicy.includes('delete')) return { deletedSegments: 0, logStartOffset: this.logStartOffset };
    const segments = this.segments.segments();
    const { retentionMs, retentionBytes } = this.config;
    let expired = 0;
    if (retentionMs >= 0) {
      while (expired < segments.length) {
        const segment = segments[expired]!;
        if (segment.size === 0 || segment.maxTimestamp < 0 || nowMs - segment.maxTimestamp <= retentionMs) break;
        expired++;
      }
    }
    let oversized = 0;
    if (retentionBytes >= 0) {
      let excess = segments.reduce((total, segment) => total + segment.size, 0) - retentionBytes;
      while (oversized < segments.length - 1 && excess - segments[oversized]!.size >= 0) {
        excess -= segments[oversized]!.size;
        oversized++;
      }
    }
    const count = Math.max(expired, oversized);
    if (count === 0) return { deletedSegments: 0, logStartOffset: this.logStartOffset };
    let deleted;
    try {
      if (count === segments.length) {
        this.segments.roll(nowMs);
        deleted = this.segments.deleteSegmentsBefore(this.logEndOffset);
      } else {
        deleted = this.segments.deleteSegmentsBefore(segments[count]!.baseOffset);
      }
    } catch (error) {
      throw toKafkaError(error, ErrorCode.KAFKA_STORAGE_ERROR);
    }
    // Aborted transactions wholly below the new log start no longer concern any reader.
    this.transactions.truncateBefore(this.logStartOffset);
    return { deletedSegments: deleted, logStartOffset: this.logStartOffset };
  }

  /** The segments, oldest first (the last is active): for the cleaner and DescribeLogDirs. */
  segmentInfo(): SegmentInfo[] {
    return this.closed ? [] : this.segments.segments();
  }

  /** The cleaner's swap of a compacted segment; false when the segment changed meanwhile. */
  async replaceSegment(baseOffset: bigint, expectedSize: number): Promise<boolean> {
    if (this.closed) return false;
    return this.segments.replaceSegment(baseOffset, expectedSize);
  }

  /** Registers a callback run after the next append(s); returns the unregister function. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  expireProducers(nowMs: number, expirationMs: number): void {
    this.producers.expire(nowMs, expirationMs);
  }

  /** The idempotent producers with state in this partition (DescribeProducers). */
  activeProducers(): ProducerSnapshot[] {
    return this.producers.snapshot();
  }

  flush(): void {
    if (!this.closed) this.segments.flush();
  }

  close(): void {
    this.beginClose()?.close(!this.deleted);
  }

  /**
   * The first half of close: the producer snapshot is written and the log refuses further
   * use; returns the native log for the caller to close (LogManager closes many at once on
   * its recovery threads), or undefined if it was closed already.
   */
  beginClose(): SegmentLog | undefined {
    if (this.closed) return undefined;
    if (!this.deleted) {
      try {
        this.writeSnapshot();
      } catch {
        // Without a snapshot the next start rebuilds the state from the log.
      }
    }
    this.closed = true;
    return this.segments;
  }

  /** The topic was deleted: the log closes (without flushing what is about to be removed) and readers and writers are told so. */
  markDeleted(): void {
    this.deleted = true;
    this.close();
    this.notifyAppend(); // parked fetches return at once
  }

  private checkLeader(): void {
    if (this.follower) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `This broker is not the leader of ${this.topic}-${this.partition}`);
  }

  private checkOpen(): void {
    if (this.deleted) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${this.topic}-${this.partition} was deleted`);
    if (this.closed) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.topic}-${this.partition} is closed`);
  }

  private pool(): CompressionPool {
    if (this.compression === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'No compression pool for this log');
    return this.compression();
  }

  /**
   * Kafka names the partition in the keyless-record refusal and, from Produce v8 (KIP-467),
   * lists the refused records so that clients fail only those with INVALID_RECORD.
   */
  private keyed(error: KafkaError, keyless: readonly number[] | (() => number[]) = []): KafkaError {
    if (error.message.includes('Compacted topic cannot accept message without key')) {
      const reason = `Compacted topic cannot accept message without key in topic partition ${this.topic}-${this.partition}.`;
      const indexes = typeof keyless === 'function' ? keyless() : keyless;
      const recordErrors = indexes.map((batchIndex) => ({ batchIndex, message: reason }));
      const message =
        recordErrors.length === 0
          ? reason
          : `One or more records have been rejected due to ${recordErrors.length} record errors in total: ${reason} Records: ${indexes.slice(0, 3).join(', ')}${indexes.length > 3 ? ', ...' : ''}`;
      return new KafkaError(ErrorCode.INVALID_RECORD, message, undefined, recordErrors);
    }
    return error;
  }

  private notifyAppend(): void {
    if (this.appendListeners.size === 0) return;
    for (const listener of [...this.appendListeners]) listener();
  }
}

/**
 * The indexes (within their batch) of the keyless records of the uncompressed batches, for
 * the refusal of a compacted topic's produce; only computed on that error path.
 */
function keylessRecordsOf(records: Buffer): () => number[] {
  return () => {
    const indexes: number[] = [];
    try {
      for (let at = 0; at + 61 <= records.length;) {
        const size = 12 + records.readInt32BE(at + 8);
        if (size < 61 || at + size > records.length) break;
        if ((records.readInt16BE(at + 21) & RecordBatchAttribute.COMPRESSION_MASK) === 0) {
          const [batch] = decodeRecordBatches(records.subarray(at, at + size), { verifyCrc: false });
          batch?.records.forEach((record, index) => {
            if (record.key === null) indexes.push(index);
          });
        }
        at += size;
      }
    } catch {
      // A batch that does not decode was refused for that reason already.
    }
    return indexes;
  };
}

/** partitionLeaderEpoch sits before the CRC'd part of the batch header, so no CRC update is needed. */
function stampLeaderEpoch(records: Buffer, info: BatchesInfo, epoch: number): void {
  for (const batch of info.batches) records.writeInt32BE(epoch, batch.position + 12);
}

/** LogAppendTime: each batch's maxTimestamp becomes the broker's clock, CRC recomputed. */
function stampLogAppendTime(records: Buffer, info: BatchesInfo, now: bigint): void {
  for (const batch of info.batches) {
    const at = batch.position;
    records.writeInt16BE(((batch.attributes | LOG_APPEND_TIME) << 16) >> 16, at + 21);
    records.writeBigInt64BE(now, at + 35);
    records.writeUInt32BE(crc32c(records.subarray(at + 21, at + batch.size)), at + 17);
  }
}

function toKafkaError(error: unknown, fallbackCode: number): KafkaError {
  if (error instanceof KafkaError) return error;
  if (error instanceof LogError) return new KafkaError(error.kafkaCode, error.message);
  return new KafkaError(fallbackCode, (error as Error).message);
}
