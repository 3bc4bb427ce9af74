// Persistence of group state through the log, as Kafka does: the internal, compacted
// __consumer_offsets topic, one partition per group chosen by the group ID's Java hash.
// Writes go through the replica layer as the partition's leader; a shard (one partition) is
// loaded by reading its records back in order.

import { type BrokerConfig } from '../config/broker-config.js';
import { CoordinatorLog, type KeyValue } from '../cluster/coordinator-log.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { type LogManager } from '../log/log-manager.js';
import { RecordBatchAttribute } from '../protocol/record-batch.js';
import { decodeOffsetsTopicRecord, type OffsetsTopicRecord } from './offsets-topic-records.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

export type { KeyValue };

export class OffsetsLog {
  readonly topic: CoordinatorLog;

  constructor(replicas: ReplicaManager, logs: LogManager, config: BrokerConfig) {
    this.topic = new CoordinatorLog(
      replicas,
      logs,
      OFFSETS_TOPIC,
      config.values.get('offsets.topic.num.partitions') as number,
      {
        'cleanup.policy': 'compact',
        'segment.bytes': String(config.values.get('offsets.topic.segment.bytes')),
        'compression.type': 'producer',
      },
      config.values.get('offsets.commit.timeout.ms') as number,
    );
  }

  /** The __consumer_offsets partition of a group. */
  shardOf(groupId: string): number {
    return this.topic.partitionOf(groupId);
  }

  /** Appends records for one group atomically (one batch); the caller answers once committed(). */
  append(groupId: string, records: readonly KeyValue[], nowMs: number): void {
    this.topic.append(this.shardOf(groupId), records, nowMs);
  }

  /** The partition holding a group's records (on a single node the topic is created on first use). */
  partitionOf(groupId: string): { topic: string; partition: number } {
    this.topic.ensureCreated();
    return { topic: OFFSETS_TOPIC, partition: this.shardOf(groupId) };
  }

  /** Appends records inside a producer's transaction: they count only once its COMMIT marker follows. */
  appendTransactional(groupId: string, records: readonly KeyValue[], producerId: bigint, producerEpoch: number, nowMs: number): void {
    this.topic.append(this.shardOf(groupId), records, nowMs, { attributes: RecordBatchAttribute.TRANSACTIONAL, producerId, producerEpoch, baseSequence: -1 });
  }

  /** NONE once the group's writes so far are replicated (at once on a single node), else the coordinator's error. */
  committed(groupId: string, leaderEpoch?: number): number | Promise<number> {
    return this.topic.committed(this.shardOf(groupId), leaderEpoch);
  }

  /** Every record of one partition, in offset order. */
  async *replay(partition: number): AsyncGenerator<OffsetsTopicRecord> {
    for await (const batch of this.topic.replay(partition)) {
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
