// Persistence of share-partition state through the log, as Kafka's share coordinator does:
// the internal topic __share_group_state, one partition per share-partition chosen by the
// Java hash of "group:topicId:partition" (Kafka's SharePartitionKey), compacted so that the
// latest snapshot of each share-partition is what survives. Replayed in order at start.

import { type BrokerConfig } from '../config/broker-config.js';
import { InternalTopic } from '../log/internal-topic.js';
import { type LogManager } from '../log/log-manager.js';
import { type Logger } from '../logger.js';
import {
  decodeShareStateRecord,
  encodeShareSnapshotValue,
  encodeShareStateKey,
  SHARE_SNAPSHOT_KEY,
  SHARE_UPDATE_KEY,
  type ShareSnapshotValue,
  type ShareStateKey,
  type ShareStateRecord,
} from './share-state-records.js';

export const SHARE_STATE_TOPIC = '__share_group_state';

function placementKey(key: ShareStateKey): string {
  return `${key.groupId}:${uuidString(key.topicId)}:${key.partition}`;
}

/** Kafka's base64 (URL-safe, unpadded) rendering of a UUID, as in SharePartitionKey's string form. */
function uuidString(id: Buffer): string {
  return id.toString('base64url');
}

export class ShareStateLog {
  private readonly topic: InternalTopic;

  constructor(
    logs: LogManager,
    config: BrokerConfig,
    private readonly logger: Logger,
  ) {
    this.topic = new InternalTopic(logs, SHARE_STATE_TOPIC, config.values.get('share.coordinator.state.topic.num.partitions') as number, {
      'cleanup.policy': 'compact',
      'segment.bytes': String(config.values.get('share.coordinator.state.topic.segment.bytes')),
      'compression.type': 'producer',
    });
  }

  writeSnapshot(key: ShareStateKey, value: ShareSnapshotValue, nowMs: number): void {
    this.topic.append(placementKey(key), [{ key: encodeShareStateKey(SHARE_SNAPSHOT_KEY, key), value: encodeShareSnapshotValue(value) }], nowMs);
  }

  /** Tombstones both record types of a share-partition (its state was deleted). */
  delete(key: ShareStateKey, nowMs: number): void {
    this.topic.append(
      placementKey(key),
      [
        { key: encodeShareStateKey(SHARE_SNAPSHOT_KEY, key), value: null },
        { key: encodeShareStateKey(SHARE_UPDATE_KEY, key), value: null },
      ],
      nowMs,
    );
  }

  /** Every record in offset order; a record that cannot be decoded is logged and skipped. */
  async *replay(): AsyncGenerator<ShareStateRecord> {
    for await (const batch of this.topic.batches()) {
      if (batch.isControl) continue;
      for (const record of batch.records) {
        if (record.key === null) continue;
        try {
          const decoded = decodeShareStateRecord(record.key, record.value);
          if (decoded !== undefined) yield decoded;
        } catch (error) {
          this.logger.warn(`${SHARE_STATE_TOPIC}: skipped a malformed record at offset ${record.offset}: ${(error as Error).message}`);
        }
      }
    }
  }
}
