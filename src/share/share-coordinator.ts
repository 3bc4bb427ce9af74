// The share-group coordinator (KIP-932): membership by ShareGroupHeartbeat, the share
// sessions of ShareFetch / ShareAcknowledge, and the share-partitions whose state is kept in
// __share_group_state. One instance per broker. A share-partition is created on the first
// fetch of its group, starting where share.auto.offset.reset says (latest by default), and
// its state is written after every request that changed it and whenever locks run out.
// Differs from Kafka: the group itself (epochs, members) is not persisted; after a restart
// the groups that have share-partition state exist again, Empty, and returning members get
// FENCED_MEMBER_EPOCH or UNKNOWN_MEMBER_ID and rejoin, as after a coordinator move in Kafka.

import { type BrokerConfig } from '../config/broker-config.js';
import { type LogManager, type Topic } from '../log/log-manager.js';
import { type PartitionLog } from '../log/partition-log.js';
import { type Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { ShareGroup, type ShareMember, type TopicInfo } from './share-group.js';
import { SharePartition, type AcknowledgementBatch, type SharePartitionLimits } from './share-partition.js';
import { ShareSessionCache, type ShareSession } from './share-sessions.js';
import { ShareStateLog } from './share-state-log.js';

export interface ShareHeartbeatRequest {
  readonly groupId: string;
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly rackId: string | null;
  readonly subscribedTopicNames: readonly string[] | null;
  readonly clientId: string;
  readonly clientHost: string;
}

export interface ShareHeartbeatResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly memberId: string | null;
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  readonly assignment: Array<{ topicId: Buffer; partitions: number[] }> | null;
}

export interface ListedShareGroup {
  readonly groupId: string;
  readonly state: string;
}

/** Group-level overrides (share.*), set through the GROUP config resource. */
export type GroupConfigLookup = (groupId: string) => ReadonlyMap<string, string> | undefined;

const LEAVE_EPOCH = -1;
const JOIN_EPOCH = 0;

export class ShareCoordinator {
  private readonly groups = new Map<string, ShareGroup>();
  private readonly partitions = new Map<string, SharePartition>();
  private readonly dirty = new Set<SharePartition>();
  private readonly lockTimers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private readonly watchedConnections = new Set<number>();
  readonly sessions: ShareSessionCache;
  private readonly stateLog: ShareStateLog;
  /** Group-level configs; replaced by the GROUP config resource when it is served. */
  groupConfigs: GroupConfigLookup = () => undefined;
  /** True when another kind of group (classic, consumer) owns the ID. */
  otherGroupExists: (groupId: string) => boolean = () => false;

