// The KIP-848 consumer group protocol: ConsumerGroupHeartbeat joins, heartbeats and leaves;
// the coordinator keeps the group epoch, computes the target assignment with a server-side
// assignor when the group epoch moves past the assignment epoch, and reconciles each member
// towards it, one heartbeat at a time (reconciliation.ts). Deadlines (session and rebalance
// timeouts) go through the coordinator's one Scheduler; every change is written to
// __consumer_offsets with Kafka's record layout (consumer-group-records.ts) before the answer.
// Kafka's GroupMetadataManager.consumerGroupHeartbeat is the reference for each step.

import { randomBytes } from 'node:crypto';
import { type BrokerConfig } from '../config/broker-config.js';
import { type Logger } from '../logger.js';
import { type TopicCatalog, type TopicInfo } from '../cluster/metadata.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ASSIGNORS, type AssignmentTopic, DEFAULT_ASSIGNOR } from './assignors.js';
import {
  ConsumerGroup,
  type ConsumerGroupMember,
  isReconciledTo,
  LEAVE_GROUP_MEMBER_EPOCH,
  LEAVE_GROUP_STATIC_MEMBER_EPOCH,
  newMember,
  NO_PARTITIONS,
  sameCurrentAssignment,
  sameMetadata,
  samePartitions,
  sameStrings,
  type TopicPartitions,
} from './consumer-group.js';
import {
  type ConsumerGroupRecord,
  currentAssignmentRecord,
  groupEpochRecord,
  groupTombstones,
  memberMetadataRecord,
  memberTombstones,
  replayConsumerGroupRecord,
  targetEpochRecord,
  targetMemberRecord,
} from './consumer-group-records.js';
import { type KeyValue, type OffsetsLog } from './offsets-log.js';
import { reconcile } from './reconciliation.js';
import { type Scheduler } from './scheduler.js';
import { type HeartbeatRequest, type HeartbeatResult, toTopicPartitions, validateHeartbeat } from './consumer-group-heartbeat.js';
import { SubscribedTopics } from './consumer-group-topics.js';
import { consumerGroupDescription, type ConsumerGroupDescription, wirePartitions } from './consumer-group-views.js';

/** What the consumer side needs from the classic groups sharing the group ID space. */
export interface ClassicGroupAccess {
  classicGroupState(groupId: string): 'none' | 'empty' | 'active';
  /** Removes an empty classic group, so a consumer group can take over its ID (Kafka 4.x). */
  removeEmptyClassicGroup(groupId: string): void;
  /** A streams or share group has the ID. */
  isOtherGroup?(groupId: string): boolean;
}

const fail = (code: number, message: string) => new KafkaError(code, message);

function isSubset(owned: TopicPartitions | null, assigned: TopicPartitions): boolean {
  if (owned === null) return false;
  for (const [topicId, set] of owned) {
    const mine = assigned.get(topicId);
    for (const partition of set) if (mine === undefined || !mine.has(partition)) return false;
  }
  return true;
}

export class ConsumerGroupCoordinator {
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly maxGroupSize: number;
  private readonly topics: SubscribedTopics;

  constructor(
    private readonly catalog: TopicCatalog,
    private readonly offsetsLog: OffsetsLog,
    private readonly scheduler: Scheduler,
    config: BrokerConfig,
    private readonly logger: Logger,
    private readonly classic: ClassicGroupAccess,
    private readonly now: () => number,
  ) {
    this.topics = new SubscribedTopics(catalog);
    this.sessionTimeoutMs = config.values.get('group.consumer.session.timeout.ms') as number;
    this.heartbeatIntervalMs = config.values.get('group.consumer.heartbeat.interval.ms') as number;
    // Kafka's group.consumer.max.size (the classic group.max.size when a caller's config lacks it).
    this.maxGroupSize = (config.values.get('group.consumer.max.size') ?? config.values.get('group.max.size')) as number;
  }

