// One partition's replica state around its PartitionLog, as Kafka's Partition: the role of
// this broker (leader or follower) at a leader epoch, the ISR, each follower's log-end offset
// and last caught-up time, and the high watermark. As leader it parks acks=all produces until
// the high watermark passes them, advances the high watermark over the ISR, grows the ISR when
// a follower catches up and shrinks it after replica.lag.time.max.ms; ISR changes are written
// to the metadata store by compare-and-swap, like Kafka's AlterPartition.

import { type PartitionLog } from '../log/partition-log.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { batchEpochs, LeaderEpochCache } from './leader-epoch-cache.js';
import { type PartitionState } from './metadata.js';

interface FollowerState {
  logEndOffset: bigint;
  lastCaughtUpMs: number;
  lastFetchMs: number;
  /** The leader's log end at the follower's previous fetch (Kafka's lastFetchLeaderLogEndOffset). */
  lastFetchLeaderLogEndOffset: bigint;
}

interface AckWaiter {
  readonly offset: bigint;
  readonly settle: (errorCode: number) => void;
}

/** What the partition asks of the replica layer: the store write of an ISR change. */
export interface IsrWriter {
  writeIsr(partition: Partition, isr: readonly number[]): void;
}

export class Partition {
  private current: PartitionState;
  private readonly followers = new Map<number, FollowerState>();
  private waiters: AckWaiter[] = [];
  /** The first offset of each leader epoch in this replica's log. */
  readonly epochs: LeaderEpochCache;

  constructor(
    readonly topic: string,
    readonly index: number,
    readonly log: PartitionLog,
    private readonly nodeId: number,
    state: PartitionState,
    private readonly isrWriter: IsrWriter,
    nowMs: number,
  ) {
    this.current = state;
    this.epochs = new LeaderEpochCache(log.dir, state.replicas.length > 1);
    this.applyState(state, nowMs, true);
  }

  /** A follower's append of fetched batches: offsets kept, their epochs entered in the cache. */
  appendFromLeader(records: Buffer, nowMs: number): void {
    const end = this.log.logEndOffset;
    for (const batch of batchEpochs(records)) if (batch.baseOffset >= end) this.epochs.assign(batch.epoch, batch.baseOffset);
    this.log.appendAsFollower(records, nowMs);
  }

  /** Drops the log from `offset` on, with the epochs that started there. */
  async truncateTo(offset: bigint, nowMs: number): Promise<void> {
    await this.log.truncateTo(offset, nowMs);
    this.epochs.truncateFromEnd(offset);
  }

  get state(): PartitionState {
    return this.current;
  }

  get isLeader(): boolean {
    return this.current.leader === this.nodeId;
  }

  get leaderEpoch(): number {
    return this.current.leaderEpoch;
  }

  get highWatermark(): bigint {
    return this.log.highWatermark;
  }

  /** True when the partition has replicas on other brokers (the high watermark then waits for them). */
  get replicated(): boolean {
    return this.current.replicas.length > 1;
  }

  /**
   * A new state from the store. Becoming leader resets the follower tracking (every ISR member
   * counts as caught up now, as Kafka's makeLeader does); becoming follower fails the parked
   * acks=all produces with NOT_LEADER_OR_FOLLOWER.
   */
  applyState(state: PartitionState, nowMs: number, initial = false): { becameLeader: boolean; becameFollower: boolean } {
    const wasLeader = !initial && this.isLeader;
    const epochChanged = initial || state.leaderEpoch !== this.current.leaderEpoch;
    this.current = state;
    this.log.leaderEpoch = Math.max(0, state.leaderEpoch);
    const leading = state.leader === this.nodeId;
    this.log.follower = !leading;
    if (leading && (epochChanged || !wasLeader)) {
      this.epochs.assign(state.leaderEpoch, this.epochs.isEmpty && state.leaderEpoch === 0 ? this.log.logStartOffset : this.log.logEndOffset);
      this.followers.clear();
      for (const replica of state.replicas) {
        if (replica === this.nodeId) continue;
        this.followers.set(replica, { logEndOffset: -1n, lastCaughtUpMs: nowMs, lastFetchMs: 0, lastFetchLeaderLogEndOffset: -1n });
      }
    }
    if (!leading) this.failWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.updateHighWatermark();
    return { becameLeader: leading && (!wasLeader || epochChanged), becameFollower: !leading && (wasLeader || epochChanged) };
  }

