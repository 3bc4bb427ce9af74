// Share groups' membership (KIP-932: ShareGroupHeartbeat, ShareGroupDescribe), kept, as in
// Kafka, by the group coordinator of the group's ID: the handlers check
// GroupCoordinator.coordinatorError first, and the groups of a __consumer_offsets partition
// leave with it when this broker resigns its leadership (their members rejoin at the new
// coordinator with the member IDs they keep; their share sessions and acquired records at
// the share-partition leaders are not touched, as in Kafka).
//
// The group's epoch and the topics it has share-partition state for are written to
// __consumer_offsets as Kafka does (ShareGroupMetadata and ShareGroupStatePartitionMetadata
// records, share-group-records.ts) and replayed when a broker loads the partition, so an
// empty share group, its offsets and its deletion outlive a coordinator move or a restart.
// Differs from Kafka: members are not written, so after the group coordinator moves its
// members rejoin (FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID, which share consumers answer by
// joining again with their member IDs); the topics a group has state for are the ones it
// subscribed to or was reset on (Kafka's group coordinator initialises each share-partition;
// here the share-partition leader does, share-partition-manager.ts).

import { type BrokerConfig } from '../config/broker-config.js';
import { coordinatorWriteError, type KeyValue } from '../cluster/coordinator-log.js';
import { type TopicCatalog } from '../cluster/metadata.js';
import { type Logger } from '../logger.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type SharePartitionId } from './share-coordinator.js';
import { ShareGroup, type ShareMember, type TopicInfo } from './share-group.js';
import {
  encodeShareGroupMetadataKey,
  encodeShareGroupMetadataValue,
  encodeShareGroupStatePartitionMetadataKey,
  encodeShareGroupStatePartitionMetadataValue,
  type ShareGroupRecord,
} from './share-group-records.js';
import { type SharePartitionManager } from './share-partition-manager.js';

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

/** A share-partition with its topic's name. */
export interface NamedSharePartition extends SharePartitionId {
  readonly topicName: string;
}

const LEAVE_EPOCH = -1;
const JOIN_EPOCH = 0;

export class ShareGroupCoordinator {
  private readonly groups = new Map<string, ShareGroup>();
  /** True when another kind of group (classic, consumer) owns the ID. */
  otherGroupExists: (groupId: string) => boolean = () => false;
  /** The share-partitions of a group with state in this broker's share coordinator shards. */
  localSharePartitions: (groupId: string) => SharePartitionId[] = () => [];
  /** Appends a group's records to its __consumer_offsets partition (throws KafkaError when this broker cannot); set by the broker. */
  appendRecords: (groupId: string, records: readonly KeyValue[]) => void = () => undefined;

