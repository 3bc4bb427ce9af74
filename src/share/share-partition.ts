// The state of one share-partition (one share group reading one topic-partition, KIP-932):
// the share-partition start offset (SPSO), the end offset (SPEO), and for every offset in
// between its delivery state, delivery count and, while acquired, the member holding it and
// when its acquisition lock runs out. Offsets below the SPSO are done; offsets at or above
// the SPEO have never been handed out. Records move Available -> Acquired on a fetch, and
// from Acquired to Acknowledged (ACCEPT), Archived (REJECT, or a release once the delivery
// count reached group.share.delivery.count.limit) or back to Available (RELEASE, lock
// timeout, member gone). RENEW (KIP-1222) restarts the lock. The SPSO moves over every
// leading offset that is done.

export const enum DeliveryState {
  AVAILABLE = 0,
  ACQUIRED = 1,
  ACKNOWLEDGED = 2,
  ARCHIVED = 4,
}

/** AcknowledgeTypes values of ShareFetch / ShareAcknowledge. */
export const enum AcknowledgeType {
  GAP = 0,
  ACCEPT = 1,
  RELEASE = 2,
  REJECT = 3,
  RENEW = 4,
}

interface InFlight {
  state: DeliveryState;
  deliveryCount: number;
  memberId: string | null;
  lockDeadline: number;
}

export interface AcquiredRange {
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  readonly deliveryCount: number;
}

/** A run of offsets in one persisted state (ShareSnapshotValue's StateBatches). */
export interface StateBatch {
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  readonly deliveryState: number;
  readonly deliveryCount: number;
}

export interface AcknowledgementBatch {
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  readonly acknowledgeTypes: readonly number[];
}

export interface SharePartitionLimits {
  readonly lockDurationMs: number;
  readonly deliveryCountLimit: number;
  readonly maxRecordLocks: number;
}

export class SharePartition {
  /** Offsets [startOffset, endOffset), in order. */
  private inFlight: InFlight[] = [];
  private startOffset: bigint;
  /** The share coordinator's state epoch of this state (bumped there by an admin reset, which fences this copy). */
  stateEpoch = 0;
  /** The data partition's leader epoch this share-partition was initialised at. */
  leaderEpoch = 0;
  /** The data partition's topic name. */
  topicName = '';
  createTimestamp: number;
  /** Set when the persisted form is behind the memory; the manager writes and clears it. */
  dirty = false;
  /** Counts changes; `writtenVersion` is the last one persisted. */
  version = 0;
  writtenVersion = 0;
  /** A write of this state is in flight. */
  writing = false;
  /** To be dropped from memory once written (its group has no session left on this broker). */
  evict = false;
  /** Told when the partition becomes dirty, so the manager writes only what changed. */
  onDirty: ((partition: SharePartition) => void) | undefined;
  private readonly availableListeners = new Set<() => void>();

  constructor(
    readonly groupId: string,
    readonly topicId: Buffer,
    readonly partition: number,
    startOffset: bigint,
    nowMs: number,
  ) {
    this.startOffset = startOffset;
    this.createTimestamp = nowMs;
  }

  get key(): string {
    return SharePartition.key(this.groupId, this.topicId, this.partition);
  }

  static key(groupId: string, topicId: Buffer, partition: number): string {
    return `${groupId}\u0000${topicId.toString('hex')}\u0000${partition}`;
  }

  get spso(): bigint {
    return this.startOffset;
  }

  get speo(): bigint {
    return this.startOffset + BigInt(this.inFlight.length);
  }

  /** The first offset a fetch should read from: the first available in-flight offset, or the SPEO. */
  nextFetchOffset(): bigint {
    for (let i = 0; i < this.inFlight.length; i++) if (this.inFlight[i]!.state === DeliveryState.AVAILABLE) return this.startOffset + BigInt(i);
    return this.speo;
  }

