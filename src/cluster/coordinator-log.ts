// A coordinator's internal topic (__consumer_offsets, __transaction_state): one partition per
// key by the key's Java hash (as Kafka places groups and transactional IDs); writes go
// through the replica layer as the partition's leader, and a write is answered once
// committed(): the high watermark passed everything appended so far (at once on a single
// node, where the high watermark is the log end). A shard is loaded by replaying its
// partition's batches in offset order.
//
// On a single node the topic is created on first use; in a cluster it exists in the
// metadata store (created with the cluster, or by its controller) and this broker writes
// only the partitions it leads.

import { type LogManager, type Topic } from '../log/log-manager.js';
import { partitionForKey, type InternalBatchOptions, type KeyValue } from '../log/internal-topic.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { decodeRecordBatches, encodeRecordBatch, type DecodedBatch } from '../protocol/record-batch.js';
import { type ReplicaManager } from './replica-manager.js';

export type { KeyValue };

/** The error a coordinator answers when its write failed to commit (Kafka's GroupCoordinatorService / TransactionStateManager mapping). */
export function coordinatorWriteError(code: number): number {
  switch (code) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.FENCED_LEADER_EPOCH:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return code;
  }
}

export class CoordinatorLog {
  private local: Topic | undefined;

  constructor(
    private readonly replicas: ReplicaManager,
    private readonly logs: LogManager,
    readonly name: string,
    /** The configured partition count (offsets.topic.num.partitions...), used until the topic exists. */
    private readonly configuredPartitions: number,
    private readonly configs: Readonly<Record<string, string>>,
    /** How long a write may wait for the in-sync replicas (offsets.commit.timeout.ms...). */
    private readonly commitTimeoutMs: number,
  ) {}

  /** The topic's partition count: the cluster's, the local topic's, or the configured one. */
  get partitionCount(): number {
    return this.replicas.store.topic(this.name)?.replicas.length ?? this.logs.topic(this.name)?.partitions.length ?? this.configuredPartitions;
  }

  /** The partition holding `key`'s records. */
  partitionOf(key: string): number {
    return partitionForKey(key, this.partitionCount);
  }

  /**
   * Appends records for one key atomically (one batch) as the partition's leader and returns
   * the batch's last offset (-1 for no records). Throws KafkaError (NOT_LEADER_OR_FOLLOWER,
   * NOT_ENOUGH_REPLICAS, ...) when it cannot.
   */
  append(partition: number, records: readonly KeyValue[], nowMs: number, options?: InternalBatchOptions): bigint {
    if (records.length === 0) return -1n;
    this.ensureLocal();
    const batch = encodeRecordBatch({
      ...options,
      records: records.map((record) => ({ key: record.key, value: record.value, timestamp: BigInt(nowMs) })),
    });
    return this.replicas.appendAsCoordinator(this.name, partition, batch, nowMs);
  }

  /**
   * NONE once everything appended so far to `partition` is replicated to the ISR: at once
   * when it already is (a single node), else a promise. Otherwise the coordinator's error
   * (NOT_COORDINATOR after losing leadership, COORDINATOR_NOT_AVAILABLE on a timeout).
   */
  committed(partition: number, leaderEpoch?: number): number | Promise<number> {
    // A single node's high watermark is its log end: written is committed.
    if (!this.replicas.clustered) return ErrorCode.NONE;
    const log = this.replicas.partition(this.name, partition)?.log;
    if (log === undefined) return ErrorCode.NOT_COORDINATOR;
    const last = log.logEndOffset - 1n;
    if (last < 0n) return ErrorCode.NONE;
    const code = this.replicas.whenCommitted(this.name, partition, last, this.commitTimeoutMs, leaderEpoch);
    return typeof code === 'number' ? coordinatorWriteError(code) : code.then(coordinatorWriteError);
  }

  /**
   * The batches of one partition in offset order, to its log end. Markers that WriteTxnMarkers
   * appends while a shard loads (the only writes then) are replayed too.
   */
  async *replay(partition: number): AsyncGenerator<DecodedBatch> {
    const log = this.replicas.partition(this.name, partition)?.log ?? this.logs.topic(this.name)?.partitions[partition];
    if (log === undefined) return;
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const records = await log.read(offset, 1 << 20, true);
      if (records === null) break;
      let advanced = false;
      try {
        for (const batch of decodeRecordBatches(records.buffer)) {
          const next = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
          if (next <= offset) continue;
          offset = next;
          advanced = true;
          yield batch;
        }
      } finally {
        records.release();
      }
      if (!advanced) break;
    }
  }

  /** A single node creates its internal topic now (a partition of it joins a transaction); a no-op in a cluster. */
  ensureCreated(): void {
    if (!this.replicas.clustered) this.ensureLocal();
  }

  /** Partition indexes of the local topic (a single node loads them all at start). */
  localPartitions(): number[] {
    const topic = this.logs.topic(this.name);
    return topic === undefined ? [] : topic.partitions.map((_, index) => index);
  }

  /** A single node creates its internal topic on first write; a cluster's exists in the store. */
  private ensureLocal(): void {
    if (this.replicas.clustered) {
      if (this.replicas.store.topic(this.name) === undefined) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${this.name} does not exist yet`);
      return;
    }
    this.local ??= this.logs.topic(this.name) ?? this.logs.createTopic(this.name, this.configuredPartitions, this.configs);
  }
}
