// The replica layer between the handlers and the logs (Kafka's ReplicaManager): it owns one
// Partition per local partition log, keeps them in step with the metadata store (topic
// creation and deletion, leader and ISR changes), and is the one place that decides
// NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH / NOT_ENOUGH_REPLICAS.
// acks=all produces are parked on their Partition until the high watermark passes them;
// follower fetches move the follower's log-end offset. It also runs the follower fetchers
// (one per source broker), the ISR-shrink timer, the high-watermark checkpoint, and the
// controller's leader election when this broker is the controller.
//
// On a single node it runs over a private in-process store seeded from the local topics, so
// every partition has this node as its only replica, leader epoch 0, and a high watermark at
// the log end: the single-node behaviour is unchanged.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BrokerConfig } from '../config/broker-config.js';
import { brokerConfigValue, topicConfigValue } from '../config/topic-config.js';
import { type Logger } from '../logger.js';
import { writeFileDurably } from '../log/durable-file.js';
import { type LogManager, type Topic } from '../log/log-manager.js';
import { type AppendResult } from '../log/partition-log.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { electLeaders, rebalanceLeaders } from './controller.js';
import { ClusterMetadata, type BrokerEndpoint, type PartitionState, type PartitionView } from './metadata.js';
import { sameConfigs, type ConfigUpdate, type MetadataEvent, type MetadataStore } from './metadata-store.js';
import { Partition, type IsrWriter } from './partition.js';
import { checkAssignment, placeReplicas } from './placement.js';
import { completeReassignment, reassigning } from './reassignment.js';
import { ReplicaFetcher } from './replica-fetcher.js';
import { ReplicationQuota } from './replication-quota.js';

const CHECKPOINT_FILE = 'replication-offset-checkpoint';
/** Kafka's replica.high.watermark.checkpoint.interval.ms default. */
const CHECKPOINT_INTERVAL_MS = 5000;

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** A refusal that names the current leader, for KIP-951's currentLeader fields. */
export class NotLeaderError extends KafkaError {
  constructor(
    code: number,
    message: string,
    readonly leaderId: number,
    readonly leaderEpoch: number,
  ) {
    super(code, message);
  }
}

/**
 * Told when this broker becomes leader of a partition of a watched topic (`leaderEpoch` set)
 * and when it stops leading it (undefined): how the coordinators follow leadership.
 */
export type LeadershipListener = (index: number, leaderEpoch: number | undefined) => void;

export interface ReplicaManagerOptions {
  readonly store: MetadataStore;
  /** False on a single node: the store is private and seeded from the local topics. */
  readonly clustered: boolean;
}

export class ReplicaManager implements IsrWriter {
  readonly metadata: ClusterMetadata;
  readonly store: MetadataStore;
  readonly clustered: boolean;
  /** leader/follower.replication.throttled.rate over the replicas the topics list (Kafka's ReplicationQuotaManager). */
  readonly quotas: { readonly leader: ReplicationQuota; readonly follower: ReplicationQuota };
  private readonly partitions = new Map<string, Partition>();
  /** The same partitions by topic, then index: the append and read paths find theirs without building a key string. */
  private readonly byTopic = new Map<string, Array<Partition | undefined>>();
  private readonly truncating = new Map<string, Promise<void>>();
  private readonly pendingEpochCheck = new Set<string>();
  /** Partitions whose ISR change is on its way to the store. */
  private readonly isrWrites = new Set<string>();
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  /** Coordinators following the leadership of their internal topic's partitions, by topic. */
  private readonly leadershipListeners = new Map<string, Set<LeadershipListener>>();
  /** The leader epoch of each partition this broker leads, as last announced to the listeners. */
  private readonly announcedLeadership = new Map<string, number>();
  private checkpoint = new Map<string, bigint>();
  private unwatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastCheckpointMs = 0;
  private lastRebalanceMs = Date.now();
  private running = false;

  constructor(
    private readonly logs: LogManager,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
    options: ReplicaManagerOptions,
  ) {
    this.store = options.store;
    this.clustered = options.clustered;
    this.metadata = new ClusterMetadata(this.store);
    const configsOf = (topic: string) => this.logs.topic(topic)?.configs;
    this.quotas = { leader: new ReplicationQuota('leader', config, configsOf), follower: new ReplicationQuota('follower', config, configsOf) };
  }