  /** Offsets in [SPSO, SPEO) already delivered to completion (acknowledged or archived). */
  deliveryCompleteCount(): number {
    let count = 0;
    for (const entry of this.inFlight) if (entry.state === DeliveryState.ACKNOWLEDGED || entry.state === DeliveryState.ARCHIVED) count++;
    return count;
  }

  /** Called back whenever in-flight records become available again (release, lock timeout). */
  onAvailable(listener: () => void): () => void {
    this.availableListeners.add(listener);
    return () => this.availableListeners.delete(listener);
  }

  /**
   * Acquires the available offsets of the given batches for `memberId`, in offset order,
   * whole batches at a time until `maxRecords` is reached (Kafka's batch alignment), never
   * letting the in-flight window grow past maxRecordLocks (the first batch excepted).
   */
  acquire(
    batches: Iterable<{ baseOffset: bigint; lastOffset: bigint; isControl: boolean }>,
    memberId: string,
    maxRecords: number,
    strictLimit: boolean,
    limits: SharePartitionLimits,
    nowMs: number,
  ): AcquiredRange[] {
    const ranges: Array<{ firstOffset: bigint; lastOffset: bigint; deliveryCount: number }> = [];
    let acquired = 0;
    let archived = false;
    // A window already at the limit takes nothing new; otherwise at least one record is acquired.
    const roomAtStart = this.inFlight.length < limits.maxRecordLocks;
    for (const batch of batches) {
      if (acquired >= maxRecords) break;
      let offset = batch.baseOffset > this.startOffset ? batch.baseOffset : this.startOffset;
      for (; offset <= batch.lastOffset; offset++) {
        if (offset > this.speo) {
          // Offsets missing between batches (compacted away) do not exist: they are done.
          while (this.speo < offset) this.inFlight.push({ state: DeliveryState.ARCHIVED, deliveryCount: 0, memberId: null, lockDeadline: 0 });
          archived = true;
        }
        if (strictLimit && acquired >= maxRecords) break;
        if (offset === this.speo) {
          if (this.inFlight.length >= limits.maxRecordLocks && (acquired > 0 || !roomAtStart)) break;
          this.inFlight.push({ state: DeliveryState.AVAILABLE, deliveryCount: 0, memberId: null, lockDeadline: 0 });
        }
        const entry = this.inFlight[Number(offset - this.startOffset)]!;
        if (entry.state !== DeliveryState.AVAILABLE) continue;
        if (entry.deliveryCount >= limits.deliveryCountLimit) {
          // Delivered as often as allowed already (persisted while acquired at a leader that
          // went away, or the limit was lowered): archived, never handed out again.
          entry.state = DeliveryState.ARCHIVED;
          archived = true;
          continue;
        }
        if (batch.isControl) {
          // Transaction markers are never delivered: they are done as soon as they are reached.
          entry.state = DeliveryState.ARCHIVED;
          archived = true;
          continue;
        }
        entry.state = DeliveryState.ACQUIRED;
        entry.deliveryCount++;
        entry.memberId = memberId;
        entry.lockDeadline = nowMs + limits.lockDurationMs;
        acquired++;
        const last = ranges[ranges.length - 1];
        if (last !== undefined && last.lastOffset + 1n === offset && last.deliveryCount === entry.deliveryCount) last.lastOffset = offset;
        else ranges.push({ firstOffset: offset, lastOffset: offset, deliveryCount: entry.deliveryCount });
      }
    }
    if (archived) {
      this.markDirty();
      this.advanceStart();
    }
    return ranges;
  }

