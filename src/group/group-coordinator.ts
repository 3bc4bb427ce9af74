// The group coordinator: classic groups (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) with
// Kafka's state machine, committed offsets, and their persistence in __consumer_offsets.
// KIP-848 consumer groups live in `consumer` (consumer-group-coordinator.ts); both kinds
// share one group ID space, the offsets and the admin APIs here. Every deadline goes through
// one Scheduler. A group's work is synchronous bookkeeping plus promises for the members
// that wait, so no group blocks another or the data path.
//
// In a cluster the coordinator serves the groups of the __consumer_offsets partitions this
// broker leads (CoordinatorShards): a partition's groups and offsets are replayed from its
// log when the broker becomes its leader and dropped when it resigns. Handlers check
// coordinatorError(groupId) first and answer once committed(groupId) says the writes they
// caused reached the in-sync replicas.

import { randomUUID } from 'node:crypto';
import { type BrokerConfig } from '../config/broker-config.js';
import { type Logger } from '../logger.js';
import { type LogManager } from '../log/log-manager.js';
import { CoordinatorShards } from '../cluster/coordinator-shards.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { type TopicCatalog } from '../cluster/metadata.js';
import { then, type MaybePromise } from '../cluster/maybe-async.js';
import { ErrorCode } from '../protocol/errors.js';
import { ClassicGroup, type ClassicMember, type JoinResult, type SyncResult } from './classic-group.js';
import { ConsumerGroupCoordinator } from './consumer-group-coordinator.js';
import { StreamsGroupCoordinator } from '../streams/streams-coordinator.js';
import { OFFSETS_TOPIC, OffsetsLog, type KeyValue } from './offsets-log.js';
import { encodeGroupMetadataKey, encodeGroupMetadataValue, encodeOffsetCommitKey, encodeOffsetCommitValue, type GroupMetadataValue } from './offsets-topic-records.js';
import { Scheduler } from './scheduler.js';
import { type ShareGroupRecord } from '../share/share-group-records.js';
import { TransactionalOffsets } from './transactional-offsets.js';

export interface CommittedOffset {
  readonly offset: bigint;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestamp: number;
}

export interface JoinRequest {
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: Array<{ name: string; metadata: Buffer }>;
  /** JoinGroup v4+: a new member must first get its ID (KIP-394). */
  readonly requireKnownMemberId: boolean;
}

export interface SyncRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface MemberIdentity {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface GroupDescription {
  readonly groupId: string;
  /** 'consumer' for a KIP-848 group and 'streams' for a KIP-1071 group, which DescribeGroups does not describe. */
  readonly groupType: 'classic' | 'consumer' | 'streams';
  readonly state: string;
  readonly protocolType: string;
  readonly protocolName: string;
  readonly members: Array<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }>;
}

/** One row of ListGroups. */
export interface ListedGroup {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: string;
  readonly groupType: 'classic' | 'consumer' | 'streams';
}

const offsetKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function joinError(errorCode: number, memberId = ''): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, skipAssignment: false, members: [] };
}

function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
}

export class GroupCoordinator {
  private readonly groups = new Map<string, ClassicGroup>();
  private readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  private readonly scheduler: Scheduler;
  private readonly offsetsLog: OffsetsLog;
  private readonly initialDelayMs: number;
  private readonly minSessionTimeoutMs: number;
  private readonly maxSessionTimeoutMs: number;
  private readonly maxGroupSize: number;
  private readonly offsetMetadataMaxBytes: number;
  private readonly offsetsRetentionMs: number;
  /** Groups whose join phase saw a new member during the current initial delay. */
  private readonly joinedDuringDelay = new Set<string>();
  /** Offsets committed in transactions that have not ended yet. */
  private readonly transactionalOffsets = new TransactionalOffsets<CommittedOffset>();
  /** KIP-848 consumer groups. */
  readonly consumer: ConsumerGroupCoordinator;
  /** KIP-1071 streams groups. */
  readonly streams: StreamsGroupCoordinator;
  /** Whether a share group has the ID (share groups live in src/share); set by the broker. */
  isShareGroup: (groupId: string) => boolean = () => false;
  /** Share groups of a dropped shard go with it (share groups live in src/share); set by the broker. */
  unloadShareGroups: (inShard: (groupId: string) => boolean) => void = () => undefined;
  /** A share group's record replayed from a loading shard (share groups live in src/share); set by the broker. */
  replayShareGroup: (record: ShareGroupRecord) => void = () => undefined;
  /** The __consumer_offsets partitions this broker serves. */
  readonly shards: CoordinatorShards;

  /** The cluster's topics (offset commits and subscriptions name topics this broker may hold no replica of). */
  private readonly catalog: TopicCatalog;

