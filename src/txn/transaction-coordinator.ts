// The transaction coordinator (Kafka's TransactionCoordinator, transactions v1): transactional
// IDs map to a producer ID and epoch; a transaction goes Empty -> Ongoing -> PrepareCommit /
// PrepareAbort -> CompleteCommit / CompleteAbort. Every state change is written to
// __transaction_state before it is acknowledged; markers go to every partition of the
// transaction; transactions older than their timeout are aborted with an epoch bump, which
// fences the producer that let them expire. Markers are local appends, so a Prepare state
// completes in the same turn; after a crash, load() completes what was prepared.

import { type BrokerConfig } from '../config/broker-config.js';
import { type Logger } from '../logger.js';
import { Scheduler } from '../group/scheduler.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { TransactionMetadata, type TransactionState } from './transaction-metadata.js';
import { encodeTransactionLogKey, encodeTransactionLogValue } from './transaction-log-records.js';
import { type TransactionLog } from './transaction-log.js';

/** Writes a COMMIT or ABORT control batch to one partition (and completes what depends on it). */
export interface MarkerWriter {
  writeMarker(topic: string, partition: number, producerId: bigint, producerEpoch: number, commit: boolean): void;
  partitionExists(topic: string, partition: number): boolean;
}

export interface ProducerIdSource {
  nextId(): bigint;
}

/** The largest epoch before Kafka moves a producer to a new ID (Short.MAX_VALUE - 1). */
const MAX_EPOCH = 32766;

export class TransactionCoordinator {
  private readonly transactions = new Map<string, TransactionMetadata>();
  private readonly scheduler: Scheduler;
  private readonly maxTimeoutMs: number;
  private readonly expirationMs: number;

  constructor(
    private readonly log: TransactionLog,
    private readonly markers: MarkerWriter,
    private readonly producerIds: ProducerIdSource,
    config: BrokerConfig,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.scheduler = new Scheduler(now);
    this.maxTimeoutMs = config.values.get('transaction.max.timeout.ms') as number;
    this.expirationMs = config.values.get('transactional.id.expiration.ms') as number;
    const cleanupMs = Number(config.values.get('transaction.remove.expired.transaction.cleanup.interval.ms') as bigint);
    this.scheduleExpiration(cleanupMs);
  }

  /** Rebuilds state from __transaction_state and completes transactions caught mid-commit. */
  async load(): Promise<void> {
    for await (const { transactionalId, value } of this.log.replay()) {
      if (value === null) {
        this.transactions.delete(transactionalId);
        continue;
      }
      const metadata = new TransactionMetadata(transactionalId, value.producerId, value.producerEpoch, value.timeoutMs, Number(value.lastUpdateMs));
      metadata.state = value.state;
      metadata.startMs = Number(value.startMs);
      for (const topic of value.partitions) for (const partition of topic.partitions) metadata.addPartition(topic.topic, partition);
      this.transactions.set(transactionalId, metadata);
    }
    for (const metadata of this.transactions.values()) {
      if (metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort') {
        this.logger.info(`Completing transaction ${metadata.transactionalId} left in ${metadata.state}`);
        this.complete(metadata, metadata.state === 'PrepareCommit');
      } else if (metadata.state === 'Ongoing') {
        this.scheduleTimeout(metadata);
      }
    }
  }

  stop(): void {
    this.scheduler.stop();
  }

  get(transactionalId: string): TransactionMetadata | undefined {
    return this.transactions.get(transactionalId);
  }

  all(): IterableIterator<TransactionMetadata> {
    return this.transactions.values();
  }

