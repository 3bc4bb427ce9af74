// Offsets committed inside a transaction (TxnOffsetCommit), held per producer until the
// transaction's marker reaches the group's __consumer_offsets partition: a COMMIT makes them
// the group's committed offsets, an ABORT drops them. OffsetFetch never sees them before.

export interface PendingOffset<T> {
  readonly groupId: string;
  readonly key: string;
  readonly value: T;
}

export class TransactionalOffsets<T> {
  /** producerId -> offsets in commit order (a later commit of the same partition wins). */
  private readonly pending = new Map<bigint, PendingOffset<T>[]>();

  add(producerId: bigint, offsets: readonly PendingOffset<T>[]): void {
    let list = this.pending.get(producerId);
    if (list === undefined) this.pending.set(producerId, (list = []));
    list.push(...offsets);
  }

  /** Removes and returns what the producer's transaction committed. */
  take(producerId: bigint): PendingOffset<T>[] {
    const list = this.pending.get(producerId) ?? [];
    this.pending.delete(producerId);
    return list;
  }

  /** Forgets the pending offsets of some groups (their coordinator shard moved to another broker). */
  dropGroups(matches: (groupId: string) => boolean): void {
    for (const [producerId, list] of this.pending) {
      const kept = list.filter((offset) => !matches(offset.groupId));
      if (kept.length === 0) this.pending.delete(producerId);
      else if (kept.length !== list.length) this.pending.set(producerId, kept);
    }
  }

  /** Is a transactional commit waiting for this group (OffsetFetch's requireStable)? */
  hasPending(groupId: string): boolean {
    for (const list of this.pending.values()) if (list.some((offset) => offset.groupId === groupId)) return true;
    return false;
  }
}