  /** Kafka's leader and epoch checks of a read or write; NONE when this replica may serve it. */
  checkLeader(currentLeaderEpoch: number): number {
    if (currentLeaderEpoch >= 0) {
      if (currentLeaderEpoch < this.current.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
      if (currentLeaderEpoch > this.current.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    }
    return this.isLeader ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }

  /** min.insync.replicas for acks=all, checked before the append as Kafka does. */
  checkMinIsr(minInsyncReplicas: number): void {
    if (this.current.isr.length < minInsyncReplicas) {
      throw new KafkaError(
        ErrorCode.NOT_ENOUGH_REPLICAS,
        `The size of the current ISR [${this.current.isr.join(',')}] is insufficient to satisfy the min.isr requirement of ${minInsyncReplicas} for partition ${this.topic}-${this.index}`,
      );
    }
  }

  /** Resolves with an error code once the high watermark passes `lastOffset` (NONE), leadership is lost, or the timeout passes. */
  waitForReplication(lastOffset: bigint, timeoutMs: number): Promise<number> {
    if (this.log.highWatermark > lastOffset) return Promise.resolve(ErrorCode.NONE);
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(ErrorCode.REQUEST_TIMED_OUT), Math.max(0, timeoutMs));
      const waiter: AckWaiter = { offset: lastOffset, settle: (code) => settle(code) };
      let done = false;
      const settle = (code: number) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((other) => other !== waiter);
        resolve(code);
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * A follower fetch at `fetchOffset` proves the follower holds everything before it: its
   * log-end offset moves, it may rejoin the ISR, and the high watermark may advance.
   */
  recordFollowerFetch(replicaId: number, fetchOffset: bigint, nowMs: number): void {
    if (!this.isLeader || !this.current.replicas.includes(replicaId)) return;
    let follower = this.followers.get(replicaId);
    if (follower === undefined) {
      follower = { logEndOffset: -1n, lastCaughtUpMs: 0, lastFetchMs: 0, lastFetchLeaderLogEndOffset: -1n };
      this.followers.set(replicaId, follower);
    }
    const leaderEnd = this.log.logEndOffset;
    if (fetchOffset >= leaderEnd) follower.lastCaughtUpMs = Math.max(follower.lastCaughtUpMs, nowMs);
    else if (fetchOffset >= follower.lastFetchLeaderLogEndOffset) follower.lastCaughtUpMs = Math.max(follower.lastCaughtUpMs, follower.lastFetchMs);
    follower.logEndOffset = fetchOffset;
    follower.lastFetchLeaderLogEndOffset = leaderEnd;
    follower.lastFetchMs = nowMs;
    // ISR expansion: a follower that reached the high watermark is back in sync.
    if (!this.current.isr.includes(replicaId) && fetchOffset >= this.log.highWatermark) {
      this.isrWriter.writeIsr(this, [...this.current.isr, replicaId]);
    }
    this.updateHighWatermark();
  }

  /** ISR shrink: followers not caught up within replica.lag.time.max.ms leave the ISR. */
  shrinkIsr(nowMs: number, lagTimeMaxMs: number): void {
    if (!this.isLeader) return;
    const laggards = this.current.isr.filter((replica) => {
      if (replica === this.nodeId) return false;
      const follower = this.followers.get(replica);
      return follower === undefined || nowMs - follower.lastCaughtUpMs > lagTimeMaxMs;
    });
    if (laggards.length > 0)
      this.isrWriter.writeIsr(
        this,
        this.current.isr.filter((replica) => !laggards.includes(replica)),
      );
  }

  /** A follower's view of the leader's high watermark (never past its own log end). */
  followerHighWatermark(leaderHighWatermark: bigint): void {
    if (this.isLeader) return;
    const end = this.log.logEndOffset;
    this.log.setHighWatermark(leaderHighWatermark < end ? leaderHighWatermark : end);
  }

  /**
   * The leader's high watermark: the smallest log-end offset over the ISR, never moving back.
   * With this broker alone in the ISR it follows the log end (the single-node behaviour).
   */
  updateHighWatermark(): void {
    if (this.isLeader) {
      const others = this.current.isr.filter((replica) => replica !== this.nodeId);
      if (others.length === 0 && !this.replicated) {
        this.log.setHighWatermark(undefined);
      } else {
        let candidate = this.log.logEndOffset;
        for (const replica of others) {
          const end = this.followers.get(replica)?.logEndOffset ?? -1n;
          if (end < candidate) candidate = end;
        }
        const before = this.log.highWatermark;
        if (candidate > before) this.log.setHighWatermark(candidate);
        else this.log.setHighWatermark(before);
      }
    }
    if (this.waiters.length === 0) return;
    const highWatermark = this.log.highWatermark;
    for (const waiter of [...this.waiters]) if (highWatermark > waiter.offset) waiter.settle(ErrorCode.NONE);
  }

  /** Called after every leader append: with one in-sync replica the append is committed at once. */
  afterAppend(): void {
    this.updateHighWatermark();
  }

  failWaiters(errorCode: number): void {
    for (const waiter of [...this.waiters]) waiter.settle(errorCode);
  }
}
