// Kafka's LeaderEpochFileCache: the first offset of every leader epoch a replica's log holds,
// kept in `<partition dir>/leader-epoch-checkpoint` (version 0, the entry count, then
// "epoch startOffset" lines). A leader adds its epoch at its log end when elected; a follower
// adds the epochs it finds in the batches it fetches. OffsetForLeaderEpoch answers from it,
// so that clients validating their position after a leader change (KIP-320) and returning
// replicas find where their log and the leader's diverge.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../log/durable-file.js';

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';

interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: bigint;
}

export class LeaderEpochCache {
  private entries: EpochEntry[] = [];

  constructor(
    private readonly dir: string,
    /** False on a single node: nothing is written, epoch 0 covers the whole log. */
    private readonly persistent: boolean,
  ) {
    if (persistent) this.load();
  }

  get latestEpoch(): number {
    return this.entries[this.entries.length - 1]?.epoch ?? -1;
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** Epoch `epoch` starts at `startOffset` (ignored unless newer than the latest epoch). */
  assign(epoch: number, startOffset: bigint): void {
    if (epoch < 0 || epoch <= this.latestEpoch) return;
    this.entries.push({ epoch, startOffset });
    this.save();
  }

  /** A truncation to `offset`: epochs starting at or after it are gone. */
  truncateFromEnd(offset: bigint): void {
    const kept = this.entries.filter((entry) => entry.startOffset < offset);
    if (kept.length === this.entries.length) return;
    this.entries = kept;
    this.save();
  }

  /**
   * Kafka's endOffsetFor: the latest epoch ends at the log end; an older one at the start of
   * the next higher epoch; an epoch above every known one is undefined (-1, -1).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: bigint): { epoch: number; endOffset: bigint } {
    if (requestedEpoch < 0) return { epoch: -1, endOffset: -1n };
    if (requestedEpoch === this.latestEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    const higher = this.entries.find((entry) => entry.epoch > requestedEpoch);
    if (higher === undefined) return { epoch: -1, endOffset: -1n };
    let floor: EpochEntry | undefined;
    for (const entry of this.entries) if (entry.epoch <= requestedEpoch) floor = entry;
    return { epoch: floor?.epoch ?? requestedEpoch, endOffset: higher.startOffset };
  }

  private load(): void {
    const path = join(this.dir, LEADER_EPOCH_CHECKPOINT);
    if (!existsSync(path)) return;
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    if (lines[0] !== '0') return;
    for (const line of lines.slice(2)) {
      const [epoch, offset] = line.split(' ');
      if (epoch !== undefined && offset !== undefined) this.entries.push({ epoch: Number(epoch), startOffset: BigInt(offset) });
    }
  }

  private save(): void {
    if (!this.persistent) return;
    const body = `0\n${this.entries.length}\n${this.entries.map((entry) => `${entry.epoch} ${entry.startOffset}`).join('\n')}\n`;
    writeFileDurably(join(this.dir, LEADER_EPOCH_CHECKPOINT), body);
  }
}

/** The (partitionLeaderEpoch, baseOffset) of each batch in `records`, for a follower's cache. */
export function batchEpochs(records: Buffer): Array<{ epoch: number; baseOffset: bigint }> {
  const result: Array<{ epoch: number; baseOffset: bigint }> = [];
  let position = 0;
  while (position + 17 <= records.length) {
    result.push({ epoch: records.readInt32BE(position + 12), baseOffset: records.readBigInt64BE(position) });
    position += 12 + records.readInt32BE(position + 8);
  }
  return result;
}
