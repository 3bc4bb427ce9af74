// Persistence of group state through the log, as Kafka does: the internal, compacted
// __consumer_offsets topic, one partition per group chosen by the group ID's Java hash.
// Writes go through the normal append path; at start every partition is read back in order.

import { type BrokerConfig } from '../config/broker-config.js';
import { type LogManager, type Topic } from '../log/log-manager.js';
import { decodeRecordBatches, encodeRecordBatch, RecordBatchAttribute } from '../protocol/record-batch.js';
import { decodeOffsetsTopicRecord, type OffsetsTopicRecord } from './offsets-topic-records.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Java's String.hashCode, which Kafka uses to place a group on a partition. */
export function javaStringHash(value: string): number {
  let hash = 0;
  for (let i = 0; i < value.length; i++) hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0;
  return hash;
}

export function partitionForGroup(groupId: string, partitions: number): number {
  return (javaStringHash(groupId) & 0x7fffffff) % partitions;
}

export interface KeyValue {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

export class OffsetsLog {
  private topic: Topic | undefined;

  constructor(
    private readonly logs: LogManager,
    private readonly config: BrokerConfig,
  ) {
    this.topic = logs.topic(OFFSETS_TOPIC);
  }

  get partitions(): number {
    return this.topic?.partitions.length ?? (this.config.values.get('offsets.topic.num.partitions') as number);
  }

  /** Appends records for one group atomically (one batch); resolves once in the log. */
  append(groupId: string, records: readonly KeyValue[], nowMs: number): void {
    if (records.length === 0) return;
    const topic = this.ensureTopic();
    const log = topic.partitions[partitionForGroup(groupId, topic.partitions.length)]!;
    const batch = encodeRecordBatch({
      records: records.map((record) => ({ key: record.key, value: record.value, timestamp: BigInt(nowMs) })),
    });
    log.append(batch, nowMs);
  }

  /** The partition holding a group's records (the topic is created on first use). */
  partitionOf(groupId: string): { topic: string; partition: number } {
    const topic = this.ensureTopic();
    return { topic: topic.name, partition: partitionForGroup(groupId, topic.partitions.length) };
  }

  /** Appends records inside a producer's transaction: they count only once its COMMIT marker follows. */
  appendTransactional(groupId: string, records: readonly KeyValue[], producerId: bigint, producerEpoch: number, nowMs: number): void {
    if (records.length === 0) return;
    const topic = this.ensureTopic();
    const log = topic.partitions[partitionForGroup(groupId, topic.partitions.length)]!;
    const batch = encodeRecordBatch({
      attributes: RecordBatchAttribute.TRANSACTIONAL,
      producerId,
      producerEpoch,
      baseSequence: -1,
      records: records.map((record) => ({ key: record.key, value: record.value, timestamp: BigInt(nowMs) })),
    });
    log.appendFromCoordinator(batch, nowMs);
  }

  /** Every record of the topic, partition by partition, in offset order. */
  async *replay(): AsyncGenerator<OffsetsTopicRecord> {
    const topic = this.topic;
    if (topic === undefined) return;
    for (const log of topic.partitions) {
      let offset = log.logStartOffset;
      while (offset < log.logEndOffset) {
        const records = await log.read(offset, 1 << 20, true);
        if (records === null) break;
        try {
          for (const batch of decodeRecordBatches(records.buffer)) {
            if (batch.isControl) {
              const key = batch.records[0]?.key;
              // Control record key: version int16, type int16 (0 ABORT, 1 COMMIT).
              if (key !== null && key !== undefined && key.length >= 4) {
                const type = key.readInt16BE(2);
                if (type === 0 || type === 1) yield { kind: 'marker', producerId: batch.producerId, commit: type === 1 };
              }
            } else {
              for (const record of batch.records) {
                if (record.key === null) continue;
                const decoded = decodeOffsetsTopicRecord(record.key, record.value);
                if (decoded === undefined) continue;
                yield batch.isTransactional && decoded.kind === 'offset' ? { ...decoded, producerId: batch.producerId } : decoded;
              }
            }
            offset = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
          }
        } finally {
          records.release();
        }
      }
    }
  }

  private ensureTopic(): Topic {
    if (this.topic === undefined) {
      this.topic = this.logs.createTopic(OFFSETS_TOPIC, this.config.values.get('offsets.topic.num.partitions') as number, {
        'cleanup.policy': 'compact',
        'segment.bytes': String(this.config.values.get('offsets.topic.segment.bytes')),
        'compression.type': 'producer',
      });
    }
    return this.topic;
  }
}