  constructor(
    logs: LogManager,
    replicas: ReplicaManager,
    config: BrokerConfig,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    // A timer's write that cannot be made (the shard moved, too few in-sync replicas) is logged, not thrown.
    this.scheduler = new Scheduler(now, (error, key) => logger.warn(`Group coordinator: ${key.split('\u0000').slice(0, 2).join(' ')}: ${(error as Error).message}`));
    this.offsetsLog = new OffsetsLog(replicas, logs, config);
    this.catalog = replicas.metadata;
    this.shards = new CoordinatorShards(
      OFFSETS_TOPIC,
      replicas,
      { loadShard: async (index, _epoch, current) => void (await this.loadShard(index, current)), unloadShard: (index) => this.unloadShard(index) },
      logger,
      'Group coordinator',
    );
    const value = (key: string) => config.values.get(key) as number;
    this.initialDelayMs = value('group.initial.rebalance.delay.ms');
    this.minSessionTimeoutMs = value('group.min.session.timeout.ms');
    this.maxSessionTimeoutMs = value('group.max.session.timeout.ms');
    this.maxGroupSize = value('group.max.size');
    this.offsetMetadataMaxBytes = value('offset.metadata.max.bytes');
    this.offsetsRetentionMs = value('offsets.retention.minutes') * 60_000;
    const checkInterval = Number(config.values.get('offsets.retention.check.interval.ms') as bigint);
    this.scheduleRetentionCheck(checkInterval);
    this.consumer = new ConsumerGroupCoordinator(
      this.catalog,
      this.offsetsLog,
      this.scheduler,
      config,
      logger,
      {
        classicGroupState: (groupId) => {
          const group = this.groups.get(groupId);
          if (group === undefined) return 'none';
          return group.state === 'Empty' || group.state === 'Dead' ? 'empty' : 'active';
        },
        removeEmptyClassicGroup: (groupId) => this.removeEmptyClassicGroup(groupId),
        isOtherGroup: (groupId) => this.streams.group(groupId) !== undefined || this.isShareGroup(groupId),
      },
      now,
    );
    this.streams = new StreamsGroupCoordinator(
      this.catalog,
      this.scheduler,
      config,
      logger,
      {
        otherGroup: (groupId) => {
          if (this.consumer.group(groupId) !== undefined || this.isShareGroup(groupId)) return 'other';
          const group = this.groups.get(groupId);
          if (group === undefined) return 'none';
          return group.state === 'Empty' || group.state === 'Dead' ? 'empty-classic' : 'other';
        },
        removeEmptyClassicGroup: (groupId) => this.removeEmptyClassicGroup(groupId),
      },
      now,
    );
  }

  /** Kafka 4.x: an empty classic group gives its ID to a consumer group (offsets stay). */
  private removeEmptyClassicGroup(groupId: string): void {
    const group = this.groups.get(groupId);
    if (group === undefined) return;
    this.scheduler.cancel(this.joinKey(group));
    for (const pending of group.pendingMembers) this.scheduler.cancel(this.sessionKey(group, pending));
    group.transition('Dead');
    this.groups.delete(groupId);
    this.offsetsLog.append(groupId, [{ key: encodeGroupMetadataKey(groupId), value: null }], this.now());
  }

  /** A single node rebuilds every group from __consumer_offsets; a cluster's broker follows the leadership of its partitions. */
  async load(): Promise<void> {
    if (this.shards.clustered) return this.shards.start();
    let groups = 0;
    let records = 0;
    for (const index of this.offsetsLog.topic.localPartitions()) {
      const loaded = await this.loadShard(index, () => true, false);
      groups += loaded.groups;
      records += loaded.records;
    }
    if (records > 0) this.logger.info(`Loaded ${groups} group(s) from ${records} record(s) of ${OFFSETS_TOPIC}`);
  }

  /** Rebuilds the groups and offsets of one __consumer_offsets partition from its records. */
  private async loadShard(index: number, current: () => boolean, log = true): Promise<{ groups: number; records: number }> {
    let records = 0;
    const touched = new Set<string>();
    for await (const record of this.offsetsLog.replay(index)) {
      // The shard was dropped meanwhile: unloadShard has removed what was replayed so far.
      if (!current()) return { groups: 0, records };
      records++;
      if (record.kind === 'marker') {
        this.completeTransaction(record.producerId, record.commit);
        continue;
      }
      if (record.kind === 'share-group' || record.kind === 'share-group-partitions') {
        this.replayShareGroup(record);
        continue;
      }
      touched.add(record.group);
      if (record.kind === 'offset' && record.producerId !== undefined && record.value !== null) {
        // Written inside a transaction: pending until the transaction's marker is replayed.
        this.transactionalOffsets.add(record.producerId, [
          {
            groupId: record.group,
            key: offsetKey(record.topic, record.partition),
            value: { offset: record.value.offset, leaderEpoch: record.value.leaderEpoch, metadata: record.value.metadata, commitTimestamp: Number(record.value.commitTimestamp) },
          },
        ]);
      } else if (record.kind === 'offset') {
        if (record.value === null) this.offsets.get(record.group)?.delete(offsetKey(record.topic, record.partition));
        else {
          const committed = this.groupOffsets(record.group);
          committed.set(offsetKey(record.topic, record.partition), {
            offset: record.value.offset,
            leaderEpoch: record.value.leaderEpoch,
            metadata: record.value.metadata,
            commitTimestamp: Number(record.value.commitTimestamp),
          });
        }
      } else if (record.kind !== 'group') {
        // A consumer group record: the ID no longer belongs to a classic group.
        if (record.value !== null) this.groups.delete(record.group);
        this.consumer.replay(record);
      } else if (record.value === null) {
        this.groups.delete(record.group);
        this.offsets.delete(record.group);
      } else {
        this.groups.set(record.group, this.restoreGroup(record.group, record.value));
      }
    }
    if (!current()) return { groups: 0, records };
    const consumerGroups = this.consumer.loaded(touched);
    let classicGroups = 0;
    for (const groupId of touched) {
      const group = this.groups.get(groupId);
      if (group === undefined) continue;
      classicGroups++;
      for (const member of group.members.values()) this.scheduleSession(group, member);
    }
    if (log && records > 0) this.logger.info(`Loaded ${classicGroups + consumerGroups} group(s) from ${records} record(s) of ${OFFSETS_TOPIC}-${index}`);
    return { groups: classicGroups + consumerGroups, records };
  }

