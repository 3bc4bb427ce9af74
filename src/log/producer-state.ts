// Idempotent producer bookkeeping per partition, as Kafka's ProducerStateManager does:
// the last epoch and sequence of every producer, and the last five batches it wrote so a
// retried batch is acknowledged with its original offsets instead of appended twice.
//
// One difference from Kafka, for kafkajs: each cached batch also keeps a fingerprint of its
// records (recordsFingerprint). kafkajs 2.2.4 rolls its sequence back whenever a produce
// fails, even when the batch was written (a leader killed after the batch reached the
// followers), and the next batch of the partition then goes out under the same sequences.
// Kafka acknowledges that next batch as a duplicate although its records were never written,
// and writes the first batch a second time when kafkajs retries it under new sequences. Here
// a batch that reuses sequences already written is the duplicate only of the batch written
// under them with the same records; with other records it is written (the producer's
// sequence follows it, as kafkajs's does), and the batches it overlapped are marked
// superseded. Records already written, sent again under other sequences (the failed batch,
// retried by kafkajs after the reuse), are refused with OUT_OF_ORDER_SEQUENCE_NUMBER: kafkajs
// reports that send as failed (its records are in the log), rolls its sequence back and goes
// on in step with the broker. Leader and followers reach the same state, since both apply
// update() to the same batches. Clients that never reuse a sequence for other records (the
// Java client, librdkafka) see Kafka's behaviour.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { crc32c } from './native.js';

/** Kafka keeps the metadata of the last 5 batches per producer (max.in.flight is capped at 5). */
const CACHED_BATCHES = 5;
/** Superseded batches kept per producer: a kafkajs retry may come after many other sends. */
const SUPERSEDED_BATCHES = 32;
const NO_EPOCH = -1;

interface CachedBatch {
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  /** recordsFingerprint of the batch; absent when loaded from a snapshot. */
  readonly fingerprint?: number;
}

interface ProducerEntry {
  /** Batches a later batch was written over (kafkajs, see the header), kept beyond the five recent ones. */
  superseded?: CachedBatch[];
  epoch: number;
  lastSequence: number;
  lastTimestamp: number;
  batches: CachedBatch[];
}

export interface ProducerBatch {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
  /** recordsFingerprint of the batch, when the caller has its bytes. */
  readonly fingerprint?: number;
}

/** Bytes of a v2 batch header before its records. */
const RECORDS_START = 61;
/** Bytes sampled at each end of the records. */
const SAMPLE = 64;

/**
 * A cheap fingerprint of a batch's records (not of its header, whose timestamps kafkajs
 * rewrites on a retry): their length and CRC32C of their first and last 64 bytes.
 */
export function recordsFingerprint(buffer: Uint8Array, position: number, size: number): number {
  const start = position + RECORDS_START;
  const end = position + size;
  if (end <= start) return 0;
  const head = buffer.subarray(start, Math.min(end, start + SAMPLE));
  const crc = end - start > SAMPLE ? crc32c(buffer.subarray(Math.max(start + SAMPLE, end - SAMPLE), end), crc32c(head)) : crc32c(head);
  return (crc ^ Math.imul(end - start, 0x9e3779b1)) >>> 0;
}

/** One producer's state, as DescribeProducers reports it. */
export interface ProducerSnapshot {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly lastSequence: number;
  readonly lastTimestamp: number;
}

/** A producer as written in a snapshot file (bigints as strings). */
export interface StoredProducer {
  readonly producerId: string;
  readonly epoch: number;
  readonly lastSequence: number;
  readonly lastTimestamp: number;
  readonly batches: Array<[number, number, string, string]>;
}

export type SequenceCheck = { readonly kind: 'append' } | { readonly kind: 'duplicate'; readonly firstOffset: bigint; readonly lastOffset: bigint };

export function lastSequenceOf(batch: ProducerBatch): number {
  // Sequences wrap at Int32.MAX_VALUE back to 0.
  return (batch.baseSequence + batch.recordCount - 1) % 2147483648;
}

export class ProducerStateManager {
  private readonly producers = new Map<bigint, ProducerEntry>();

  get producerCount(): number {
    return this.producers.size;
  }