  get nodeId(): number {
    return this.config.nodeId;
  }

  get lagTimeMaxMs(): number {
    return Number(brokerConfigValue('replica.lag.time.max.ms', this.config) as bigint);
  }

  /** Opens the partitions (before the listeners accept requests). */
  async open(): Promise<void> {
    this.running = true;
    this.checkpoint = this.readCheckpoint();
    if (!this.clustered) for (const topic of this.logs.allTopics()) this.seedLocalTopic(topic);
    this.unwatch = this.store.watch((event) => this.onEvent(event));
    if (this.clustered) this.applyClusterBrokerConfigs();
    for (const assignment of this.store.topics()) this.openTopic(assignment.name);
    if (this.clustered) {
      for (const topic of this.logs.allTopics()) {
        // Kept on disk (the one-process cluster's store does not outlive the process), but not served.
        if (this.store.topic(topic.name) === undefined)
          this.logger.warn(`Topic ${topic.name} in ${this.logs.dataDir} is not in the cluster metadata; its local replicas are not served`);
      }
    }
  }

  /** Registers this broker with its bound endpoints and starts replicating. */
  async register(endpoints: readonly BrokerEndpoint[]): Promise<void> {
    await this.store.registerBroker({ nodeId: this.nodeId, endpoints, rack: (brokerConfigValue('broker.rack', this.config) as string | null) ?? null });
    const interval = Math.max(100, Math.min(this.lagTimeMaxMs / 2, CHECKPOINT_INTERVAL_MS));
    this.timer = setInterval(() => this.tick(), interval);
    this.timer.unref();
    this.refreshFetchers();
  }

  /** Leaves the cluster: parked produces are answered NOT_LEADER_OR_FOLLOWER, fetchers stop, the high watermarks are checkpointed. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.unwatch?.();
    for (const fetcher of this.fetchers.values()) fetcher.stop();
    this.fetchers.clear();
    for (const partition of this.partitions.values()) partition.failWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // The coordinators resign every shard before the store moves the leaderships.
    for (const partition of this.partitions.values()) this.announceLeadership(partition, false);
    this.writeCheckpoint();
    await this.store.unregisterBroker(this.nodeId);
  }

  /** The local replica of a partition (leader or follower), if this broker has one. */
  partition(topic: string, index: number): Partition | undefined {
    const found = this.byTopic.get(topic)?.[index];
    if (found !== undefined || this.clustered) return found;
    // A single node's internal topics are created lazily by their coordinators.
    const local = this.logs.topic(topic);
    if (local === undefined || index >= local.partitions.length) return undefined;
    this.seedLocalTopic(local);
    return this.byTopic.get(topic)?.[index];
  }

  /** Leader, epoch, replicas, ISR and offline replicas of a partition, for Metadata. */
  describePartition(topic: string, index: number): PartitionView | undefined {
    this.partition(topic, index);
    return this.metadata.partition(topic, index);
  }

