// KIP-848 consumer group state in __consumer_offsets, with Kafka's record layout: the key is
// a non-flexible struct whose int16 version names the record type; the value is a flexible
// (compact, tagged-field) struct of version 0.
//   key 3  ConsumerGroupMetadata             (group)          -> group epoch, metadata hash
//   key 5  ConsumerGroupMemberMetadata       (group, member)  -> what the member reported
//   key 6  ConsumerGroupTargetAssignmentMetadata (group)      -> assignment epoch
//   key 7  ConsumerGroupTargetAssignmentMember   (group, member) -> target partitions
//   key 8  ConsumerGroupCurrentMemberAssignment  (group, member) -> epochs, state, partitions
// Key 4 (subscription metadata, gone since Kafka 4.1) and 16 (resolved regexes, which Spate
// resolves on the fly) are not written and are skipped when read.

import { ProtocolDecodeError, Reader, Writer } from '../protocol/primitives.js';
import { ConsumerGroup, type ConsumerGroupMember, MemberState, type MemberStateName, newMember, NO_PARTITIONS, type TopicPartitions } from './consumer-group.js';

export const CONSUMER_GROUP_METADATA_KEY = 3;
export const CONSUMER_GROUP_MEMBER_METADATA_KEY = 5;
export const CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY = 6;
export const CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY = 7;
export const CONSUMER_GROUP_CURRENT_ASSIGNMENT_KEY = 8;
const VALUE_VERSION = 0;

export interface StoredMemberMetadata {
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string | null;
  readonly rebalanceTimeoutMs: number;
  readonly serverAssignor: string | null;
}

export interface StoredCurrentAssignment {
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: MemberStateName;
  readonly assigned: TopicPartitions;
  readonly pendingRevocation: TopicPartitions;
}

export type ConsumerGroupRecord =
  | { readonly kind: 'consumer-group'; readonly group: string; readonly value: { epoch: number; metadataHash: bigint } | null }
  | { readonly kind: 'consumer-member'; readonly group: string; readonly memberId: string; readonly value: StoredMemberMetadata | null }
  | { readonly kind: 'consumer-target-epoch'; readonly group: string; readonly value: { assignmentEpoch: number } | null }
  | { readonly kind: 'consumer-target-member'; readonly group: string; readonly memberId: string; readonly value: TopicPartitions | null }
  | { readonly kind: 'consumer-current-assignment'; readonly group: string; readonly memberId: string; readonly value: StoredCurrentAssignment | null };

function key(version: number, group: string, memberId?: string): Buffer {
  const w = new Writer(64);
  w.int16(version);
  w.string(group);
  if (memberId !== undefined) w.string(memberId);
  return w.toBuffer();
}

function writePartitions(w: Writer, partitions: TopicPartitions): void {
  const topics = [...partitions].filter(([, set]) => set.size > 0);
  w.compactArrayLength(topics.length);
  for (const [topicId, set] of topics) {
    w.uuid(Buffer.from(topicId, 'hex'));
    const sorted = [...set].sort((a, b) => a - b);
    w.compactArrayLength(sorted.length);
    for (const partition of sorted) w.int32(partition);
    w.emptyTaggedFields();
  }
}

function readPartitions(r: Reader): TopicPartitions {
  const partitions = new Map<string, Set<number>>();
  const topics = r.nonNullCompactArrayLength(18);
  for (let i = 0; i < topics; i++) {
    const topicId = r.uuid().toString('hex');
    const count = r.nonNullCompactArrayLength(4);
    const set = new Set<number>();
    for (let j = 0; j < count; j++) set.add(r.int32());
    r.skipTaggedFields();
    partitions.set(topicId, set);
  }
  return partitions;
}

export function groupEpochRecord(group: string, epoch: number, metadataHash: bigint): { key: Buffer; value: Buffer } {
  const w = new Writer(32);
  w.int16(VALUE_VERSION);
  w.int32(epoch);
  if (metadataHash === 0n) {
    w.emptyTaggedFields();
  } else {
    w.uvarint(1);
    const hash = new Writer(8);
    hash.int64(metadataHash);
    w.taggedField(0, hash);
  }
  return { key: key(CONSUMER_GROUP_METADATA_KEY, group), value: w.toBuffer() };
}