  /** InitProducerId with a transactional ID: a new ID, or the same ID with a bumped epoch. */
  initProducerId(transactionalId: string, timeoutMs: number, expectedProducerId: bigint, expectedEpoch: number): { producerId: bigint; producerEpoch: number } {
    if (transactionalId === '') throw new KafkaError(ErrorCode.INVALID_REQUEST, 'The transactional ID is empty');
    if (timeoutMs <= 0 || timeoutMs > this.maxTimeoutMs) {
      throw new KafkaError(ErrorCode.INVALID_TRANSACTION_TIMEOUT, `transaction.timeout.ms must be in (0, ${this.maxTimeoutMs}] (transaction.max.timeout.ms)`);
    }
    let metadata = this.transactions.get(transactionalId);
    if (metadata === undefined) {
      metadata = new TransactionMetadata(transactionalId, this.producerIds.nextId(), 0, timeoutMs, this.now());
      this.transactions.set(transactionalId, metadata);
      this.persist(metadata);
      return { producerId: metadata.producerId, producerEpoch: metadata.producerEpoch };
    }
    // KIP-360: a producer that names its current ID and epoch may bump it; anyone else is fenced.
    if (expectedProducerId >= 0n && (expectedProducerId !== metadata.producerId || expectedEpoch !== metadata.producerEpoch)) {
      throw new KafkaError(ErrorCode.PRODUCER_FENCED, `Producer ${expectedProducerId} epoch ${expectedEpoch} is not the current producer of ${transactionalId}`);
    }
    if (metadata.state === 'Ongoing') {
      // A new producer instance took over: abort what the old one left open, then fence it.
      this.bumpEpoch(metadata);
      this.complete(metadata, false);
    }
    metadata.timeoutMs = timeoutMs;
    this.bumpEpoch(metadata);
    metadata.state = 'Empty';
    metadata.partitions.clear();
    // Kafka's prepareIncrementProducerEpoch: an Empty transaction has no start time, so
    // DescribeTransactions after a takeover (or kafka-transactions forceTerminateTransaction)
    // shows no duration.
    metadata.startMs = -1;
    metadata.lastUpdateMs = this.now();
    this.persist(metadata);
    return { producerId: metadata.producerId, producerEpoch: metadata.producerEpoch };
  }

