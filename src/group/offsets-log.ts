// Persistence of group state through the log, as Kafka does: the internal, compacted
// __consumer_offsets topic, one partition per group chosen by the group ID's Java hash.
// Writes go through the normal append path; at start every partition is read back in order.

import { type BrokerConfig } from '../config/broker-config.js';
import { InternalTopic, type KeyValue } from '../log/internal-topic.js';
import { type LogManager } from '../log/log-manager.js';
import { RecordBatchAttribute } from '../protocol/record-batch.js';
import { decodeOffsetsTopicRecord, type OffsetsTopicRecord } from './offsets-topic-records.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

export type { KeyValue };

export class OffsetsLog {
  private readonly topic: InternalTopic;

  constructor(logs: LogManager, config: BrokerConfig) {
    this.topic = new InternalTopic(logs, OFFSETS_TOPIC, config.values.get('offsets.topic.num.partitions') as number, {
      'cleanup.policy': 'compact',
      'segment.bytes': String(config.values.get('offsets.topic.segment.bytes')),
      'compression.type': 'producer',
    });
  }

  /** Appends records for one group atomically (one batch), before the caller answers. */
  append(groupId: string, records: readonly KeyValue[], nowMs: number): void {
    this.topic.append(groupId, records, nowMs);
  }

  /** The partition holding a group's records (the topic is created on first use). */
  partitionOf(groupId: string): { topic: string; partition: number } {
    return { topic: OFFSETS_TOPIC, partition: this.topic.partitionOf(groupId) };
  }

  /** Appends records inside a producer's transaction: they count only once its COMMIT marker follows. */
  appendTransactional(groupId: string, records: readonly KeyValue[], producerId: bigint, producerEpoch: number, nowMs: number): void {
    this.topic.append(groupId, records, nowMs, { attributes: RecordBatchAttribute.TRANSACTIONAL, producerId, producerEpoch, baseSequence: -1 });
  }

  /** Every record of the topic, partition by partition, in offset order. */
  async *replay(): AsyncGenerator<OffsetsTopicRecord> {
    for await (const batch of this.topic.batches()) {
      if (batch.isControl) {
        const key = batch.records[0]?.key;
        // Control record key: version int16, type int16 (0 ABORT, 1 COMMIT).
        if (key !== null && key !== undefined && key.length >= 4) {
          const type = key.readInt16BE(2);
          if (type === 0 || type === 1) yield { kind: 'marker', producerId: batch.producerId, commit: type === 1 };
        }
        continue;
      }
      for (const record of batch.records) {
        if (record.key === null) continue;
        const decoded = decodeOffsetsTopicRecord(record.key, record.value);
        if (decoded === undefined) continue;
        yield batch.isTransactional && decoded.kind === 'offset' ? { ...decoded, producerId: batch.producerId } : decoded;
      }
    }
  }
}
