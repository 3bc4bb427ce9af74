// The transaction coordinator (Kafka's TransactionCoordinator): transactional IDs map to a
// producer ID and epoch; a transaction goes Empty -> Ongoing -> PrepareCommit / PrepareAbort
// -> CompleteCommit / CompleteAbort. Every state change is written to __transaction_state and
// answered once it reached the in-sync replicas; then the markers go to every partition of
// the transaction (at its leader: WriteTxnMarkers for other brokers), and the Complete state
// follows once they are all written. Transactions older than their timeout are aborted with
// an epoch bump, which fences the producer that let them expire.
//
// In a cluster the coordinator serves the transactional IDs of the __transaction_state
// partitions this broker leads (CoordinatorShards). A shard's transactions are replayed when
// the broker becomes the partition's leader: a PrepareCommit / PrepareAbort left by the
// previous coordinator is completed (its markers sent again), an Ongoing one is aborted once
// its timeout passes, as Kafka's coordinator does after a failover. On a single node every
// marker is a local append and a commit completes in the same turn.

import { type BrokerConfig } from '../config/broker-config.js';
import { type Logger } from '../logger.js';
import { Scheduler } from '../group/scheduler.js';
import { CoordinatorShards } from '../cluster/coordinator-shards.js';
import { coordinatorWriteError } from '../cluster/coordinator-log.js';
import { then, type MaybePromise } from '../cluster/maybe-async.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { TransactionMetadata } from './transaction-metadata.js';
import { encodeTransactionLogKey, encodeTransactionLogValue } from './transaction-log-records.js';
import { TRANSACTION_STATE_TOPIC, type TransactionLog } from './transaction-log.js';

/** The markers that end one transaction. */
export interface TransactionMarkers {
  readonly transactionalId: string;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly commit: boolean;
  /** The leader epoch of the coordinator's __transaction_state partition (Kafka's coordinator epoch). */
  readonly coordinatorEpoch: number;
  readonly partitions: ReadonlyArray<{ topic: string; partition: number }>;
}

/** Writes COMMIT or ABORT markers at the partitions' leaders (and completes what depends on them). */
export interface MarkerWriter {
  /**
   * True when every marker was written at once (a single node), else a promise of true once
   * they all are, or of false when `stillCoordinator()` turned false first (the next
   * coordinator writes them).
   */
  writeMarkers(markers: TransactionMarkers, stillCoordinator: () => boolean): MaybePromise<boolean>;
  partitionExists(topic: string, partition: number): boolean;
}

export interface ProducerIdSource {
  nextId(): bigint;
}

