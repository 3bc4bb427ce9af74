// The share coordinator (KIP-932; Kafka's ShareCoordinatorService and ShareCoordinatorShard):
// it keeps the persisted state of share-partitions in __share_group_state, and answers the
// share-partition leaders' InitializeShareGroupState, ReadShareGroupState,
// WriteShareGroupState, DeleteShareGroupState and ReadShareGroupStateSummary (83-87) for the
// keys "group:topicId:partition" of the partitions this broker leads. Each partition is a
// shard (coordinator-shards.ts): replayed when this broker becomes its leader
// (COORDINATOR_LOAD_IN_PROGRESS meanwhile), dropped when it resigns (NOT_COORDINATOR); every
// write is answered once the high watermark passed it.
//
// Records as Kafka 4.3 writes them: a ShareSnapshot when a share-partition is initialised,
// then ShareUpdates with the batches each write carries, and a new ShareSnapshot (the merged
// state, snapshot epoch + 1) once share.coordinator.snapshot.update.records.per.snapshot
// updates followed the last one. A read by a share-partition leader with a newer leader
// epoch writes an update recording that epoch, which fences the previous leader's writes
// (FENCED_LEADER_EPOCH); InitializeShareGroupState with a newer state epoch (an admin reset)
// fences writes carrying an older one (FENCED_STATE_EPOCH). Every
// share.coordinator.state.topic.prune.interval.ms the records older than each key's last
// snapshot are deleted, and share-partitions left with updates after their snapshot are
// snapshotted again every share.coordinator.cold.partition.snapshot.interval.ms, so that
// the pruning point moves.
//
// A single node holds every shard (loaded at start). Its data directory may hold the topic
// as Spate wrote it before (compacted, snapshots only, keys placed by hash & 0x7fffffff):
// the topic's configs become Kafka's and misplaced keys move, both logged.

import { type BrokerConfig } from '../config/broker-config.js';
import { CoordinatorShards } from '../cluster/coordinator-shards.js';
import { coordinatorWriteError } from '../cluster/coordinator-log.js';
import { then, type MaybePromise } from '../cluster/maybe-async.js';
import { type TopicCatalog } from '../cluster/metadata.js';
import { InProcessMetadataStore } from '../cluster/metadata-store.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { newTopicId, type LogManager } from '../log/log-manager.js';
import { type Logger } from '../logger.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type StateBatch } from './share-partition.js';
import { combineStateBatches } from './share-state-batches.js';
import { SHARE_STATE_TOPIC, ShareStateLog, shareCoordinatorKey, shareStateTopicConfigs } from './share-state-log.js';
import {
  encodeShareSnapshotValue,
  encodeShareStateKey,
  encodeShareUpdateValue,
  SHARE_SNAPSHOT_KEY,
  SHARE_UPDATE_KEY,
  type ShareSnapshotValue,
  type ShareStateKey,
  type ShareUpdateValue,
} from './share-state-records.js';

/** Which share-partition (group, topic, partition). */
export interface SharePartitionId {
  readonly groupId: string;
  readonly topicId: Buffer;
  readonly partition: number;
}

export interface ShareStateResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface ReadStateResult extends ShareStateResult {
  readonly stateEpoch: number;
  readonly startOffset: bigint;
  readonly stateBatches: readonly StateBatch[];
}

export interface StateSummary extends ShareStateResult {
  readonly stateEpoch: number;
  readonly leaderEpoch: number;
  readonly startOffset: bigint;
  readonly deliveryCompleteCount: number;
}

export interface WriteStateRequest {
  readonly stateEpoch: number;
  readonly leaderEpoch: number;
  /** -1: the start offset does not change. */
  readonly startOffset: bigint;
  /** -1: unknown (WriteShareGroupState v0). */
  readonly deliveryCompleteCount: number;
  readonly stateBatches: readonly StateBatch[];
}

/** What the coordinator knows of one share-partition (Kafka's ShareGroupOffset and epoch maps). */
interface ShareState {
  readonly id: SharePartitionId;
  snapshotEpoch: number;
  stateEpoch: number;
  /** The leader epoch of the last record. */
  leaderEpoch: number;
  /** The highest leader epoch seen: writes and reads below it are fenced. */
  fenceLeaderEpoch: number;
  startOffset: bigint;
  deliveryCompleteCount: number;
  createTimestamp: bigint;
  writeTimestamp: bigint;
  batches: StateBatch[];
  /** ShareUpdate records since the last ShareSnapshot. */
  updates: number;
  /** Offset of the last ShareSnapshot: everything before it is redundant for this key. */
  snapshotOffset: bigint;
  lastWriteMs: number;
}

