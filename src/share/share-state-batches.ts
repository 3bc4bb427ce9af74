// Merging a share-partition's persisted state batches, as Kafka's share coordinator does
// (PersisterStateBatchCombiner): a write or a ShareUpdate record carries the batches that
// changed; they are laid over the ones known so far (the newer state wins for every offset
// it covers), everything below the start offset is dropped, and neighbouring batches with
// the same delivery state and count are joined.

import { type StateBatch } from './share-partition.js';

/** Lays `batch` over `list` (sorted, non-overlapping): what it covers is replaced. */
function overlay(list: StateBatch[], batch: StateBatch): StateBatch[] {
  if (batch.lastOffset < batch.firstOffset) return list;
  const result: StateBatch[] = [];
  let inserted = false;
  for (const existing of list) {
    if (existing.lastOffset < batch.firstOffset) {
      result.push(existing);
      continue;
    }
    if (!inserted) {
      if (existing.firstOffset < batch.firstOffset) result.push({ ...existing, lastOffset: batch.firstOffset - 1n });
      result.push(batch);
      inserted = true;
    }
    if (existing.lastOffset > batch.lastOffset) {
      result.push(existing.firstOffset > batch.lastOffset ? existing : { ...existing, firstOffset: batch.lastOffset + 1n });
    }
  }
  if (!inserted) result.push(batch);
  return result;
}

/** True when the batches are sorted, apart, at or above `startOffset` (-1: any) and no two neighbours could join. */
function normalized(batches: readonly StateBatch[], startOffset: bigint): boolean {
  let previous: StateBatch | undefined;
  for (const batch of batches) {
    if (batch.lastOffset < batch.firstOffset || (startOffset >= 0n && batch.firstOffset < startOffset)) return false;
    if (previous !== undefined) {
      if (batch.firstOffset <= previous.lastOffset) return false;
      if (batch.firstOffset === previous.lastOffset + 1n && batch.deliveryState === previous.deliveryState && batch.deliveryCount === previous.deliveryCount) return false;
    }
    previous = batch;
  }
  return true;
}

/**
 * The batches of `current` with `updates` applied in order, pruned below `startOffset` (not
 * when it is -1) and joined where neighbours agree. Neither input needs to be sorted.
 */
export function combineStateBatches(current: readonly StateBatch[], updates: readonly StateBatch[], startOffset: bigint): StateBatch[] {
  // What a share-partition leader writes is its whole in-flight window, already in this form:
  // when it covers everything of `current` that is left, it is the answer as it is.
  if (updates.length > 0 && normalized(updates, startOffset)) {
    const first = updates[0]!.firstOffset;
    const last = updates[updates.length - 1]!.lastOffset;
    if (current.every((batch) => batch.lastOffset < startOffset || (batch.firstOffset >= first && batch.lastOffset <= last))) return updates as StateBatch[];
  } else if (updates.length === 0 && normalized(current, startOffset)) {
    return current as StateBatch[];
  }
  let list: StateBatch[] = [];
  for (const batch of current) list = overlay(list, batch);
  for (const batch of updates) list = overlay(list, batch);
  const joined: StateBatch[] = [];
  for (let batch of list) {
    if (startOffset >= 0n) {
      if (batch.lastOffset < startOffset) continue;
      if (batch.firstOffset < startOffset) batch = { ...batch, firstOffset: startOffset };
    }
    const last = joined[joined.length - 1];
    if (last !== undefined && last.lastOffset + 1n === batch.firstOffset && last.deliveryState === batch.deliveryState && last.deliveryCount === batch.deliveryCount) {
      joined[joined.length - 1] = { ...last, lastOffset: batch.lastOffset };
    } else {
      joined.push({ firstOffset: batch.firstOffset, lastOffset: batch.lastOffset, deliveryState: batch.deliveryState, deliveryCount: batch.deliveryCount });
    }
  }
  return joined;
}
