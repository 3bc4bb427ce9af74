// Idempotent producer bookkeeping per partition, as Kafka's ProducerStateManager does:
// the last epoch and sequence of every producer, and the last five batches it wrote so a
// retried batch is acknowledged with its original offsets instead of appended twice.

import { ErrorCode, KafkaError } from '../protocol/errors.js';

/** Kafka keeps the metadata of the last 5 batches per producer (max.in.flight is capped at 5). */
const CACHED_BATCHES = 5;
const NO_EPOCH = -1;

interface CachedBatch {
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
}

interface ProducerEntry {
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
    for (const cached of entry.batches) {
      if (cached.firstSequence === batch.baseSequence && cached.lastSequence === lastSequence) {
        return { kind: 'duplicate', firstOffset: cached.firstOffset, lastOffset: cached.lastOffset };
      }
    }
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
    entry.lastSequence = lastSequence;
    entry.lastTimestamp = nowMs;
    entry.batches.push({ firstSequence: batch.baseSequence, lastSequence, firstOffset, lastOffset });
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
