// Per-partition transaction bookkeeping for read_committed: the first offset of every open
// transaction (the last stable offset is the smallest of them), and the aborted transactions
// a read_committed fetch must be told about (Kafka keeps them in .txnindex files).

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
  /** Offset of the ABORT marker. */
  readonly lastOffset: bigint;
}

export class TransactionIndex {
  /** producerId -> first offset of its open transaction. */
  private readonly ongoing = new Map<bigint, bigint>();
  private aborted: AbortedTransaction[] = [];

  get ongoingCount(): number {
    return this.ongoing.size;
  }

  get abortedTransactions(): readonly AbortedTransaction[] {
    return this.aborted;
  }

  /** A transactional data batch was appended at `firstOffset`. */
  onTransactionalBatch(producerId: bigint, firstOffset: bigint): void {
    if (!this.ongoing.has(producerId)) this.ongoing.set(producerId, firstOffset);
  }

  /** A COMMIT or ABORT marker was appended at `markerOffset`. */
  onMarker(producerId: bigint, markerOffset: bigint, commit: boolean): void {
    const firstOffset = this.ongoing.get(producerId);
    if (firstOffset === undefined) return;
    this.ongoing.delete(producerId);
    if (!commit) this.aborted.push({ producerId, firstOffset, lastOffset: markerOffset });
  }

  /** The last stable offset: the first offset of the oldest open transaction, else `highWatermark`. */
  lastStableOffset(highWatermark: bigint): bigint {
    let lso = highWatermark;
    for (const first of this.ongoing.values()) if (first < lso) lso = first;
    return lso;
  }

  /** Aborted transactions that overlap [fromOffset, toOffset): what a read_committed fetch needs. */
  abortedBetween(fromOffset: bigint, toOffset: bigint): AbortedTransaction[] {
    return this.aborted.filter((txn) => txn.lastOffset >= fromOffset && txn.firstOffset < toOffset);
  }

  /** Drops what retention removed from the log. */
  truncateBefore(logStartOffset: bigint): void {
    this.aborted = this.aborted.filter((txn) => txn.lastOffset >= logStartOffset);
  }

  snapshot(): { ongoing: Array<[bigint, bigint]>; aborted: AbortedTransaction[] } {
    return { ongoing: [...this.ongoing], aborted: [...this.aborted] };
  }

  restore(state: { ongoing: Array<[bigint, bigint]>; aborted: AbortedTransaction[] }): void {
    this.ongoing.clear();
    for (const [producerId, first] of state.ongoing) this.ongoing.set(producerId, first);
    this.aborted = [...state.aborted];
  }
}