  /** Drops the groups of a __consumer_offsets partition this broker no longer leads; their waiting members get NOT_COORDINATOR. */
  private unloadShard(index: number): void {
    const inShard = (groupId: string) => this.offsetsLog.shardOf(groupId) === index;
    const dropped = new Set<string>();
    for (const [groupId, group] of this.groups) {
      if (!inShard(groupId)) continue;
      dropped.add(groupId);
      for (const member of group.members.values()) {
        member.awaitingJoin?.(joinError(ErrorCode.NOT_COORDINATOR, member.memberId));
        member.awaitingJoin = undefined;
        member.awaitingSync?.(syncError(ErrorCode.NOT_COORDINATOR));
        member.awaitingSync = undefined;
      }
      this.groups.delete(groupId);
      this.joinedDuringDelay.delete(groupId);
    }
    for (const groupId of this.offsets.keys()) if (inShard(groupId)) dropped.add(groupId);
    for (const groupId of dropped) this.offsets.delete(groupId);
    this.transactionalOffsets.dropGroups(inShard);
    this.consumer.unload(inShard);
    this.streams.unload(inShard);
    this.unloadShareGroups(inShard);
    // Every timer key names its group second: "session\0<group>\0<member>", "join\0<group>".
    this.scheduler.cancelWhere((key) => {
      const groupId = key.split('\u0000')[1];
      return groupId !== undefined && inShard(groupId);
    });
  }

  /**
   * NONE when this broker coordinates the group, else COORDINATOR_LOAD_IN_PROGRESS while its
   * partition loads, NOT_COORDINATOR when another broker leads it, COORDINATOR_NOT_AVAILABLE
   * before __consumer_offsets exists (always NONE on a single node).
   */
  coordinatorError(groupId: string): number {
    return this.shards.error(this.offsetsLog.shardOf(groupId));
  }

  /** Appends a share group's records to its partition of __consumer_offsets (throws KafkaError when this broker cannot); answer once committed(). */
  appendShareGroupRecords(groupId: string, records: readonly KeyValue[]): void {
    this.offsetsLog.append(groupId, records, this.now());
  }

  /** NONE once the writes made for the group so far are replicated to the ISR (at once on a single node), else the error to answer. */
  committed(groupId: string): number | Promise<number> {
    return this.offsetsLog.committed(groupId, this.shards.epoch(this.offsetsLog.shardOf(groupId)));
  }

  /** True while some partition of __consumer_offsets is loading here (ListGroups answers COORDINATOR_LOAD_IN_PROGRESS). */
  get loading(): boolean {
    return this.shards.loading;
  }

  stop(): void {
    this.shards.stop();
    this.scheduler.stop();
    for (const group of this.groups.values()) {
      for (const member of group.members.values()) {
        member.awaitingJoin?.(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, member.memberId));
        member.awaitingSync?.(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      }
    }
  }

  group(groupId: string): ClassicGroup | undefined {
    return this.groups.get(groupId);
  }

  // ---- JoinGroup ----

