// Record batches (magic 2) at the record level, for the worker threads: walk the batches
// of a buffer, decompress a batch's records section, walk its records without copying
// them, and build a batch again around a (re)compressed records section. Header layout:
// see src/protocol/record-batch.ts.

import { crc32cTable } from '../protocol/crc32c.js';
import { Codec, CodecError, compress, decompress, type CodecId, type CompressionLevels } from './codecs.js';

export const HEADER_SIZE = 61;
export const LOG_OVERHEAD = 12;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;

export const Attribute = {
  COMPRESSION_MASK: 0x07,
  LOG_APPEND_TIME: 0x08,
  TRANSACTIONAL: 0x10,
  CONTROL: 0x20,
  DELETE_HORIZON: 0x40,
} as const;

export interface BatchView {
  /** The whole batch: header and records section. */
  readonly bytes: Buffer;
  readonly baseOffset: bigint;
  readonly attributes: number;
  readonly codec: CodecId;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: bigint;
  readonly maxTimestamp: bigint;
  readonly producerId: bigint;
  readonly recordCount: number;
  readonly isControl: boolean;
}

/** The batches of `buffer` back to back; a batch that does not fit is an error. */
export function* batchesOf(buffer: Buffer): Generator<BatchView> {
  for (let at = 0; at < buffer.length;) {
    if (buffer.length - at < HEADER_SIZE) throw new CodecError(`truncated batch header at byte ${at}`);
    const size = buffer.readInt32BE(at + 8) + LOG_OVERHEAD;
    if (size < HEADER_SIZE || at + size > buffer.length) throw new CodecError(`batch at byte ${at} does not fit`);
    const bytes = buffer.subarray(at, at + size);
    const attributes = bytes.readInt16BE(ATTRIBUTES_OFFSET);
    yield {
      bytes,
      baseOffset: bytes.readBigInt64BE(0),
      attributes,
      codec: (attributes & Attribute.COMPRESSION_MASK) as CodecId,
      lastOffsetDelta: bytes.readInt32BE(23),
      baseTimestamp: bytes.readBigInt64BE(27),
      maxTimestamp: bytes.readBigInt64BE(35),
      producerId: bytes.readBigInt64BE(43),
      recordCount: bytes.readInt32BE(57),
      isControl: (attributes & Attribute.CONTROL) !== 0,
    };
    at += size;
  }
}

/** The records section of a batch, decompressed. */
export function recordsSection(batch: BatchView): Buffer {
  return decompress(batch.codec, batch.bytes.subarray(HEADER_SIZE));
}

export interface RecordView {
  /** The record's bytes in the records section, length varint included. */
  readonly start: number;
  readonly end: number;
  /** Where the offsetDelta varint starts (after attributes and timestampDelta). */
  readonly offsetDeltaStart: number;
  readonly timestampDelta: number;
  readonly offsetDelta: number;
  /** A view of the key, null for a keyless record. */
  readonly key: Buffer | null;
  readonly hasValue: boolean;
}

function readVarint(buffer: Buffer, at: number, maxBytes: number): [value: number, next: number] {
  let raw = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (at >= buffer.length) throw new CodecError('truncated varint in a record');
    const byte = buffer[at++]!;
    raw += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) {
      // Zig-zag: even numbers are positive. Arithmetic, not bit operations, keeps 64-bit
      // deltas exact up to 2^53.
      const value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      return [value, at];
    }
  }
  throw new CodecError('varint too long in a record');
}

/** Walks `count` records of a (decompressed) records section. */
export function* recordsOf(section: Buffer, count: number): Generator<RecordView> {
  let at = 0;
  for (let i = 0; i < count; i++) {
    const [length, bodyStart] = readVarint(section, at, 5);
    const end = bodyStart + length;
    if (length < 6 || end > section.length) throw new CodecError(`record ${i} does not fit its batch`);
    let p = bodyStart + 1; // attributes
    const [timestampDelta, afterTimestamp] = readVarint(section, p, 10);
    const offsetDeltaStart = afterTimestamp;
    const [offsetDelta, afterOffset] = readVarint(section, afterTimestamp, 5);
    const [keyLength, afterKeyLength] = readVarint(section, afterOffset, 5);
    p = afterKeyLength;
    let key: Buffer | null = null;
    if (keyLength >= 0) {
      key = section.subarray(p, p + keyLength);
      p += keyLength;
    }
    const [valueLength] = readVarint(section, p, 5);
    if (p > end) throw new CodecError(`record ${i} is malformed`);
    yield { start: at, end, offsetDeltaStart, timestampDelta, offsetDelta, key, hasValue: valueLength >= 0 };
    at = end;
  }
  if (at !== section.length) throw new CodecError(`${section.length - at} bytes after the last record of a batch`);
}

function writeVarint(out: number[], value: number): void {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  while (raw >= 128) {
    out.push((raw % 128) | 0x80);
    raw = Math.floor(raw / 128);
  }
  out.push(raw);
}

/** The record at `record` with its timestampDelta replaced (the delete horizon moves the base). */
export function withTimestampDelta(section: Buffer, record: RecordView, timestampDelta: number): Buffer {
  const [, bodyStart] = readVarint(section, record.start, 5);
  const body: number[] = [section[bodyStart]!]; // attributes
  writeVarint(body, timestampDelta);
  const rest = section.subarray(record.offsetDeltaStart, record.end);
  const length: number[] = [];
  writeVarint(length, body.length + rest.length);
  return Buffer.concat([Buffer.from(length), Buffer.from(body), rest]);
}

export interface BatchChanges {
  /** New compression codec (attribute bits 0-2). */
  readonly codec?: CodecId;
  readonly recordCount?: number;
  readonly baseTimestamp?: bigint;
  /** Attribute bits to set (e.g. DELETE_HORIZON). */
  readonly setAttributes?: number;
}

/**
 * A batch with `original`'s header (base offset, lastOffsetDelta, producer fields...) and
 * a new records section, compressed with the batch's codec unless changes.codec says
 * otherwise; batchLength and the CRC are recomputed.
 */
export function buildBatch(original: BatchView, section: Buffer, changes: BatchChanges = {}, levels: CompressionLevels = {}): Buffer {
  const codec = changes.codec ?? original.codec;
  const payload = compress(codec, section, levels);
  const batch = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  original.bytes.copy(batch, 0, 0, HEADER_SIZE);
  payload.copy(batch, HEADER_SIZE);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, 8);
  const attributes = ((original.attributes & ~Attribute.COMPRESSION_MASK) | codec | (changes.setAttributes ?? 0)) & 0xffff;
  batch.writeInt16BE((attributes << 16) >> 16, ATTRIBUTES_OFFSET);
  if (changes.baseTimestamp !== undefined) batch.writeBigInt64BE(changes.baseTimestamp, 27);
  if (changes.recordCount !== undefined) batch.writeInt32BE(changes.recordCount, 57);
  sealBatch(batch);
  return batch;
}

/** Recomputes the CRC-32C of a whole batch after its header or records changed. */
export function sealBatch(batch: Buffer): void {
  batch.writeUInt32BE(crc32cTable(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
}

export { Codec };
