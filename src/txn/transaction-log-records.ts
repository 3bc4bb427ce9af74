// The key/value layout of Kafka's __transaction_state topic: TransactionLogKey v0
// (transactional ID) and TransactionLogValue v0. A null value removes the transactional ID.

import { ProtocolDecodeError, Reader, Writer } from '../protocol/primitives.js';
import { type TransactionState } from './transaction-metadata.js';

const KEY_VERSION = 0;
const VALUE_VERSION = 0;

/** TransactionLogValue's status byte, in Kafka's numbering. */
const STATUS: Record<TransactionState, number> = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
};
const STATE_BY_STATUS = new Map(Object.entries(STATUS).map(([state, status]) => [status, state as TransactionState]));

export interface TransactionLogValue {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly timeoutMs: number;
  readonly state: TransactionState;
  readonly partitions: ReadonlyArray<{ topic: string; partitions: number[] }>;
  readonly lastUpdateMs: bigint;
  readonly startMs: bigint;
}

export function encodeTransactionLogKey(transactionalId: string): Buffer {
  const w = new Writer(64);
  w.int16(KEY_VERSION);
  w.string(transactionalId);
  return w.toBuffer();
}

export function encodeTransactionLogValue(value: TransactionLogValue): Buffer {
  const w = new Writer(128);
  w.int16(VALUE_VERSION);
  w.int64(value.producerId);
  w.int16(value.producerEpoch);
  w.int32(value.timeoutMs);
  w.int8(STATUS[value.state]);
  w.arrayLength(value.partitions.length);
  for (const topic of value.partitions) {
    w.string(topic.topic);
    w.arrayLength(topic.partitions.length);
    for (const partition of topic.partitions) w.int32(partition);
  }
  w.int64(value.lastUpdateMs);
  w.int64(value.startMs);
  return w.toBuffer();
}

export function decodeTransactionLogKey(key: Buffer): string | undefined {
  const r = new Reader(key);
  if (r.int16() !== KEY_VERSION) return undefined;
  return r.nonNullString();
}

export function decodeTransactionLogValue(value: Buffer): TransactionLogValue {
  const r = new Reader(value);
  const version = r.int16();
  if (version !== VALUE_VERSION) throw new ProtocolDecodeError(`TransactionLogValue version ${version} is not supported`);
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const timeoutMs = r.int32();
  const status = r.int8();
  const state = STATE_BY_STATUS.get(status);
  if (state === undefined) throw new ProtocolDecodeError(`Unknown transaction status ${status}`);
  const topics = r.arrayLength();
  const partitions: Array<{ topic: string; partitions: number[] }> = [];
  for (let i = 0; i < topics; i++) {
    const topic = r.nonNullString();
    const count = r.nonNullArrayLength(4);
    const ids: number[] = [];
    for (let j = 0; j < count; j++) ids.push(r.int32());
    partitions.push({ topic, partitions: ids });
  }
  const lastUpdateMs = r.int64();
  const startMs = r.int64();
  return { producerId, producerEpoch, timeoutMs, state, partitions, lastUpdateMs, startMs };
}
