// The key/value layout of Kafka's __consumer_offsets topic, so operators and tools
// recognise the records: key version 1 = OffsetCommitKey (group, topic, partition) with an
// OffsetCommitValue v3; key version 2 = GroupMetadataKey (group) with a GroupMetadataValue
// v3. A null value is a tombstone (offset deleted, group deleted). Key versions 3-8 hold
// KIP-848 consumer groups (consumer-group-records.ts), 11 and 15 share groups
// (share/share-group-records.ts).

import { ProtocolDecodeError, Reader, Writer } from '../protocol/primitives.js';
import { type ConsumerGroupRecord, decodeConsumerGroupRecord } from './consumer-group-records.js';
import { decodeShareGroupRecord, type ShareGroupRecord } from '../share/share-group-records.js';

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
const OFFSET_COMMIT_VALUE_VERSION = 3;
const GROUP_METADATA_VALUE_VERSION = 3;

export interface OffsetCommitRecord {
  readonly kind: 'offset';
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** null: the offset was deleted. */
  readonly value: OffsetCommitValue | null;
  /** Set when the record was written inside this producer's transaction (TxnOffsetCommit). */
  readonly producerId?: bigint;
}

/** A transaction marker (control batch) in the offsets topic: pending offsets commit or abort. */
export interface TransactionMarkerRecord {
  readonly kind: 'marker';
  readonly producerId: bigint;
  readonly commit: boolean;
}

export interface OffsetCommitValue {
  readonly offset: bigint;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestamp: bigint;
}

export interface StoredMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly subscription: Buffer;
  readonly assignment: Buffer;
}

export interface GroupMetadataValue {
  readonly protocolType: string;
  readonly generation: number;
  readonly protocol: string | null;
  readonly leader: string | null;
  readonly currentStateTimestamp: bigint;
  readonly members: readonly StoredMember[];
}

export interface GroupMetadataRecord {
  readonly kind: 'group';
  readonly group: string;
  /** null: the group was deleted. */
  readonly value: GroupMetadataValue | null;
}

export type OffsetsTopicRecord = OffsetCommitRecord | GroupMetadataRecord | ConsumerGroupRecord | ShareGroupRecord | TransactionMarkerRecord;

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Buffer {
  const w = new Writer(64);
  w.int16(OFFSET_COMMIT_KEY_VERSION);
  w.string(group);
  w.string(topic);
  w.int32(partition);
  return w.toBuffer();
}

export function encodeOffsetCommitValue(value: OffsetCommitValue): Buffer {
  const w = new Writer(64);
  w.int16(OFFSET_COMMIT_VALUE_VERSION);
  w.int64(value.offset);
  w.int32(value.leaderEpoch);
  w.string(value.metadata);
  w.int64(value.commitTimestamp);
  return w.toBuffer();
}

export function encodeGroupMetadataKey(group: string): Buffer {
  const w = new Writer(32);
  w.int16(GROUP_METADATA_KEY_VERSION);
  w.string(group);
  return w.toBuffer();
}

export function encodeGroupMetadataValue(value: GroupMetadataValue): Buffer {
  const w = new Writer(256);
  w.int16(GROUP_METADATA_VALUE_VERSION);
  w.string(value.protocolType);
  w.int32(value.generation);
  w.string(value.protocol);
  w.string(value.leader);
  w.int64(value.currentStateTimestamp);
  w.arrayLength(value.members.length);
  for (const member of value.members) {
    w.string(member.memberId);
    w.string(member.groupInstanceId);
    w.string(member.clientId);
    w.string(member.clientHost);
    w.int32(member.rebalanceTimeoutMs);
    w.int32(member.sessionTimeoutMs);
    w.bytes(member.subscription);
    w.bytes(member.assignment);
  }
  return w.toBuffer();
}

/** Decodes one record of the offsets topic; unknown key versions return undefined (skipped). */
export function decodeOffsetsTopicRecord(key: Buffer, value: Buffer | null): OffsetsTopicRecord | undefined {
  const k = new Reader(key);
  const keyVersion = k.int16();
  if (keyVersion === 0 || keyVersion === OFFSET_COMMIT_KEY_VERSION) {
    const group = k.nonNullString();
    const topic = k.nonNullString();
    const partition = k.int32();
    return { kind: 'offset', group, topic, partition, value: value === null ? null : decodeOffsetCommitValue(value) };
  }
  if (keyVersion === GROUP_METADATA_KEY_VERSION) {
    const group = k.nonNullString();
    return { kind: 'group', group, value: value === null ? null : decodeGroupMetadataValue(value) };
  }
  return decodeShareGroupRecord(keyVersion, k, value) ?? decodeConsumerGroupRecord(keyVersion, k, value);
}

function decodeOffsetCommitValue(value: Buffer): OffsetCommitValue {
  const r = new Reader(value);
  const version = r.int16();
  if (version < 1 || version > 3) throw new ProtocolDecodeError(`OffsetCommitValue version ${version} is not supported`);
  const offset = r.int64();
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = r.nonNullString();
  const commitTimestamp = r.int64();
  return { offset, leaderEpoch, metadata, commitTimestamp };
}

function decodeGroupMetadataValue(value: Buffer): GroupMetadataValue {
  const r = new Reader(value);
  const version = r.int16();
  if (version < 0 || version > 3) throw new ProtocolDecodeError(`GroupMetadataValue version ${version} is not supported`);
  const protocolType = r.nonNullString();
  const generation = r.int32();
  const protocol = r.string();
  const leader = r.string();
  const currentStateTimestamp = version >= 2 ? r.int64() : -1n;
  const count = r.nonNullArrayLength();
  const members: StoredMember[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = r.nonNullString();
    const groupInstanceId = version >= 3 ? r.string() : null;
    const clientId = r.nonNullString();
    const clientHost = r.nonNullString();
    const rebalanceTimeoutMs = version >= 1 ? r.int32() : 0;
    const sessionTimeoutMs = r.int32();
    const subscription = r.nonNullBytes();
    const assignment = r.nonNullBytes();
    members.push({ memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs, sessionTimeoutMs, subscription, assignment });
  }
  return { protocolType, generation, protocol, leader, currentStateTimestamp, members };
}