  joinGroup(request: JoinRequest): Promise<JoinResult> | JoinResult {
    const { groupId, memberId } = request;
    if (groupId === '') return joinError(ErrorCode.INVALID_GROUP_ID, memberId);
    if (request.sessionTimeoutMs < this.minSessionTimeoutMs || request.sessionTimeoutMs > this.maxSessionTimeoutMs) {
      return joinError(ErrorCode.INVALID_SESSION_TIMEOUT, memberId);
    }
    if (this.consumer.group(groupId) !== undefined && !this.consumer.deleteEmptyGroup(groupId)) {
      // A consumer group with members: Kafka would mix classic members in; Spate refuses.
      return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, memberId);
    }
    if (this.streams.group(groupId) !== undefined && !this.streams.deleteEmptyGroup(groupId)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, memberId);
    let group = this.groups.get(groupId);
    const unknownMember = memberId === '';
    if (group === undefined) {
      if (!unknownMember) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId);
      group = new ClassicGroup(groupId);
      this.groups.set(groupId, group);
    }
    if (group.state === 'Dead') return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, memberId);
    if (!this.knownMember(group, memberId) && !group.supportsProtocols(request.protocolType, request.protocols)) {
      return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, memberId);
    }
    if (group.members.size > 0 && group.protocolType !== null && group.protocolType !== request.protocolType) {
      return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, memberId);
    }
    return unknownMember ? this.joinUnknownMember(group, request) : this.joinKnownMember(group, request);
  }

  private knownMember(group: ClassicGroup, memberId: string): boolean {
    return memberId !== '' && (group.members.has(memberId) || group.pendingMembers.has(memberId));
  }

  private joinUnknownMember(group: ClassicGroup, request: JoinRequest): Promise<JoinResult> | JoinResult {
    const newMemberId = `${request.clientId}-${randomUUID()}`;
    if (request.groupInstanceId !== null) {
      const previous = group.staticMembers.get(request.groupInstanceId);
      if (previous !== undefined) {
        // KIP-345: the instance came back with a new member ID; the old one is fenced.
        const old = group.members.get(previous);
        if (old !== undefined) {
          old.awaitingJoin?.(joinError(ErrorCode.FENCED_INSTANCE_ID, previous));
          old.awaitingSync?.(syncError(ErrorCode.FENCED_INSTANCE_ID));
          this.scheduler.cancel(this.sessionKey(group, previous));
          group.members.delete(previous);
          if (group.leaderId === previous) group.leaderId = newMemberId;
        }
      } else if (group.members.size >= this.maxGroupSize) {
        return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, request.memberId);
      }
      group.staticMembers.set(request.groupInstanceId, newMemberId);
      return this.addMemberAndRebalance(group, newMemberId, request);
    }
    if (group.members.size + group.pendingMembers.size >= this.maxGroupSize) {
      return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, request.memberId);
    }
    if (request.requireKnownMemberId) {
      group.pendingMembers.add(newMemberId);
      this.scheduler.schedule(this.sessionKey(group, newMemberId), this.now() + request.sessionTimeoutMs, () => {
        group.pendingMembers.delete(newMemberId);
        this.maybeCompleteJoin(group);
      });
      return joinError(ErrorCode.MEMBER_ID_REQUIRED, newMemberId);
    }
    return this.addMemberAndRebalance(group, newMemberId, request);
  }

  private joinKnownMember(group: ClassicGroup, request: JoinRequest): Promise<JoinResult> | JoinResult {
    const { memberId } = request;
    if (group.pendingMembers.has(memberId)) {
      group.pendingMembers.delete(memberId);
      this.scheduler.cancel(this.sessionKey(group, memberId));
      return this.addMemberAndRebalance(group, memberId, request);
    }
    const member = group.members.get(memberId);
    if (member === undefined) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId);
    if (request.groupInstanceId !== null && group.staticMembers.get(request.groupInstanceId) !== memberId) {
      return joinError(ErrorCode.FENCED_INSTANCE_ID, memberId);
    }
    const sameProtocols = protocolsEqual(member.protocols, request.protocols);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndAwaitJoin(group, member, request);
      case 'CompletingRebalance':
        if (sameProtocols) return this.currentJoinResult(group, member);
        return this.updateMemberAndRebalance(group, member, request, 'member changed its protocols');
      case 'Stable':
        if (group.isLeader(memberId) || !sameProtocols) {
          return this.updateMemberAndRebalance(group, member, request, `member ${memberId} rejoined`);
        }
        return this.currentJoinResult(group, member);
      default:
        return joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId);
    }
  }

  private addMemberAndRebalance(group: ClassicGroup, memberId: string, request: JoinRequest): Promise<JoinResult> {
    const member: ClassicMember = {
      memberId,
      groupInstanceId: request.groupInstanceId,
      clientId: request.clientId,
      clientHost: request.clientHost,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols,
      assignment: Buffer.alloc(0),
      awaitingJoin: undefined,
      awaitingSync: undefined,
      isNew: true,
    };
    group.members.set(memberId, member);
    if (group.protocolType === null || group.members.size === 1) group.protocolType = request.protocolType;
    if (group.leaderId === null) group.leaderId = memberId;
    this.joinedDuringDelay.add(group.groupId);
    const result = this.awaitJoin(member);
    if (group.state === 'PreparingRebalance') this.maybeCompleteJoin(group);
    else this.prepareRebalance(group, `new member ${memberId} joined`);
    return result;
  }

  private updateMemberAndAwaitJoin(group: ClassicGroup, member: ClassicMember, request: JoinRequest): Promise<JoinResult> {
    this.updateMember(member, request);
    const result = this.awaitJoin(member);
    this.maybeCompleteJoin(group);
    return result;
  }

  private updateMemberAndRebalance(group: ClassicGroup, member: ClassicMember, request: JoinRequest, reason: string): Promise<JoinResult> {
    this.updateMember(member, request);
    const result = this.awaitJoin(member);
    this.prepareRebalance(group, reason);
    return result;
  }

  private updateMember(member: ClassicMember, request: JoinRequest): void {
    member.protocols = request.protocols;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
    member.clientId = request.clientId;
    member.clientHost = request.clientHost;
  }

  private awaitJoin(member: ClassicMember): Promise<JoinResult> {
    // A member that joins again while already waiting gets the old wait answered first.
    member.awaitingJoin?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    return new Promise((resolve) => (member.awaitingJoin = resolve));
  }

  private currentJoinResult(group: ClassicGroup, member: ClassicMember): JoinResult {
    this.scheduleSession(group, member);
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      skipAssignment: false,
      members: group.isLeader(member.memberId) ? this.memberList(group) : [],
    };
  }

  private memberList(group: ClassicGroup): JoinResult['members'] {
    return [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: group.metadataFor(m, group.protocolName ?? ''),
    }));
  }

  private prepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.state === 'CompletingRebalance') {
      for (const member of group.members.values()) {
        member.awaitingSync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = undefined;
      }
    }
    const wasEmpty = group.state === 'Empty';
    group.transition('PreparingRebalance');
    this.logger.debug(`Group ${group.groupId}: preparing rebalance (${reason})`);
    const joinKey = this.joinKey(group);
    if (wasEmpty && this.initialDelayMs > 0) {
      // Kafka's group.initial.rebalance.delay.ms: wait for more members, up to the rebalance timeout.
      const started = this.now();
      const limit = started + Math.max(group.rebalanceTimeoutMs(), this.initialDelayMs);
      this.joinedDuringDelay.delete(group.groupId);
      const onDelay = () => {
        const more = this.joinedDuringDelay.has(group.groupId);
        this.joinedDuringDelay.delete(group.groupId);
        const next = this.now() + this.initialDelayMs;
        if (more && next <= limit) this.scheduler.schedule(joinKey, next, onDelay);
        else this.completeJoin(group);
      };
      this.scheduler.schedule(joinKey, started + this.initialDelayMs, onDelay);
      return;
    }
    this.scheduler.schedule(joinKey, this.now() + group.rebalanceTimeoutMs(), () => this.completeJoin(group));
    this.maybeCompleteJoin(group);
  }

  /** Completes the join phase early once every member has rejoined (outside the initial delay). */
  private maybeCompleteJoin(group: ClassicGroup): void {
    if (group.state !== 'PreparingRebalance') return;
    if (group.generationId === 0 && this.inInitialDelay(group)) return;
    if (group.hasAllMembersJoined() && group.pendingMembers.size === 0) this.completeJoin(group);
  }

  private inInitialDelay(group: ClassicGroup): boolean {
    return this.initialDelayMs > 0 && this.scheduler.has(this.joinKey(group)) && group.generationId === 0;
  }

  private completeJoin(group: ClassicGroup): void {
    if (group.state !== 'PreparingRebalance') return;
    this.scheduler.cancel(this.joinKey(group));
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === undefined) this.removeMember(group, member);
    }
    for (const pending of group.pendingMembers) this.scheduler.cancel(this.sessionKey(group, pending));
    group.pendingMembers.clear();
    group.generationId++;
    if (group.members.size === 0) {
      group.protocolName = null;
      group.leaderId = null;
      group.transition('Empty');
      this.persistGroup(group);
      return;
    }
    group.protocolName = group.selectProtocol();
    if (group.leaderId === null || !group.members.has(group.leaderId)) group.leaderId = group.members.keys().next().value!;
    group.transition('CompletingRebalance');
    this.logger.debug(`Group ${group.groupId}: generation ${group.generationId} with ${group.members.size} member(s)`);
    for (const member of group.members.values()) {
      const resolve = member.awaitingJoin!;
      member.awaitingJoin = undefined;
      member.isNew = false;
      resolve(this.currentJoinResult(group, member));
    }
  }

  // ---- SyncGroup ----

  syncGroup(request: SyncRequest): Promise<SyncResult> | SyncResult {
    const group = this.groups.get(request.groupId);
    if (group === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    const member = group.members.get(request.memberId);
    if (member === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (request.groupInstanceId !== null && group.staticMembers.get(request.groupInstanceId) !== request.memberId) {
      return syncError(ErrorCode.FENCED_INSTANCE_ID);
    }
    if (request.generationId !== group.generationId) return syncError(ErrorCode.ILLEGAL_GENERATION);
    if ((request.protocolType !== null && request.protocolType !== group.protocolType) || (request.protocolName !== null && request.protocolName !== group.protocolName)) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (group.state) {
      case 'PreparingRebalance':
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        this.scheduleSession(group, member);
        return this.syncResult(group, member);
      case 'CompletingRebalance': {
        this.scheduleSession(group, member);
        const result = new Promise<SyncResult>((resolve) => (member.awaitingSync = resolve));
        if (group.isLeader(member.memberId)) {
          const assignments = new Map(request.assignments.map((a) => [a.memberId, a.assignment]));
          for (const each of group.members.values()) each.assignment = assignments.get(each.memberId) ?? Buffer.alloc(0);
          this.persistGroup(group);
          group.transition('Stable');
          for (const each of group.members.values()) {
            const resolve = each.awaitingSync;
            each.awaitingSync = undefined;
            resolve?.(this.syncResult(group, each));
          }
        }
        return result;
      }
      default:
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private syncResult(group: ClassicGroup, member: ClassicMember): SyncResult {
    return { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment };
  }

  // ---- Heartbeat and LeaveGroup ----

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const group = this.groups.get(groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (groupInstanceId !== null && group.staticMembers.get(groupInstanceId) !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case 'PreparingRebalance':
        this.scheduleSession(group, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'CompletingRebalance':
      case 'Stable':
        this.scheduleSession(group, member);
        return ErrorCode.NONE;
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID;
    }
  }

  leaveGroup(groupId: string, leaving: readonly MemberIdentity[]): { errorCode: number; members: Array<MemberIdentity & { errorCode: number }> } {
    const group = this.groups.get(groupId);
    if (group === undefined) {
      return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: leaving.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })) };
    }
    const members = leaving.map((identity) => {
      let memberId = identity.memberId;
      if (identity.groupInstanceId !== null) {
        const current = group.staticMembers.get(identity.groupInstanceId);
        if (current === undefined) return { ...identity, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
        if (memberId !== '' && memberId !== current) return { ...identity, errorCode: ErrorCode.FENCED_INSTANCE_ID };
        memberId = current;
      }
      if (group.pendingMembers.delete(memberId)) {
        this.scheduler.cancel(this.sessionKey(group, memberId));
        this.maybeCompleteJoin(group);
        return { ...identity, errorCode: ErrorCode.NONE };
      }
      const member = group.members.get(memberId);
      if (member === undefined) return { ...identity, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
      this.removeMemberAndUpdate(group, member, 'member left the group');
      return { ...identity, errorCode: ErrorCode.NONE };
    });
    const errorCode = members.length === 1 ? members[0]!.errorCode : ErrorCode.NONE;
    return { errorCode, members };
  }

  private removeMember(group: ClassicGroup, member: ClassicMember): void {
    this.scheduler.cancel(this.sessionKey(group, member.memberId));
    group.members.delete(member.memberId);
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) {
      group.staticMembers.delete(member.groupInstanceId);
    }
    if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? null;
  }

  private removeMemberAndUpdate(group: ClassicGroup, member: ClassicMember, reason: string): void {
    member.awaitingJoin?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    member.awaitingJoin = undefined;
    member.awaitingSync?.(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    member.awaitingSync = undefined;
    this.removeMember(group, member);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.prepareRebalance(group, `${reason}: ${member.memberId}`);
        break;
      case 'PreparingRebalance':
        this.maybeCompleteJoin(group);
        break;
      default:
    }
  }

  private scheduleSession(group: ClassicGroup, member: ClassicMember): void {
    this.scheduler.schedule(this.sessionKey(group, member.memberId), this.now() + member.sessionTimeoutMs, () => {
      if (group.members.get(member.memberId) !== member) return;
      // A member waiting for the join phase is not expected to heartbeat.
      if (member.awaitingJoin !== undefined) return;
      this.logger.info(`Group ${group.groupId}: member ${member.memberId} session expired`);
      this.removeMemberAndUpdate(group, member, 'session expired');
    });
  }

  private sessionKey(group: ClassicGroup, memberId: string): string {
    return `session\u0000${group.groupId}\u0000${memberId}`;
  }

  private joinKey(group: ClassicGroup): string {
    return `join\u0000${group.groupId}`;
  }

  // ---- Offsets ----

  /**
   * Validates a commit's member and generation (classic) or member epoch (consumer group);
   * returns an error code, or NONE. `apiVersion` is OffsetCommit's; a transactional commit
   * leaves it out, as Kafka checks the version only for plain commits.
   */
  validateCommit(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null, apiVersion?: number): number {
    const consumerGroup = this.consumer.group(groupId);
    if (consumerGroup !== undefined) return this.consumer.validateOffsetCommit(consumerGroup, memberId, generationId, apiVersion);
    const streamsGroup = this.streams.group(groupId);
    if (streamsGroup !== undefined) return this.streams.validateOffsetCommit(streamsGroup, memberId, generationId, apiVersion);
    const group = this.groups.get(groupId);
    const simple = generationId < 0 && memberId === '' && groupInstanceId === null;
    // v9+ (KIP-848): a member epoch for a group that does not exist.
    if (group === undefined) return simple ? ErrorCode.NONE : (apiVersion ?? 0) >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION;
    if (simple) return group.members.size === 0 ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (groupInstanceId !== null && group.staticMembers.get(groupInstanceId) !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    this.scheduleSession(group, member);
    return ErrorCode.NONE;
  }

  /**
   * Commits offsets (already validated) durably: a code per offset, at once on a single node,
   * else once the in-sync replicas have them. Only then are they the group's committed
   * offsets (OffsetFetch never answers one that a coordinator failover could lose); a write
   * that fails answers its error for every offset.
   */
  commitOffsets(groupId: string, offsets: readonly OffsetToCommit[]): MaybePromise<number[]> {
    const now = this.now();
    const { codes, records, accepted } = this.prepareCommit(groupId, offsets, now);
    this.offsetsLog.append(groupId, records, now);
    if (!this.groups.has(groupId) && this.consumer.group(groupId) === undefined && this.streams.group(groupId) === undefined) this.groups.set(groupId, new ClassicGroup(groupId));
    const shard = this.offsetsLog.shardOf(groupId);
    const epoch = this.shards.epoch(shard);
    return then(this.committed(groupId), (code) => {
      if (code !== ErrorCode.NONE) return codes.map((each) => (each === ErrorCode.NONE ? code : each));
      // Still this broker's shard at the epoch of the write (else it was dropped meanwhile).
      if (this.shards.epoch(shard) === epoch) {
        const committed = this.groupOffsets(groupId);
        for (const [key, value] of accepted) committed.set(key, value);
      }
      return codes;
    });
  }

  /**
   * TxnOffsetCommit: the offsets are written to __consumer_offsets in the producer's
   * transaction and held back until its marker arrives (completeTransaction).
   */
  commitTransactionalOffsets(groupId: string, producerId: bigint, producerEpoch: number, offsets: readonly OffsetToCommit[]): number[] {
    const now = this.now();
    const { codes, records, accepted } = this.prepareCommit(groupId, offsets, now);
    this.offsetsLog.appendTransactional(groupId, records, producerId, producerEpoch, now);
    this.transactionalOffsets.add(
      producerId,
      accepted.map(([key, value]) => ({ groupId, key, value })),
    );
    return codes;
  }

  /** A transaction's marker reached the offsets topic: apply (commit) or drop (abort) its offsets. */
  completeTransaction(producerId: bigint, commit: boolean): void {
    for (const { groupId, key, value } of this.transactionalOffsets.take(producerId)) {
      if (commit) this.groupOffsets(groupId).set(key, value);
    }
  }

  /** Offsets of this group are waiting for a transaction to end (OffsetFetch requireStable). */
  hasPendingTransactionalOffsets(groupId: string): boolean {
    return this.transactionalOffsets.hasPending(groupId);
  }

  /** The __consumer_offsets partition of a group (AddOffsetsToTxn adds it to a transaction). */
  offsetsTopicPartition(groupId: string): { topic: string; partition: number } {
    return this.offsetsLog.partitionOf(groupId);
  }

  private prepareCommit(groupId: string, offsets: readonly OffsetToCommit[], now: number) {
    const codes: number[] = [];
    const records: KeyValue[] = [];
    const accepted: Array<[string, CommittedOffset]> = [];
    for (const offset of offsets) {
      const topic = this.catalog.topicInfo(offset.topic);
      if (topic === undefined || offset.partition < 0 || offset.partition >= topic.partitionCount) {
        codes.push(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        continue;
      }
      const metadata = offset.metadata ?? '';
      if (Buffer.byteLength(metadata) > this.offsetMetadataMaxBytes) {
        codes.push(ErrorCode.OFFSET_METADATA_TOO_LARGE);
        continue;
      }
      const committed: CommittedOffset = { offset: offset.offset, leaderEpoch: offset.leaderEpoch, metadata, commitTimestamp: now };
      records.push({
        key: encodeOffsetCommitKey(groupId, offset.topic, offset.partition),
        value: encodeOffsetCommitValue({ ...committed, commitTimestamp: BigInt(now) }),
      });
      accepted.push([offsetKey(offset.topic, offset.partition), committed]);
      codes.push(ErrorCode.NONE);
    }
    return { codes, records, accepted };
  }

  committedOffset(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(groupId)?.get(offsetKey(topic, partition));
  }

  /** Every committed offset of a group, by topic. */
  allCommittedOffsets(groupId: string): Map<string, Map<number, CommittedOffset>> {
    const byTopic = new Map<string, Map<number, CommittedOffset>>();
    for (const [key, value] of this.offsets.get(groupId) ?? []) {
      const [topic, partition] = key.split('\u0000') as [string, string];
      let partitions = byTopic.get(topic);
      if (partitions === undefined) byTopic.set(topic, (partitions = new Map()));
      partitions.set(Number(partition), value);
    }
    return byTopic;
  }

  /** OffsetDelete: refused for topics the group's active members consume. */
  deleteOffsets(groupId: string, partitions: ReadonlyArray<{ topic: string; partition: number }>, classicSubscribed: ReadonlySet<string>): number[] {
    const now = this.now();
    const subscribedTopics = new Set([...classicSubscribed, ...this.consumer.subscribedTopicNames(groupId), ...this.streams.subscribedTopicNames(groupId)]);
    const committed = this.offsets.get(groupId);
    const records: KeyValue[] = [];
    const codes = partitions.map(({ topic, partition }) => {
      if (subscribedTopics.has(topic)) return ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC;
      if (committed?.delete(offsetKey(topic, partition)) === true) {
        records.push({ key: encodeOffsetCommitKey(groupId, topic, partition), value: null });
      }
      return ErrorCode.NONE;
    });
    this.offsetsLog.append(groupId, records, now);
    return codes;
  }

  // ---- Admin ----

  listGroups(): ListedGroup[] {
    const classic = [...this.groups.values()].map((group) => ({
      groupId: group.groupId,
      protocolType: group.protocolType ?? '',
      state: group.state as string,
      groupType: 'classic' as const,
    }));
    const consumer = [...this.consumer.allGroups()].map((group) => ({
      groupId: group.groupId,
      protocolType: 'consumer',
      state: group.state as string,
      groupType: 'consumer' as const,
    }));
    const streams = [...this.streams.allGroups()].map((group) => ({
      groupId: group.groupId,
      protocolType: 'streams',
      state: group.state as string,
      groupType: 'streams' as const,
    }));
    return [...classic, ...consumer, ...streams];
  }

  describeGroup(groupId: string): GroupDescription | undefined {
    const consumerGroup = this.consumer.group(groupId);
    if (consumerGroup !== undefined) {
      return { groupId, groupType: 'consumer', state: consumerGroup.state, protocolType: 'consumer', protocolName: '', members: [] };
    }
    const streamsGroup = this.streams.group(groupId);
    if (streamsGroup !== undefined) return { groupId, groupType: 'streams', state: streamsGroup.state, protocolType: 'streams', protocolName: '', members: [] };
    const group = this.groups.get(groupId);
    if (group === undefined) return undefined;
    const stable = group.state === 'Stable';
    return {
      groupId,
      groupType: 'classic',
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocolName: stable ? (group.protocolName ?? '') : '',
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        metadata: stable ? group.metadataFor(member, group.protocolName ?? '') : Buffer.alloc(0),
        assignment: stable ? member.assignment : Buffer.alloc(0),
      })),
    };
  }

  /** DeleteGroups: only empty groups; their offsets and metadata get tombstones. */
  deleteGroup(groupId: string): number {
    const consumerGroup = this.consumer.group(groupId);
    if (consumerGroup !== undefined && !this.consumer.deleteEmptyGroup(groupId)) return ErrorCode.NON_EMPTY_GROUP;
    const streamsGroup = this.streams.group(groupId);
    if (streamsGroup !== undefined && !this.streams.deleteEmptyGroup(groupId)) return ErrorCode.NON_EMPTY_GROUP;
    const group = this.groups.get(groupId);
    if (group === undefined && consumerGroup === undefined && streamsGroup === undefined && !this.offsets.has(groupId)) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group !== undefined && group.state !== 'Empty' && group.state !== 'Dead') return ErrorCode.NON_EMPTY_GROUP;
    const records: KeyValue[] = [];
    for (const key of this.offsets.get(groupId)?.keys() ?? []) {
      const [topic, partition] = key.split('\u0000') as [string, string];
      records.push({ key: encodeOffsetCommitKey(groupId, topic, Number(partition)), value: null });
    }
    records.push({ key: encodeGroupMetadataKey(groupId), value: null });
    this.offsetsLog.append(groupId, records, this.now());
    group?.transition('Dead');
    this.groups.delete(groupId);
    this.offsets.delete(groupId);
    return ErrorCode.NONE;
  }

  // ---- Persistence ----

  private groupOffsets(groupId: string): Map<string, CommittedOffset> {
    let committed = this.offsets.get(groupId);
    if (committed === undefined) this.offsets.set(groupId, (committed = new Map()));
    return committed;
  }

  private persistGroup(group: ClassicGroup): void {
    const value: GroupMetadataValue = {
      protocolType: group.protocolType ?? '',
      generation: group.generationId,
      protocol: group.protocolName,
      leader: group.leaderId,
      currentStateTimestamp: BigInt(group.stateTimestamp),
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        sessionTimeoutMs: member.sessionTimeoutMs,
        subscription: group.metadataFor(member, group.protocolName ?? ''),
        assignment: member.assignment,
      })),
    };
    this.offsetsLog.append(group.groupId, [{ key: encodeGroupMetadataKey(group.groupId), value: encodeGroupMetadataValue(value) }], this.now());
  }

  private restoreGroup(groupId: string, value: GroupMetadataValue): ClassicGroup {
    const group = new ClassicGroup(groupId);
    group.generationId = value.generation;
    group.protocolType = value.protocolType === '' ? null : value.protocolType;
    group.protocolName = value.protocol;
    group.leaderId = value.leader;
    for (const stored of value.members) {
      group.members.set(stored.memberId, {
        memberId: stored.memberId,
        groupInstanceId: stored.groupInstanceId,
        clientId: stored.clientId,
        clientHost: stored.clientHost,
        sessionTimeoutMs: stored.sessionTimeoutMs,
        rebalanceTimeoutMs: stored.rebalanceTimeoutMs,
        protocolType: value.protocolType,
        protocols: [{ name: value.protocol ?? '', metadata: stored.subscription }],
        assignment: stored.assignment,
        awaitingJoin: undefined,
        awaitingSync: undefined,
        isNew: false,
      });
      if (stored.groupInstanceId !== null) group.staticMembers.set(stored.groupInstanceId, stored.memberId);
    }
    group.transition(group.members.size > 0 ? 'Stable' : 'Empty');
    // An empty group keeps the time it became empty across restarts (its retention counts from it).
    if (group.state === 'Empty' && value.currentStateTimestamp >= 0n) group.stateTimestamp = Number(value.currentStateTimestamp);
    return group;
  }

  /** offsets.retention.minutes: offsets of empty groups expire after the retention period. */
  private scheduleRetentionCheck(intervalMs: number): void {
    this.scheduler.schedule('offsets-retention', this.now() + intervalMs, () => {
      this.expireOffsets();
      this.scheduleRetentionCheck(intervalMs);
    });
  }

  expireOffsets(): void {
    const now = this.now();
    for (const [groupId, committed] of this.offsets) {
      if (this.coordinatorError(groupId) !== ErrorCode.NONE) continue;
      const group = this.groups.get(groupId);
      if (group !== undefined && group.state !== 'Empty') continue;
      const consumerGroup = this.consumer.group(groupId);
      if (consumerGroup !== undefined && consumerGroup.members.size > 0) continue;
      const streamsGroup = this.streams.group(groupId);
      if (streamsGroup !== undefined && streamsGroup.members.size > 0) continue;
      // Consumer groups expire offsets by commit time alone, as Kafka does.
      const emptySince = group?.stateTimestamp ?? 0;
      const records: KeyValue[] = [];
      for (const [key, value] of committed) {
        if (now - Math.max(value.commitTimestamp, emptySince) < this.offsetsRetentionMs) continue;
        committed.delete(key);
        const [topic, partition] = key.split('\u0000') as [string, string];
        records.push({ key: encodeOffsetCommitKey(groupId, topic, Number(partition)), value: null });
      }
      this.offsetsLog.append(groupId, records, now);
      // Kafka drops an empty consumer group once its last offset has expired.
      if (committed.size === 0 && consumerGroup !== undefined) this.consumer.deleteEmptyGroup(groupId);
      if (committed.size === 0 && streamsGroup !== undefined) this.streams.deleteEmptyGroup(groupId);
    }
    // An empty classic group without offsets (left by Connect workers, MirrorMaker, a consumer
    // that never committed) goes once it has been empty for offsets.retention.minutes, as in Kafka.
    for (const [groupId, group] of this.groups) {
      if (group.state !== 'Empty' || (this.offsets.get(groupId)?.size ?? 0) > 0 || this.coordinatorError(groupId) !== ErrorCode.NONE) continue;
      if (now - group.stateTimestamp < this.offsetsRetentionMs) continue;
      this.logger.info(`Removing classic group ${groupId}: empty without offsets since ${new Date(group.stateTimestamp).toISOString()} (offsets.retention.minutes)`);
      this.removeEmptyClassicGroup(groupId);
    }
  }
}

function protocolsEqual(a: ReadonlyArray<{ name: string; metadata: Buffer }>, b: ReadonlyArray<{ name: string; metadata: Buffer }>): boolean {
  return a.length === b.length && a.every((protocol, i) => protocol.name === b[i]!.name && protocol.metadata.equals(b[i]!.metadata));
}