  /**
   * The partition when this broker leads it at `currentLeaderEpoch` (-1: any epoch); throws
   * the error Kafka answers otherwise, with the current leader attached.
   */
  leaderPartition(topic: string, index: number, currentLeaderEpoch = -1): Partition {
    const partition = this.partition(topic, index);
    if (partition === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host ${topic}-${index}`);
    const code = partition.checkLeader(currentLeaderEpoch);
    if (code !== ErrorCode.NONE) {
      const state = partition.state;
      const message =
        code === ErrorCode.NOT_LEADER_OR_FOLLOWER
          ? `Broker ${this.nodeId} is not the leader of ${topic}-${index} (leader ${state.leader}, epoch ${state.leaderEpoch})`
          : `Leader epoch ${currentLeaderEpoch} of ${topic}-${index} does not match the current epoch ${state.leaderEpoch}`;
      throw new NotLeaderError(code, message, state.leader, state.leaderEpoch);
    }
    return partition;
  }

  /**
   * A client's append: leadership and min.insync.replicas checked, the batches stamped with
   * the leader epoch, and for acks=all the answer held until the high watermark passes the
   * last offset (or the request times out, or leadership moves).
   */
  appendRecords(topic: Topic, index: number, records: Buffer, acks: number, timeoutMs: number, nowMs: number): AppendResult | Promise<AppendResult> {
    const partition = this.leaderPartition(topic.name, index);
    // Resolved with the log's config (and again on every topic or broker config change), not per append.
    const minIsr = acks === -1 ? partition.log.logConfig.minInsyncReplicas : 1;
    if (acks === -1) partition.checkMinIsr(minIsr);
    const appended = partition.log.append(records, nowMs);
    if (appended instanceof Promise) return appended.then((result) => this.appended(partition, result, acks, minIsr, timeoutMs));
    return this.appended(partition, appended, acks, minIsr, timeoutMs);
  }

  /** After a client's append: the high watermark moves, and acks=all waits for it to pass the batch. */
  private appended(partition: Partition, result: AppendResult, acks: number, minIsr: number, timeoutMs: number): AppendResult | Promise<AppendResult> {
    partition.afterAppend();
    if (acks !== -1 || partition.highWatermark > result.lastOffset) return result;
    return partition.waitForReplication(result.lastOffset, timeoutMs).then((code) => {
      if (code === ErrorCode.NONE && partition.state.isr.length < minIsr) code = ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
      if (code === ErrorCode.NONE) return result;
      const state = partition.state;
      throw new NotLeaderError(
        code,
        `${partition.topic}-${partition.index}: the write at ${result.baseOffset} was not replicated to the ISR (error ${code})`,
        state.leader,
        state.leaderEpoch,
      );
    });
  }

  // ---- coordinators (their internal topics' partitions) ----

  /**
   * Follows this broker's leadership of `topic`'s partitions: `listener(index, epoch)` now for
   * each one it leads, then on every change (a new leader epoch counts as a new leadership);
   * `listener(index, undefined)` when it stops leading one. Returns the unsubscribe function.
   */
  onLeadership(topic: string, listener: LeadershipListener): () => void {
    let listeners = this.leadershipListeners.get(topic);
    if (listeners === undefined) this.leadershipListeners.set(topic, (listeners = new Set()));
    listeners.add(listener);
    for (const partition of this.partitions.values()) {
      if (partition.topic !== topic || !partition.isLeader) continue;
      this.announcedLeadership.set(key(topic, partition.index), partition.leaderEpoch);
      listener(partition.index, partition.leaderEpoch);
    }
    return () => listeners.delete(listener);
  }

  private announceLeadership(partition: Partition, leading: boolean): void {
    const listeners = this.leadershipListeners.get(partition.topic);
    if (listeners === undefined || listeners.size === 0) return;
    const name = key(partition.topic, partition.index);
    const before = this.announcedLeadership.get(name);
    const now = leading ? partition.leaderEpoch : undefined;
    if (before === now) return;
    if (now === undefined) this.announcedLeadership.delete(name);
    else this.announcedLeadership.set(name, now);
    for (const listener of [...listeners]) {
      // A new epoch while still leading: the shard resigns first, then loads again.
      if (before !== undefined && now !== undefined) listener(partition.index, undefined);
      listener(partition.index, now);
    }
  }

  /**
   * A coordinator's write to a partition of its internal topic, as leader (Kafka's
   * AppendOrigin.COORDINATOR with acks=-1): leadership and min.insync.replicas are checked,
   * the batch is stamped with the leader epoch and appended; returns its last offset. The
   * caller answers once whenCommitted says the high watermark passed it.
   */
  appendAsCoordinator(topic: string, index: number, records: Buffer, nowMs: number): bigint {
    const partition = this.coordinatorPartition(topic, index);
    partition.log.appendFromCoordinator(records, nowMs);
    partition.afterAppend();
    // Appended synchronously: the batch ends at the log end.
    return partition.log.logEndOffset - 1n;
  }

  /** A COMMIT or ABORT marker written as leader (WriteTxnMarkers, or the coordinator's own partitions); returns its offset. */
  appendMarker(topic: string, index: number, producerId: bigint, producerEpoch: number, commit: boolean, nowMs: number): bigint {
    const partition = this.coordinatorPartition(topic, index);
    const offset = partition.log.appendMarker(producerId, producerEpoch, commit, nowMs);
    partition.afterAppend();
    return offset;
  }

  private coordinatorPartition(topic: string, index: number): Partition {
    const partition = this.leaderPartition(topic, index);
    // A single node's coordinators wrote to their own replica before there were clusters:
    // min.insync.replicas applies only where there are other replicas.
    if (this.clustered) {
      const configs = this.store.topic(topic)?.configs ?? this.logs.topic(topic)?.configs ?? {};
      partition.checkMinIsr(topicConfigValue('min.insync.replicas', configs, this.config) as number);
    }
    return partition;
  }

  /**
   * NONE once the high watermark of a partition this broker leads has passed `offset` (at
   * once when it has, so a single node answers in the same turn), else a promise of NONE, of
   * NOT_LEADER_OR_FOLLOWER when leadership moves (or moved: `leaderEpoch` is no longer the
   * current one), or of REQUEST_TIMED_OUT after `timeoutMs`.
   */
  whenCommitted(topic: string, index: number, offset: bigint, timeoutMs: number, leaderEpoch?: number): number | Promise<number> {
    const partition = this.partition(topic, index);
    if (partition === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (!partition.isLeader || (leaderEpoch !== undefined && partition.leaderEpoch !== leaderEpoch)) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (partition.highWatermark > offset) return ErrorCode.NONE;
    return partition.waitForReplication(offset, timeoutMs);
  }

  /** A follower's fetch at the leader: its log-end offset is `fetchOffset`. */
  recordFollowerFetch(partition: Partition, replicaId: number, fetchOffset: bigint, nowMs: number): void {
    partition.recordFollowerFetch(replicaId, fetchOffset, nowMs);
  }

  /** Creates a topic in the cluster; resolves once the local replicas exist. Validation of names and configs is the caller's. */
  async createTopic(
    name: string,
    numPartitions: number,
    replicationFactor: number,
    assignments: ReadonlyArray<readonly number[]> | undefined,
    configs: Readonly<Record<string, string>>,
    id: Buffer,
  ): Promise<Topic> {
    const replicas = this.assign(name, 0, numPartitions, replicationFactor, assignments);
    const created = await this.store.createTopic(
      { name, id, replicas, configs: { ...configs } },
      replicas.map((set) => this.initialState(set)),
    );
    if (!created) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    const topic = this.logs.topic(name);
    if (topic === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `Topic ${name} was created but has no local log`);
    return topic;
  }

  /** The replica sets new partitions would get (throws INVALID_REPLICATION_FACTOR / INVALID_REPLICA_ASSIGNMENT). */
  assign(name: string, firstPartition: number, count: number, replicationFactor: number, assignments?: ReadonlyArray<readonly number[]>): number[][] {
    const registered = this.metadata.brokers();
    const brokers = registered.map((broker) => broker.nodeId);
    if (assignments !== undefined && assignments.length > 0) {
      checkAssignment(assignments, brokers);
      return assignments.map((set) => [...set]);
    }
    return placeReplicas(name, firstPartition, count, replicationFactor, brokers, new Map(registered.map((broker) => [broker.nodeId, broker.rack])));
  }

  async createPartitions(name: string, count: number, assignments?: ReadonlyArray<readonly number[]>): Promise<void> {
    const assignment = this.store.topic(name);
    if (assignment === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
    const current = assignment.replicas.length;
    // The replication factor of partition 0 as it is now (a reassignment may have changed it).
    const factor = this.store.partitionState(name, 0)?.replicas.length ?? assignment.replicas[0]?.length ?? 1;
    const replicas = this.assign(name, current, count - current, factor, assignments);
    await this.store.addPartitions(
      name,
      replicas,
      replicas.map((set) => this.initialState(set)),
    );
  }

  /**
   * AlterConfigs on a topic: in a cluster the new overrides are written to the store (a
   * compare-and-set) and every broker, this one included, applies them from its watch;
   * a single node applies them to its own logs.
   */
  async alterTopicConfigs(name: string, update: ConfigUpdate): Promise<void> {
    if (this.clustered) return this.store.alterTopicConfigs(name, update);
    const topic = this.logs.topic(name);
    if (topic === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist`);
    this.logs.alterTopicConfigs(name, update(topic.configs));
  }

