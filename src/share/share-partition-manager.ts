// The share-partitions this broker leads (KIP-932; Kafka's SharePartitionManager): for each
// (share group, topic-partition) whose data partition this broker leads, the in-memory
// SharePartition with its acquisition locks, the share sessions of ShareFetch /
// ShareAcknowledge, and the persistence of every change through the share coordinator
// (share-persister.ts).
//
// A share-partition is initialised on its first fetch at this leader: ReadShareGroupState
// at the partition's leader epoch (which fences the previous leader's writes); a
// share-partition without state is initialised where share.auto.offset.reset says
// (InitializeShareGroupState), as Kafka's leader did before 4.1. After a leader change the
// new leader starts from what was persisted: records the old leader had handed out and whose
// acknowledgement was not persisted are available again with their persisted delivery
// count. Changes are written one WriteShareGroupState at a time per share-partition (the
// changes made meanwhile go in the next one); an acknowledgement is answered once the write
// holding it succeeded. A write that fails after the persister's retries (the share
// coordinator unreachable, FENCED_LEADER_EPOCH, FENCED_STATE_EPOCH) drops the share-partition:
// what was not persisted is undone by reading the state again on the next fetch, and the
// waiting acknowledgements get the error (Kafka rolls the changes back instead).
// When a group's last share session on this broker goes, its share-partitions are dropped
// from memory (Kafka's ShareGroupListener.onGroupEmpty), so that offsets reset meanwhile
// are read again.

import { type BrokerConfig } from '../config/broker-config.js';
import { then, type MaybePromise } from '../cluster/maybe-async.js';
import { type Partition } from '../cluster/partition.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { type PartitionLog } from '../log/partition-log.js';
import { type Logger } from '../logger.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type SharePersister } from './share-persister.js';
import { SharePartition, type AcknowledgementBatch, type SharePartitionLimits } from './share-partition.js';
import { ShareSessionCache, type ShareSession } from './share-sessions.js';

/** Group-level overrides (share.*), set through the GROUP config resource. */
export type GroupConfigLookup = (groupId: string) => ReadonlyMap<string, string> | undefined;

const SWEEP_INTERVAL_MS = 10_000;

interface Waiter {
  readonly version: number;
  readonly settle: (errorCode: number) => void;
}

/** The error a client gets when the state could not be persisted (Kafka's SharePartition.fetchPersisterError). */
export function persisterError(code: number): number {
  switch (code) {
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.FENCED_LEADER_EPOCH:
      return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    case ErrorCode.INVALID_REQUEST: // the state was deleted meanwhile (Write on uninitialized share partition)
      return ErrorCode.FENCED_STATE_EPOCH;
    default:
      return code;
  }
}

export class SharePartitionManager {
  private readonly partitions = new Map<string, SharePartition>();
  private readonly initializing = new Map<string, Promise<SharePartition>>();
  private readonly dirty = new Set<SharePartition>();
  private readonly waiters = new Map<SharePartition, Waiter[]>();
  /** Why a dropped share-partition was dropped: what its late waiters are told. */
  private readonly dropped = new WeakMap<SharePartition, number>();
  private readonly lockTimers = new Map<SharePartition, { timer: NodeJS.Timeout; at: number }>();
  private readonly watchedConnections = new Set<number>();
  private readonly sweeper: NodeJS.Timeout;
  readonly sessions: ShareSessionCache;
  /** Group-level configs (the GROUP config resource). */
  groupConfigs: GroupConfigLookup = () => undefined;

