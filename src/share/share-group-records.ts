// The records a share group keeps in __consumer_offsets, in Kafka 4.3's layout (its group
// coordinator's ShareGroupMetadataKey/Value and ShareGroupStatePartitionMetadataKey/Value),
// so that the group, its epoch and the topics it has share-partition state for outlive a
// move of its group coordinator or a restart:
//   key 11  ShareGroupMetadataKey (group)               -> ShareGroupMetadataValue: epoch, metadata hash
//   key 15  ShareGroupStatePartitionMetadataKey (group) -> ShareGroupStatePartitionMetadataValue:
//           initializing, initialized and deleting topics
// Keys are non-flexible structs led by their int16 type, values flexible structs of version 0;
// a null value is a tombstone (the group was deleted). Members are not written (see
// share-group-coordinator.ts).

import { ProtocolDecodeError, Reader, Writer } from '../protocol/primitives.js';

export const SHARE_GROUP_METADATA_KEY = 11;
export const SHARE_GROUP_STATE_PARTITION_METADATA_KEY = 15;
const VALUE_VERSION = 0;

export interface ShareGroupTopicPartitions {
  readonly topicId: Buffer;
  readonly topicName: string;
  readonly partitions: readonly number[];
}

export interface ShareGroupStatePartitions {
  readonly initializing: readonly ShareGroupTopicPartitions[];
  readonly initialized: readonly ShareGroupTopicPartitions[];
  readonly deleting: ReadonlyArray<{ readonly topicId: Buffer; readonly topicName: string }>;
}

export type ShareGroupRecord =
  | { readonly kind: 'share-group'; readonly group: string; readonly value: { readonly epoch: number; readonly metadataHash: bigint } | null }
  | { readonly kind: 'share-group-partitions'; readonly group: string; readonly value: ShareGroupStatePartitions | null };

function key(type: number, group: string): Buffer {
  const w = new Writer(32);
  w.int16(type);
  w.string(group);
  return w.toBuffer();
}

export function encodeShareGroupMetadataKey(group: string): Buffer {
  return key(SHARE_GROUP_METADATA_KEY, group);
}

export function encodeShareGroupStatePartitionMetadataKey(group: string): Buffer {
  return key(SHARE_GROUP_STATE_PARTITION_METADATA_KEY, group);
}

export function encodeShareGroupMetadataValue(epoch: number, metadataHash: bigint): Buffer {
  const w = new Writer(24);
  w.int16(VALUE_VERSION);
  w.int32(epoch);
  w.int64(metadataHash);
  w.emptyTaggedFields();
  return w.toBuffer();
}

export function encodeShareGroupStatePartitionMetadataValue(value: ShareGroupStatePartitions): Buffer {
  const w = new Writer(64);
  w.int16(VALUE_VERSION);
  const topics = (list: readonly ShareGroupTopicPartitions[]) => {
    w.compactArrayLength(list.length);
    for (const topic of list) {
      w.uuid(topic.topicId);
      w.compactString(topic.topicName);
      w.compactArrayLength(topic.partitions.length);
      for (const partition of topic.partitions) w.int32(partition);
      w.emptyTaggedFields();
    }
  };
  topics(value.initializing);
  topics(value.initialized);
  w.compactArrayLength(value.deleting.length);
  for (const topic of value.deleting) {
    w.uuid(topic.topicId);
    w.compactString(topic.topicName);
    w.emptyTaggedFields();
  }
  w.emptyTaggedFields();
  return w.toBuffer();
}

/** Decodes a share group record of __consumer_offsets (key types 11 and 15), or undefined for another type. */
export function decodeShareGroupRecord(type: number, k: Reader, value: Buffer | null): ShareGroupRecord | undefined {
  if (type !== SHARE_GROUP_METADATA_KEY && type !== SHARE_GROUP_STATE_PARTITION_METADATA_KEY) return undefined;
  const group = k.nonNullString();
  if (type === SHARE_GROUP_METADATA_KEY) {
    if (value === null) return { kind: 'share-group', group, value: null };
    const r = new Reader(value);
    checkVersion(r);
    const epoch = r.int32();
    const metadataHash = r.int64();
    r.skipTaggedFields();
    return { kind: 'share-group', group, value: { epoch, metadataHash } };
  }
  if (value === null) return { kind: 'share-group-partitions', group, value: null };
  const r = new Reader(value);
  checkVersion(r);
  const topics = (): ShareGroupTopicPartitions[] => {
    const count = r.nonNullCompactArrayLength(18);
    const list: ShareGroupTopicPartitions[] = [];
    for (let i = 0; i < count; i++) {
      const topicId = r.uuid();
      const topicName = r.nonNullCompactString();
      const partitionCount = r.nonNullCompactArrayLength(4);
      const partitions: number[] = [];
      for (let j = 0; j < partitionCount; j++) partitions.push(r.int32());
      r.skipTaggedFields();
      list.push({ topicId, topicName, partitions });
    }
    return list;
  };
  const initializing = topics();
  const initialized = topics();
  const deletingCount = r.nonNullCompactArrayLength(17);
  const deleting: Array<{ topicId: Buffer; topicName: string }> = [];
  for (let i = 0; i < deletingCount; i++) {
    const topicId = r.uuid();
    const topicName = r.nonNullCompactString();
    r.skipTaggedFields();
    deleting.push({ topicId, topicName });
  }
  r.skipTaggedFields();
  return { kind: 'share-group-partitions', group, value: { initializing, initialized, deleting } };
}

function checkVersion(r: Reader): void {
  const version = r.int16();
  if (version !== VALUE_VERSION) throw new ProtocolDecodeError(`share group record value version ${version} is not known`);
}