  /** Per-group overrides (consumer.session.timeout.ms, consumer.heartbeat.interval.ms); set by the broker. */
  groupConfigs: { intValue(groupId: string, name: string): number } | undefined;

  private sessionTimeoutFor(groupId: string): number {
    return this.groupConfigs?.intValue(groupId, 'consumer.session.timeout.ms') ?? this.sessionTimeoutMs;
  }

  private heartbeatIntervalFor(groupId: string): number {
    return this.groupConfigs?.intValue(groupId, 'consumer.heartbeat.interval.ms') ?? this.heartbeatIntervalMs;
  }

  group(groupId: string): ConsumerGroup | undefined {
    return this.groups.get(groupId);
  }

  allGroups(): IterableIterator<ConsumerGroup> {
    return this.groups.values();
  }

  // ---- ConsumerGroupHeartbeat ----

  heartbeat(request: HeartbeatRequest): HeartbeatResult {
    try {
      validateHeartbeat(request);
      if (request.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || request.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) return this.leave(request);
      return this.joinOrHeartbeat(request);
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      return { errorCode: error.kafkaCode, errorMessage: error.message, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
    }
  }

  private joinOrHeartbeat(request: HeartbeatRequest): HeartbeatResult {
    const joining = request.memberEpoch === 0;
    const { group, replacesClassic } = this.groupForHeartbeat(request.groupId, joining);
    if (group.members.size >= this.maxGroupSize && (request.memberId === '' || !group.members.has(request.memberId))) {
      throw fail(ErrorCode.GROUP_MAX_SIZE_REACHED, `The consumer group has reached its maximum capacity of ${this.maxGroupSize} members.`);
    }
    // v0: the coordinator names a new member (a UUID in Kafka's base64 form).
    const memberId = request.memberId === '' ? randomBytes(16).toString('base64url') : request.memberId;
    const owned = request.ownedPartitions === null ? null : toTopicPartitions(request.ownedPartitions);
    const records: KeyValue[] = [];
    const member =
      request.instanceId === null ? this.dynamicMember(group, memberId, request.memberEpoch, owned, joining) : this.staticMember(group, memberId, request, owned, joining, records);
    if (this.groups.get(group.groupId) !== group) {
      if (replacesClassic) this.classic.removeEmptyClassicGroup(group.groupId);
      this.groups.set(group.groupId, group);
      this.logger.info(`Consumer group ${group.groupId} created${replacesClassic ? ' in place of an empty classic group' : ''}`);
    }
    const isNew = !group.members.has(memberId);

    // 1. The member's own fields; a new subscription bumps the group epoch.
    const names = request.subscribedTopicNames === null ? member.subscribedTopicNames : [...new Set(request.subscribedTopicNames)].sort();
    const regex = request.subscribedTopicRegex === null ? member.subscribedTopicRegex : request.subscribedTopicRegex === '' ? null : request.subscribedTopicRegex;
    const updated: ConsumerGroupMember = {
      ...member,
      instanceId: request.instanceId ?? member.instanceId,
      rackId: request.rackId ?? member.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs !== -1 ? request.rebalanceTimeoutMs : member.rebalanceTimeoutMs,
      serverAssignor: request.serverAssignor ?? member.serverAssignor,
      subscribedTopicNames: names,
      subscribedTopicRegex: regex,
      clientId: request.clientId,
      clientHost: request.clientHost,
    };
    const subscriptionChanged = !sameStrings(member.subscribedTopicNames, names) || member.subscribedTopicRegex !== regex;
    if (isNew || !sameMetadata(member, updated)) records.push(memberMetadataRecord(group.groupId, updated));
    group.updateMember(updated);
    const bump = group.groupEpoch === 0 || subscriptionChanged;
    this.maybeBumpGroupEpoch(group, bump, records);

    // 2. A new target assignment when the group epoch moved past it.
    if (group.groupEpoch > group.assignmentEpoch) this.updateTargetAssignment(group, records);

    // 3. Reconciliation of this member towards its target.
    let current = updated;
    if (subscriptionChanged || !isReconciledTo(updated, group.assignmentEpoch)) {
      current = reconcile({
        member: updated,
        targetEpoch: group.assignmentEpoch,
        target: group.targetAssignment.get(memberId) ?? NO_PARTITIONS,
        subscribedTopicIds: new Set(this.topics.ofMember(updated).map((topic) => topic.id.toString('hex'))),
        owned,
        subscriptionChanged,
        ownerOf: (topicId, partition) => group.ownerOf(topicId, partition),
      });
    }
    if (isNew || !sameCurrentAssignment(updated, current)) {
      group.updateMember(current);
      records.push(currentAssignmentRecord(group.groupId, current));
      if (current.state === 'UnrevokedPartitions') this.scheduleRebalanceTimeout(group, current);
      else this.scheduler.cancel(this.rebalanceKey(group.groupId, memberId));
    }
    this.scheduleSession(group, memberId);
    this.offsetsLog.append(group.groupId, records, this.now());

    // The assignment goes out on a join, a full request (the client lost track), or a change.
    const full = request.rebalanceTimeoutMs !== -1 && (request.subscribedTopicNames !== null || request.subscribedTopicRegex !== null) && request.ownedPartitions !== null;
    const changed = !samePartitions(member.assigned, current.assigned);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId,
      memberEpoch: current.memberEpoch,
      heartbeatIntervalMs: this.heartbeatIntervalFor(group.groupId),
      assignment: joining || full || changed ? wirePartitions(current.assigned) : null,
    };
  }

