// The records of __share_group_state, in the layout of Kafka's share coordinator so that its
// tools (kafka-dump-log's share-group-state parser, the console consumer's
// ShareGroupStateMessageFormatter) read them: the key is a non-flexible struct whose leading
// int16 names the record type, the value a flexible struct of version 0.
//   key 0  ShareSnapshotKey (group, topic ID, partition) -> ShareSnapshotValue: the whole state
//   key 1  ShareUpdateKey   (group, topic ID, partition) -> ShareUpdateValue: changed batches
// The share coordinator writes them as Kafka 4.3's does (share-coordinator.ts): a snapshot
// first, then updates, and a snapshot again every
// share.coordinator.snapshot.update.records.per.snapshot updates. A null value is a
// tombstone: the share-partition's state was deleted.

import { ProtocolDecodeError, Reader, Writer } from '../protocol/primitives.js';
import { type StateBatch } from './share-partition.js';

export const SHARE_SNAPSHOT_KEY = 0;
export const SHARE_UPDATE_KEY = 1;
const VALUE_VERSION = 0;
const DELIVERY_COMPLETE_COUNT_TAG = 0;

export interface ShareStateKey {
  readonly groupId: string;
  readonly topicId: Buffer;
  readonly partition: number;
}

export interface ShareSnapshotValue {
  readonly snapshotEpoch: number;
  readonly stateEpoch: number;
  readonly leaderEpoch: number;
  readonly startOffset: bigint;
  readonly deliveryCompleteCount: number;
  readonly createTimestamp: bigint;
  readonly writeTimestamp: bigint;
  readonly stateBatches: readonly StateBatch[];
}

export interface ShareUpdateValue {
  readonly snapshotEpoch: number;
  readonly leaderEpoch: number;
  /** -1 when the update does not move the start offset. */
  readonly startOffset: bigint;
  /** -1 when unknown (written before KIP-1226). */
  readonly deliveryCompleteCount: number;
  readonly stateBatches: readonly StateBatch[];
}

export type ShareStateRecord =
  | { readonly kind: 'snapshot'; readonly key: ShareStateKey; readonly value: ShareSnapshotValue | null }
  | { readonly kind: 'update'; readonly key: ShareStateKey; readonly value: ShareUpdateValue | null };

export function encodeShareStateKey(type: number, key: ShareStateKey): Buffer {
  const w = new Writer(64);
  w.int16(type);
  w.string(key.groupId);
  w.uuid(key.topicId);
  w.int32(key.partition);
  return w.toBuffer();
}

export function encodeShareSnapshotValue(value: ShareSnapshotValue): Buffer {
  const w = new Writer(64 + value.stateBatches.length * 24);
  w.int16(VALUE_VERSION);
  w.int32(value.snapshotEpoch);
  w.int32(value.stateEpoch);
  w.int32(value.leaderEpoch);
  w.int64(value.startOffset);
  w.int64(value.createTimestamp);
  w.int64(value.writeTimestamp);
  writeBatches(w, value.stateBatches);
  writeDeliveryCompleteCount(w, value.deliveryCompleteCount);
  return w.toBuffer();
}

export function encodeShareUpdateValue(value: ShareUpdateValue): Buffer {
  const w = new Writer(48 + value.stateBatches.length * 24);
  w.int16(VALUE_VERSION);
  w.int32(value.snapshotEpoch);
  w.int32(value.leaderEpoch);
  w.int64(value.startOffset);
  writeBatches(w, value.stateBatches);
  writeDeliveryCompleteCount(w, value.deliveryCompleteCount);
  return w.toBuffer();
}

/** The tagged field DeliveryCompleteCount (KIP-1226), left out at its default -1 as Kafka does. */
function writeDeliveryCompleteCount(w: Writer, count: number): void {
  if (count === -1) {
    w.emptyTaggedFields();
    return;
  }
  w.uvarint(1);
  const field = new Writer(4);
  field.int32(count);
  w.taggedField(DELIVERY_COMPLETE_COUNT_TAG, field);
}

function writeBatches(w: Writer, batches: readonly StateBatch[]): void {
  w.compactArrayLength(batches.length);
  for (const batch of batches) {
    w.int64(batch.firstOffset);
    w.int64(batch.lastOffset);
    w.int8(batch.deliveryState);
    w.int16(batch.deliveryCount);
    w.emptyTaggedFields();
  }
}

function readBatches(r: Reader): StateBatch[] {
  const count = r.nonNullCompactArrayLength(20);
  const batches: StateBatch[] = [];
  for (let i = 0; i < count; i++) {
    const firstOffset = r.int64();
    const lastOffset = r.int64();
    const deliveryState = r.int8();
    const deliveryCount = r.int16();
    r.skipTaggedFields();
    batches.push({ firstOffset, lastOffset, deliveryState, deliveryCount });
  }
  return batches;
}

function readDeliveryCompleteCount(r: Reader): number {
  let count = -1;
  for (const field of r.readTaggedFields()) if (field.tag === DELIVERY_COMPLETE_COUNT_TAG && field.data.length >= 4) count = field.data.readInt32BE(0);
  return count;
}

/** Decodes one record, or undefined for a record type this topic does not hold. Throws on a malformed record. */
export function decodeShareStateRecord(keyBytes: Buffer, valueBytes: Buffer | null): ShareStateRecord | undefined {
  const k = new Reader(keyBytes);
  const type = k.int16();
  if (type !== SHARE_SNAPSHOT_KEY && type !== SHARE_UPDATE_KEY) return undefined;
  const key: ShareStateKey = { groupId: k.nonNullString(), topicId: k.uuid(), partition: k.int32() };
  if (valueBytes === null) return type === SHARE_SNAPSHOT_KEY ? { kind: 'snapshot', key, value: null } : { kind: 'update', key, value: null };
  const r = new Reader(valueBytes);
  const version = r.int16();
  if (version !== VALUE_VERSION) throw new ProtocolDecodeError(`share state value version ${version} is not known`);
  if (type === SHARE_SNAPSHOT_KEY) {
    const snapshotEpoch = r.int32();
    const stateEpoch = r.int32();
    const leaderEpoch = r.int32();
    const startOffset = r.int64();
    const createTimestamp = r.int64();
    const writeTimestamp = r.int64();
    const stateBatches = readBatches(r);
    const deliveryCompleteCount = readDeliveryCompleteCount(r);
    return { kind: 'snapshot', key, value: { snapshotEpoch, stateEpoch, leaderEpoch, startOffset, deliveryCompleteCount, createTimestamp, writeTimestamp, stateBatches } };
  }
  const snapshotEpoch = r.int32();
  const leaderEpoch = r.int32();
  const startOffset = r.int64();
  const stateBatches = readBatches(r);
  const deliveryCompleteCount = readDeliveryCompleteCount(r);
  return { kind: 'update', key, value: { snapshotEpoch, leaderEpoch, startOffset, deliveryCompleteCount, stateBatches } };
}