export function memberMetadataRecord(group: string, member: ConsumerGroupMember): { key: Buffer; value: Buffer } {
  const w = new Writer(128);
  w.int16(VALUE_VERSION);
  w.compactString(member.instanceId);
  w.compactString(member.rackId);
  w.compactString(member.clientId);
  w.compactString(member.clientHost);
  w.compactArrayLength(member.subscribedTopicNames.length);
  for (const name of member.subscribedTopicNames) w.compactString(name);
  w.compactString(member.subscribedTopicRegex);
  w.int32(member.rebalanceTimeoutMs);
  w.compactString(member.serverAssignor);
  w.emptyTaggedFields();
  return { key: key(CONSUMER_GROUP_MEMBER_METADATA_KEY, group, member.memberId), value: w.toBuffer() };
}

export function targetEpochRecord(group: string, assignmentEpoch: number): { key: Buffer; value: Buffer } {
  const w = new Writer(16);
  w.int16(VALUE_VERSION);
  w.int32(assignmentEpoch);
  w.emptyTaggedFields();
  return { key: key(CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY, group), value: w.toBuffer() };
}

export function targetMemberRecord(group: string, memberId: string, partitions: TopicPartitions): { key: Buffer; value: Buffer } {
  const w = new Writer(64);
  w.int16(VALUE_VERSION);
  writePartitions(w, partitions);
  w.emptyTaggedFields();
  return { key: key(CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY, group, memberId), value: w.toBuffer() };
}

export function currentAssignmentRecord(group: string, member: ConsumerGroupMember): { key: Buffer; value: Buffer } {
  const w = new Writer(64);
  w.int16(VALUE_VERSION);
  w.int32(member.memberEpoch);
  w.int32(member.previousMemberEpoch);
  w.int8(MemberState[member.state]);
  writePartitions(w, member.assigned);
  writePartitions(w, member.pendingRevocation);
  w.emptyTaggedFields();
  return { key: key(CONSUMER_GROUP_CURRENT_ASSIGNMENT_KEY, group, member.memberId), value: w.toBuffer() };
}

/** Tombstones that remove one member: current assignment, target assignment, metadata (Kafka's order). */
export function memberTombstones(group: string, memberId: string): Array<{ key: Buffer; value: null }> {
  return [
    { key: key(CONSUMER_GROUP_CURRENT_ASSIGNMENT_KEY, group, memberId), value: null },
    { key: key(CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY, group, memberId), value: null },
    { key: key(CONSUMER_GROUP_MEMBER_METADATA_KEY, group, memberId), value: null },
  ];
}

/** Tombstones that remove the group itself once its members are gone. */
export function groupTombstones(group: string): Array<{ key: Buffer; value: null }> {
  return [
    { key: key(CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY, group), value: null },
    { key: key(CONSUMER_GROUP_METADATA_KEY, group), value: null },
  ];
}

function checkVersion(r: Reader, what: string): void {
  const version = r.int16();
  if (version !== VALUE_VERSION) throw new ProtocolDecodeError(`${what} value version ${version} is not supported`);
}

