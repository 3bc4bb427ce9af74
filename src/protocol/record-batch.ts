// Record batch v2 (magic 2) in plain JS, for tests, tools and benchmarks. The broker's data path
// does not decode records; it checks batch headers natively. Uncompressed batches only for now.
//
// Layout (all big-endian): baseOffset int64, batchLength int32, partitionLeaderEpoch int32,
// magic int8, crc uint32 (CRC-32C of everything from attributes on), attributes int16,
// lastOffsetDelta int32, baseTimestamp int64, maxTimestamp int64, producerId int64,
// producerEpoch int16, baseSequence int32, recordsCount int32, then the records, each with
// zig-zag varint lengths and deltas.

import { crc32cTable } from './crc32c.js';
import { ErrorCode } from './errors.js';
import { ProtocolDecodeError, ProtocolEncodeError, Reader, Writer } from './primitives.js';

export const RECORD_BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const LOG_OVERHEAD = 12;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;

export const RecordBatchAttribute = {
  COMPRESSION_MASK: 0x07,
  TIMESTAMP_TYPE_LOG_APPEND_TIME: 0x08,
  TRANSACTIONAL: 0x10,
  CONTROL: 0x20,
  DELETE_HORIZON: 0x40,
} as const;

export const CompressionType = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Array<{ key: string; value: Buffer | string | null }>;
  /** Milliseconds; defaults to the batch's baseTimestamp. */
  timestamp?: bigint | number;
  /** Defaults to the record's index in the batch. */
  offsetDelta?: number;
}

export interface RecordBatchInput {
  baseOffset?: bigint;
  partitionLeaderEpoch?: number;
  /** Compression bits must be 0; the other flags are written as given. */
  attributes?: number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  /** Defaults to the first record's timestamp, or the current time. */
  baseTimestamp?: bigint | number;
  /** Defaults to the largest record timestamp. */
  maxTimestamp?: bigint | number;
  /** Defaults to the largest record offsetDelta. */
  lastOffsetDelta?: number;
  records: RecordInput[];
}

export interface DecodedRecord {
  attributes: number;
  timestampDelta: bigint;
  offsetDelta: number;
  /** baseOffset + offsetDelta. */
  offset: bigint;
  /** baseTimestamp + timestampDelta. */
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface DecodedBatch {
  baseOffset: bigint;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
  compression: number;
  isTransactional: boolean;
  isControl: boolean;
  /** 'create' or 'log-append' (attributes bit 3). */
  timestampType: 'create' | 'log-append';
  records: DecodedRecord[];
  /** Bytes the batch occupies: batchLength + 12. */
  byteLength: number;
}

function toBytes(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function uvarintSize(value: number): number {
  let v = value >>> 0;
  let size = 1;
  while (v >= 0x80) {
    v >>>= 7;
    size++;
  }
  return size;
}

function varintSize(value: number): number {
  return uvarintSize(((value << 1) ^ (value >> 31)) >>> 0);
}

function varlongSize(value: bigint): number {
  let z = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  let size = 1;
  while (z >= 0x80n) {
    z >>= 7n;
    size++;
  }
  return size;
}

/** Encodes one uncompressed magic-2 batch, CRC included. */
export function encodeRecordBatch(input: RecordBatchInput): Buffer {
  const attributes = input.attributes ?? 0;
  if ((attributes & RecordBatchAttribute.COMPRESSION_MASK) !== 0) {
    throw new ProtocolEncodeError('encodeRecordBatch writes uncompressed batches only');
  }
  const records = input.records;
  const firstTimestamp = records[0]?.timestamp;
  const baseTimestamp = BigInt(input.baseTimestamp ?? firstTimestamp ?? Date.now());

  const w = new Writer(1024);
  let maxTimestamp: bigint | undefined;
  let lastOffsetDelta = records.length === 0 ? 0 : -1;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const timestamp = record.timestamp === undefined ? baseTimestamp : BigInt(record.timestamp);
    if (maxTimestamp === undefined || timestamp > maxTimestamp) maxTimestamp = timestamp;
    const offsetDelta = record.offsetDelta ?? i;
    if (offsetDelta > lastOffsetDelta) lastOffsetDelta = offsetDelta;
    const timestampDelta = timestamp - baseTimestamp;
    const key = toBytes(record.key);
    const value = toBytes(record.value);
    const headers = (record.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: toBytes(h.value) }));

