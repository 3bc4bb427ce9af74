// Persistence of transaction state through the log, like Kafka's __transaction_state: an
// internal compacted topic, one partition per transactional ID by its Java hash.

import { type BrokerConfig } from '../config/broker-config.js';
import { InternalTopic } from '../log/internal-topic.js';
import { type LogManager } from '../log/log-manager.js';
import { decodeTransactionLogKey, decodeTransactionLogValue, type TransactionLogValue } from './transaction-log-records.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';

export class TransactionLog {
  private readonly topic: InternalTopic;

  constructor(logs: LogManager, config: BrokerConfig) {
    this.topic = new InternalTopic(logs, TRANSACTION_STATE_TOPIC, config.values.get('transaction.state.log.num.partitions') as number, {
      'cleanup.policy': 'compact',
      'segment.bytes': String(config.values.get('transaction.state.log.segment.bytes')),
    });
  }

  append(transactionalId: string, key: Buffer, value: Buffer | null, nowMs: number): void {
    this.topic.append(transactionalId, [{ key, value }], nowMs);
  }

  async *replay(): AsyncGenerator<{ transactionalId: string; value: TransactionLogValue | null }> {
    for await (const batch of this.topic.batches()) {
      for (const record of batch.records) {
        const transactionalId = record.key === null ? undefined : decodeTransactionLogKey(record.key);
        if (transactionalId === undefined) continue;
        yield { transactionalId, value: record.value === null ? null : decodeTransactionLogValue(record.value) };
      }
    }
  }
}
