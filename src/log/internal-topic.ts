// An internal, compacted topic that a coordinator keeps its state in (__consumer_offsets,
// __transaction_state): created on first write, one partition per key by the key's Java
// hash (as Kafka places groups and transactional IDs), writes through the normal append
// path, and a replay of every batch in offset order at start.

import { decodeRecordBatches, encodeRecordBatch, type DecodedBatch } from '../protocol/record-batch.js';
import { type LogManager, type Topic } from './log-manager.js';

export interface KeyValue {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

/** Java's String.hashCode, which Kafka uses to place a group or transactional ID on a partition. */
export function javaStringHash(value: string): number {
  let hash = 0;
  for (let i = 0; i < value.length; i++) hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0;
  return hash;
}

export function partitionForKey(key: string, partitions: number): number {
  return (javaStringHash(key) & 0x7fffffff) % partitions;
}

/** Batch header fields for a coordinator's transactional write. */
export interface InternalBatchOptions {
  readonly attributes?: number;
  readonly producerId?: bigint;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
}

export class InternalTopic {
  private topic: Topic | undefined;

  constructor(
    private readonly logs: LogManager,
    readonly name: string,
    private readonly partitionCount: number,
    private readonly configs: Readonly<Record<string, string>>,
  ) {
    this.topic = logs.topic(name);
  }

  /** The partition holding `key`'s records (the topic is created on first use). */
  partitionOf(key: string): number {
    const topic = this.ensureTopic();
    return partitionForKey(key, topic.partitions.length);
  }

  /**
   * Appends records for one key atomically (one batch). Plain batches go through the
   * client path; transactional ones (options.producerId) through the coordinator path,
   * which skips the client's sequence checks.
   */
  append(key: string, records: readonly KeyValue[], nowMs: number, options?: InternalBatchOptions): void {
    if (records.length === 0) return;
    const topic = this.ensureTopic();
    const log = topic.partitions[partitionForKey(key, topic.partitions.length)]!;
    const batch = encodeRecordBatch({
      ...options,
      records: records.map((record) => ({ key: record.key, value: record.value, timestamp: BigInt(nowMs) })),
    });
    if (options?.producerId !== undefined) log.appendFromCoordinator(batch, nowMs);
    else log.append(batch, nowMs);
  }

  /** Every batch of the topic, partition by partition, in offset order. */
  async *batches(): AsyncGenerator<DecodedBatch> {
    const topic = this.topic;
    if (topic === undefined) return;
    for (const log of topic.partitions) {
      let offset = log.logStartOffset;
      while (offset < log.logEndOffset) {
        const records = await log.read(offset, 1 << 20, true);
        if (records === null) break;
        try {
          for (const batch of decodeRecordBatches(records.buffer)) {
            yield batch;
            offset = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
          }
        } finally {
          records.release();
        }
      }
    }
  }

  private ensureTopic(): Topic {
    // In a cluster the topic may have been created meanwhile through the metadata store.
    if (this.topic === undefined) {
      this.topic = this.logs.topic(this.name) ?? this.logs.createTopic(this.name, this.partitionCount, this.configs);
      this.logs.persistNow(); // listed in topics.json before the first record goes in
    }
    return this.topic;
  }
}