export interface ProducerIdAndEpoch {
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

/** The largest epoch before Kafka moves a producer to a new ID (Short.MAX_VALUE - 1). */
const MAX_EPOCH = 32766;
/** Between attempts to write a Complete state that did not reach the in-sync replicas. */
const COMPLETE_RETRY_MS = 500;

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class TransactionCoordinator {
  private readonly transactions = new Map<string, TransactionMetadata>();
  private readonly scheduler: Scheduler;
  private readonly maxTimeoutMs: number;
  private readonly expirationMs: number;
  private readonly abortCheckIntervalMs: number;
  /** The __transaction_state partitions this broker serves. */
  readonly shards: CoordinatorShards;

  constructor(
    private readonly log: TransactionLog,
    private readonly markers: MarkerWriter,
    private readonly producerIds: ProducerIdSource,
    replicas: ReplicaManager,
    config: BrokerConfig,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    // A timer's write that cannot be made (the shard moved, too few in-sync replicas) is logged, not thrown.
    this.scheduler = new Scheduler(now, (error, key) => logger.warn(`Transaction coordinator: ${key.replace('\u0000', ' ')}: ${(error as Error).message}`));
    this.maxTimeoutMs = config.values.get('transaction.max.timeout.ms') as number;
    this.expirationMs = config.values.get('transactional.id.expiration.ms') as number;
    this.abortCheckIntervalMs = config.values.get('transaction.abort.timed.out.transaction.cleanup.interval.ms') as number;
    const cleanupMs = Number(config.values.get('transaction.remove.expired.transaction.cleanup.interval.ms') as bigint);
    this.scheduleExpiration(cleanupMs);
    this.shards = new CoordinatorShards(
      TRANSACTION_STATE_TOPIC,
      replicas,
      {
        loadShard: (index, _epoch, current) => this.loadShard(index, current),
        shardLoaded: (index) => this.resumeShard(index),
        unloadShard: (index) => this.unloadShard(index),
      },
      logger,
      'Transaction coordinator',
    );
  }

  /** A single node rebuilds every transactional ID from __transaction_state; a cluster's broker follows the leadership of its partitions. */
  async load(): Promise<void> {
    if (this.shards.clustered) return this.shards.start();
    for (const index of this.log.topic.localPartitions()) {
      await this.loadShard(index, () => true);
      this.resumeShard(index);
    }
  }

  /** Rebuilds the transactional IDs of one partition, then completes what was prepared and times out what was ongoing. */
  private async loadShard(index: number, current: () => boolean): Promise<void> {
    const loaded = new Map<string, TransactionMetadata>();
    for await (const { transactionalId, value } of this.log.replay(index)) {
      if (!current()) return;
      if (value === null) {
        loaded.delete(transactionalId);
        continue;
      }
      const metadata = new TransactionMetadata(transactionalId, value.producerId, value.producerEpoch, value.timeoutMs, Number(value.lastUpdateMs));
      metadata.state = value.state;
      metadata.startMs = Number(value.startMs);
      for (const topic of value.partitions) for (const partition of topic.partitions) metadata.addPartition(topic.topic, partition);
      loaded.set(transactionalId, metadata);
    }
    if (!current()) return;
    for (const [transactionalId, metadata] of loaded) this.transactions.set(transactionalId, metadata);
  }

  /** Once a shard serves: what was prepared is completed, what was ongoing times out as it would have. */
  private resumeShard(index: number): void {
    for (const metadata of this.transactions.values()) {
      if (this.log.shardOf(metadata.transactionalId) !== index) continue;
      if (metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort') {
        this.logger.info(`Completing transaction ${metadata.transactionalId} left in ${metadata.state}`);
        this.sendMarkers(metadata, metadata.state === 'PrepareCommit');
      } else if (metadata.state === 'Ongoing') {
        this.scheduleTimeout(metadata);
      }
    }
  }

  /** Forgets the transactional IDs of a partition this broker no longer leads. */
  private unloadShard(index: number): void {
    for (const transactionalId of [...this.transactions.keys()]) {
      if (this.log.shardOf(transactionalId) !== index) continue;
      this.transactions.delete(transactionalId);
      this.scheduler.cancel(this.timeoutKey(transactionalId));
      this.scheduler.cancel(this.completeKey(transactionalId));
    }
  }

  /**
   * NONE when this broker coordinates the transactional ID, else COORDINATOR_LOAD_IN_PROGRESS
   * while its partition loads, NOT_COORDINATOR when another broker leads it,
   * COORDINATOR_NOT_AVAILABLE before __transaction_state exists (always NONE on a single node).
   */
  coordinatorError(transactionalId: string): number {
    return this.shards.error(this.log.shardOf(transactionalId));
  }

  /** True while some partition of __transaction_state is loading here (ListTransactions answers COORDINATOR_LOAD_IN_PROGRESS). */
  get loading(): boolean {
    return this.shards.loading;
  }

  stop(): void {
    this.shards.stop();
    this.scheduler.stop();
  }

  get(transactionalId: string): TransactionMetadata | undefined {
    return this.transactions.get(transactionalId);
  }

  all(): IterableIterator<TransactionMetadata> {
    return this.transactions.values();
  }

  private checkCoordinator(transactionalId: string): void {
    const code = this.coordinatorError(transactionalId);
    if (code !== ErrorCode.NONE) throw new KafkaError(code, `This broker does not coordinate transactional ID ${transactionalId} (error ${code})`);
  }

  /** This broker still coordinates the transaction (its shard was not dropped). */
  private owns(metadata: TransactionMetadata): boolean {
    return this.transactions.get(metadata.transactionalId) === metadata && this.shards.isActive(this.log.shardOf(metadata.transactionalId));
  }

  /**
   * InitProducerId with a transactional ID: a new ID, or the same ID with a bumped epoch.
   * Throws KafkaError, or answers (at once on a single node) once the state is replicated.
   */
  initProducerId(transactionalId: string, timeoutMs: number, expectedProducerId: bigint, expectedEpoch: number): MaybePromise<ProducerIdAndEpoch> {
    if (transactionalId === '') throw new KafkaError(ErrorCode.INVALID_REQUEST, 'The transactional ID is empty');
    if (timeoutMs <= 0 || timeoutMs > this.maxTimeoutMs) {
      throw new KafkaError(ErrorCode.INVALID_TRANSACTION_TIMEOUT, `transaction.timeout.ms must be in (0, ${this.maxTimeoutMs}] (transaction.max.timeout.ms)`);
    }
    this.checkCoordinator(transactionalId);
    let metadata = this.transactions.get(transactionalId);
    if (metadata === undefined) {
      const created = new TransactionMetadata(transactionalId, this.producerIds.nextId(), 0, timeoutMs, this.now());
      metadata = created;
      this.transactions.set(transactionalId, created);
      return this.answer(
        this.write(created, () => this.transactions.delete(transactionalId)),
        () => ({ producerId: created.producerId, producerEpoch: created.producerEpoch }),
      );
    }
    // KIP-360: a producer that names its current ID and epoch may bump it; anyone else is fenced.
    if (expectedProducerId >= 0n && (expectedProducerId !== metadata.producerId || expectedEpoch !== metadata.producerEpoch)) {
      throw new KafkaError(ErrorCode.PRODUCER_FENCED, `Producer ${expectedProducerId} epoch ${expectedEpoch} is not the current producer of ${transactionalId}`);
    }
    this.checkNotCompleting(metadata);
    const existing = metadata;
    if (existing.state === 'Ongoing') {
      // A new producer instance took over: abort what the old one left open (fencing it with
      // an epoch bump); once the abort completed, the new instance gets its epoch. When the
      // markers cannot all be written at once, it is told to retry, as Kafka does.
      const restore = existing.snapshot();
      this.bumpEpoch(existing);
      return this.answer(this.complete(existing, false, restore), () => {
        if (existing.state !== 'CompleteAbort') throw new KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS, `Transaction ${transactionalId} is being aborted`);
        return this.fenceAndReset(existing, timeoutMs);
      });
    }
    return this.fenceAndReset(existing, timeoutMs);
  }

