// Coordinators as shards of their internal topic's partitions (Kafka's CoordinatorRuntime):
// a coordinator serves the keys (groups, transactional IDs) of the partitions this broker
// leads. On becoming leader a partition's shard is LOADING while its records are replayed
// from the log, then ACTIVE; on resigning (another leader, a new leader epoch, the broker
// stopping) it is dropped. Requests for a key whose shard is loading answer
// COORDINATOR_LOAD_IN_PROGRESS, for one this broker does not hold NOT_COORDINATOR, and
// before the internal topic exists COORDINATOR_NOT_AVAILABLE, so clients look the
// coordinator up again (FindCoordinator names the partition's leader).
//
// A single node holds every partition: its shards are always active (loaded at start).

import { type Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { type ReplicaManager } from './replica-manager.js';

/** What a coordinator does when a shard is loaded or dropped. */
export interface ShardHost {
  /**
   * Replays the partition's records into the coordinator. `current()` turns false when the
   * shard was dropped meanwhile: the load stops at the next record (unloadShard has run).
   */
  loadShard(index: number, leaderEpoch: number, current: () => boolean): Promise<void>;
  /** The shard serves requests from now on (a transaction coordinator resumes what the previous one left prepared). */
  shardLoaded?(index: number): void;
  /** Forgets every key of the partition, answering whoever waits with NOT_COORDINATOR. */
  unloadShard(index: number): void;
}

interface Shard {
  readonly epoch: number;
  loaded: boolean;
}

export class CoordinatorShards {
  private readonly shards = new Map<number, Shard>();
  private unsubscribe: (() => void) | undefined;
  private readonly loads = new Set<Promise<void>>();

  constructor(
    readonly topic: string,
    private readonly replicas: ReplicaManager,
    private readonly host: ShardHost,
    private readonly logger: Logger,
    /** "group coordinator", "transaction coordinator": for the log. */
    private readonly name: string,
  ) {}

  /** False on a single node, whose shards are always active. */
  get clustered(): boolean {
    return this.replicas.clustered;
  }

  /** Starts following leadership (clustered brokers only). */
  start(): void {
    if (!this.clustered || this.unsubscribe !== undefined) return;
    this.unsubscribe = this.replicas.onLeadership(this.topic, (index, epoch) => (epoch === undefined ? this.resign(index) : this.elect(index, epoch)));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const index of [...this.shards.keys()]) this.resign(index);
  }

  /** Resolves once the loads under way have finished (tests, and a broker's start). */
  async settled(): Promise<void> {
    while (this.loads.size > 0) await Promise.all(this.loads);
  }

  /** NONE when this broker serves the partition's keys, else the error Kafka answers. */
  error(index: number): number {
    if (!this.clustered) return ErrorCode.NONE;
    const shard = this.shards.get(index);
    if (shard !== undefined) return shard.loaded ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return this.replicas.store.topic(this.topic) === undefined ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.NOT_COORDINATOR;
  }

  isActive(index: number): boolean {
    return this.error(index) === ErrorCode.NONE;
  }

  /** The leader epoch the shard was loaded at (Kafka's coordinator epoch); 0 on a single node. */
  epoch(index: number): number | undefined {
    if (!this.clustered) return 0;
    return this.shards.get(index)?.epoch;
  }

  /** True while some shard of this broker is loading (ListGroups, ListTransactions answer COORDINATOR_LOAD_IN_PROGRESS). */
  get loading(): boolean {
    for (const shard of this.shards.values()) if (!shard.loaded) return true;
    return false;
  }

  private elect(index: number, epoch: number): void {
    if (this.shards.has(index)) this.resign(index);
    const shard: Shard = { epoch, loaded: false };
    this.shards.set(index, shard);
    const current = () => this.shards.get(index) === shard;
    const started = performance.now();
    const load = this.host
      .loadShard(index, epoch, current)
      .then(() => {
        if (!current()) return;
        shard.loaded = true;
        this.logger.debug(`${this.name}: loaded ${this.topic}-${index} at leader epoch ${epoch} in ${Math.round(performance.now() - started)} ms`);
        this.host.shardLoaded?.(index);
      })
      .catch((error: unknown) => {
        // Kafka leaves a shard that failed to load unserved; clients get NOT_COORDINATOR.
        this.logger.error(`${this.name}: loading ${this.topic}-${index} failed: ${(error as Error).message}`);
        if (current()) this.resign(index);
      })
      .finally(() => this.loads.delete(load));
    this.loads.add(load);
  }

  private resign(index: number): void {
    const shard = this.shards.get(index);
    if (shard === undefined) return;
    this.shards.delete(index);
    this.host.unloadShard(index);
    this.logger.debug(`${this.name}: resigned ${this.topic}-${index} (leader epoch ${shard.epoch})`);
  }
}