  constructor(
    private readonly logs: LogManager,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {
    this.sessions = new ShareSessionCache(config.values.get('group.share.max.share.sessions') as number);
    this.stateLog = new ShareStateLog(logs, config, logger);
  }

  // ---- configuration ------------------------------------------------------------------

  private groupInt(groupId: string, groupKey: string, brokerKey: string): number {
    const override = this.groupConfigs(groupId)?.get(groupKey);
    const parsed = override === undefined ? NaN : Number(override);
    return Number.isInteger(parsed) ? parsed : (this.config.values.get(brokerKey) as number);
  }

  limits(groupId: string): SharePartitionLimits {
    return {
      lockDurationMs: this.groupInt(groupId, 'share.record.lock.duration.ms', 'group.share.record.lock.duration.ms'),
      deliveryCountLimit: this.groupInt(groupId, 'share.delivery.count.limit', 'group.share.delivery.count.limit'),
      maxRecordLocks: this.groupInt(groupId, 'share.partition.max.record.locks', 'group.share.partition.max.record.locks'),
    };
  }

  private autoOffsetReset(groupId: string): string {
    return this.groupConfigs(groupId)?.get('share.auto.offset.reset') ?? 'latest';
  }

  // ---- membership -----------------------------------------------------------------------

  group(groupId: string): ShareGroup | undefined {
    return this.groups.get(groupId);
  }

  heartbeat(request: ShareHeartbeatRequest, nowMs: number): ShareHeartbeatResult {
    const intervalMs = this.groupInt(request.groupId, 'share.heartbeat.interval.ms', 'group.share.heartbeat.interval.ms');
    const fail = (errorCode: number, errorMessage: string): ShareHeartbeatResult => ({
      errorCode,
      errorMessage,
      memberId: request.memberId,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    if (request.groupId.trim() === '') return fail(ErrorCode.INVALID_GROUP_ID, 'GroupId can not be empty.');
    if (request.memberId.trim() === '') return fail(ErrorCode.INVALID_REQUEST, 'MemberId can not be empty.');
    if (request.memberEpoch < LEAVE_EPOCH) return fail(ErrorCode.INVALID_REQUEST, `MemberEpoch ${request.memberEpoch} is invalid.`);
    if (request.memberEpoch === JOIN_EPOCH && (request.subscribedTopicNames === null || request.subscribedTopicNames.length === 0)) {
      return fail(ErrorCode.INVALID_REQUEST, 'SubscribedTopicNames must be set in first request.');
    }
    if (this.otherGroupExists(request.groupId)) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${request.groupId} is not a share group.`);

    let group = this.groups.get(request.groupId);
    if (request.memberEpoch === LEAVE_EPOCH) {
      const member = group?.members.get(request.memberId);
      if (group === undefined || member === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${request.memberId} is not in group ${request.groupId}.`);
      this.removeMember(group, member);
      return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: request.memberId, memberEpoch: LEAVE_EPOCH, heartbeatIntervalMs: 0, assignment: null };
    }

    let member = group?.members.get(request.memberId);
    let membershipChanged = false;
    if (request.memberEpoch === JOIN_EPOCH) {
      if (group === undefined) {
        group = new ShareGroup(request.groupId);
        this.groups.set(request.groupId, group);
      }
      const maxSize = this.config.values.get('group.share.max.size') as number;
      if (member === undefined && group.members.size >= maxSize) {
        return fail(ErrorCode.GROUP_MAX_SIZE_REACHED, `The share group has reached its maximum capacity of ${maxSize} members.`);
      }
      if (member === undefined) {
        member = {
          memberId: request.memberId,
          memberEpoch: 0,
          rackId: null,
          clientId: request.clientId,
          clientHost: request.clientHost,
          subscribedTopicNames: [],
          assignment: new Map(),
          sentEpoch: -1,
        };
        group.members.set(member.memberId, member);
      }
      member.sentEpoch = -1; // a (re)joining member gets its assignment in full
      membershipChanged = true;
    } else {
      if (group === undefined || member === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${request.memberId} is not in group ${request.groupId}.`);
      if (request.memberEpoch !== member.memberEpoch) {
        return fail(
          ErrorCode.FENCED_MEMBER_EPOCH,
          `The share group member has a member epoch (${request.memberEpoch}) different from the one known by the group coordinator (${member.memberEpoch}).`,
        );
      }
    }
    if (request.rackId !== null) member.rackId = request.rackId;
    if (request.subscribedTopicNames !== null) {
      const names = [...new Set(request.subscribedTopicNames)].sort();
      if (names.join('\u0000') !== member.subscribedTopicNames.join('\u0000')) {
        member.subscribedTopicNames = names;
        membershipChanged = true;
      }
    }
    group.refresh((name) => this.topicInfo(name), membershipChanged);
    this.touchMember(group, member, nowMs);

    let assignment: ShareHeartbeatResult['assignment'] = null;
    if (member.sentEpoch !== group.assignmentEpoch) {
      member.memberEpoch = group.assignmentEpoch;
      member.sentEpoch = group.assignmentEpoch;
      assignment = [...member.assignment].map(([topicId, partitions]) => ({ topicId: Buffer.from(topicId, 'hex'), partitions: [...partitions].sort((a, b) => a - b) }));
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: member.memberId, memberEpoch: member.memberEpoch, heartbeatIntervalMs: intervalMs, assignment };
  }

  private topicInfo(name: string): TopicInfo | undefined {
    const topic = this.logs.topic(name);
    return topic === undefined || topic.internal ? undefined : { name: topic.name, id: topic.id, partitions: topic.partitions.length };
  }

  /** Restarts the member's session timer (group.share.session.timeout.ms). */
  private touchMember(group: ShareGroup, member: ShareMember, _nowMs: number): void {
    if (member.sessionTimer !== undefined) clearTimeout(member.sessionTimer);
    const timeoutMs = this.groupInt(group.groupId, 'share.session.timeout.ms', 'group.share.session.timeout.ms');
    member.sessionTimer = setTimeout(() => {
      if (group.members.get(member.memberId) !== member) return;
      this.logger.info(`Share group ${group.groupId}: member ${member.memberId} (${member.clientId}) timed out after ${timeoutMs} ms`);
      this.removeMember(group, member);
    }, timeoutMs);
    member.sessionTimer.unref();
  }

  private removeMember(group: ShareGroup, member: ShareMember): void {
    if (member.sessionTimer !== undefined) clearTimeout(member.sessionTimer);
    group.members.delete(member.memberId);
    this.sessions.remove(group.groupId, member.memberId);
    this.releaseMember(group.groupId, member.memberId);
    group.refresh((name) => this.topicInfo(name), true);
  }

  private releaseMember(groupId: string, memberId: string): void {
    const limits = this.limits(groupId);
    for (const partition of this.partitions.values()) if (partition.groupId === groupId) partition.releaseMember(memberId, limits);
    this.flush(Date.now());
  }

  /**
   * The group coordinator of these groups' IDs moved to another broker: their members go (they
   * find the new coordinator and join again there; their record locks are released). The
   * share-partition state stays with this broker while it leads the partitions.
   */
  unloadGroups(inShard: (groupId: string) => boolean): void {
    for (const group of [...this.groups.values()]) {
      if (!inShard(group.groupId)) continue;
      for (const member of [...group.members.values()]) this.removeMember(group, member);
      if (!this.partitionsOf(group.groupId).length) this.groups.delete(group.groupId);
    }
  }

  listGroups(): ListedShareGroup[] {
    return [...this.groups.values()].map((group) => ({ groupId: group.groupId, state: group.state }));
  }

  /** DeleteGroups for a share group: only when empty; its share-partition state goes too. */
  deleteGroup(groupId: string, nowMs: number): number {
    const group = this.groups.get(groupId);
    if (group === undefined) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    for (const partition of [...this.partitions.values()]) if (partition.groupId === groupId) this.dropPartition(partition, nowMs);
    this.sessions.removeGroup(groupId);
    this.groups.delete(groupId);
    return ErrorCode.NONE;
  }

  // ---- share-partitions ------------------------------------------------------------------

  existingPartition(groupId: string, topicId: Buffer, partition: number): SharePartition | undefined {
    return this.partitions.get(SharePartition.key(groupId, topicId, partition));
  }

  partitionsOf(groupId: string): SharePartition[] {
    return [...this.partitions.values()].filter((partition) => partition.groupId === groupId);
  }

  /** The share-partition, created at the offset share.auto.offset.reset names on first use. */
  async partitionFor(groupId: string, topic: Topic, partition: number, log: PartitionLog, nowMs: number): Promise<SharePartition> {
    const key = SharePartition.key(groupId, topic.id, partition);
    const existing = this.partitions.get(key);
    if (existing !== undefined) {
      if (existing.spso < log.logStartOffset) existing.moveStartTo(log.logStartOffset);
      return existing;
    }
    const startOffset = await this.initialOffset(groupId, log, nowMs);
    const raced = this.partitions.get(key);
    if (raced !== undefined) return raced;
    const created = this.track(new SharePartition(groupId, topic.id, partition, startOffset, nowMs));
    created.markDirty();
    if (!this.groups.has(groupId)) this.groups.set(groupId, new ShareGroup(groupId));
    return created;
  }

  private async initialOffset(groupId: string, log: PartitionLog, nowMs: number): Promise<bigint> {
    const reset = this.autoOffsetReset(groupId);
    if (reset === 'earliest') return log.logStartOffset;
    if (reset.startsWith('by_duration:')) {
      const durationMs = parseIsoDuration(reset.slice('by_duration:'.length));
      if (durationMs !== undefined) {
        const found = await log.offsetForTimestamp(BigInt(nowMs - durationMs));
        return found?.offset ?? log.highWatermark;
      }
      this.logger.warn(`Share group ${groupId}: share.auto.offset.reset "${reset}" is not a valid duration; starting at the latest offset`);
    }
    return log.highWatermark;
  }

  /** Applies a member's acknowledgements to one share-partition; returns the partition's error. */
  acknowledge(
    groupId: string,
    memberId: string,
    partition: SharePartition | undefined,
    batches: readonly AcknowledgementBatch[],
    allowRenew: boolean,
    nowMs: number,
  ): { errorCode: number; errorMessage: string | null } {
    if (batches.length === 0) return { errorCode: ErrorCode.NONE, errorMessage: null };
    if (partition === undefined) return { errorCode: ErrorCode.INVALID_RECORD_STATE, errorMessage: 'Nothing was acquired from this share-partition' };
    const problem = partition.validate(memberId, batches, allowRenew);
    if (problem !== undefined) {
      return { errorCode: problem.invalidRequest ? ErrorCode.INVALID_REQUEST : ErrorCode.INVALID_RECORD_STATE, errorMessage: problem.message };
    }
    partition.acknowledge(batches, this.limits(groupId), nowMs);
    this.armLockTimer(partition);
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  }

  /** Keeps one timer per share-partition, at its earliest acquisition-lock deadline. */
  armLockTimer(partition: SharePartition): void {
    const deadline = partition.earliestDeadline();
    const current = this.lockTimers.get(partition.key);
    if (current !== undefined && deadline !== undefined && current.at <= deadline) return;
    if (current !== undefined) clearTimeout(current.timer);
    this.lockTimers.delete(partition.key);
    if (deadline === undefined) return;
    const timer = setTimeout(
      () => {
        this.lockTimers.delete(partition.key);
        if (this.partitions.get(partition.key) !== partition) return;
        partition.expireLocks(Date.now(), this.limits(partition.groupId));
        this.flush(Date.now());
        this.armLockTimer(partition);
      },
      Math.max(0, deadline - Date.now()),
    );
    timer.unref();
    this.lockTimers.set(partition.key, { timer, at: deadline });
  }

  /** Writes the state of every share-partition that changed (one snapshot each). */
  flush(nowMs: number): void {
    for (const partition of this.dirty) {
      if (!partition.dirty || this.partitions.get(partition.key) !== partition) continue;
      partition.dirty = false;
      partition.stateEpoch++;
      const batches = partition.stateBatches();
      this.stateLog.writeSnapshot(
        { groupId: partition.groupId, topicId: partition.topicId, partition: partition.partition },
        {
          snapshotEpoch: partition.stateEpoch,
          stateEpoch: 0,
          leaderEpoch: 0,
          startOffset: partition.spso,
          deliveryCompleteCount: partition.deliveryCompleteCount(),
          createTimestamp: BigInt(partition.createTimestamp),
          writeTimestamp: BigInt(nowMs),
          stateBatches: batches,
        },
        nowMs,
      );
    }
    this.dirty.clear();
  }

  private track(partition: SharePartition): SharePartition {
    partition.onDirty = (changed) => this.dirty.add(changed);
    this.partitions.set(partition.key, partition);
    return partition;
  }

  private dropPartition(partition: SharePartition, nowMs: number): void {
    this.partitions.delete(partition.key);
    const timer = this.lockTimers.get(partition.key);
    if (timer !== undefined) clearTimeout(timer.timer);
    this.lockTimers.delete(partition.key);
    this.stateLog.delete({ groupId: partition.groupId, topicId: partition.topicId, partition: partition.partition }, nowMs);
  }

  // ---- sessions --------------------------------------------------------------------------

  /** Releases a member's records when the connection its share session lives on closes. */
  watchConnection(connectionId: number, closed: Promise<void>): void {
    if (this.watchedConnections.has(connectionId)) return;
    this.watchedConnections.add(connectionId);
    void closed.then(() => {
      this.watchedConnections.delete(connectionId);
      for (const session of this.sessions.removeConnection(connectionId)) this.releaseSession(session);
    });
  }

  /** A closed session gives back whatever its member still holds. */
  releaseSession(session: ShareSession): void {
    this.releaseMember(session.groupId, session.memberId);
  }

  // ---- admin: share-group offsets (DescribeShareGroupOffsets, Alter..., Delete...) ------------

  /** Sets the SPSO of an empty (or new) group's share-partition, dropping what was in flight. */
  alterOffset(groupId: string, topic: Topic, partition: number, startOffset: bigint, nowMs: number): number {
    const log = topic.partitions[partition];
    if (log === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const clamped = startOffset < log.logStartOffset ? log.logStartOffset : startOffset > log.highWatermark ? log.highWatermark : startOffset;
    const key = SharePartition.key(groupId, topic.id, partition);
    let state = this.partitions.get(key);
    if (state === undefined) {
      state = this.track(new SharePartition(groupId, topic.id, partition, clamped, nowMs));
    }
    state.reset(clamped);
    if (!this.groups.has(groupId)) this.groups.set(groupId, new ShareGroup(groupId));
    return ErrorCode.NONE;
  }

  /** Deletes the state of a group's share-partitions of one topic: the next fetch starts afresh. */
  deleteOffsets(groupId: string, topic: Topic, nowMs: number): void {
    for (const partition of [...this.partitions.values()]) {
      if (partition.groupId === groupId && partition.topicId.equals(topic.id)) this.dropPartition(partition, nowMs);
    }
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /** Rebuilds every share-partition from __share_group_state. */
  async load(): Promise<void> {
    const restored = new Map<
      string,
      {
        groupId: string;
        topicId: Buffer;
        partition: number;
        startOffset: bigint;
        batches: Map<bigint, { lastOffset: bigint; deliveryState: number; deliveryCount: number }>;
        epoch: number;
        created: number;
      }
    >();
    let records = 0;
    for await (const record of this.stateLog.replay()) {
      records++;
      const key = SharePartition.key(record.key.groupId, record.key.topicId, record.key.partition);
      if (record.value === null) {
        restored.delete(key);
        continue;
      }
      if (record.kind === 'snapshot') {
        const batches = new Map(record.value.stateBatches.map((batch) => [batch.firstOffset, batch]));
        restored.set(key, { ...record.key, startOffset: record.value.startOffset, batches, epoch: record.value.snapshotEpoch, created: Number(record.value.createTimestamp) });
        continue;
      }
      const entry = restored.get(key);
      if (entry === undefined) continue;
      if (record.value.startOffset >= 0n) entry.startOffset = record.value.startOffset;
      for (const batch of record.value.stateBatches) entry.batches.set(batch.firstOffset, batch);
    }
    for (const entry of restored.values()) {
      const topic = this.logs.topicById(entry.topicId);
      if (topic === undefined) continue; // the topic was deleted since
      const partition = new SharePartition(entry.groupId, entry.topicId, entry.partition, entry.startOffset, entry.created);
      const batches = [...entry.batches].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([firstOffset, batch]) => ({ firstOffset, ...batch }));
      partition.restore(entry.startOffset, batches);
      partition.stateEpoch = entry.epoch;
      partition.dirty = false;
      this.track(partition);
      if (!this.groups.has(entry.groupId)) this.groups.set(entry.groupId, new ShareGroup(entry.groupId));
    }
    if (records > 0) this.logger.info(`Share coordinator: ${this.partitions.size} share-partitions of ${this.groups.size} share groups loaded from ${records} records`);
  }

  stop(): void {
    for (const { timer } of this.lockTimers.values()) clearTimeout(timer);
    this.lockTimers.clear();
    for (const group of this.groups.values()) for (const member of group.members.values()) if (member.sessionTimer !== undefined) clearTimeout(member.sessionTimer);
  }
}

/** ISO-8601 durations as share.auto.offset.reset's by_duration takes them (PnDTnHnMn.nS). */
export function parseIsoDuration(text: string): number | undefined {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (match === null || text === 'P' || text.endsWith('T')) return undefined;
  const [, days, hours, minutes, seconds] = match;
  return (Number(days ?? 0) * 86400 + Number(hours ?? 0) * 3600 + Number(minutes ?? 0) * 60 + Number(seconds ?? 0)) * 1000;
}
