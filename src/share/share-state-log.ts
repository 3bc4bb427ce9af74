// The share coordinator's internal topic, __share_group_state, as Kafka 4.3 lays it out: one
// partition per share-partition key "group:topicId:partition" (the topic ID in Kafka's
// base64 form) chosen by Utils.abs of the key's Java hash, like ShareCoordinatorService;
// cleanup.policy=delete with retention.ms=-1 (the coordinator prunes what a later snapshot
// made redundant, KIP-932), compression as the producer sent it, and
// min.insync.replicas = share.coordinator.state.topic.min.isr. Writes go through the replica
// layer as the partition's leader and are answered once committed (coordinator-log.ts).

import { type BrokerConfig } from '../config/broker-config.js';
import { CoordinatorLog, type KeyValue } from '../cluster/coordinator-log.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { javaStringHash } from '../log/internal-topic.js';
import { type LogManager } from '../log/log-manager.js';
import { type Logger } from '../logger.js';
import { decodeShareStateRecord, type ShareStateRecord } from './share-state-records.js';

export const SHARE_STATE_TOPIC = '__share_group_state';

/** Kafka's SharePartitionKey.asCoordinatorKey: the topic ID in Kafka's base64 (URL-safe, unpadded) form. */
export function shareCoordinatorKey(groupId: string, topicId: Buffer, partition: number): string {
  return `${groupId}:${topicId.toString('base64url')}:${partition}`;
}

/** ShareCoordinatorService.partitionFor: Utils.abs(hash) % partitions (abs of MIN_VALUE is 0). */
export function shareStatePartition(key: string, partitions: number): number {
  const hash = javaStringHash(key);
  return (hash === -2147483648 ? 0 : Math.abs(hash)) % partitions;
}

/** The topic configs Kafka 4.3's share coordinator creates __share_group_state with. */
export function shareStateTopicConfigs(config: BrokerConfig, replicationFactor: number): Record<string, string> {
  return {
    'cleanup.policy': 'delete',
    'retention.ms': '-1',
    'compression.type': 'producer',
    'segment.bytes': String(config.values.get('share.coordinator.state.topic.segment.bytes')),
    'min.insync.replicas': String(Math.min(config.values.get('share.coordinator.state.topic.min.isr') as number, replicationFactor)),
  };
}

/** A record of the topic with its offset (the pruning point follows the snapshots' offsets). */
export interface ShareStateEntryRecord {
  readonly offset: bigint;
  readonly record: ShareStateRecord;
}

export class ShareStateLog {
  readonly topic: CoordinatorLog;

  constructor(
    replicas: ReplicaManager,
    logs: LogManager,
    config: BrokerConfig,
    private readonly logger: Logger,
  ) {
    // A single node creates it on first write; its min.insync.replicas is then 1 (one replica).
    this.topic = new CoordinatorLog(
      replicas,
      logs,
      SHARE_STATE_TOPIC,
      config.values.get('share.coordinator.state.topic.num.partitions') as number,
      shareStateTopicConfigs(config, 1),
      config.values.get('share.coordinator.write.timeout.ms') as number,
    );
  }

  /** The partition of __share_group_state holding a share-partition's state. */
  partitionOf(groupId: string, topicId: Buffer, partition: number): number {
    return shareStatePartition(shareCoordinatorKey(groupId, topicId, partition), this.topic.partitionCount);
  }

  /** Appends records (one batch) to one partition as its leader; returns the batch's last offset. */
  append(partition: number, records: readonly KeyValue[], nowMs: number): bigint {
    return this.topic.append(partition, records, nowMs);
  }

  /** NONE once everything appended to `partition` so far is replicated (at once on a single node). */
  committed(partition: number, leaderEpoch?: number): number | Promise<number> {
    return this.topic.committed(partition, leaderEpoch);
  }

  /** Every record of one partition in offset order; a record that cannot be decoded is logged and skipped. */
  async *replay(partition: number): AsyncGenerator<ShareStateEntryRecord> {
    for await (const batch of this.topic.replay(partition)) {
      if (batch.isControl) continue;
      for (const record of batch.records) {
        if (record.key === null) continue;
        try {
          const decoded = decodeShareStateRecord(record.key, record.value);
          if (decoded !== undefined) yield { offset: record.offset, record: decoded };
        } catch (error) {
          this.logger.warn(`${SHARE_STATE_TOPIC}-${partition}: skipped a malformed record at offset ${record.offset}: ${(error as Error).message}`);
        }
      }
    }
  }
}