  /** Decides whether a batch is new, a duplicate of a recent one, or refused (throws KafkaError). */
  check(batch: ProducerBatch): SequenceCheck {
    if (batch.producerId < 0n) return { kind: 'append' };
    const entry = this.producers.get(batch.producerId);
    if (entry === undefined) return { kind: 'append' };
    if (batch.producerEpoch < entry.epoch) {
      throw new KafkaError(ErrorCode.INVALID_PRODUCER_EPOCH, `Producer ${batch.producerId} epoch ${batch.producerEpoch} is older than the current ${entry.epoch}`);
    }
    if (batch.producerEpoch > entry.epoch) {
      if (batch.baseSequence !== 0 && entry.epoch !== NO_EPOCH) {
        throw new KafkaError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `New epoch ${batch.producerEpoch} of producer ${batch.producerId} must start at sequence 0, got ${batch.baseSequence}`,
        );
      }
      return { kind: 'append' };
    }
    const lastSequence = lastSequenceOf(batch);
    const sameRange = entry.batches.find((cached) => cached.firstSequence === batch.baseSequence && cached.lastSequence === lastSequence);
    const comparable = (cached: CachedBatch) => cached.fingerprint !== undefined && batch.fingerprint !== undefined;
    if (sameRange !== undefined && (!comparable(sameRange) || sameRange.fingerprint === batch.fingerprint)) {
      return { kind: 'duplicate', firstOffset: sameRange.firstOffset, lastOffset: sameRange.lastOffset };
    }
    const sameRecords = (cached: CachedBatch) =>
      comparable(cached) && cached.fingerprint === batch.fingerprint && cached.lastSequence - cached.firstSequence === lastSequence - batch.baseSequence;
    const writtenAgain = (cached: CachedBatch) =>
      new KafkaError(
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        `Producer ${batch.producerId} sent the records written at offset ${cached.firstOffset} (sequences ${cached.firstSequence}-${cached.lastSequence}) again under sequences ${batch.baseSequence}-${lastSequence}`,
      );
    // Sequences already written, reused (see the header): refused if these records were written under other sequences, else new records.
    const oldest = entry.batches[0]?.firstSequence ?? entry.lastSequence + 1;
    if (sameRange !== undefined || (batch.fingerprint !== undefined && batch.baseSequence >= oldest && batch.baseSequence <= entry.lastSequence)) {
      const written = entry.batches.find(sameRecords) ?? entry.superseded?.find(sameRecords);
      if (written !== undefined) throw writtenAgain(written);
      return { kind: 'append' };
    }
    const superseded = entry.superseded?.find(sameRecords);
    if (superseded !== undefined) throw writtenAgain(superseded);
    const expected = entry.lastSequence === 2147483647 ? 0 : entry.lastSequence + 1;
    if (batch.baseSequence !== expected) {
      throw new KafkaError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `Producer ${batch.producerId} sent sequence ${batch.baseSequence}, expected ${expected}`);
    }
    return { kind: 'append' };
  }

  /** Records a batch that was appended at [firstOffset, lastOffset]. */
  update(batch: ProducerBatch, firstOffset: bigint, lastOffset: bigint, nowMs: number): void {
    if (batch.producerId < 0n) return;
    let entry = this.producers.get(batch.producerId);
    if (entry === undefined || batch.producerEpoch !== entry.epoch) {
      entry = { epoch: batch.producerEpoch, lastSequence: -1, lastTimestamp: nowMs, batches: [] };
      this.producers.set(batch.producerId, entry);
    }
    const lastSequence = lastSequenceOf(batch);
    // Written under sequences already used (kafkajs, see the header): the batches it overlaps may come back under new ones.
    for (const cached of entry.batches) {
      if (cached.fingerprint === undefined || cached.firstSequence > lastSequence || batch.baseSequence > cached.lastSequence) continue;
      entry.superseded ??= [];
      entry.superseded.push(cached);
      if (entry.superseded.length > SUPERSEDED_BATCHES) entry.superseded.shift();
    }
    entry.lastSequence = lastSequence;
    entry.lastTimestamp = nowMs;
    entry.batches.push({
      firstSequence: batch.baseSequence,
      lastSequence,
      firstOffset,
      lastOffset,
      ...(batch.fingerprint !== undefined ? { fingerprint: batch.fingerprint } : {}),
    });
    if (entry.batches.length > CACHED_BATCHES) entry.batches.shift();
  }

  snapshot(): ProducerSnapshot[] {
    return [...this.producers].map(([producerId, entry]) => ({
      producerId,
      producerEpoch: entry.epoch,
      lastSequence: entry.lastSequence,
      lastTimestamp: entry.lastTimestamp,
    }));
  }

  /**
   * A transaction marker written with `epoch`: a higher epoch (the coordinator fenced the
   * producer, or it re-initialised) starts the producer over at sequence 0, and older
   * epochs are refused from then on.
   */
  fence(producerId: bigint, epoch: number, nowMs: number): void {
    const entry = this.producers.get(producerId);
    if (entry === undefined || epoch <= entry.epoch) return;
    this.producers.set(producerId, { epoch, lastSequence: -1, lastTimestamp: nowMs, batches: [] });
  }

  /** Everything needed to resume idempotence after a restart (the .snapshot file). */
  exportState(): StoredProducer[] {
    return [...this.producers].map(([producerId, entry]) => ({
      producerId: String(producerId),
      epoch: entry.epoch,
      lastSequence: entry.lastSequence,
      lastTimestamp: entry.lastTimestamp,
      batches: entry.batches.map((b) => [b.firstSequence, b.lastSequence, String(b.firstOffset), String(b.lastOffset)] as [number, number, string, string]),
    }));
  }

  importState(stored: readonly StoredProducer[]): void {
    this.producers.clear();
    for (const producer of stored) {
      this.producers.set(BigInt(producer.producerId), {
        epoch: producer.epoch,
        lastSequence: producer.lastSequence,
        lastTimestamp: producer.lastTimestamp,
        batches: producer.batches.map(([firstSequence, lastSequence, firstOffset, lastOffset]) => ({
          firstSequence,
          lastSequence,
          firstOffset: BigInt(firstOffset),
          lastOffset: BigInt(lastOffset),
        })),
      });
    }
  }

  /** Forgets producers idle for longer than producer.id.expiration.ms. */
  expire(nowMs: number, expirationMs: number): void {
    for (const [producerId, entry] of this.producers) {
      if (nowMs - entry.lastTimestamp >= expirationMs) this.producers.delete(producerId);
    }
  }
}