  /**
   * Checks a member's acknowledgements against the state without changing anything: every
   * offset must be in flight and acquired by this member. Returns an error message, or
   * undefined when all of them may be applied.
   */
  validate(memberId: string, batches: readonly AcknowledgementBatch[], allowRenew: boolean): { invalidRequest: boolean; message: string } | undefined {
    for (const batch of batches) {
      const length = batch.lastOffset - batch.firstOffset + 1n;
      if (length <= 0n) return { invalidRequest: true, message: `Acknowledgement batch ${batch.firstOffset}-${batch.lastOffset} is empty` };
      if (batch.acknowledgeTypes.length !== 1 && BigInt(batch.acknowledgeTypes.length) !== length) {
        return { invalidRequest: true, message: `Acknowledgement batch ${batch.firstOffset}-${batch.lastOffset} has ${batch.acknowledgeTypes.length} types` };
      }
      for (const type of batch.acknowledgeTypes) {
        if (type < AcknowledgeType.GAP || type > AcknowledgeType.RENEW || (type === AcknowledgeType.RENEW && !allowRenew)) {
          return { invalidRequest: true, message: `Unknown acknowledge type ${type}` };
        }
      }
      for (let offset = batch.firstOffset; offset <= batch.lastOffset; offset++) {
        const entry = offset >= this.startOffset ? this.inFlight[Number(offset - this.startOffset)] : undefined;
        if (entry === undefined || entry.state !== DeliveryState.ACQUIRED || entry.memberId !== memberId) {
          return { invalidRequest: false, message: `Offset ${offset} is not acquired by member ${memberId}` };
        }
      }
    }
    return undefined;
  }

  /** Applies validated acknowledgements; waiting fetches are woken when records were released. */
  acknowledge(batches: readonly AcknowledgementBatch[], limits: SharePartitionLimits, nowMs: number): void {
    let released = false;
    for (const batch of batches) {
      let index = 0;
      for (let offset = batch.firstOffset; offset <= batch.lastOffset; offset++, index++) {
        const type = batch.acknowledgeTypes.length === 1 ? batch.acknowledgeTypes[0]! : batch.acknowledgeTypes[index]!;
        const entry = this.inFlight[Number(offset - this.startOffset)]!;
        switch (type) {
          case AcknowledgeType.ACCEPT:
            this.finish(entry, DeliveryState.ACKNOWLEDGED);
            break;
          case AcknowledgeType.GAP:
          case AcknowledgeType.REJECT:
            this.finish(entry, DeliveryState.ARCHIVED);
            break;
          case AcknowledgeType.RELEASE:
            released = this.release(entry, limits) || released;
            break;
          case AcknowledgeType.RENEW:
            entry.lockDeadline = nowMs + limits.lockDurationMs;
            break;
        }
      }
    }
    this.markDirty();
    this.advanceStart();
    if (released) this.notifyAvailable();
  }

  /** Gives back every record a member holds (it left, its session closed, its connection dropped). */
  releaseMember(memberId: string, limits: SharePartitionLimits): void {
    let touched = false;
    let released = false;
    for (const entry of this.inFlight) {
      if (entry.state !== DeliveryState.ACQUIRED || entry.memberId !== memberId) continue;
      touched = true;
      released = this.release(entry, limits) || released;
    }
    if (touched) this.changed(released);
  }

  /** Releases every lock that ran out by `nowMs`. Returns the earliest deadline still pending. */
  expireLocks(nowMs: number, limits: SharePartitionLimits): number | undefined {
    let touched = false;
    let released = false;
    let next: number | undefined;
    for (const entry of this.inFlight) {
      if (entry.state !== DeliveryState.ACQUIRED) continue;
      if (entry.lockDeadline <= nowMs) {
        touched = true;
        released = this.release(entry, limits) || released;
      } else if (next === undefined || entry.lockDeadline < next) {
        next = entry.lockDeadline;
      }
    }
    if (touched) this.changed(released);
    return next;
  }

  /** The earliest lock deadline, if any record is acquired. */
  earliestDeadline(): number | undefined {
    let next: number | undefined;
    for (const entry of this.inFlight) {
      if (entry.state === DeliveryState.ACQUIRED && (next === undefined || entry.lockDeadline < next)) next = entry.lockDeadline;
    }
    return next;
  }

  /** Moves the SPSO forward to `offset` (log start moved, or an admin reset), dropping what lies before. */
  moveStartTo(offset: bigint): void {
    if (offset <= this.startOffset) return;
    const drop = offset - this.startOffset;
    if (drop >= BigInt(this.inFlight.length)) this.inFlight = [];
    else this.inFlight.splice(0, Number(drop));
    this.startOffset = offset;
    this.markDirty();
  }