const UNINITIALIZED_START_OFFSET = -1n;

const OK: ShareStateResult = Object.freeze({ errorCode: ErrorCode.NONE, errorMessage: null });
const ok = (): ShareStateResult => OK;
const failed = (errorCode: number, errorMessage: string | null = null): ShareStateResult => ({ errorCode, errorMessage });

/** Key strings of the ids passed in; a share-partition leader passes the same object every time. */
const keys = new WeakMap<SharePartitionId, string>();

function keyOf(id: SharePartitionId): string {
  let key = keys.get(id);
  if (key === undefined) keys.set(id, (key = `${id.groupId}\u0000${id.topicId.toString('hex')}\u0000${id.partition}`));
  return key;
}

export class ShareCoordinator {
  readonly shards: CoordinatorShards;
  readonly log: ShareStateLog;
  /** shard -> key -> state */
  private readonly states = new Map<number, Map<string, ShareState>>();
  /** Records found in a partition their key does not belong to (data of an older Spate), by key. */
  private readonly misplaced = new Map<string, { shard: number; state: ShareState }>();
  private readonly updatesPerSnapshot: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private unwatch: (() => void) | undefined;
  private creating: Promise<void> | undefined;
  /** Placements of the ids passed in (the hash of the key is computed once per share-partition leader's id). */
  private readonly placements = new WeakMap<SharePartitionId, { shard: number; count: number }>();
  private readonly topicNames = new WeakMap<SharePartitionId, string>();
  /** Encoded record keys of the ids passed in. */
  private readonly recordKeys = new WeakMap<SharePartitionId, { snapshot: Buffer; update: Buffer }>();