  constructor(
    private readonly replicas: ReplicaManager,
    private readonly persister: SharePersister,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {
    this.sessions = new ShareSessionCache(config.values.get('group.share.max.share.sessions') as number);
    // Share-partitions of partitions this broker no longer leads are dropped (Kafka drops them
    // when the replica becomes a follower; here a sweep finds them, as the replica layer
    // announces leadership changes only to the internal topics' coordinators).
    this.sweeper = setInterval(() => this.dropFollowed(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Drops the share-partitions whose data partition this broker no longer leads at the epoch they were read at. */
  dropFollowed(): void {
    for (const partition of [...this.partitions.values()]) {
      const replica = this.replicas.partition(partition.topicName, partition.partition);
      if (replica !== undefined && replica.isLeader && replica.leaderEpoch === partition.leaderEpoch) continue;
      if (partition.writing) continue; // its write's outcome decides
      this.logger.debug(`Share-partition ${partition.groupId}:${partition.topicName}-${partition.partition}: no longer led here; dropped`);
      this.drop(partition, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
  }

  // ---- configuration ------------------------------------------------------------------

  groupInt(groupId: string, groupKey: string, brokerKey: string): number {
    const override = this.groupConfigs(groupId)?.get(groupKey);
    const parsed = override === undefined ? NaN : Number(override);
    return Number.isInteger(parsed) ? parsed : (this.config.values.get(brokerKey) as number);
  }

  limits(groupId: string): SharePartitionLimits {
    return {
      lockDurationMs: this.groupInt(groupId, 'share.record.lock.duration.ms', 'group.share.record.lock.duration.ms'),
      deliveryCountLimit: this.groupInt(groupId, 'share.delivery.count.limit', 'group.share.delivery.count.limit'),
      maxRecordLocks: this.groupInt(groupId, 'share.partition.max.record.locks', 'group.share.partition.max.record.locks'),
    };
  }

  // ---- share-partitions ----------------------------------------------------------------

  existingPartition(groupId: string, topicId: Buffer, partition: number): SharePartition | undefined {
    return this.partitions.get(SharePartition.key(groupId, topicId, partition));
  }

  /**
   * The share-partition of a partition this broker leads (`replica`, checked by the caller),
   * initialised from the share coordinator on first use. Throws (or rejects with) a KafkaError
   * when the state cannot be read.
   */
  partitionFor(groupId: string, topicName: string, topicId: Buffer, replica: Partition, nowMs: number): MaybePromise<SharePartition> {
    const key = SharePartition.key(groupId, topicId, replica.index);
    const existing = this.partitions.get(key);
    if (existing !== undefined && existing.leaderEpoch === replica.leaderEpoch) {
      if (existing.spso < replica.log.logStartOffset) existing.moveStartTo(replica.log.logStartOffset);
      return existing;
    }
    // Led at an older epoch: what it held is not ours any more.
    if (existing !== undefined) this.drop(existing, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    let pending = this.initializing.get(key);
    if (pending === undefined) {
      pending = this.initialize(groupId, topicName, topicId, replica, nowMs).finally(() => this.initializing.delete(key));
      this.initializing.set(key, pending);
    }
    return pending;
  }

  private async initialize(groupId: string, topicName: string, topicId: Buffer, replica: Partition, nowMs: number): Promise<SharePartition> {
    const id = { groupId, topicId, partition: replica.index };
    const leaderEpoch = replica.leaderEpoch;
    let read = await this.persister.read(id, leaderEpoch);
    if (read.errorCode === ErrorCode.INVALID_REQUEST) {
      // No state yet (Kafka 4.3 answers INVALID_REQUEST to a read of an uninitialised share-partition).
      const startOffset = await this.initialOffset(groupId, replica.log, nowMs);
      const initialized = await this.persister.initialize(id, 0, startOffset);
      if (initialized.errorCode !== ErrorCode.NONE && initialized.errorCode !== ErrorCode.FENCED_STATE_EPOCH) {
        throw new KafkaError(
          persisterError(initialized.errorCode),
          `Initializing share-partition ${groupId}:${topicName}-${replica.index} failed: ${initialized.errorMessage ?? initialized.errorCode}`,
        );
      }
      read = await this.persister.read(id, leaderEpoch);
    }
    if (read.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(persisterError(read.errorCode), `Reading share-partition ${groupId}:${topicName}-${replica.index} failed: ${read.errorMessage ?? read.errorCode}`);
    }
    // Leadership may have moved while the state was read.
    if (!replica.isLeader || replica.leaderEpoch !== leaderEpoch) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `No longer the leader of ${topicName}-${replica.index}`);
    const raced = this.partitions.get(SharePartition.key(groupId, topicId, replica.index));
    if (raced !== undefined && raced.leaderEpoch === leaderEpoch) return raced;
    let startOffset = read.startOffset;
    // Initialised without a start offset (-1): the leader decides, as share.auto.offset.reset says.
    const decide = startOffset < 0n;
    if (decide) startOffset = await this.initialOffset(groupId, replica.log, nowMs);
    const created = new SharePartition(groupId, topicId, replica.index, startOffset, nowMs);
    created.restore(startOffset, read.stateBatches);
    created.stateEpoch = read.stateEpoch;
    created.leaderEpoch = leaderEpoch;
    created.topicName = topicName;
    // What was read is what is persisted.
    created.writtenVersion = created.version;
    created.dirty = false;
    this.track(created);
    if (created.spso < replica.log.logStartOffset) created.moveStartTo(replica.log.logStartOffset);
    if (decide) created.markDirty();
    if (created.version > created.writtenVersion) {
      this.flush();
      const code = await this.persisted(created);
      if (code !== ErrorCode.NONE) throw new KafkaError(code, `Writing the start offset of share-partition ${groupId}:${topicName}-${replica.index} failed`);
    }
    this.logger.debug(
      `Share-partition ${groupId}:${topicName}-${replica.index} initialised at leader epoch ${leaderEpoch}: start offset ${created.spso}, state epoch ${created.stateEpoch}`,
    );
    return created;
  }

  private autoOffsetReset(groupId: string): string {
    return this.groupConfigs(groupId)?.get('share.auto.offset.reset') ?? 'latest';
  }

  /** Where a new share-partition starts: share.auto.offset.reset (latest by default, earliest, by_duration:<ISO-8601>). */
  async initialOffset(groupId: string, log: PartitionLog, nowMs: number): Promise<bigint> {
    const reset = this.autoOffsetReset(groupId);
    if (reset === 'earliest') return log.logStartOffset;
    if (reset.startsWith('by_duration:')) {
      const durationMs = parseIsoDuration(reset.slice('by_duration:'.length));
      if (durationMs !== undefined) {
        const found = await log.offsetForTimestamp(BigInt(nowMs - durationMs));
        return found?.offset ?? log.highWatermark;
      }
      this.logger.warn(`Share group ${groupId}: share.auto.offset.reset "${reset}" is not a valid duration; starting at the latest offset`);
    }
    return log.highWatermark;
  }

  /** Applies a member's acknowledgements to one share-partition in memory; returns the partition's error. Persisted by flush(). */
  acknowledge(
    groupId: string,
    memberId: string,
    partition: SharePartition | undefined,
    batches: readonly AcknowledgementBatch[],
    allowRenew: boolean,
    nowMs: number,
  ): { errorCode: number; errorMessage: string | null } {
    if (batches.length === 0) return { errorCode: ErrorCode.NONE, errorMessage: null };
    if (partition === undefined) return { errorCode: ErrorCode.INVALID_RECORD_STATE, errorMessage: 'Nothing was acquired from this share-partition' };
    const problem = partition.validate(memberId, batches, allowRenew);
    if (problem !== undefined) {
      return { errorCode: problem.invalidRequest ? ErrorCode.INVALID_REQUEST : ErrorCode.INVALID_RECORD_STATE, errorMessage: problem.message };
    }
    partition.acknowledge(batches, this.limits(groupId), nowMs);
    this.armLockTimer(partition);
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  }

  /** Keeps one timer per share-partition, at its earliest acquisition-lock deadline. */
  armLockTimer(partition: SharePartition): void {
    const deadline = partition.earliestDeadline();
    const current = this.lockTimers.get(partition);
    if (current !== undefined && deadline !== undefined && current.at <= deadline) return;
    if (current !== undefined) clearTimeout(current.timer);
    this.lockTimers.delete(partition);
    if (deadline === undefined || this.partitions.get(partition.key) !== partition) return;
    const timer = setTimeout(
      () => {
        this.lockTimers.delete(partition);
        if (this.partitions.get(partition.key) !== partition) return;
        partition.expireLocks(Date.now(), this.limits(partition.groupId));
        this.flush();
        this.armLockTimer(partition);
      },
      Math.max(0, deadline - Date.now()),
    );
    timer.unref();
    this.lockTimers.set(partition, { timer, at: deadline });
  }

  // ---- persistence ------------------------------------------------------------------------

  /** Starts writing every share-partition that changed (one write in flight per share-partition). */
  flush(): void {
    for (const partition of this.dirty) this.write(partition);
    this.dirty.clear();
  }

  /**
   * NONE once the share-partition's state as it is now is persisted (at once when it is, as
   * on a single node), else a promise of NONE or of the error the client gets.
   */
  persisted(partition: SharePartition): MaybePromise<number> {
    const dropped = this.dropped.get(partition);
    if (dropped !== undefined) return dropped;
    if (partition.writtenVersion >= partition.version) return ErrorCode.NONE;
    return new Promise((settle) => {
      let waiters = this.waiters.get(partition);
      if (waiters === undefined) this.waiters.set(partition, (waiters = []));
      waiters.push({ version: partition.version, settle });
    });
  }

  private write(partition: SharePartition): void {
    if (partition.writing || this.partitions.get(partition.key) !== partition || partition.writtenVersion >= partition.version) return;
    // Only the partition's current leader writes (at the epoch it initialised the state at).
    const replica = this.replicas.partition(partition.topicName, partition.partition);
    if (replica === undefined || !replica.isLeader || replica.leaderEpoch !== partition.leaderEpoch) {
      this.drop(partition, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      return;
    }
    const version = partition.version;
    partition.dirty = false;
    partition.writing = true;
    // The share-partition is its own id: the same object every write, so its placement is computed once.
    const written = this.persister.write(partition, {
      stateEpoch: partition.stateEpoch,
      leaderEpoch: partition.leaderEpoch,
      startOffset: partition.spso,
      deliveryCompleteCount: partition.deliveryCompleteCount(),
      stateBatches: partition.stateBatches(),
    });
    void then(written, (result) => {
      partition.writing = false;
      if (result.errorCode !== ErrorCode.NONE) {
        this.logger.warn(
          `Share-partition ${partition.groupId}:${partition.topicName}-${partition.partition}: persisting its state failed (error ${result.errorCode}${result.errorMessage !== null ? `: ${result.errorMessage}` : ''}); it is read again on the next fetch`,
        );
        this.drop(partition, persisterError(result.errorCode));
        return;
      }
      partition.writtenVersion = version;
      const waiters = this.waiters.get(partition);
      if (waiters !== undefined) {
        const remaining = waiters.filter((waiter) => waiter.version > version);
        for (const waiter of waiters) if (waiter.version <= version) waiter.settle(ErrorCode.NONE);
        if (remaining.length > 0) this.waiters.set(partition, remaining);
        else this.waiters.delete(partition);
      }
      // Changed while the write was in flight: the next write carries it.
      if (partition.version > version) this.write(partition);
      else if (this.evictable(partition)) this.forgetPartition(partition);
    });
  }

  private track(partition: SharePartition): SharePartition {
    partition.onDirty = (changed) => this.dirty.add(changed);
    this.partitions.set(partition.key, partition);
    return partition;
  }

  /** Forgets a share-partition: its locks are gone, its waiters and waiting fetches are told. */
  private drop(partition: SharePartition, errorCode: number): void {
    if (this.partitions.get(partition.key) === partition) this.partitions.delete(partition.key);
    this.dropped.set(partition, errorCode);
    this.dirty.delete(partition);
    const timer = this.lockTimers.get(partition);
    if (timer !== undefined) clearTimeout(timer.timer);
    this.lockTimers.delete(partition);
    for (const waiter of this.waiters.get(partition) ?? []) waiter.settle(errorCode);
    this.waiters.delete(partition);
    partition.wakeWaiting();
  }

  /** Drops a group's share-partitions on this broker (their offsets were altered or deleted), once written. */
  forget(groupId: string, topicId?: Buffer, partitionIndex?: number): void {
    for (const partition of [...this.partitions.values()]) {
      if (partition.groupId !== groupId) continue;
      if (topicId !== undefined && !partition.topicId.equals(topicId)) continue;
      if (partitionIndex !== undefined && partition.partition !== partitionIndex) continue;
      this.forgetPartition(partition);
    }
  }

  private forgetPartition(partition: SharePartition): void {
    if (partition.writing || partition.writtenVersion < partition.version) {
      partition.evict = true; // after its write
      return;
    }
    this.drop(partition, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.logger.debug(`Share-partition ${partition.groupId}:${partition.topicName}-${partition.partition} dropped from memory`);
  }

  private evictable(partition: SharePartition): boolean {
    return partition.evict && !partition.writing && partition.writtenVersion >= partition.version;
  }

  // ---- members and sessions ------------------------------------------------------------

  /** Gives back every record a member holds on this broker (it left, timed out, its session or connection closed). */
  releaseMember(groupId: string, memberId: string): void {
    const limits = this.limits(groupId);
    for (const partition of this.partitions.values()) if (partition.groupId === groupId) partition.releaseMember(memberId, limits);
    this.flush();
  }

  /** A member's session on this broker is gone: its records are released; the group's last one drops its share-partitions from memory. */
  sessionRemoved(session: ShareSession): void {
    this.releaseMember(session.groupId, session.memberId);
    if (this.sessions.hasGroup(session.groupId)) return;
    this.forget(session.groupId);
  }

  /** Releases a member's records when the connection its share session lives on closes. */
  watchConnection(connectionId: number, closed: Promise<void>): void {
    if (this.watchedConnections.has(connectionId)) return;
    this.watchedConnections.add(connectionId);
    void closed.then(() => {
      this.watchedConnections.delete(connectionId);
      for (const session of this.sessions.removeConnection(connectionId)) this.sessionRemoved(session);
    });
  }

  /** The group's sessions and share-partitions on this broker go (the group was deleted). */
  removeGroup(groupId: string): void {
    this.sessions.removeGroup(groupId);
    this.forget(groupId);
  }

  /** The share-partitions in memory (tests, metrics). */
  get size(): number {
    return this.partitions.size;
  }

  stop(): void {
    clearInterval(this.sweeper);
    for (const { timer } of this.lockTimers.values()) clearTimeout(timer);
    this.lockTimers.clear();
  }
}

/** ISO-8601 durations as share.auto.offset.reset's by_duration takes them (PnDTnHnMn.nS). */
export function parseIsoDuration(text: string): number | undefined {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (match === null || text === 'P' || text.endsWith('T')) return undefined;
  const [, days, hours, minutes, seconds] = match;
  return (Number(days ?? 0) * 86400 + Number(hours ?? 0) * 3600 + Number(minutes ?? 0) * 60 + Number(seconds ?? 0)) * 1000;
}
