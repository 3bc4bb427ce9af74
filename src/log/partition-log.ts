// One partition's log: batch validation, idempotent-producer checks and the append into
// the native segment log; reads for Fetch; and the wake-up of fetches parked on it.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type LogConfig } from '../config/topic-config.js';
import { LogRecords } from './log-records.js';
import { LogError, SegmentLog, validateBatches, type BatchesInfo } from './native.js';
import { ProducerStateManager } from './producer-state.js';

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

export class PartitionLog {
  private readonly producers = new ProducerStateManager();
  private readonly appendListeners = new Set<() => void>();
  private readonly segments: SegmentLog;
  private closed = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    private config: LogConfig,
  ) {
    this.segments = new SegmentLog(dir, {
      segmentBytes: config.segmentBytes,
      segmentMs: config.segmentMs,
      segmentIndexBytes: config.segmentIndexBytes,
      indexIntervalBytes: config.indexIntervalBytes,
      flushMessages: config.flushMessages,
      flushMs: config.flushMs,
    });
  }

  get logStartOffset(): bigint {
    return this.segments.logStartOffset;
  }

  get logEndOffset(): bigint {
    return this.segments.logEndOffset;
  }

  /** One replica: everything appended is replicated, so the high watermark is the log end. */
  get highWatermark(): bigint {
    return this.segments.logEndOffset;
  }

  /** No transactions yet: nothing is pending, so the LSO equals the high watermark. */
  get lastStableOffset(): bigint {
    return this.highWatermark;
  }

  get sizeInBytes(): number {
    return this.segments.size;
  }

  /** Validates and appends a Produce request's records; throws KafkaError on refusal. */
  append(records: Buffer, nowMs: number): AppendResult {
    if (this.closed) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.topic}-${this.partition} is closed`);
    let info: BatchesInfo;
    try {
      info = validateBatches(records);
    } catch (error) {
      throw toKafkaError(error, ErrorCode.CORRUPT_MESSAGE);
    }
    if (info.batchCount === 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'The produce request has no record batch');
    for (const batch of info.batches) {
      if (batch.size > this.config.maxMessageBytes) {
        throw new KafkaError(
          ErrorCode.MESSAGE_TOO_LARGE,
          `A batch of ${batch.size} bytes exceeds max.message.bytes ${this.config.maxMessageBytes}`,
        );
      }
      if (batch.isControl) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Clients may not write control batches');
    }

    let duplicates = 0;
    let duplicateRange: { firstOffset: bigint; lastOffset: bigint } | undefined;
    for (const batch of info.batches) {
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

    let appended;
    try {
      appended = this.segments.append(records, info, nowMs);
    } catch (error) {
      throw toKafkaError(error, ErrorCode.KAFKA_STORAGE_ERROR);
    }
    let offset = appended.baseOffset;
    for (const batch of info.batches) {
      const last = offset + BigInt(batch.lastOffsetDelta);
      this.producers.update(batch, offset, last, nowMs);
      offset = last + 1n;
    }
    this.notifyAppend();
    return {
      baseOffset: appended.baseOffset,
      lastOffset: appended.lastOffset,
      logAppendTime: -1n,
      logStartOffset: this.logStartOffset,
      duplicate: false,
    };
  }

  /** Reads whole batches from `offset`; null at the log end. Rejects OFFSET_OUT_OF_RANGE. */
  async read(offset: bigint, maxBytes: number, minOneBatch: boolean): Promise<LogRecords | null> {
    if (offset < this.logStartOffset || offset > this.logEndOffset) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Offset ${offset} is outside [${this.logStartOffset}, ${this.logEndOffset}] of ${this.topic}-${this.partition}`,
      );
    }
    if (offset === this.logEndOffset) return null;
    try {
      const slice = await this.segments.read(offset, maxBytes, minOneBatch, 'mmap');
      return slice === null ? null : new LogRecords(slice);
    } catch (error) {
      throw toKafkaError(error, ErrorCode.KAFKA_STORAGE_ERROR);
    }
  }

  async offsetForTimestamp(timestamp: bigint): Promise<TimestampLookup | null> {
    return this.segments.offsetForTimestamp(timestamp);
  }

  maxTimestamp(): TimestampLookup {
    return this.segments.maxTimestamp();
  }

  /** Registers a callback run after the next append(s); returns the unregister function. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  expireProducers(nowMs: number, expirationMs: number): void {
    this.producers.expire(nowMs, expirationMs);
  }

  flush(): void {
    this.segments.flush();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.segments.close();
  }

  private notifyAppend(): void {
    if (this.appendListeners.size === 0) return;
    for (const listener of [...this.appendListeners]) listener();
  }
}

function toKafkaError(error: unknown, fallbackCode: number): KafkaError {
  if (error instanceof KafkaError) return error;
  if (error instanceof LogError) return new KafkaError(error.kafkaCode, error.message);
  return new KafkaError(fallbackCode, (error as Error).message);
}
