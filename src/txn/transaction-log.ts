// Persistence of transaction state through the log, like Kafka's __transaction_state: an
// internal compacted topic, one partition per transactional ID by its Java hash.

import { type BrokerConfig } from '../config/broker-config.js';
import { type LogManager, type Topic } from '../log/log-manager.js';
import { decodeRecordBatches, encodeRecordBatch } from '../protocol/record-batch.js';
import { partitionForGroup } from '../group/offsets-log.js';
import { decodeTransactionLogKey, decodeTransactionLogValue, type TransactionLogValue } from './transaction-log-records.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';

export class TransactionLog {
  private topic: Topic | undefined;

  constructor(
    private readonly logs: LogManager,
    private readonly config: BrokerConfig,
  ) {
    this.topic = logs.topic(TRANSACTION_STATE_TOPIC);
  }

  append(transactionalId: string, key: Buffer, value: Buffer | null, nowMs: number): void {
    const topic = this.ensureTopic();
    const log = topic.partitions[partitionForGroup(transactionalId, topic.partitions.length)]!;
    log.append(encodeRecordBatch({ records: [{ key, value, timestamp: BigInt(nowMs) }] }), nowMs);
  }

  async *replay(): AsyncGenerator<{ transactionalId: string; value: TransactionLogValue | null }> {
    const topic = this.topic;
    if (topic === undefined) return;
    for (const log of topic.partitions) {
      let offset = log.logStartOffset;
      while (offset < log.logEndOffset) {
        const records = await log.read(offset, 1 << 20, true);
        if (records === null) break;
        try {
          for (const batch of decodeRecordBatches(records.buffer)) {
            for (const record of batch.records) {
              const transactionalId = record.key === null ? undefined : decodeTransactionLogKey(record.key);
              if (transactionalId === undefined) continue;
              yield { transactionalId, value: record.value === null ? null : decodeTransactionLogValue(record.value) };
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
      const partitions = (this.config.values.get('transaction.state.log.num.partitions') as number | undefined) ?? 50;
      const segmentBytes = (this.config.values.get('transaction.state.log.segment.bytes') as number | undefined) ?? 104857600;
      this.topic = this.logs.createTopic(TRANSACTION_STATE_TOPIC, partitions, { 'cleanup.policy': 'compact', 'segment.bytes': String(segmentBytes) });
    }
    return this.topic;
  }
}