  /** Resets the share-partition to start at `offset` with nothing in flight (AlterShareGroupOffsets). */
  reset(offset: bigint): void {
    this.inFlight = [];
    this.startOffset = offset;
    this.markDirty();
  }

  /**
   * The persisted form: runs of offsets with the same state and count. Acquired records are
   * written as Available with their count, so a restart hands them out again but still
   * counts the delivery towards the limit.
   */
  stateBatches(): StateBatch[] {
    const batches: Array<{ firstOffset: bigint; lastOffset: bigint; deliveryState: number; deliveryCount: number }> = [];
    this.inFlight.forEach((entry, index) => {
      const offset = this.startOffset + BigInt(index);
      const state = entry.state === DeliveryState.ACQUIRED ? DeliveryState.AVAILABLE : entry.state;
      const last = batches[batches.length - 1];
      if (last !== undefined && last.deliveryState === state && last.deliveryCount === entry.deliveryCount) last.lastOffset = offset;
      else batches.push({ firstOffset: offset, lastOffset: offset, deliveryState: state, deliveryCount: entry.deliveryCount });
    });
    return batches;
  }

  /** Rebuilds the in-flight window from persisted state batches (a snapshot, or a snapshot plus updates). */
  restore(startOffset: bigint, batches: readonly StateBatch[]): void {
    this.startOffset = startOffset;
    this.inFlight = [];
    for (const batch of batches) {
      for (let offset = batch.firstOffset > startOffset ? batch.firstOffset : startOffset; offset <= batch.lastOffset; offset++) {
        const index = Number(offset - startOffset);
        while (this.inFlight.length < index) this.inFlight.push({ state: DeliveryState.AVAILABLE, deliveryCount: 0, memberId: null, lockDeadline: 0 });
        const state = batch.deliveryState === DeliveryState.ACKNOWLEDGED || batch.deliveryState === DeliveryState.ARCHIVED ? batch.deliveryState : DeliveryState.AVAILABLE;
        this.inFlight[index] = { state, deliveryCount: batch.deliveryCount, memberId: null, lockDeadline: 0 };
      }
    }
    this.advanceStart();
  }

  markDirty(): void {
    this.dirty = true;
    this.version++;
    this.evict = false;
    this.onDirty?.(this);
  }

  /** Wakes the fetches waiting on this share-partition (it was dropped: they look again). */
  wakeWaiting(): void {
    this.notifyAvailable();
  }

  private finish(entry: InFlight, state: DeliveryState.ACKNOWLEDGED | DeliveryState.ARCHIVED): void {
    entry.state = state;
    entry.memberId = null;
  }

  /** Acquired -> Available, or Archived once the delivery count reached the limit (a poison record). */
  private release(entry: InFlight, limits: SharePartitionLimits): boolean {
    entry.memberId = null;
    if (entry.deliveryCount >= limits.deliveryCountLimit) {
      entry.state = DeliveryState.ARCHIVED;
      return false;
    }
    entry.state = DeliveryState.AVAILABLE;
    return true;
  }

  /** After a release or an archive: persist, move the SPSO, and wake waiting fetches if records are available. */
  private changed(released: boolean): void {
    this.markDirty();
    this.advanceStart();
    if (released) this.notifyAvailable();
  }

  private advanceStart(): void {
    let done = 0;
    while (done < this.inFlight.length) {
      const state = this.inFlight[done]!.state;
      if (state !== DeliveryState.ACKNOWLEDGED && state !== DeliveryState.ARCHIVED) break;
      done++;
    }
    if (done === 0) return;
    this.inFlight.splice(0, done);
    this.startOffset += BigInt(done);
    this.markDirty();
  }

  private notifyAvailable(): void {
    for (const listener of [...this.availableListeners]) listener();
  }
}