  private fenceAndReset(metadata: TransactionMetadata, timeoutMs: number): MaybePromise<ProducerIdAndEpoch> {
    const restore = metadata.snapshot();
    metadata.timeoutMs = timeoutMs;
    this.bumpEpoch(metadata);
    metadata.state = 'Empty';
    metadata.partitions.clear();
    // Kafka's prepareIncrementProducerEpoch: an Empty transaction has no start time, so
    // DescribeTransactions after a takeover (or kafka-transactions forceTerminateTransaction)
    // shows no duration.
    metadata.startMs = -1;
    metadata.lastUpdateMs = this.now();
    return this.answer(this.write(metadata, restore), () => ({ producerId: metadata.producerId, producerEpoch: metadata.producerEpoch }));
  }

  /** AddPartitionsToTxn: a code per partition; all-or-nothing as in Kafka. */
  addPartitions(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: ReadonlyArray<{ topic: string; partition: number }>,
  ): MaybePromise<Map<string, number>> {
    const codes = new Map<string, number>();
    const all = (code: number) => {
      for (const p of partitions) codes.set(partitionKey(p.topic, p.partition), code);
      return codes;
    };
    let failure: number | undefined;
    try {
      this.validate(transactionalId, producerId, producerEpoch);
    } catch (error) {
      failure = (error as KafkaError).kafkaCode;
    }
    const unknown = partitions.filter((p) => !this.markers.partitionExists(p.topic, p.partition));
    if (failure === undefined && unknown.length > 0) {
      for (const p of partitions) codes.set(partitionKey(p.topic, p.partition), unknown.includes(p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED);
      return codes;
    }
    if (failure !== undefined) return all(failure);
    const metadata = this.transactions.get(transactionalId)!;
    // Kafka answers at once when the transaction already holds every partition.
    if (metadata.state === 'Ongoing' && partitions.every((p) => metadata.hasPartition(p.topic, p.partition))) return all(ErrorCode.NONE);
    const restore = metadata.snapshot();
    this.begin(metadata);
    for (const p of partitions) metadata.addPartition(p.topic, p.partition);
    return then(this.write(metadata, restore), all);
  }

  /** AddPartitionsToTxn v4+ with verifyOnly: is every partition part of the ongoing transaction? */
  verifyPartitions(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: ReadonlyArray<{ topic: string; partition: number }>): number[] {
    const coordinator = this.coordinatorError(transactionalId);
    const metadata = this.transactions.get(transactionalId);
    return partitions.map((p) => {
      if (coordinator !== ErrorCode.NONE) return coordinator;
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
   * EndTxn: commit or abort; retries of a completed end answer NONE. The answer comes once
   * the PrepareCommit / PrepareAbort state is replicated; the markers follow. With
   * transactions v2 (KIP-890 part 2) every end bumps the producer epoch first, so the markers
   * carry the new epoch and fence anything the old one still sends; the new ID and epoch are
   * returned.
   */
  endTransaction(transactionalId: string, producerId: bigint, producerEpoch: number, commit: boolean, v2 = false): MaybePromise<ProducerIdAndEpoch> {
    this.checkCoordinator(transactionalId);
    const metadata = this.transactions.get(transactionalId);
    if (v2 && metadata !== undefined) return this.endTransactionV2(metadata, producerId, producerEpoch, commit);
    if (metadata === undefined || metadata.producerId !== producerId) {
      throw new KafkaError(ErrorCode.INVALID_PRODUCER_ID_MAPPING, `No producer ${producerId} for transactional ID ${transactionalId}`);
    }
    if (producerEpoch < metadata.producerEpoch) {
      throw new KafkaError(ErrorCode.PRODUCER_FENCED, `Producer epoch ${producerEpoch} of ${transactionalId} is fenced by epoch ${metadata.producerEpoch}`);
    }
    if (producerEpoch > metadata.producerEpoch) throw new KafkaError(ErrorCode.INVALID_PRODUCER_EPOCH, `Unknown epoch ${producerEpoch}`);
    if (metadata.pending) throw new KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS, `Transaction ${transactionalId} is being updated`);
    const same = { producerId: metadata.producerId, producerEpoch: metadata.producerEpoch };
    switch (metadata.state) {
      case 'Ongoing':
        return this.answer(this.complete(metadata, commit, metadata.snapshot()), () => same);
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

  private endTransactionV2(metadata: TransactionMetadata, producerId: bigint, producerEpoch: number, commit: boolean): MaybePromise<ProducerIdAndEpoch> {
    const current = () => ({ producerId: metadata.producerId, producerEpoch: metadata.producerEpoch });
    const completed = metadata.state === (commit ? 'CompleteCommit' : 'CompleteAbort');
    // A retry of the EndTxn that bumped the epoch (its answer was lost): the same outcome again.
    if (completed && producerEpoch === metadata.previousEpoch && producerId === metadata.previousProducerId) return current();
    if (producerId !== metadata.producerId) {
      throw new KafkaError(ErrorCode.INVALID_PRODUCER_ID_MAPPING, `No producer ${producerId} for transactional ID ${metadata.transactionalId}`);
    }
    if (producerEpoch < metadata.producerEpoch) {
      throw new KafkaError(ErrorCode.PRODUCER_FENCED, `Producer epoch ${producerEpoch} of ${metadata.transactionalId} is fenced by epoch ${metadata.producerEpoch}`);
    }
    if (producerEpoch > metadata.producerEpoch) throw new KafkaError(ErrorCode.INVALID_PRODUCER_EPOCH, `Unknown epoch ${producerEpoch}`);
    this.checkNotCompleting(metadata);
    // v2 clients may abort a transaction that added nothing (it has no markers to write).
    if (metadata.state !== 'Ongoing' && commit) {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `Cannot commit transaction ${metadata.transactionalId} in state ${metadata.state}`);
    }
    const restore = metadata.snapshot();
    metadata.previousEpoch = producerEpoch;
    metadata.previousProducerId = producerId;
    this.bumpEpoch(metadata);
    if (metadata.state === 'Ongoing') return this.answer(this.complete(metadata, commit, restore), current);
    metadata.state = 'CompleteAbort';
    metadata.lastUpdateMs = this.now();
    return this.answer(this.write(metadata, restore), current);
  }

  /** Validates the producer of a transactional ID for AddPartitions/AddOffsets/TxnOffsetCommit. */
  validate(transactionalId: string, producerId: bigint, producerEpoch: number): TransactionMetadata {
    this.checkCoordinator(transactionalId);
    const metadata = this.transactions.get(transactionalId);
    if (metadata === undefined || metadata.producerId !== producerId) {
      throw new KafkaError(ErrorCode.INVALID_PRODUCER_ID_MAPPING, `No producer ${producerId} for transactional ID ${transactionalId}`);
    }
    if (producerEpoch !== metadata.producerEpoch) {
      throw new KafkaError(ErrorCode.PRODUCER_FENCED, `Producer epoch ${producerEpoch} of ${transactionalId} is fenced by epoch ${metadata.producerEpoch}`);
    }
    this.checkNotCompleting(metadata);
    return metadata;
  }

  /** Kafka's CONCURRENT_TRANSACTIONS: a state change is on its way, or the markers of the last end are. */
  private checkNotCompleting(metadata: TransactionMetadata): void {
    if (metadata.pending || metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort') {
      throw new KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS, `Transaction ${metadata.transactionalId} is completing`);
    }
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

  /** Turns a write's outcome into the answer: `result()` once it committed, else the coordinator's error. */
  private answer<T>(written: MaybePromise<number>, result: () => MaybePromise<T>): MaybePromise<T> {
    return then(written, (code) => {
      if (code !== ErrorCode.NONE) throw new KafkaError(code, `The transaction state was not written (error ${code})`);
      return result();
    });
  }

  /**
   * Writes the transaction's state and resolves with NONE once it is replicated, or with the
   * coordinator's error after `restore()` put the previous state back (Kafka keeps the old
   * state when its append fails, and the client retries).
   */
  private write(metadata: TransactionMetadata, restore: () => void): MaybePromise<number> {
    try {
      this.persist(metadata);
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      restore();
      return coordinatorWriteError(error.kafkaCode);
    }
    const committed = this.log.committed(metadata.transactionalId, this.shards.epoch(this.log.shardOf(metadata.transactionalId)));
    if (typeof committed === 'number') {
      if (committed !== ErrorCode.NONE) restore();
      return committed;
    }
    metadata.pending = true;
    return committed.then((code) => {
      metadata.pending = false;
      if (code !== ErrorCode.NONE && this.transactions.get(metadata.transactionalId) === metadata) restore();
      return code;
    });
  }

  /**
   * Ends a transaction: the Prepare state is written, then (once replicated) the markers go
   * out, and the Complete state follows them. Resolves with the Prepare write's outcome;
   * on failure `restore()` undoes everything done since its snapshot.
   */
  private complete(metadata: TransactionMetadata, commit: boolean, restore: () => void): MaybePromise<number> {
    this.scheduler.cancel(this.timeoutKey(metadata.transactionalId));
    metadata.state = commit ? 'PrepareCommit' : 'PrepareAbort';
    metadata.lastUpdateMs = this.now();
    const undo = () => {
      restore();
      if (metadata.state === 'Ongoing') this.scheduleTimeout(metadata);
    };
    return then(this.write(metadata, undo), (code) => {
      if (code === ErrorCode.NONE) this.sendMarkers(metadata, commit);
      return code;
    });
  }

  /** The markers of a prepared transaction; once all are written, the Complete state. */
  private sendMarkers(metadata: TransactionMetadata, commit: boolean): void {
    const partitions = metadata.partitionList().flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
    const markers: TransactionMarkers = {
      transactionalId: metadata.transactionalId,
      producerId: metadata.producerId,
      producerEpoch: metadata.producerEpoch,
      commit,
      coordinatorEpoch: this.shards.epoch(this.log.shardOf(metadata.transactionalId)) ?? 0,
      partitions,
    };
    const finish = (written: boolean) => {
      if (!written || !this.owns(metadata)) return;
      metadata.partitions.clear();
      metadata.state = commit ? 'CompleteCommit' : 'CompleteAbort';
      metadata.lastUpdateMs = this.now();
      this.writeComplete(metadata);
    };
    const written = this.markers.writeMarkers(markers, () => this.owns(metadata));
    if (typeof written === 'boolean') finish(written);
    else written.then(finish, (error: unknown) => this.logger.error(`Transaction ${metadata.transactionalId}: writing its markers failed: ${(error as Error).message}`));
  }

  /**
   * The Complete state, written again until it is replicated (Kafka's
   * TransactionMarkerChannelManager retries it too). Until then the transaction answers
   * CONCURRENT_TRANSACTIONS: a coordinator that moved before the Complete state reached the
   * in-sync replicas leaves the transaction prepared, and its successor writes the markers
   * again, so nothing may start on the strength of a Complete state that could be lost.
   */
  private writeComplete(metadata: TransactionMetadata): void {
    metadata.pending = true;
    const retry = (why: string) => {
      this.logger.warn(`Transaction ${metadata.transactionalId}: the ${metadata.state} state was not written (${why}); retrying`);
      this.scheduler.schedule(this.completeKey(metadata.transactionalId), this.now() + COMPLETE_RETRY_MS, () => {
        if (this.owns(metadata)) this.writeComplete(metadata);
      });
    };
    try {
      this.persist(metadata);
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      if (coordinatorWriteError(error.kafkaCode) === ErrorCode.NOT_COORDINATOR) return;
      return retry(error.message);
    }
    const committed = this.log.committed(metadata.transactionalId, this.shards.epoch(this.log.shardOf(metadata.transactionalId)));
    void then(committed, (code) => {
      if (code === ErrorCode.NONE) metadata.pending = false;
      else if (this.owns(metadata)) retry(`error ${code}`);
    });
  }

  private bumpEpoch(metadata: TransactionMetadata): void {
    if (metadata.producerEpoch >= MAX_EPOCH) {
      metadata.producerId = this.producerIds.nextId();
      metadata.producerEpoch = 0;
    } else {
      metadata.producerEpoch++;
    }
  }

  /** Aborts the transaction once it is older than its timeout (checked again later when the abort cannot be written). */
  private scheduleTimeout(metadata: TransactionMetadata, at = metadata.startMs + metadata.timeoutMs): void {
    this.scheduler.schedule(this.timeoutKey(metadata.transactionalId), at, () => {
      if (metadata.state !== 'Ongoing' || !this.owns(metadata)) return;
      if (metadata.pending) return this.scheduleTimeout(metadata, this.now() + this.abortCheckIntervalMs);
      this.logger.info(`Aborting transaction ${metadata.transactionalId}: older than its ${metadata.timeoutMs} ms timeout`);
      // The epoch bump fences the producer that let its transaction expire (Kafka does the same).
      const restore = metadata.snapshot();
      this.bumpEpoch(metadata);
      void then(this.complete(metadata, false, restore), (code) => {
        if (code !== ErrorCode.NONE && metadata.state === 'Ongoing' && this.owns(metadata)) this.scheduleTimeout(metadata, this.now() + this.abortCheckIntervalMs);
      });
    });
  }

  private timeoutKey(transactionalId: string): string {
    return `txn-timeout\u0000${transactionalId}`;
  }

  private completeKey(transactionalId: string): string {
    return `txn-complete\u0000${transactionalId}`;
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

  /** transactional.id.expiration.ms: forget idle transactional IDs, once their tombstone is replicated. */
  private scheduleExpiration(intervalMs: number): void {
    this.scheduler.schedule('txn-expiration', this.now() + intervalMs, () => {
      const now = this.now();
      for (const metadata of [...this.transactions.values()]) {
        if (!metadata.isCompleteOrEmpty || metadata.pending || now - metadata.lastUpdateMs < this.expirationMs || !this.owns(metadata)) continue;
        try {
          this.log.append(metadata.transactionalId, encodeTransactionLogKey(metadata.transactionalId), null, now);
        } catch (error) {
          this.logger.warn(`Transactional ID ${metadata.transactionalId} did not expire: ${(error as Error).message}`);
          continue;
        }
        metadata.pending = true;
        void then(this.log.committed(metadata.transactionalId, this.shards.epoch(this.log.shardOf(metadata.transactionalId))), (code) => {
          metadata.pending = false;
          if (code === ErrorCode.NONE && this.transactions.get(metadata.transactionalId) === metadata) this.transactions.delete(metadata.transactionalId);
        });
      }
      this.scheduleExpiration(intervalMs);
    });
  }
}
