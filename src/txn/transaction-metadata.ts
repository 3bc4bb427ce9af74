// One transactional ID's state, with Kafka's state names.

export type TransactionState = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'Dead' | 'PrepareEpochFence';

export class TransactionMetadata {
  state: TransactionState = 'Empty';
  /** topic -> partitions in the ongoing transaction. */
  readonly partitions = new Map<string, Set<number>>();
  startMs = -1;
  /** Transactions v2: the producer ID and epoch before the last EndTxn's bump, so that a retry of it is recognised. */
  previousEpoch = -1;
  previousProducerId = -1n;
  lastUpdateMs: number;
  /** A state change is on its way to the in-sync replicas: other requests answer CONCURRENT_TRANSACTIONS (Kafka's pendingState). */
  pending = false;

  constructor(
    readonly transactionalId: string,
    public producerId: bigint,
    public producerEpoch: number,
    public timeoutMs: number,
    nowMs: number,
  ) {
    this.lastUpdateMs = nowMs;
  }

  hasPartition(topic: string, partition: number): boolean {
    return this.partitions.get(topic)?.has(partition) === true;
  }

  addPartition(topic: string, partition: number): void {
    let set = this.partitions.get(topic);
    if (set === undefined) this.partitions.set(topic, (set = new Set()));
    set.add(partition);
  }

  partitionList(): Array<{ topic: string; partitions: number[] }> {
    return [...this.partitions].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
  }

  /** The fields a failed write restores (Kafka keeps the old state when its append fails). */
  snapshot(): () => void {
    const { state, startMs, previousEpoch, previousProducerId, lastUpdateMs, producerId, producerEpoch, timeoutMs } = this;
    const partitions = this.partitionList();
    return () => {
      Object.assign(this, { state, startMs, previousEpoch, previousProducerId, lastUpdateMs, producerId, producerEpoch, timeoutMs });
      this.partitions.clear();
      for (const topic of partitions) for (const partition of topic.partitions) this.addPartition(topic.topic, partition);
    };
  }

  get isCompleteOrEmpty(): boolean {
    return this.state === 'Empty' || this.state === 'CompleteCommit' || this.state === 'CompleteAbort';
  }
}