  /** AlterConfigs on the cluster-wide broker default (`--entity-default`): through the store in a cluster, as topic configs. */
  async alterClusterBrokerConfigs(update: ConfigUpdate): Promise<void> {
    if (this.clustered) return this.store.alterClusterBrokerConfigs(update);
    this.logs.alterBrokerConfigs('clusterDefault', update(Object.fromEntries(this.config.dynamic.clusterDefault)));
  }

  async deleteTopic(name: string): Promise<void> {
    if (!(await this.store.deleteTopic(name)) && this.logs.topic(name) !== undefined) this.logs.deleteTopic(name);
    await this.logs.metadataWritten(); // topics.json without it is on disk (one write for a whole DeleteTopics)
  }

  /** Partitions this broker follows whose leader is `leaderId`, ready to fetch (not truncating). */
  followedFrom(leaderId: number): Partition[] {
    const result: Partition[] = [];
    for (const [name, partition] of this.partitions) {
      if (partition.state.leader === leaderId && partition.state.replicas.includes(this.nodeId) && !this.truncating.has(name) && !this.pendingEpochCheck.has(name)) {
        result.push(partition);
      }
    }
    return result;
  }

  topicId(topic: string): Buffer | undefined {
    return this.store.topic(topic)?.id;
  }

  topicName(id: Buffer): string | undefined {
    return this.logs.topicById(id)?.name;
  }