/** Decodes a consumer group record whose key version (already read from `k`) is 3, 5, 6, 7 or 8. */
export function decodeConsumerGroupRecord(keyVersion: number, k: Reader, value: Buffer | null): ConsumerGroupRecord | undefined {
  if (keyVersion < CONSUMER_GROUP_METADATA_KEY || keyVersion > CONSUMER_GROUP_CURRENT_ASSIGNMENT_KEY || keyVersion === 4) return undefined;
  const reader = (buffer: Buffer) => new Reader(buffer);
  const group = k.nonNullString();
  switch (keyVersion) {
    case CONSUMER_GROUP_METADATA_KEY: {
      if (value === null) return { kind: 'consumer-group', group, value: null };
      const r = reader(value);
      checkVersion(r, 'ConsumerGroupMetadata');
      const epoch = r.int32();
      let metadataHash = 0n;
      for (const field of r.readTaggedFields()) if (field.tag === 0) metadataHash = field.data.readBigInt64BE(0);
      return { kind: 'consumer-group', group, value: { epoch, metadataHash } };
    }
    case CONSUMER_GROUP_MEMBER_METADATA_KEY: {
      const memberId = k.nonNullString();
      if (value === null) return { kind: 'consumer-member', group, memberId, value: null };
      const r = reader(value);
      checkVersion(r, 'ConsumerGroupMemberMetadata');
      const instanceId = r.compactString();
      const rackId = r.compactString();
      const clientId = r.nonNullCompactString();
      const clientHost = r.nonNullCompactString();
      const count = r.nonNullCompactArrayLength(1);
      const subscribedTopicNames: string[] = [];
      for (let i = 0; i < count; i++) subscribedTopicNames.push(r.nonNullCompactString());
      const regex = r.compactString();
      const rebalanceTimeoutMs = r.int32();
      const serverAssignor = r.compactString();
      r.skipTaggedFields();
      return {
        kind: 'consumer-member',
        group,
        memberId,
        value: {
          instanceId,
          rackId,
          clientId,
          clientHost,
          subscribedTopicNames: [...new Set(subscribedTopicNames)].sort(),
          subscribedTopicRegex: regex === '' ? null : regex,
          rebalanceTimeoutMs,
          serverAssignor,
        },
      };
    }
    case CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY: {
      if (value === null) return { kind: 'consumer-target-epoch', group, value: null };
      const r = reader(value);
      checkVersion(r, 'ConsumerGroupTargetAssignmentMetadata');
      return { kind: 'consumer-target-epoch', group, value: { assignmentEpoch: r.int32() } };
    }
    case CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY: {
      const memberId = k.nonNullString();
      if (value === null) return { kind: 'consumer-target-member', group, memberId, value: null };
      const r = reader(value);
      checkVersion(r, 'ConsumerGroupTargetAssignmentMember');
      return { kind: 'consumer-target-member', group, memberId, value: readPartitions(r) };
    }
    case CONSUMER_GROUP_CURRENT_ASSIGNMENT_KEY: {
      const memberId = k.nonNullString();
      if (value === null) return { kind: 'consumer-current-assignment', group, memberId, value: null };
      const r = reader(value);
      checkVersion(r, 'ConsumerGroupCurrentMemberAssignment');
      const memberEpoch = r.int32();
      const previousMemberEpoch = r.int32();
      const stateByte = r.int8();
      const state = (Object.keys(MemberState) as MemberStateName[]).find((name) => MemberState[name] === stateByte) ?? 'Stable';
      const assigned = readPartitions(r);
      const pendingRevocation = readPartitions(r);
      return { kind: 'consumer-current-assignment', group, memberId, value: { memberEpoch, previousMemberEpoch, state, assigned, pendingRevocation } };
    }
    default:
      return undefined;
  }
}

/** Applies one record read back from __consumer_offsets to the consumer groups. */
export function replayConsumerGroupRecord(groups: Map<string, ConsumerGroup>, record: ConsumerGroupRecord): void {
  const existing = groups.get(record.group);
  if (record.kind === 'consumer-group' && record.value === null) {
    groups.delete(record.group);
    return;
  }
  if (record.value === null && existing === undefined) return;
  const group = existing ?? new ConsumerGroup(record.group);
  groups.set(record.group, group);
  switch (record.kind) {
    case 'consumer-group':
      group.groupEpoch = record.value!.epoch;
      group.metadataHash = record.value!.metadataHash;
      break;
    case 'consumer-target-epoch':
      group.assignmentEpoch = record.value?.assignmentEpoch ?? 0;
      break;
    case 'consumer-target-member':
      if (record.value === null) group.targetAssignment.delete(record.memberId);
      else group.targetAssignment.set(record.memberId, record.value);
      break;
    case 'consumer-member':
      if (record.value === null) group.removeMember(record.memberId);
      else group.updateMember({ ...(group.members.get(record.memberId) ?? newMember(record.memberId)), ...record.value });
      break;
    case 'consumer-current-assignment': {
      const member = group.members.get(record.memberId);
      if (record.value !== null) group.updateMember({ ...(member ?? newMember(record.memberId)), ...record.value });
      else if (member !== undefined) group.updateMember({ ...member, assigned: NO_PARTITIONS, pendingRevocation: NO_PARTITIONS });
      break;
    }
  }
}
