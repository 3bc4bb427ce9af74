// Persistence of transaction state through the log, like Kafka's __transaction_state: an
// internal compacted topic, one partition per transactional ID by its Java hash. Writes go
// through the replica layer as the partition's leader; a shard (one partition) is loaded by
// reading its records back in order.

import { type BrokerConfig } from '../config/broker-config.js';
import { CoordinatorLog } from '../cluster/coordinator-log.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { type LogManager } from '../log/log-manager.js';
import { decodeTransactionLogKey, decodeTransactionLogValue, type TransactionLogValue } from './transaction-log-records.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';

export class TransactionLog {
  readonly topic: CoordinatorLog;

  constructor(replicas: ReplicaManager, logs: LogManager, config: BrokerConfig) {
    this.topic = new CoordinatorLog(
      replicas,
      logs,
      TRANSACTION_STATE_TOPIC,
      config.values.get('transaction.state.log.num.partitions') as number,
      {
        'cleanup.policy': 'compact',
        'segment.bytes': String(config.values.get('transaction.state.log.segment.bytes')),
      },
      config.values.get('request.timeout.ms') as number,
    );
  }

  /** The __transaction_state partition of a transactional ID. */
  shardOf(transactionalId: string): number {
    return this.topic.partitionOf(transactionalId);
  }

  /** Throws KafkaError when it cannot append (not the leader, too few in-sync replicas). */
  append(transactionalId: string, key: Buffer, value: Buffer | null, nowMs: number): void {
    this.topic.append(this.shardOf(transactionalId), [{ key, value }], nowMs);
  }

  /** NONE once the transactional ID's writes so far are replicated (at once on a single node), else the coordinator's error. */
  committed(transactionalId: string, leaderEpoch?: number): number | Promise<number> {
    return this.topic.committed(this.shardOf(transactionalId), leaderEpoch);
  }

  async *replay(partition: number): AsyncGenerator<{ transactionalId: string; value: TransactionLogValue | null }> {
    for await (const batch of this.topic.replay(partition)) {
      for (const record of batch.records) {
        const transactionalId = record.key === null ? undefined : decodeTransactionLogKey(record.key);
        if (transactionalId === undefined) continue;
        yield { transactionalId, value: record.value === null ? null : decodeTransactionLogValue(record.value) };
      }
    }
  }
}