  /** AddPartitionsToTxn: a code per partition; all-or-nothing as in Kafka. */
  addPartitions(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: ReadonlyArray<{ topic: string; partition: number }>): Map<string, number> {
    const codes = new Map<string, number>();
    const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
    let failure: number | undefined;
    try {
      this.validate(transactionalId, producerId, producerEpoch);
    } catch (error) {
      failure = (error as KafkaError).kafkaCode;
    }
    const unknown = partitions.filter((p) => !this.markers.partitionExists(p.topic, p.partition));
    if (failure === undefined && unknown.length > 0) {
      for (const p of partitions) codes.set(key(p.topic, p.partition), unknown.includes(p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED);
      return codes;
    }
    if (failure !== undefined) {
      for (const p of partitions) codes.set(key(p.topic, p.partition), failure);
      return codes;
    }
    const metadata = this.transactions.get(transactionalId)!;
    this.begin(metadata);
    for (const p of partitions) {
      metadata.addPartition(p.topic, p.partition);
      codes.set(key(p.topic, p.partition), ErrorCode.NONE);
    }
    this.persist(metadata);
    return codes;
  }

  /** AddPartitionsToTxn v4+ with verifyOnly: is every partition part of the ongoing transaction? */
  verifyPartitions(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: ReadonlyArray<{ topic: string; partition: number }>): number[] {
    const metadata = this.transactions.get(transactionalId);
    return partitions.map((p) => {
      if (metadata === undefined || metadata.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
      if (metadata.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
      return metadata.state === 'Ongoing' && metadata.hasPartition(p.topic, p.partition) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
    });
  }

  /** Checks that a transactional Produce targets a partition of the producer's ongoing transaction. */
  checkProduce(transactionalId: string, producerId: bigint, producerEpoch: number, topic: string, partition: number): number {
    return this.verifyPartitions(transactionalId, producerId, producerEpoch, [{ topic, partition }])[0]!;
  }

  /**
   * EndTxn: commit or abort; retries of a completed end answer NONE. With transactions v2
   * (KIP-890 part 2) every end bumps the producer epoch first, so the markers carry the new
   * epoch and fence anything the old one still sends; the new ID and epoch are returned.
   */
  endTransaction(transactionalId: string, producerId: bigint, producerEpoch: number, commit: boolean, v2 = false): { producerId: bigint; producerEpoch: number } {
    const metadata = this.transactions.get(transactionalId);
    if (v2 && metadata !== undefined) return this.endTransactionV2(metadata, producerId, producerEpoch, commit);
    if (metadata === undefined || metadata.producerId !== producerId) {
      throw new KafkaError(ErrorCode.INVALID_PRODUCER_ID_MAPPING, `No producer ${producerId} for transactional ID ${transactionalId}`);
    }
    if (producerEpoch < metadata.producerEpoch) {
      throw new KafkaError(ErrorCode.PRODUCER_FENCED, `Producer epoch ${producerEpoch} of ${transactionalId} is fenced by epoch ${metadata.producerEpoch}`);
    }
    if (producerEpoch > metadata.producerEpoch) throw new KafkaError(ErrorCode.INVALID_PRODUCER_EPOCH, `Unknown epoch ${producerEpoch}`);
    const same = { producerId: metadata.producerId, producerEpoch: metadata.producerEpoch };
    switch (metadata.state) {
      case 'Ongoing':
        this.complete(metadata, commit);
        return same;
      case 'CompleteCommit':
        if (commit) return same;
        break;
      case 'CompleteAbort':
        if (!commit) return same;
        break;
      case 'PrepareCommit':
      case 'PrepareAbort':
        throw new KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS, `Transaction ${transactionalId} is completing`);
      default:
    }
    throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `Cannot ${commit ? 'commit' : 'abort'} transaction ${transactionalId} in state ${metadata.state}`);
  }

  private endTransactionV2(metadata: TransactionMetadata, producerId: bigint, producerEpoch: number, commit: boolean): { producerId: bigint; producerEpoch: number } {
    const current = { producerId: metadata.producerId, producerEpoch: metadata.producerEpoch };
    const completed = metadata.state === (commit ? 'CompleteCommit' : 'CompleteAbort');
    // A retry of the EndTxn that bumped the epoch (its answer was lost): the same outcome again.
    if (completed && producerEpoch === metadata.previousEpoch && producerId === metadata.previousProducerId) return current;
    if (producerId !== metadata.producerId) {
      throw new KafkaError(ErrorCode.INVALID_PRODUCER_ID_MAPPING, `No producer ${producerId} for transactional ID ${metadata.transactionalId}`);
    }
    if (producerEpoch < metadata.producerEpoch) {
      throw new KafkaError(ErrorCode.PRODUCER_FENCED, `Producer epoch ${producerEpoch} of ${metadata.transactionalId} is fenced by epoch ${metadata.producerEpoch}`);
    }
    if (producerEpoch > metadata.producerEpoch) throw new KafkaError(ErrorCode.INVALID_PRODUCER_EPOCH, `Unknown epoch ${producerEpoch}`);
    if (metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort') {
      throw new KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS, `Transaction ${metadata.transactionalId} is completing`);
    }
    // v2 clients may abort a transaction that added nothing (it has no markers to write).
    if (metadata.state !== 'Ongoing' && commit) {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `Cannot commit transaction ${metadata.transactionalId} in state ${metadata.state}`);
    }
    metadata.previousEpoch = producerEpoch;
    metadata.previousProducerId = producerId;
    this.bumpEpoch(metadata);
    if (metadata.state === 'Ongoing') this.complete(metadata, commit);
    else this.transition(metadata, 'CompleteAbort');
    return { producerId: metadata.producerId, producerEpoch: metadata.producerEpoch };
  }

  /** Validates the producer of a transactional ID for AddPartitions/AddOffsets/TxnOffsetCommit. */
  validate(transactionalId: string, producerId: bigint, producerEpoch: number): TransactionMetadata {
    const metadata = this.transactions.get(transactionalId);
    if (metadata === undefined || metadata.producerId !== producerId) {
      throw new KafkaError(ErrorCode.INVALID_PRODUCER_ID_MAPPING, `No producer ${producerId} for transactional ID ${transactionalId}`);
    }
    if (producerEpoch !== metadata.producerEpoch) {
      throw new KafkaError(ErrorCode.PRODUCER_FENCED, `Producer epoch ${producerEpoch} of ${transactionalId} is fenced by epoch ${metadata.producerEpoch}`);
    }
    if (metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort') {
      throw new KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS, `Transaction ${transactionalId} is completing`);
    }
    return metadata;
  }

  private begin(metadata: TransactionMetadata): void {
    if (metadata.state !== 'Ongoing') {
      metadata.state = 'Ongoing';
      metadata.partitions.clear();
      metadata.startMs = this.now();
      this.scheduleTimeout(metadata);
    }
    metadata.lastUpdateMs = this.now();
  }

  /** Prepare (durably), write the markers, then Complete (durably). */
  private complete(metadata: TransactionMetadata, commit: boolean): void {
    this.scheduler.cancel(this.timeoutKey(metadata));
    this.transition(metadata, commit ? 'PrepareCommit' : 'PrepareAbort');
    for (const [topic, partitions] of metadata.partitions) {
      for (const partition of partitions) {
        if (this.markers.partitionExists(topic, partition)) {
          this.markers.writeMarker(topic, partition, metadata.producerId, metadata.producerEpoch, commit);
        }
      }
    }
    metadata.partitions.clear();
    this.transition(metadata, commit ? 'CompleteCommit' : 'CompleteAbort');
  }

  private transition(metadata: TransactionMetadata, state: TransactionState): void {
    metadata.state = state;
    metadata.lastUpdateMs = this.now();
    this.persist(metadata);
  }

  private bumpEpoch(metadata: TransactionMetadata): void {
    if (metadata.producerEpoch >= MAX_EPOCH) {
      metadata.producerId = this.producerIds.nextId();
      metadata.producerEpoch = 0;
    } else {
      metadata.producerEpoch++;
    }
  }

  private scheduleTimeout(metadata: TransactionMetadata): void {
    this.scheduler.schedule(this.timeoutKey(metadata), metadata.startMs + metadata.timeoutMs, () => {
      if (metadata.state !== 'Ongoing') return;
      this.logger.info(`Aborting transaction ${metadata.transactionalId}: older than its ${metadata.timeoutMs} ms timeout`);
      // The epoch bump fences the producer that let its transaction expire (Kafka does the same).
      this.bumpEpoch(metadata);
      this.complete(metadata, false);
    });
  }

  private timeoutKey(metadata: TransactionMetadata): string {
    return `txn-timeout\u0000${metadata.transactionalId}`;
  }

  private persist(metadata: TransactionMetadata): void {
    this.log.append(
      metadata.transactionalId,
      encodeTransactionLogKey(metadata.transactionalId),
      encodeTransactionLogValue({
        producerId: metadata.producerId,
        producerEpoch: metadata.producerEpoch,
        timeoutMs: metadata.timeoutMs,
        state: metadata.state,
        partitions: metadata.partitionList(),
        lastUpdateMs: BigInt(metadata.lastUpdateMs),
        startMs: BigInt(metadata.startMs),
      }),
      this.now(),
    );
  }

  /** transactional.id.expiration.ms: forget idle transactional IDs. */
  private scheduleExpiration(intervalMs: number): void {
    this.scheduler.schedule('txn-expiration', this.now() + intervalMs, () => {
      const now = this.now();
      for (const metadata of [...this.transactions.values()]) {
        if (metadata.isCompleteOrEmpty && now - metadata.lastUpdateMs >= this.expirationMs) {
          this.transactions.delete(metadata.transactionalId);
          this.log.append(metadata.transactionalId, encodeTransactionLogKey(metadata.transactionalId), null, now);
        }
      }
      this.scheduleExpiration(intervalMs);
    });
  }
}