  // ---- IsrWriter ----

  writeIsr(partition: Partition, isr: readonly number[]): void {
    const state = partition.state;
    const name = key(partition.topic, partition.index);
    // Over etcd the new state arrives a round trip later; until then every follower fetch
    // would ask for the same change again.
    if (this.isrWrites.has(name)) return;
    const logChange = (version: number | undefined) => {
      if (version !== undefined) this.logger.info(`${partition.topic}-${partition.index}: ISR [${state.isr.join(',')}] -> [${isr.join(',')}] at leader epoch ${state.leaderEpoch}`);
    };
    const written = this.store.compareAndSetPartition(partition.topic, partition.index, state.version, { ...state, isr });
    if (!(written instanceof Promise)) return logChange(written);
    this.isrWrites.add(name);
    written
      .then(logChange, (error: unknown) => this.logger.warn(`${partition.topic}-${partition.index}: the ISR change to [${isr.join(',')}] failed: ${(error as Error).message}`))
      .finally(() => this.isrWrites.delete(name));
  }

  // ---- store events ----

  private onEvent(event: MetadataEvent): void {
    if (!this.running) return;
    switch (event.kind) {
      case 'brokers':
        if (this.isController) {
          electLeaders(this.store, this.logger, (topic) => this.uncleanElectionEnabled(topic.name)).catch((error: unknown) =>
            this.logger.warn(`Leader election failed: ${(error as Error).message}`),
          );
        }
        break;
      case 'topic-created':
      case 'partitions-added':
        this.openTopic(event.topic);
        break;
      case 'topic-configs':
        this.applyTopicConfigs(event.topic);
        break;
      case 'broker-configs':
        this.applyClusterBrokerConfigs();
        break;
      case 'topic-deleted':
        for (const [name, partition] of this.partitions) {
          if (partition.topic !== event.topic) continue;
          partition.failWaiters(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          this.announceLeadership(partition, false);
          this.partitions.delete(name);
          this.byTopic.delete(event.topic);
        }
        if (this.logs.topic(event.topic) !== undefined) this.logs.deleteTopic(event.topic);
        break;
      case 'partition-state': {
        const partition = this.partitions.get(key(event.topic, event.partition));
        const state = this.store.partitionState(event.topic, event.partition);
        if (partition === undefined || state === undefined) break;
        const wasReplica = partition.state.replicas.includes(this.nodeId);
        if (wasReplica && !state.replicas.includes(this.nodeId)) {
          this.removeReplica(partition, state);
          break;
        }
        const change = partition.applyState(state, Date.now());
        this.announceLeadership(partition, partition.isLeader);
        if (change.becameLeader) this.logger.debug(`${partition.topic}-${partition.index}: leader at epoch ${state.leaderEpoch}, ISR [${state.isr.join(',')}]`);
        // A replica added by a reassignment may hold an old copy: it checks for divergence first, like a new follower.
        if (change.becameFollower || (!wasReplica && !partition.isLeader && state.replicas.includes(this.nodeId))) this.truncate(partition);
        // The controller completes a reassignment once its added replicas are in the ISR (after this event, not inside it).
        if (this.isController && reassigning(state)) queueMicrotask(() => void completeReassignment(this.store, event.topic, event.partition, this.logger));
        break;
      }
    }
    this.refreshFetchers();
  }

  /** The store's overrides of a topic become this broker's (retention, segments, cleanup, min.insync.replicas...). */
  private applyTopicConfigs(name: string): void {
    const configs = this.store.topic(name)?.configs;
    const topic = this.logs.topic(name);
    if (configs === undefined || topic === undefined || sameConfigs(configs, topic.configs)) return;
    this.logs.alterTopicConfigs(name, configs);
    this.logger.info(`Topic ${name} configs are now ${JSON.stringify(configs)}`);
    // Kafka's controller elects at once when unclean.leader.election.enable is turned on for a topic with offline partitions.
    if (this.isController && this.uncleanElectionEnabled(name)) this.electAfterConfigChange();
  }

  /** The store's cluster-wide dynamic broker configs become this broker's `--entity-default` layer. */
  private applyClusterBrokerConfigs(): void {
    const configs = this.store.clusterBrokerConfigs();
    if (configs === undefined || sameConfigs(configs, Object.fromEntries(this.config.dynamic.clusterDefault))) return;
    this.logs.alterBrokerConfigs('clusterDefault', configs);
    this.logger.info(`Cluster-wide broker configs are now ${JSON.stringify(configs)}`);
    if (this.running && this.isController) this.electAfterConfigChange();
  }

  private electAfterConfigChange(): void {
    electLeaders(this.store, this.logger, (topic) => this.uncleanElectionEnabled(topic.name)).catch((error: unknown) =>
      this.logger.warn(`Leader election failed: ${(error as Error).message}`),
    );
  }

  private openTopic(name: string): void {
    const assignment = this.store.topic(name);
    if (assignment === undefined) return;
    let topic = this.logs.topic(name);
    // Configs altered while this broker was away: the store's are the cluster's.
    if (topic !== undefined && topic.id.equals(assignment.id) && !sameConfigs(topic.configs, assignment.configs)) this.logs.alterTopicConfigs(name, assignment.configs);
    if (topic !== undefined && !topic.id.equals(assignment.id)) {
      this.logger.warn(`Topic ${name} in ${this.logs.dataDir} has another ID than the cluster's; replacing its local replicas`);
      this.logs.deleteTopic(name);
      topic = undefined;
    }
    topic ??= this.logs.createTopic(name, assignment.replicas.length, assignment.configs, assignment.id);
    if (topic.partitions.length < assignment.replicas.length) topic = this.logs.createPartitions(name, assignment.replicas.length);
    const now = Date.now();
    for (let index = 0; index < assignment.replicas.length; index++) {
      const name = key(topic.name, index);
      if (this.partitions.has(name)) continue;
      const state = this.store.partitionState(topic.name, index)!;
      let log = topic.partitions[index]!;
      // A replica moved away while this broker was stopped: its data goes, as after a StopReplica with delete.
      if (this.clustered && !state.replicas.includes(this.nodeId) && log.logEndOffset > 0n) {
        this.logger.info(`${topic.name}-${index}: this broker is no longer one of its replicas [${state.replicas.join(',')}]; deleting its local data`);
        log = this.logs.deleteReplicaData(topic.name, index);
      }
      if (state.replicas.length > 1) log.setHighWatermark(this.checkpoint.get(name) ?? log.logStartOffset);
      const partition = new Partition(topic.name, index, log, this.nodeId, state, this, now);
      this.putPartition(partition);
      if (!partition.isLeader && state.replicas.includes(this.nodeId)) this.truncate(partition);
      if (partition.isLeader) this.announceLeadership(partition, true);
    }
  }

  /**
   * This broker left the partition's replica set (a reassignment completed; Kafka's
   * StopReplica with delete): parked produces are answered NOT_LEADER_OR_FOLLOWER, the
   * fetcher no longer asks for it, and the local data is deleted in the background; an empty
   * log takes its place, as on every broker without a replica.
   */
  private removeReplica(partition: Partition, state: PartitionState): void {
    const name = key(partition.topic, partition.index);
    partition.failWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.pendingEpochCheck.delete(name);
    const remove = () => {
      if (!this.running || this.partitions.get(name) !== partition) return;
      const current = this.store.partitionState(partition.topic, partition.index) ?? state;
      if (current.replicas.includes(this.nodeId)) return; // added back meanwhile
      const log = this.logs.deleteReplicaData(partition.topic, partition.index);
      this.putPartition(new Partition(partition.topic, partition.index, log, this.nodeId, current, this, Date.now()));
      this.logger.info(`${partition.topic}-${partition.index}: this broker is no longer one of its replicas [${current.replicas.join(',')}]; its local data is deleted`);
    };
    // A truncation under way finishes first: it holds the old log.
    const truncation = this.truncating.get(name);
    if (truncation !== undefined) void truncation.then(remove);
    else remove();
  }

  /**
   * A replica that becomes a follower must first find where its log and the new leader's
   * diverge (KIP-101): its fetcher asks the leader OffsetForLeaderEpoch for the end of this
   * replica's latest epoch, and the log is truncated there before fetching resumes.
   */
  private truncate(partition: Partition): void {
    if (!partition.state.replicas.includes(this.nodeId)) return; // no replica here: nothing to follow
    this.pendingEpochCheck.add(key(partition.topic, partition.index));
  }

  /** Followed partitions from `leaderId` that still need their divergence check. */
  pendingFrom(leaderId: number): Partition[] {
    const result: Partition[] = [];
    for (const name of this.pendingEpochCheck) {
      const partition = this.partitions.get(name);
      if (partition === undefined || partition.isLeader) {
        this.pendingEpochCheck.delete(name);
        continue;
      }
      if (partition.state.leader === leaderId && !this.truncating.has(name)) result.push(partition);
    }
    return result;
  }

  /**
   * The leader's answer for `partition`: the end offset of this replica's latest epoch there
   * (epoch -1: the leader knows no such epoch, so the high watermark is the safe point).
   */
  completeEpochCheck(partition: Partition, leaderEpoch: number, endOffset: bigint): void {
    const name = key(partition.topic, partition.index);
    if (!this.pendingEpochCheck.delete(name)) return;
    const end = partition.log.logEndOffset;
    let target = leaderEpoch < 0 || endOffset < 0n ? partition.highWatermark : endOffset;
    if (target > end) target = end;
    if (target >= end) return;
    this.logger.info(`${partition.topic}-${partition.index}: truncating the divergent tail from ${target} (log end ${end}) to follow broker ${partition.state.leader}`);
    const run = partition
      .truncateTo(target, Date.now())
      .catch((error: unknown) => this.logger.warn(`Truncation of ${partition.topic}-${partition.index} to ${target} failed: ${(error as Error).message}`))
      .finally(() => {
        if (this.truncating.get(name) === run) this.truncating.delete(name);
        this.refreshFetchers();
      });
    this.truncating.set(name, run);
  }

  private putPartition(partition: Partition): void {
    this.partitions.set(key(partition.topic, partition.index), partition);
    let byIndex = this.byTopic.get(partition.topic);
    if (byIndex === undefined) this.byTopic.set(partition.topic, (byIndex = []));
    byIndex[partition.index] = partition;
  }

  private initialState(replicas: readonly number[]): Omit<PartitionState, 'version'> & { version: number } {
    const live = replicas.filter((id) => this.metadata.isLive(id));
    return { leader: live[0] ?? -1, leaderEpoch: 0, replicas: [...replicas], isr: live.length > 0 ? live : [...replicas], version: 0 };
  }

  /**
   * A single node's local topic enters its private store with this node as the only replica
   * (the in-process store applies the change before its promise settles).
   */
  private seedLocalTopic(topic: Topic): void {
    const self = [this.nodeId];
    const known = this.store.topic(topic.name);
    const states = (from: number) => topic.partitions.slice(from).map(() => ({ leader: this.nodeId, leaderEpoch: 0, replicas: self, isr: self, version: 0 }));
    if (known === undefined) {
      void this.store.createTopic({ name: topic.name, id: topic.id, replicas: topic.partitions.map(() => self), configs: topic.configs }, states(0));
    } else if (known.replicas.length < topic.partitions.length) {
      void this.store.addPartitions(
        topic.name,
        topic.partitions.slice(known.replicas.length).map(() => self),
        states(known.replicas.length),
      );
    }
    if (!this.running) return;
    this.openTopic(topic.name);
  }

  private refreshFetchers(): void {
    if (!this.running) return;
    const leaders = new Set<number>();
    for (const [name, partition] of this.partitions) {
      const { leader, replicas } = partition.state;
      if (leader < 0 || leader === this.nodeId || !replicas.includes(this.nodeId) || this.truncating.has(name)) continue;
      leaders.add(leader);
    }
    for (const [leaderId, fetcher] of this.fetchers) {
      const endpoint = this.metadata.endpoint(leaderId);
      if (!leaders.has(leaderId) || endpoint === undefined || !fetcher.targets(endpoint)) {
        fetcher.stop();
        this.fetchers.delete(leaderId);
      }
    }
    for (const leaderId of leaders) {
      if (this.fetchers.has(leaderId)) {
        this.fetchers.get(leaderId)!.wake();
        continue;
      }
      const endpoint = this.metadata.endpoint(leaderId);
      if (endpoint === undefined) continue;
      const fetcher = new ReplicaFetcher(this, leaderId, endpoint, this.config, this.logger);
      this.fetchers.set(leaderId, fetcher);
      fetcher.start();
    }
  }

  private tick(): void {
    const now = Date.now();
    const lag = this.lagTimeMaxMs;
    for (const partition of this.partitions.values()) partition.shrinkIsr(now, lag);
    if (now - this.lastCheckpointMs >= CHECKPOINT_INTERVAL_MS) this.writeCheckpoint();
    this.maybeRebalance(now);
  }

  get isController(): boolean {
    return this.clustered && this.store.controllerId() === this.nodeId;
  }

  /** unclean.leader.election.enable of a topic (its override, else the broker's default). */
  uncleanElectionEnabled(topic: string): boolean {
    const configs = this.logs.topic(topic)?.configs ?? this.store.topic(topic)?.configs ?? {};
    return topicConfigValue('unclean.leader.election.enable', configs, this.config) === true;
  }

  /** auto.leader.rebalance.enable: every leader.imbalance.check.interval.seconds, on the controller. */
  private maybeRebalance(now: number): void {
    if (!this.isController || brokerConfigValue('auto.leader.rebalance.enable', this.config) !== true) return;
    const intervalMs = Number(brokerConfigValue('leader.imbalance.check.interval.seconds', this.config) as bigint) * 1000;
    if (now - this.lastRebalanceMs < intervalMs) return;
    this.lastRebalanceMs = now;
    const percentage = brokerConfigValue('leader.imbalance.per.broker.percentage', this.config) as number;
    void rebalanceLeaders(this.store, percentage, this.logger).then((moved) => {
      if (moved > 0) this.logger.info(`auto.leader.rebalance.enable: ${moved} partition(s) led by their preferred replica again`);
    });
  }

  /** Kafka's replication-offset-checkpoint: version 0, the entry count, then "topic partition offset" lines. */
  private writeCheckpoint(): void {
    this.lastCheckpointMs = Date.now();
    const lines: string[] = [];
    for (const partition of this.partitions.values()) {
      if (partition.replicated) lines.push(`${partition.topic} ${partition.index} ${partition.highWatermark}`);
    }
    if (lines.length === 0) return;
    try {
      writeFileDurably(join(this.logs.dataDir, CHECKPOINT_FILE), `0\n${lines.length}\n${lines.join('\n')}\n`);
    } catch (error) {
      this.logger.warn(`Could not write ${join(this.logs.dataDir, CHECKPOINT_FILE)}: ${(error as Error).message}`);
    }
  }

  private readCheckpoint(): Map<string, bigint> {
    const path = join(this.logs.dataDir, CHECKPOINT_FILE);
    const result = new Map<string, bigint>();
    if (!existsSync(path)) return result;
    try {
      const lines = readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line !== '');
      if (lines[0] !== '0') throw new Error(`unknown version ${lines[0]}`);
      for (const line of lines.slice(2)) {
        const [topic, partition, offset] = line.split(' ');
        if (topic !== undefined && partition !== undefined && offset !== undefined) result.set(key(topic, Number(partition)), BigInt(offset));
      }
    } catch (error) {
      // Without it the high watermarks start at the log start: followers refetch, nothing is lost.
      this.logger.warn(`Ignoring ${path}: ${(error as Error).message}`);
    }
    return result;
  }
}