  private groupForHeartbeat(groupId: string, joining: boolean): { group: ConsumerGroup; replacesClassic: boolean } {
    const existing = this.groups.get(groupId);
    if (existing !== undefined) return { group: existing, replacesClassic: false };
    if (this.classic.isOtherGroup?.(groupId) === true) throw fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`);
    const classic = this.classic.classicGroupState(groupId);
    if (classic === 'active' && joining) {
      // Kafka 4.x may upgrade a classic group with members online; Spate only takes over
      // empty ones, and answers as Kafka does when the online upgrade is disabled.
      throw fail(ErrorCode.GROUP_ID_NOT_FOUND, `Cannot upgrade classic group ${groupId} to consumer group because online upgrade of a group with members is not supported.`);
    }
    if (!joining) {
      throw fail(ErrorCode.GROUP_ID_NOT_FOUND, classic === 'none' ? `Consumer group ${groupId} not found.` : `Group ${groupId} is not a consumer group.`);
    }
    return { group: new ConsumerGroup(groupId), replacesClassic: classic === 'empty' };
  }

  private dynamicMember(group: ConsumerGroup, memberId: string, epoch: number, owned: TopicPartitions | null, joining: boolean): ConsumerGroupMember {
    const existing = group.members.get(memberId);
    if (existing === undefined) {
      if (!joining) throw fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${group.groupId}.`);
      return newMember(memberId);
    }
    this.checkMemberEpoch(existing, epoch, owned);
    return existing;
  }

  private staticMember(
    group: ConsumerGroup,
    memberId: string,
    request: HeartbeatRequest,
    owned: TopicPartitions | null,
    joining: boolean,
    records: KeyValue[],
  ): ConsumerGroupMember {
    const instanceId = request.instanceId!;
    const existing = group.staticMember(instanceId);
    if (joining) {
      if (existing === undefined) return group.members.get(memberId) ?? newMember(memberId);
      // KIP-848: an instance ID is free again only after its member left with epoch -2.
      if (existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
        throw fail(
          ErrorCode.UNRELEASED_INSTANCE_ID,
          `Static member ${memberId} with instance id ${instanceId} cannot join the group because the instance id is owned by ${existing.memberId} member.`,
        );
      }
      return this.replaceStaticMember(group, existing, memberId, records);
    }
    if (existing === undefined) throw fail(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${instanceId} is unknown.`);
    if (existing.memberId !== memberId) {
      throw fail(ErrorCode.FENCED_INSTANCE_ID, `Static member ${memberId} with instance id ${instanceId} was fenced by member ${existing.memberId}.`);
    }
    this.checkMemberEpoch(existing, request.memberEpoch, owned);
    return existing;
  }

  /** A returning static member takes over its predecessor's assignment, at epoch 0. */
  private replaceStaticMember(group: ConsumerGroup, previous: ConsumerGroupMember, memberId: string, records: KeyValue[]): ConsumerGroupMember {
    const target = group.targetAssignment.get(previous.memberId);
    group.removeMember(previous.memberId);
    this.cancelTimers(group.groupId, previous.memberId);
    records.push(...memberTombstones(group.groupId, previous.memberId));
    const replacement: ConsumerGroupMember = { ...previous, memberId, memberEpoch: 0, previousMemberEpoch: 0 };
    group.updateMember(replacement);
    records.push(memberMetadataRecord(group.groupId, replacement));
    if (target !== undefined) {
      group.targetAssignment.set(memberId, target);
      records.push(targetMemberRecord(group.groupId, memberId, target));
    }
    records.push(currentAssignmentRecord(group.groupId, replacement));
    this.logger.info(`Consumer group ${group.groupId}: static member ${previous.instanceId} rejoined as ${memberId} (was ${previous.memberId})`);
    return replacement;
  }

  /** Kafka's throwIfConsumerGroupMemberEpochIsInvalid; epoch 0 is a rejoin and always valid. */
  private checkMemberEpoch(member: ConsumerGroupMember, epoch: number, owned: TopicPartitions | null): void {
    if (epoch === 0) return;
    if (epoch > member.memberEpoch) {
      throw fail(
        ErrorCode.FENCED_MEMBER_EPOCH,
        `The consumer group member has a greater member epoch (${epoch}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
      );
    }
    // The previous epoch is accepted when the answer that bumped it may have been lost.
    if (epoch < member.memberEpoch && (epoch !== member.previousMemberEpoch || !isSubset(owned, member.assigned))) {
      throw fail(
        ErrorCode.FENCED_MEMBER_EPOCH,
        `The consumer group member has a smaller member epoch (${epoch}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
      );
    }
  }

  /** Bumps the group epoch when asked to, or when the subscribed topics changed (KIP-1101 hash). */
  private maybeBumpGroupEpoch(group: ConsumerGroup, bump: boolean, records: KeyValue[]): void {
    const hash = this.topics.metadataHash(group);
    if (!bump && hash === group.metadataHash) return;
    group.groupEpoch++;
    group.metadataHash = hash;
    records.push(groupEpochRecord(group.groupId, group.groupEpoch, hash));
    this.logger.debug(`Consumer group ${group.groupId}: group epoch ${group.groupEpoch}`);
  }

  private updateTargetAssignment(group: ConsumerGroup, records: KeyValue[]): void {
    const assignorName = group.preferredAssignor() ?? DEFAULT_ASSIGNOR;
    const assignor = ASSIGNORS.get(assignorName)!;
    const topics = new Map<string, AssignmentTopic>();
    const memo = new Map<string, TopicInfo[]>();
    const members = [...group.members.values()].map((member) => {
      const ids = new Set<string>();
      for (const topic of this.topics.ofMember(member, memo)) {
        const id = topic.id.toString('hex');
        ids.add(id);
        topics.set(id, { id, name: topic.name, partitions: topic.partitionCount });
      }
      return { memberId: member.memberId, instanceId: member.instanceId, subscribedTopicIds: ids };
    });
    const next = assignor.assign({ members, topics, current: group.targetAssignment });
    for (const { memberId } of members) {
      const partitions = next.get(memberId) ?? NO_PARTITIONS;
      const previous = group.targetAssignment.get(memberId);
      if (previous === undefined || !samePartitions(previous, partitions)) records.push(targetMemberRecord(group.groupId, memberId, partitions));
      group.targetAssignment.set(memberId, partitions);
    }
    group.assignmentEpoch = group.groupEpoch;
    records.push(targetEpochRecord(group.groupId, group.assignmentEpoch));
    this.logger.debug(`Consumer group ${group.groupId}: target assignment for epoch ${group.assignmentEpoch} with the ${assignorName} assignor`);
  }

  // ---- Leaving, session and rebalance timeouts ----

  private leave(request: HeartbeatRequest): HeartbeatResult {
    const group = this.groups.get(request.groupId);
    if (group === undefined) {
      const classic = this.classic.classicGroupState(request.groupId) !== 'none';
      throw fail(ErrorCode.GROUP_ID_NOT_FOUND, classic ? `Group ${request.groupId} is not a consumer group.` : `Consumer group ${request.groupId} not found.`);
    }
    const records: KeyValue[] = [];
    if (request.instanceId === null) {
      const member = group.members.get(request.memberId);
      if (member === undefined) throw fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${request.memberId} is not a member of group ${group.groupId}.`);
      this.fence(group, member, 'left the group', records);
    } else {
      const member = group.staticMember(request.instanceId);
      if (member === undefined) throw fail(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${request.instanceId} is unknown.`);
      if (member.memberId !== request.memberId) {
        throw fail(ErrorCode.FENCED_INSTANCE_ID, `Static member ${request.memberId} with instance id ${request.instanceId} was fenced by member ${member.memberId}.`);
      }
      if (request.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
        // KIP-345 in KIP-848: the member keeps its partitions until it returns or its session
        // expires; nothing is rebalanced meanwhile.
        const away: ConsumerGroupMember = { ...member, memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH, pendingRevocation: NO_PARTITIONS };
        group.updateMember(away);
        records.push(currentAssignmentRecord(group.groupId, away));
        this.scheduler.cancel(this.rebalanceKey(group.groupId, member.memberId));
        this.logger.info(`Consumer group ${group.groupId}: static member ${request.instanceId} (${member.memberId}) left for now`);
      } else {
        this.fence(group, member, 'left the group', records);
      }
    }
    this.offsetsLog.append(group.groupId, records, this.now());
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: request.memberId, memberEpoch: request.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
  }

  /** Removes a member; the group epoch moves so the others get its partitions. */
  private fence(group: ConsumerGroup, member: ConsumerGroupMember, reason: string, records: KeyValue[]): void {
    group.removeMember(member.memberId);
    this.cancelTimers(group.groupId, member.memberId);
    records.push(...memberTombstones(group.groupId, member.memberId));
    this.maybeBumpGroupEpoch(group, true, records);
    this.logger.info(`Consumer group ${group.groupId}: member ${member.memberId} ${reason}; group epoch ${group.groupEpoch}`);
  }

  private scheduleSession(group: ConsumerGroup, memberId: string): void {
    this.scheduler.schedule(this.sessionKey(group.groupId, memberId), this.now() + this.sessionTimeoutFor(group.groupId), () => {
      const member = group.members.get(memberId);
      if (member === undefined || this.groups.get(group.groupId) !== group) return;
      const records: KeyValue[] = [];
      this.fence(group, member, 'session expired', records);
      this.offsetsLog.append(group.groupId, records, this.now());
    });
  }

  /** A member that does not revoke within its rebalance timeout is removed (Kafka's rebalance timeout). */
  private scheduleRebalanceTimeout(group: ConsumerGroup, member: ConsumerGroupMember): void {
    const epoch = member.memberEpoch;
    this.scheduler.schedule(this.rebalanceKey(group.groupId, member.memberId), this.now() + Math.max(0, member.rebalanceTimeoutMs), () => {
      const current = group.members.get(member.memberId);
      if (current === undefined || current.memberEpoch !== epoch || current.state !== 'UnrevokedPartitions') return;
      const records: KeyValue[] = [];
      this.fence(group, current, 'did not revoke its partitions within its rebalance timeout', records);
      this.offsetsLog.append(group.groupId, records, this.now());
    });
  }

  private cancelTimers(groupId: string, memberId: string): void {
    this.scheduler.cancel(this.sessionKey(groupId, memberId));
    this.scheduler.cancel(this.rebalanceKey(groupId, memberId));
  }

  private sessionKey(groupId: string, memberId: string): string {
    return `consumer-session\u0000${groupId}\u0000${memberId}`;
  }

  private rebalanceKey(groupId: string, memberId: string): string {
    return `consumer-rebalance\u0000${groupId}\u0000${memberId}`;
  }

  /** Names of the topics the group's members subscribe to (OffsetDelete keeps their offsets). */
  subscribedTopicNames(groupId: string): Set<string> {
    const group = this.groups.get(groupId);
    return group === undefined ? new Set() : this.topics.subscribedTopicNames(group);
  }

  // ---- Admin, offsets, conversion ----

  describe(groupId: string): { errorCode: number; errorMessage: string | null; description: ConsumerGroupDescription | null } {
    const group = this.groups.get(groupId);
    if (group === undefined) {
      const classic = this.classic.classicGroupState(groupId) !== 'none';
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: classic ? `Group ${groupId} is not a consumer group.` : `Group ${groupId} not found.`, description: null };
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, description: consumerGroupDescription(group, this.catalog, DEFAULT_ASSIGNOR) };
  }

  /** OffsetCommit (apiVersion given) or TxnOffsetCommit for a consumer group (Kafka's ConsumerGroup.validateOffsetCommit). */
  validateOffsetCommit(group: ConsumerGroup, memberId: string, memberEpoch: number, apiVersion: number | undefined): number {
    // Epoch -1: the admin client or a consumer without group management, only while empty.
    if (memberEpoch < 0 && group.members.size === 0) return ErrorCode.NONE;
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    // Members of the consumer protocol commit with OffsetCommit v9+ (member epochs).
    if (apiVersion !== undefined && apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION;
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /** OffsetFetch v9+ for a consumer group: a member's epoch must be current. */
  validateOffsetFetch(groupId: string, memberId: string | null, memberEpoch: number): number {
    const group = this.groups.get(groupId);
    if (group === undefined || ((memberId === null || memberId === '') && memberEpoch < 0)) return ErrorCode.NONE;
    const member = group.members.get(memberId ?? '');
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /** Deletes an empty group (DeleteGroups, a classic member taking the ID, expired offsets). */
  deleteEmptyGroup(groupId: string): boolean {
    const group = this.groups.get(groupId);
    if (group === undefined || group.members.size > 0) return false;
    this.groups.delete(groupId);
    this.offsetsLog.append(groupId, groupTombstones(groupId), this.now());
    this.logger.info(`Consumer group ${groupId} deleted`);
    return true;
  }

  // ---- Loading from __consumer_offsets ----

  replay(record: ConsumerGroupRecord): void {
    replayConsumerGroupRecord(this.groups, record);
  }

  /** After loading a shard: every member of its groups gets a fresh session, as Kafka does on coordinator load. */
  loaded(groupIds: Iterable<string>): number {
    let count = 0;
    for (const groupId of groupIds) {
      const group = this.groups.get(groupId);
      if (group === undefined) continue;
      count++;
      for (const member of group.members.values()) {
        this.scheduleSession(group, member.memberId);
        if (member.state === 'UnrevokedPartitions') this.scheduleRebalanceTimeout(group, member);
      }
    }
    return count;
  }

  /** Drops the groups of a shard this broker no longer coordinates (their timers are cancelled by the caller). */
  unload(inShard: (groupId: string) => boolean): void {
    for (const groupId of [...this.groups.keys()]) if (inShard(groupId)) this.groups.delete(groupId);
  }
}