  constructor(
    private readonly replicas: ReplicaManager,
    private readonly logs: LogManager,
    private readonly catalog: TopicCatalog,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {
    this.log = new ShareStateLog(replicas, logs, config, logger);
    this.updatesPerSnapshot = config.values.get('share.coordinator.snapshot.update.records.per.snapshot') as number;
    this.shards = new CoordinatorShards(
      SHARE_STATE_TOPIC,
      replicas,
      { loadShard: async (index, _epoch, current) => void (await this.loadShard(index, current)), unloadShard: (index) => this.states.delete(index) },
      logger,
      'Share coordinator',
    );
  }

  /** The __share_group_state partition of a share-partition. */
  partitionOf(id: SharePartitionId): number {
    const count = this.log.topic.partitionCount;
    const cached = this.placements.get(id);
    if (cached !== undefined && cached.count === count) return cached.shard;
    const shard = this.log.partitionOf(id.groupId, id.topicId, id.partition);
    this.placements.set(id, { shard, count });
    return shard;
  }

  /** NONE when this broker serves the share-partition's key, else NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS or COORDINATOR_NOT_AVAILABLE. */
  coordinatorError(id: SharePartitionId): number {
    const code = this.shards.error(this.partitionOf(id));
    if (code === ErrorCode.COORDINATOR_NOT_AVAILABLE) this.ensureTopic();
    return code;
  }

  /**
   * Creates __share_group_state in a cluster on first use, as Kafka creates it on the first
   * FindCoordinator for a share key: share.coordinator.state.topic.replication.factor
   * replicas, at most the brokers of a one-process cluster (as its other internal topics);
   * a cluster on etcd waits until that many brokers are live.
   */
  ensureTopic(): void {
    if (!this.replicas.clustered || this.creating !== undefined || this.replicas.store.topic(SHARE_STATE_TOPIC) !== undefined) return;
    const configured = this.config.values.get('share.coordinator.state.topic.replication.factor') as number;
    const live = this.replicas.store.brokers().length;
    const factor = this.replicas.store instanceof InProcessMetadataStore ? Math.min(configured, live) : configured;
    if (factor > live) {
      this.logger.debug(`${SHARE_STATE_TOPIC} waits for ${factor} live brokers (share.coordinator.state.topic.replication.factor); ${live} are live`);
      return;
    }
    const partitions = this.config.values.get('share.coordinator.state.topic.num.partitions') as number;
    this.creating = this.replicas
      .createTopic(SHARE_STATE_TOPIC, partitions, factor, undefined, shareStateTopicConfigs(this.config, factor), newTopicId())
      .then(
        () => this.logger.info(`Created ${SHARE_STATE_TOPIC} with ${partitions} partitions, replication factor ${factor}`),
        (error: unknown) => {
          // Another broker created it first.
          if (!/already exists/.test((error as Error).message)) this.logger.warn(`Creating ${SHARE_STATE_TOPIC} failed: ${(error as Error).message}`);
        },
      )
      .finally(() => {
        this.creating = undefined;
      });
  }

  // ---- the five operations ---------------------------------------------------------------

  /** InitializeShareGroupState: a new state epoch and start offset, no batches (a ShareSnapshot). */
  initialize(id: SharePartitionId, stateEpoch: number, startOffset: bigint, nowMs: number): MaybePromise<ShareStateResult> {
    const refused = this.check(id);
    if (refused !== undefined) return refused;
    const shard = this.partitionOf(id);
    const current = this.shard(shard).get(keyOf(id));
    if (current !== undefined && current.stateEpoch > stateEpoch) {
      return failed(ErrorCode.FENCED_STATE_EPOCH, `Initialize request state epoch is smaller than last recorded current: ${current.stateEpoch}, requested: ${stateEpoch}.`);
    }
    return this.append(shard, id, {
      kind: 'snapshot',
      value: {
        snapshotEpoch: current === undefined ? 0 : current.snapshotEpoch + 1,
        stateEpoch,
        leaderEpoch: -1,
        startOffset,
        deliveryCompleteCount: startOffset < 0n ? -1 : 0,
        createTimestamp: BigInt(nowMs),
        writeTimestamp: BigInt(nowMs),
        stateBatches: [],
      },
    });
  }

  /** ReadShareGroupState: the state for a share-partition leader; a newer leader epoch is recorded first (fencing the previous leader). */
  read(id: SharePartitionId, leaderEpoch: number, nowMs: number): MaybePromise<ReadStateResult> {
    const answer = (result: ShareStateResult, state?: ShareState): ReadStateResult => ({
      ...result,
      stateEpoch: state?.stateEpoch ?? 0,
      startOffset: state?.startOffset ?? UNINITIALIZED_START_OFFSET,
      stateBatches: state === undefined ? [] : combineStateBatches([], state.batches, state.startOffset),
    });
    const refused = this.check(id);
    if (refused !== undefined) return answer(refused);
    const shard = this.partitionOf(id);
    const state = this.shard(shard).get(keyOf(id));
    if (state === undefined) return answer(failed(ErrorCode.INVALID_REQUEST, `Read on uninitialized share partition ${shareCoordinatorKey(id.groupId, id.topicId, id.partition)}`));
    if (leaderEpoch !== -1 && state.fenceLeaderEpoch > leaderEpoch) {
      return answer(
        failed(ErrorCode.FENCED_LEADER_EPOCH, `Read request leader epoch is smaller than last recorded current: ${state.fenceLeaderEpoch}, requested: ${leaderEpoch}.`),
      );
    }
    if (leaderEpoch === -1 || state.fenceLeaderEpoch === leaderEpoch) {
      // Nothing to write: answered once what was written before is committed.
      return then(this.committed(shard), (code) => answer(code === ErrorCode.NONE ? ok() : failed(code), state));
    }
    this.logger.debug(`Share coordinator: ${shareCoordinatorKey(id.groupId, id.topicId, id.partition)} read at the new leader epoch ${leaderEpoch}`);
    const written = this.writeRecord(shard, id, state, { stateEpoch: -1, leaderEpoch, startOffset: state.startOffset, deliveryCompleteCount: -1, stateBatches: [] }, nowMs);
    return then(written, (result) => answer(result, state));
  }

  /** WriteShareGroupState: the batches that changed, laid over the state (a ShareUpdate, or a ShareSnapshot every N updates). */
  write(id: SharePartitionId, request: WriteStateRequest, nowMs: number): MaybePromise<ShareStateResult> {
    const refused = this.check(id);
    if (refused !== undefined) return refused;
    const shard = this.partitionOf(id);
    const state = this.shard(shard).get(keyOf(id));
    if (state === undefined) return failed(ErrorCode.INVALID_REQUEST, `Write on uninitialized share partition ${shareCoordinatorKey(id.groupId, id.topicId, id.partition)}`);
    if (request.leaderEpoch !== -1 && state.fenceLeaderEpoch > request.leaderEpoch) {
      return failed(
        ErrorCode.FENCED_LEADER_EPOCH,
        `Write request leader epoch is smaller than last recorded current: ${state.fenceLeaderEpoch}, requested: ${request.leaderEpoch}.`,
      );
    }
    if (request.stateEpoch !== -1 && state.stateEpoch > request.stateEpoch) {
      return failed(ErrorCode.FENCED_STATE_EPOCH, `Write request state epoch is smaller than last recorded current: ${state.stateEpoch}, requested: ${request.stateEpoch}.`);
    }
    return this.writeRecord(shard, id, state, request, nowMs);
  }

  /** DeleteShareGroupState: tombstones; deleting what does not exist succeeds. */
  delete(id: SharePartitionId): MaybePromise<ShareStateResult> {
    const refused = this.check(id);
    if (refused !== undefined) return refused;
    const shard = this.partitionOf(id);
    if (!this.shard(shard).has(keyOf(id))) return then(this.committed(shard), (code) => (code === ErrorCode.NONE ? ok() : failed(code)));
    return this.append(shard, id, { kind: 'tombstone' });
  }

  /** ReadShareGroupStateSummary: start offset and epochs (start offset -1 when the share-partition has no state). */
  summary(id: SharePartitionId): MaybePromise<StateSummary> {
    const answer = (result: ShareStateResult, state?: ShareState): StateSummary => ({
      ...result,
      stateEpoch: state?.stateEpoch ?? 0,
      leaderEpoch: state?.leaderEpoch ?? 0,
      startOffset: state?.startOffset ?? UNINITIALIZED_START_OFFSET,
      deliveryCompleteCount: state?.deliveryCompleteCount ?? -1,
    });
    const refused = this.check(id);
    if (refused !== undefined) return answer(refused);
    const shard = this.partitionOf(id);
    const state = this.shard(shard).get(keyOf(id));
    return then(this.committed(shard), (code) => answer(code === ErrorCode.NONE ? ok() : failed(code), state));
  }

  /** The share-partitions of a group with state in the shards this broker serves (a single node: all of them). */
  sharePartitionsOf(groupId: string): SharePartitionId[] {
    const found: SharePartitionId[] = [];
    for (const shard of this.states.values()) for (const state of shard.values()) if (state.id.groupId === groupId) found.push(state.id);
    return found;
  }

  /** Groups with state in the shards this broker serves. */
  groupIds(): Set<string> {
    const found = new Set<string>();
    for (const shard of this.states.values()) for (const state of shard.values()) found.add(state.id.groupId);
    return found;
  }

  // ---- writing ----------------------------------------------------------------------------

  /** The request's problem before any state is looked at (coordinator, topic), or undefined. */
  private check(id: SharePartitionId): ShareStateResult | undefined {
    if (id.partition < 0) return failed(ErrorCode.INVALID_REQUEST, 'The partition id cannot be a negative number.');
    const coordinator = this.coordinatorError(id);
    if (coordinator !== ErrorCode.NONE) return failed(coordinator);
    // The topic's name as found last time for this id: a lookup by name costs nothing new.
    const known = this.topicNames.get(id);
    const assignment = known === undefined ? undefined : this.replicas.store.topic(known);
    if (assignment !== undefined && assignment.id.equals(id.topicId) && id.partition < assignment.replicas.length) return undefined;
    const topic = this.catalog.topicInfoById(id.topicId);
    if (topic === undefined || id.partition >= topic.partitionCount) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Topic/TopicPartition not found in metadata image.');
    this.topicNames.set(id, topic.name);
    return undefined;
  }

  private writeRecord(shard: number, id: SharePartitionId, state: ShareState, request: WriteStateRequest, nowMs: number): MaybePromise<ShareStateResult> {
    if (state.updates >= this.updatesPerSnapshot) {
      const startOffset = request.startOffset === -1n ? state.startOffset : request.startOffset;
      return this.append(shard, id, {
        kind: 'snapshot',
        value: {
          snapshotEpoch: state.snapshotEpoch + 1,
          stateEpoch: request.stateEpoch === -1 ? state.stateEpoch : request.stateEpoch,
          leaderEpoch: request.leaderEpoch === -1 ? state.leaderEpoch : request.leaderEpoch,
          startOffset,
          deliveryCompleteCount: request.deliveryCompleteCount === -1 ? state.deliveryCompleteCount : request.deliveryCompleteCount,
          createTimestamp: state.createTimestamp,
          writeTimestamp: BigInt(nowMs),
          stateBatches: combineStateBatches(state.batches, request.stateBatches, startOffset),
        },
      });
    }
    return this.append(shard, id, {
      kind: 'update',
      value: {
        snapshotEpoch: state.snapshotEpoch,
        leaderEpoch: request.leaderEpoch,
        startOffset: request.startOffset,
        deliveryCompleteCount: request.deliveryCompleteCount,
        stateBatches: combineStateBatches([], request.stateBatches, request.startOffset),
      },
    });
  }

  /** Appends one record, applies it, and answers once it is committed. */
  private append(
    shard: number,
    id: SharePartitionId,
    change: { kind: 'snapshot'; value: ShareSnapshotValue } | { kind: 'update'; value: ShareUpdateValue } | { kind: 'tombstone' },
    nowMs = Date.now(),
  ): MaybePromise<ShareStateResult> {
    let keys = this.recordKeys.get(id);
    if (keys === undefined) {
      const key: ShareStateKey = id;
      this.recordKeys.set(id, (keys = { snapshot: encodeShareStateKey(SHARE_SNAPSHOT_KEY, key), update: encodeShareStateKey(SHARE_UPDATE_KEY, key) }));
    }
    const records =
      change.kind === 'snapshot'
        ? [{ key: keys.snapshot, value: encodeShareSnapshotValue(change.value) }]
        : change.kind === 'update'
          ? [{ key: keys.update, value: encodeShareUpdateValue(change.value) }]
          : [
              { key: keys.snapshot, value: null },
              { key: keys.update, value: null },
            ];
    let offset: bigint;
    try {
      offset = this.log.append(shard, records, nowMs);
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      return failed(coordinatorWriteError(error.kafkaCode), error.message);
    }
    // Applied at once, as Kafka's runtime does; the answer waits for the high watermark.
    const states = this.shard(shard);
    if (change.kind === 'tombstone') states.delete(keyOf(id));
    else if (change.kind === 'snapshot') this.applySnapshot(states, id, change.value, offset);
    else this.applyUpdate(states, id, change.value);
    const state = states.get(keyOf(id));
    if (state !== undefined) state.lastWriteMs = nowMs;
    return then(this.committed(shard), (code) => (code === ErrorCode.NONE ? ok() : failed(code)));
  }

  private committed(shard: number): MaybePromise<number> {
    return this.log.committed(shard, this.shards.epoch(shard));
  }

  private shard(index: number): Map<string, ShareState> {
    let states = this.states.get(index);
    if (states === undefined) this.states.set(index, (states = new Map()));
    return states;
  }

  private applySnapshot(states: Map<string, ShareState>, id: SharePartitionId, value: ShareSnapshotValue, offset: bigint): void {
    const before = states.get(keyOf(id));
    states.set(keyOf(id), {
      id: { groupId: id.groupId, topicId: id.topicId, partition: id.partition },
      snapshotEpoch: value.snapshotEpoch,
      stateEpoch: Math.max(value.stateEpoch, before?.stateEpoch ?? value.stateEpoch),
      leaderEpoch: value.leaderEpoch,
      fenceLeaderEpoch: Math.max(value.leaderEpoch, before?.fenceLeaderEpoch ?? -1),
      startOffset: value.startOffset,
      deliveryCompleteCount: value.deliveryCompleteCount,
      createTimestamp: value.createTimestamp,
      writeTimestamp: value.writeTimestamp,
      batches: combineStateBatches([], value.stateBatches, value.startOffset),
      updates: 0,
      snapshotOffset: offset,
      lastWriteMs: Date.now(),
    });
  }

  private applyUpdate(states: Map<string, ShareState>, id: SharePartitionId, value: ShareUpdateValue): void {
    const state = states.get(keyOf(id));
    if (state === undefined) {
      // An update without a snapshot before it (Kafka builds the state from it alone); the
      // next cold snapshot gives it one, so that pruning can pass it.
      this.applySnapshot(states, id, { ...value, stateEpoch: 0, createTimestamp: 0n, writeTimestamp: 0n }, -1n);
      states.get(keyOf(id))!.updates = 1;
      return;
    }
    const startOffset = value.startOffset === -1n ? state.startOffset : value.startOffset;
    state.batches = combineStateBatches(state.batches, value.stateBatches, startOffset);
    state.startOffset = startOffset;
    if (value.leaderEpoch !== -1) state.leaderEpoch = value.leaderEpoch;
    state.fenceLeaderEpoch = Math.max(state.fenceLeaderEpoch, value.leaderEpoch);
    if (value.deliveryCompleteCount !== -1) state.deliveryCompleteCount = value.deliveryCompleteCount;
    state.updates++;
  }

  // ---- loading -----------------------------------------------------------------------------

  /** A single node loads every local partition (and converts an older layout); a cluster's broker follows leadership. */
  async load(): Promise<void> {
    if (this.shards.clustered) {
      this.shards.start();
      this.startTimers();
      return;
    }
    let records = 0;
    for (const index of this.log.topic.localPartitions()) records += await this.loadShard(index, () => true);
    const count = [...this.states.values()].reduce((sum, shard) => sum + shard.size, 0);
    if (records > 0) this.logger.info(`Share coordinator: ${count} share-partition states loaded from ${records} records of ${SHARE_STATE_TOPIC}`);
    this.upgradeLocalTopic();
    this.startTimers();
  }

  /** Replays one partition: snapshots replace, updates merge, tombstones delete. Returns the record count. */
  private async loadShard(index: number, current: () => boolean): Promise<number> {
    const states = this.shard(index);
    states.clear();
    let records = 0;
    for await (const { offset, record } of this.log.replay(index)) {
      if (!current()) return records;
      records++;
      const id = record.key;
      let target = states;
      const home = this.partitionOf(id);
      if (home !== index) {
        // Placed by an older Spate: collected, moved once every shard is loaded (single node).
        const found = this.misplaced.get(keyOf(id));
        target = new Map(found === undefined ? [] : [[keyOf(id), found.state]]);
      }
      if (record.value === null) target.delete(keyOf(id));
      else if (record.kind === 'snapshot') this.applySnapshot(target, id, record.value, offset);
      else this.applyUpdate(target, id, record.value);
      if (home !== index) {
        const state = target.get(keyOf(id));
        if (state === undefined) this.misplaced.delete(keyOf(id));
        else this.misplaced.set(keyOf(id), { shard: index, state });
      }
    }
    return records;
  }

  /**
   * A single node's __share_group_state from an older Spate: compacted, and keys placed by
   * hash & 0x7fffffff where Kafka uses Utils.abs(hash). The configs become Kafka's and each
   * misplaced state is written where it belongs, then deleted where it was.
   */
  private upgradeLocalTopic(): void {
    const topic = this.logs.topic(SHARE_STATE_TOPIC);
    if (topic === undefined) return;
    const configs = shareStateTopicConfigs(this.config, 1);
    if (topic.configs['cleanup.policy'] !== configs['cleanup.policy']) {
      this.logs.alterTopicConfigs(SHARE_STATE_TOPIC, { ...topic.configs, ...configs });
      this.logger.info(`${SHARE_STATE_TOPIC}: configs changed to those of Kafka 4.3's share coordinator (${JSON.stringify(configs)}), written by an older Spate`);
    }
    if (this.misplaced.size === 0) return;
    const now = Date.now();
    let moved = 0;
    for (const { shard, state } of this.misplaced.values()) {
      const home = this.partitionOf(state.id);
      if (!this.shard(home).has(keyOf(state.id))) {
        this.append(
          home,
          state.id,
          {
            kind: 'snapshot',
            value: {
              snapshotEpoch: state.snapshotEpoch,
              stateEpoch: state.stateEpoch,
              leaderEpoch: state.leaderEpoch,
              startOffset: state.startOffset,
              deliveryCompleteCount: state.deliveryCompleteCount,
              createTimestamp: state.createTimestamp,
              writeTimestamp: BigInt(now),
              stateBatches: state.batches,
            },
          },
          now,
        );
        moved++;
      }
      this.log.append(
        shard,
        [
          { key: encodeShareStateKey(SHARE_SNAPSHOT_KEY, state.id), value: null },
          { key: encodeShareStateKey(SHARE_UPDATE_KEY, state.id), value: null },
        ],
        now,
      );
    }
    this.logger.info(
      `${SHARE_STATE_TOPIC}: moved ${moved} share-partition state(s) written by an older Spate to the partitions Kafka's share coordinator uses (Utils.abs of the key's hash)`,
    );
    this.misplaced.clear();
  }

  // ---- pruning (KIP-932: the topic is not compacted) --------------------------------------

  private startTimers(): void {
    // Kafka's share coordinator deletes the state of a deleted topic's share-partitions itself.
    this.unwatch = this.replicas.store.watch((event) => {
      if (event.kind === 'topic-deleted') this.deleteStateOf(event.id);
    });
    const every = (key: string, run: () => void) => {
      const timer = setInterval(run, this.config.values.get(key) as number);
      timer.unref();
      this.timers.push(timer);
    };
    every('share.coordinator.state.topic.prune.interval.ms', () => this.prune());
    every('share.coordinator.cold.partition.snapshot.interval.ms', () => this.snapshotColdPartitions(Date.now()));
  }

  /** Deletes, in each shard this broker serves, the records before the oldest last snapshot of its keys. */
  prune(): void {
    for (const [index, states] of this.states) {
      if (!this.shards.isActive(index)) continue;
      const log = this.replicas.partition(SHARE_STATE_TOPIC, index)?.log;
      if (log === undefined) continue;
      let redundant = log.highWatermark;
      for (const state of states.values()) if (state.snapshotOffset < redundant) redundant = state.snapshotOffset;
      if (redundant <= log.logStartOffset) continue;
      try {
        log.deleteRecordsBefore(redundant);
        this.logger.debug(`Share coordinator: pruned ${SHARE_STATE_TOPIC}-${index} before offset ${redundant}`);
      } catch (error) {
        this.logger.warn(`Share coordinator: pruning ${SHARE_STATE_TOPIC}-${index} before ${redundant} failed: ${(error as Error).message}`);
      }
    }
  }

  /** Writes a new snapshot of every share-partition with updates after its snapshot that was not written for an interval. */
  snapshotColdPartitions(nowMs: number): void {
    const interval = this.config.values.get('share.coordinator.cold.partition.snapshot.interval.ms') as number;
    for (const [index, states] of this.states) {
      if (!this.shards.isActive(index)) continue;
      for (const state of [...states.values()]) {
        if (state.updates === 0 || nowMs - state.lastWriteMs < interval) continue;
        const written = this.append(index, state.id, {
          kind: 'snapshot',
          value: {
            snapshotEpoch: state.snapshotEpoch + 1,
            stateEpoch: state.stateEpoch,
            leaderEpoch: state.leaderEpoch,
            startOffset: state.startOffset,
            deliveryCompleteCount: state.deliveryCompleteCount,
            createTimestamp: state.createTimestamp,
            writeTimestamp: BigInt(nowMs),
            stateBatches: state.batches,
          },
        });
        void then(written, (result) => {
          if (result.errorCode !== ErrorCode.NONE) this.logger.debug(`Share coordinator: snapshot of a cold share-partition failed (error ${result.errorCode})`);
        });
      }
    }
  }

  /** Tombstones, in the shards this broker serves, the state of every share-partition of a deleted topic. */
  private deleteStateOf(topicId: Buffer): void {
    for (const [index, states] of this.states) {
      if (!this.shards.isActive(index)) continue;
      for (const state of [...states.values()]) {
        if (!state.id.topicId.equals(topicId)) continue;
        void then(this.append(index, state.id, { kind: 'tombstone' }), (result) => {
          if (result.errorCode !== ErrorCode.NONE) this.logger.debug(`Share coordinator: deleting the state of a deleted topic failed (error ${result.errorCode})`);
        });
      }
    }
  }

  stop(): void {
    this.unwatch?.();
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    this.shards.stop();
  }
}
