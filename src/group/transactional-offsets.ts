// Offsets committed inside a transaction (TxnOffsetCommit), held per producer until the
// transaction's marker reaches the group's __consumer_offsets partition: a COMMIT makes them
// the group's committed offsets, an ABORT drops them. OffsetFetch never sees them before.

import { type OffsetToCommit } from './group-coordinator.js';

export interface PendingGroupOffsets {
  readonly groupId: string;
  readonly offsets: OffsetToCommit[];
}

export class TransactionalOffsets {
  /** producerId -> groupId -> offsets, in commit order (later commits win). */
  private readonly pending = new Map<bigint, Map<string, OffsetToCommit[]>>();

  add(producerId: bigint, groupId: string, offsets: readonly OffsetToCommit[]): void {
    let byGroup = this.pending.get(producerId);
    if (byGroup === undefined) this.pending.set(producerId, (byGroup = new Map()));
    let list = byGroup.get(groupId);
    if (list === undefined) byGroup.set(groupId, (list = []));
    list.push(...offsets);
  }

  /** Removes and returns what the producer's transaction committed to each group. */
  take(producerId: bigint): PendingGroupOffsets[] {
    const byGroup = this.pending.get(producerId);
    this.pending.delete(producerId);
    return [...(byGroup ?? [])].map(([groupId, offsets]) => ({ groupId, offsets }));
  }

  /** Is any transactional commit waiting for this group (OffsetFetch's requireStable)? */
  hasPending(groupId: string): boolean {
    for (const byGroup of this.pending.values()) if (byGroup.has(groupId)) return true;
    return false;
  }
}