  constructor(
    private readonly catalog: TopicCatalog,
    private readonly partitions: SharePartitionManager,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {}

  group(groupId: string): ShareGroup | undefined {
    return this.groups.get(groupId);
  }

  /** The group, created Empty when it does not exist (AlterShareGroupOffsets on a new group, a single node's start). */
  register(groupId: string): ShareGroup {
    let group = this.groups.get(groupId);
    if (group === undefined) this.groups.set(groupId, (group = new ShareGroup(groupId)));
    return group;
  }

  /**
   * Writes what changed of the group's epoch and known topics to __consumer_offsets; the
   * caller answers once GroupCoordinator.committed says so. Returns the error when it cannot.
   */
  persist(group: ShareGroup): number {
    const records: KeyValue[] = [];
    if (group.groupEpoch !== group.persistedEpoch) records.push({ key: encodeShareGroupMetadataKey(group.groupId), value: encodeShareGroupMetadataValue(group.groupEpoch, 0n) });
    const initialized = [...group.knownTopics]
      .sort()
      .map((name) => this.catalog.topicInfo(name))
      .filter((topic) => topic !== undefined)
      .map((topic) => ({ topicId: topic.id, topicName: topic.name, partitions: Array.from({ length: topic.partitionCount }, (_, index) => index) }));
    const signature = initialized.map((topic) => `${topic.topicName}:${topic.topicId.toString('hex')}:${topic.partitions.length}`).join(',');
    if (signature !== group.persistedTopics) {
      records.push({
        key: encodeShareGroupStatePartitionMetadataKey(group.groupId),
        value: encodeShareGroupStatePartitionMetadataValue({ initializing: [], initialized, deleting: [] }),
      });
    }
    if (records.length === 0) return ErrorCode.NONE;
    try {
      this.appendRecords(group.groupId, records);
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      return coordinatorWriteError(error.kafkaCode);
    }
    group.persistedEpoch = group.groupEpoch;
    group.persistedTopics = signature;
    return ErrorCode.NONE;
  }

  /** A share group record replayed from __consumer_offsets (the partition is loading here). */
  replay(record: ShareGroupRecord): void {
    if (record.value === null) {
      const group = this.groups.get(record.group);
      if (group === undefined) return;
      if (record.kind === 'share-group') {
        if (group.members.size === 0) this.groups.delete(record.group);
      } else {
        group.knownTopics.clear();
        group.persistedTopics = '';
      }
      return;
    }
    const group = this.register(record.group);
    if (record.kind === 'share-group') {
      group.groupEpoch = Math.max(group.groupEpoch, record.value.epoch);
      group.assignmentEpoch = group.groupEpoch;
      group.persistedEpoch = record.value.epoch;
      return;
    }
    group.knownTopics.clear();
    for (const topic of record.value.initialized) group.knownTopics.add(topic.topicName);
    group.persistedTopics = record.value.initialized.map((topic) => `${topic.topicName}:${topic.topicId.toString('hex')}:${topic.partitions.length}`).join(',');
  }

  heartbeat(request: ShareHeartbeatRequest): ShareHeartbeatResult {
    const intervalMs = this.partitions.groupInt(request.groupId, 'share.heartbeat.interval.ms', 'group.share.heartbeat.interval.ms');
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
      group = this.register(request.groupId);
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
    this.touchMember(group, member);

    const persisted = this.persist(group);
    if (persisted !== ErrorCode.NONE) return fail(persisted, `The share group's metadata could not be written (error ${persisted}).`);

    let assignment: ShareHeartbeatResult['assignment'] = null;
    if (member.sentEpoch !== group.assignmentEpoch) {
      member.memberEpoch = group.assignmentEpoch;
      member.sentEpoch = group.assignmentEpoch;
      assignment = [...member.assignment].map(([topicId, partitions]) => ({ topicId: Buffer.from(topicId, 'hex'), partitions: [...partitions].sort((a, b) => a - b) }));
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: member.memberId, memberEpoch: member.memberEpoch, heartbeatIntervalMs: intervalMs, assignment };
  }

  /** A topic of the cluster (share groups read topics this broker may hold no replica of). */
  private topicInfo(name: string): TopicInfo | undefined {
    const topic = this.catalog.topicInfo(name);
    return topic === undefined || topic.internal ? undefined : { name: topic.name, id: topic.id, partitions: topic.partitionCount };
  }

  /** Restarts the member's session timer (group.share.session.timeout.ms). */
  private touchMember(group: ShareGroup, member: ShareMember): void {
    if (member.sessionTimer !== undefined) clearTimeout(member.sessionTimer);
    const timeoutMs = this.partitions.groupInt(group.groupId, 'share.session.timeout.ms', 'group.share.session.timeout.ms');
    member.sessionTimer = setTimeout(() => {
      if (group.members.get(member.memberId) !== member) return;
      this.logger.info(`Share group ${group.groupId}: member ${member.memberId} (${member.clientId}) timed out after ${timeoutMs} ms`);
      this.removeMember(group, member);
    }, timeoutMs);
    member.sessionTimer.unref();
  }

  /**
   * A member leaves or times out: its share session and records on this broker go at once
   * (elsewhere its records come back when its session there closes or its locks run out).
   */
  private removeMember(group: ShareGroup, member: ShareMember): void {
    if (member.sessionTimer !== undefined) clearTimeout(member.sessionTimer);
    group.members.delete(member.memberId);
    const session = this.partitions.sessions.remove(group.groupId, member.memberId);
    if (session !== undefined) this.partitions.sessionRemoved(session);
    else this.partitions.releaseMember(group.groupId, member.memberId);
    group.refresh((name) => this.topicInfo(name), true);
    const persisted = this.persist(group);
    if (persisted !== ErrorCode.NONE) this.logger.debug(`Share group ${group.groupId}: its new epoch could not be written (error ${persisted})`);
  }

  /** The group coordinator of these groups' IDs moved to another broker: their membership goes with it. */
  unloadGroups(inShard: (groupId: string) => boolean): void {
    for (const group of [...this.groups.values()]) {
      if (!inShard(group.groupId)) continue;
      for (const member of group.members.values()) if (member.sessionTimer !== undefined) clearTimeout(member.sessionTimer);
      this.groups.delete(group.groupId);
    }
  }

  listGroups(): ListedShareGroup[] {
    return [...this.groups.values()].map((group) => ({ groupId: group.groupId, state: group.state }));
  }

  /**
   * The share-partitions of a group that may have state: every partition of the topics it
   * subscribed to, and those with state in this broker's share coordinator shards.
   */
  sharePartitionsOf(groupId: string): NamedSharePartition[] {
    const found = new Map<string, NamedSharePartition>();
    const add = (topicName: string, topicId: Buffer, partition: number) => found.set(`${topicId.toString('hex')}:${partition}`, { groupId, topicName, topicId, partition });
    const group = this.groups.get(groupId);
    const names = new Set(group?.knownTopics ?? []);
    for (const member of group?.members.values() ?? []) for (const name of member.subscribedTopicNames) names.add(name);
    for (const name of names) {
      const topic = this.catalog.topicInfo(name);
      if (topic !== undefined) for (let partition = 0; partition < topic.partitionCount; partition++) add(topic.name, topic.id, partition);
    }
    for (const id of this.localSharePartitions(groupId)) {
      const topic = this.catalog.topicInfoById(id.topicId);
      if (topic !== undefined) add(topic.name, id.topicId, id.partition);
    }
    return [...found.values()].sort((a, b) => (a.topicName < b.topicName ? -1 : a.topicName > b.topicName ? 1 : a.partition - b.partition));
  }

  /** DeleteGroups for a share group, after its state was deleted: the group goes (tombstones in __consumer_offsets). Returns the error when it cannot. */
  removeGroup(groupId: string): number {
    try {
      this.appendRecords(groupId, [
        { key: encodeShareGroupStatePartitionMetadataKey(groupId), value: null },
        { key: encodeShareGroupMetadataKey(groupId), value: null },
      ]);
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      return coordinatorWriteError(error.kafkaCode);
    }
    const group = this.groups.get(groupId);
    for (const member of group?.members.values() ?? []) if (member.sessionTimer !== undefined) clearTimeout(member.sessionTimer);
    this.groups.delete(groupId);
    this.partitions.removeGroup(groupId);
    return ErrorCode.NONE;
  }

  stop(): void {
    for (const group of this.groups.values()) for (const member of group.members.values()) if (member.sessionTimer !== undefined) clearTimeout(member.sessionTimer);
  }
}