    let size = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta);
    size += key === null ? varintSize(-1) : varintSize(key.length) + key.length;
    size += value === null ? varintSize(-1) : varintSize(value.length) + value.length;
    size += varintSize(headers.length);
    for (const h of headers) {
      size += varintSize(h.key.length) + h.key.length;
      size += h.value === null ? varintSize(-1) : varintSize(h.value.length) + h.value.length;
    }

    w.varint(size);
    w.int8(0); // record attributes: unused
    w.varlong(timestampDelta);
    w.varint(offsetDelta);
    writeVarBytes(w, key);
    writeVarBytes(w, value);
    w.varint(headers.length);
    for (const h of headers) {
      writeVarBytes(w, h.key);
      writeVarBytes(w, h.value);
    }
  }
  const body = w.toBuffer();

  const batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + body.length);
  batch.writeBigInt64BE(input.baseOffset ?? 0n, 0);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, 8);
  batch.writeInt32BE(input.partitionLeaderEpoch ?? -1, 12);
  batch.writeInt8(2, 16);
  batch.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  batch.writeInt32BE(input.lastOffsetDelta ?? lastOffsetDelta, 23);
  batch.writeBigInt64BE(baseTimestamp, 27);
  batch.writeBigInt64BE(BigInt(input.maxTimestamp ?? maxTimestamp ?? baseTimestamp), 35);
  batch.writeBigInt64BE(input.producerId ?? -1n, 43);
  batch.writeInt16BE(input.producerEpoch ?? -1, 51);
  batch.writeInt32BE(input.baseSequence ?? -1, 53);
  batch.writeInt32BE(records.length, 57);
  body.copy(batch, RECORD_BATCH_HEADER_SIZE);
  batch.writeUInt32BE(crc32cTable(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return batch;
}

function writeVarBytes(w: Writer, value: Buffer | null): void {
  if (value === null) {
    w.varint(-1);
    return;
  }
  w.varint(value.length);
  w.raw(value);
}

function corrupt(message: string): ProtocolDecodeError {
  return new ProtocolDecodeError(message, ErrorCode.CORRUPT_MESSAGE);
}

export interface DecodeRecordBatchesOptions {
  /** Check each batch's CRC-32C (default true). */
  verifyCrc?: boolean;
}

/**
 * Decodes the batches in `buf` back to back. A truncated batch at the very end is ignored, as
 * consumers do with Fetch responses cut at max bytes. Throws ProtocolDecodeError (CORRUPT_MESSAGE)
 * on a bad CRC, magic other than 2, a compressed batch, or records that do not fit their batch.
 */
export function decodeRecordBatches(buf: Buffer, options: DecodeRecordBatchesOptions = {}): DecodedBatch[] {
  const verifyCrc = options.verifyCrc ?? true;
  const batches: DecodedBatch[] = [];
  let at = 0;
  while (buf.length - at >= LOG_OVERHEAD) {
    const batchLength = buf.readInt32BE(at + 8);
    const byteLength = batchLength + LOG_OVERHEAD;
    if (batchLength < RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD) throw corrupt(`record batch length ${batchLength} is too small`);
    if (byteLength > buf.length - at) break;
    const magic = buf.readInt8(at + 16);
    if (magic !== 2) throw corrupt(`record batch magic ${magic} is not supported`);
    const crc = buf.readUInt32BE(at + CRC_OFFSET);
    if (verifyCrc) {
      const actual = crc32cTable(buf.subarray(at + ATTRIBUTES_OFFSET, at + byteLength));
      if (actual !== crc) throw corrupt(`record batch CRC mismatch: stored ${crc}, computed ${actual}`);
    }
    const attributes = buf.readInt16BE(at + ATTRIBUTES_OFFSET);
    const compression = attributes & RecordBatchAttribute.COMPRESSION_MASK;
    if (compression !== CompressionType.NONE) throw corrupt(`compressed record batches (codec ${compression}) are not supported`);
    const baseOffset = buf.readBigInt64BE(at);
    const baseTimestamp = buf.readBigInt64BE(at + 27);
    const recordsCount = buf.readInt32BE(at + 57);
    const r = new Reader(buf, at + RECORD_BATCH_HEADER_SIZE, at + byteLength);
    if (recordsCount < 0 || recordsCount * 7 > r.remaining()) throw corrupt(`record count ${recordsCount} does not fit the batch`);
    const records: DecodedRecord[] = [];
    try {
      for (let i = 0; i < recordsCount; i++) records.push(readRecord(r, baseOffset, baseTimestamp));
    } catch (error) {
      // A malformed varint inside a batch is a corrupt batch, not a malformed request.
      if (error instanceof ProtocolDecodeError && error.kafkaCode !== ErrorCode.CORRUPT_MESSAGE) throw corrupt(error.message);
      throw error;
    }
    if (r.remaining() !== 0) throw corrupt(`${r.remaining()} bytes left after the last record of a batch`);
    batches.push({
      baseOffset,
      batchLength,
      partitionLeaderEpoch: buf.readInt32BE(at + 12),
      magic,
      crc,
      attributes,
      lastOffsetDelta: buf.readInt32BE(at + 23),
      baseTimestamp,
      maxTimestamp: buf.readBigInt64BE(at + 35),
      producerId: buf.readBigInt64BE(at + 43),
      producerEpoch: buf.readInt16BE(at + 51),
      baseSequence: buf.readInt32BE(at + 53),
      recordsCount,
      compression,
      isTransactional: (attributes & RecordBatchAttribute.TRANSACTIONAL) !== 0,
      isControl: (attributes & RecordBatchAttribute.CONTROL) !== 0,
      timestampType: (attributes & RecordBatchAttribute.TIMESTAMP_TYPE_LOG_APPEND_TIME) !== 0 ? 'log-append' : 'create',
      records,
      byteLength,
    });
    at += byteLength;
  }
  return batches;
}

function readVarBytes(r: Reader): Buffer | null {
  const length = r.varint();
  if (length === -1) return null;
  if (length < -1) throw corrupt(`invalid record field length ${length}`);
  return r.raw(length);
}

function readRecord(r: Reader, baseOffset: bigint, baseTimestamp: bigint): DecodedRecord {
  const length = r.varint();
  if (length < 0 || length > r.remaining()) throw corrupt(`record length ${length} does not fit the batch`);
  const end = r.offset + length;
  const rr = new Reader(r.buffer, r.offset, end);
  const attributes = rr.int8();
  const timestampDelta = rr.varlong();
  const offsetDelta = rr.varint();
  const key = readVarBytes(rr);
  const value = readVarBytes(rr);
  const headerCount = rr.varint();
  if (headerCount < 0 || headerCount * 2 > rr.remaining()) throw corrupt(`record header count ${headerCount} does not fit`);
  const headers: RecordHeader[] = [];
  for (let i = 0; i < headerCount; i++) {
    const headerKey = readVarBytes(rr);
    if (headerKey === null) throw corrupt('record header key is null');
    headers.push({ key: headerKey.toString('utf8'), value: readVarBytes(rr) });
  }
  if (rr.remaining() !== 0) throw corrupt(`record has ${rr.remaining()} bytes beyond its fields`);
  r.offset = end;
  return {
    attributes,
    timestampDelta,
    offsetDelta,
    offset: baseOffset + BigInt(offsetDelta),
    timestamp: baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}
