// Wire primitives of the Kafka protocol: a bounds-checked Reader over one request buffer and a
// growable Writer that can hand large record blobs (or file regions) through untouched.
//
// Every read is checked against the end of the buffer before it happens, and every count read from
// the wire is checked against the bytes that remain before anything is allocated for it, so a
// malicious length can only ever produce a ProtocolDecodeError.

import { ErrorCode, KafkaError } from './errors.js';

/** Malformed or truncated bytes. Kafka answers such a request by closing the connection (INVALID_REQUEST). */
export class ProtocolDecodeError extends KafkaError {
  constructor(message: string, kafkaCode: number = ErrorCode.INVALID_REQUEST) {
    super(kafkaCode, message, 'ERR_PROTOCOL_DECODE');
    this.name = 'ProtocolDecodeError';
  }
}

/** A message that cannot be encoded (null in a non-nullable field, over-long string ...): a bug on our side. */
export class ProtocolEncodeError extends KafkaError {
  constructor(message: string) {
    super(ErrorCode.UNKNOWN_SERVER_ERROR, message, 'ERR_PROTOCOL_ENCODE');
    this.name = 'ProtocolEncodeError';
  }
}

/**
 * A records blob that the Writer does not copy: the caller owns it and knows how to send it
 * (for example a region of a log segment to pass to sendfile). Only its size is needed here.
 * One that can copy itself (copyTo) and is smaller than INLINE_RECORDS_LIMIT is copied into
 * the writer's buffer instead, and then released: one write for a small answer, and no
 * Buffer over a mapped segment.
 */
export interface RecordsChunk {
  readonly byteLength: number;
  copyTo?(target: Uint8Array, offset: number): void;
  release?(): void;
}

/** Shared, never to be mutated: the default value of uuid fields. */
export const ZERO_UUID: Buffer = Buffer.alloc(16);
/** Shared, never to be mutated: the default value of bytes fields. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

export function isZeroUuid(uuid: Uint8Array): boolean {
  for (let i = 0; i < uuid.length; i++) if (uuid[i] !== 0) return false;
  return true;
}

/** Records blobs at least this long travel as their own chunk instead of being copied (64 KiB). */
export const INLINE_RECORDS_LIMIT = 64 * 1024;

// Kafka rejects strings longer than Short.MAX_VALUE bytes, in the compact encoding too.
const MAX_STRING_BYTES = 0x7fff;

function truncated(what: string, need: number, have: number): ProtocolDecodeError {
  return new ProtocolDecodeError(`truncated ${what}: need ${need} bytes, ${have} remaining`);
}

function badLength(what: string, length: number, have: number): ProtocolDecodeError {
  if (length < 0) return new ProtocolDecodeError(`invalid ${what} length ${length}`);
  return new ProtocolDecodeError(`${what} length ${length} exceeds the ${have} bytes remaining`);
}

function unexpectedNull(what: string): ProtocolDecodeError {
  return new ProtocolDecodeError(`non-nullable ${what} was null`);
}

export class Reader {
  readonly buffer: Buffer;
  /** Reads never go at or past this position. */
  readonly end: number;
  offset: number;
  // Made on first use: DataView's int64 and float64 accessors are much faster than Buffer's.
  private view: DataView | undefined;

  constructor(buffer: Buffer, offset = 0, end = buffer.length) {
    if (!(offset >= 0 && offset <= end && end <= buffer.length)) {
      throw new RangeError(`bad reader window [${offset}, ${end}) over ${buffer.length} bytes`);
    }
    this.buffer = buffer;
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  skip(length: number): void {
    if (!(length >= 0 && length <= this.end - this.offset)) throw badLength('skip', length, this.end - this.offset);
    this.offset += length;
  }

  /** The next `length` bytes as a view (no copy). */
  raw(length: number): Buffer {
    const start = this.offset;
    if (!(length >= 0 && length <= this.end - start)) throw badLength('raw', length, this.end - start);
    this.offset = start + length;
    return this.buffer.subarray(start, start + length);
  }

  int8(): number {
    const o = this.offset;
    if (o >= this.end) throw truncated('int8', 1, 0);
    this.offset = o + 1;
    return (this.buffer[o]! << 24) >> 24;
  }

  int16(): number {
    const o = this.offset;
    if (this.end - o < 2) throw truncated('int16', 2, this.end - o);
    this.offset = o + 2;
    const b = this.buffer;
    return (((b[o]! << 8) | b[o + 1]!) << 16) >> 16;
  }

  uint16(): number {
    const o = this.offset;
    if (this.end - o < 2) throw truncated('uint16', 2, this.end - o);
    this.offset = o + 2;
    const b = this.buffer;
    return (b[o]! << 8) | b[o + 1]!;
  }

  int32(): number {
    const o = this.offset;
    if (this.end - o < 4) throw truncated('int32', 4, this.end - o);
    this.offset = o + 4;
    const b = this.buffer;
    return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  }

  uint32(): number {
    return this.int32() >>> 0;
  }

  int64(): bigint {
    const o = this.offset;
    if (this.end - o < 8) throw truncated('int64', 8, this.end - o);
    this.offset = o + 8;
    return this.dataView().getBigInt64(o);
  }

  float64(): number {
    const o = this.offset;
    if (this.end - o < 8) throw truncated('float64', 8, this.end - o);
    this.offset = o + 8;
    return this.dataView().getFloat64(o);
  }

  private dataView(): DataView {
    return (this.view ??= new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength));
  }

  bool(): boolean {
    const o = this.offset;
    if (o >= this.end) throw truncated('bool', 1, 0);
    this.offset = o + 1;
    return this.buffer[o] !== 0;
  }

  /** Unsigned varint of at most 5 bytes (32 bits), as used for lengths and tags in flexible versions. */
  uvarint(): number {
    const buf = this.buffer;
    const end = this.end;
    let o = this.offset;
    if (o >= end) throw truncated('varint', 1, 0);
    let b = buf[o++]!;
    if (b < 0x80) {
      this.offset = o;
      return b;
    }
    let result = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (o >= end) throw truncated('varint', 1, 0);
      b = buf[o++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.offset = o;
        return result;
      }
    }
    if (o >= end) throw truncated('varint', 1, 0);
    b = buf[o++]!;
    // The fifth byte holds bits 28-31; anything more means a sixth byte or a value over 32 bits.
    if (b > 0x0f) throw new ProtocolDecodeError('varint is longer than 5 bytes');
    this.offset = o;
    return result + b * 0x10000000;
  }

  /** Zig-zag signed varint (int32). */
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zig-zag signed varlong (int64) of at most 10 bytes. */
  varlong(): bigint {
    const buf = this.buffer;
    const end = this.end;
    let o = this.offset;
    // Up to 7 bytes (49 bits) fit exactly in a double.
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 7; i++) {
      if (o >= end) throw truncated('varlong', 1, 0);
      const b = buf[o++]!;
      value += (b & 0x7f) * multiplier;
      if (b < 0x80) {
        this.offset = o;
        return BigInt(value % 2 === 0 ? value / 2 : -(value + 1) / 2);
      }
      multiplier *= 128;
    }
    let big = BigInt(value);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      if (o >= end) throw truncated('varlong', 1, 0);
      const b = buf[o++]!;
      if (i === 9 && b > 0x01) throw new ProtocolDecodeError('varlong is longer than 10 bytes');
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        this.offset = o;
        return (big >> 1n) ^ -(big & 1n);
      }
      shift += 7n;
    }
    // Unreachable: the tenth byte either ends the varlong or fails the check above.
    throw new ProtocolDecodeError('varlong is longer than 10 bytes');
  }

  private utf8(length: number, what: string): string {
    const start = this.offset;
    if (length > this.end - start) throw badLength(what, length, this.end - start);
    this.offset = start + length;
    return this.buffer.toString('utf8', start, start + length);
  }

  /** int16 length, -1 = null. */
  string(): string | null {
    const length = this.int16();
    if (length < 0) {
      if (length === -1) return null;
      throw badLength('string', length, this.end - this.offset);
    }
    return this.utf8(length, 'string');
  }

  nonNullString(): string {
    const s = this.string();
    if (s === null) throw unexpectedNull('string');
    return s;
  }

  /** uvarint length + 1, 0 = null. */
  compactString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    if (n - 1 > MAX_STRING_BYTES) throw new ProtocolDecodeError(`string length ${n - 1} exceeds ${MAX_STRING_BYTES}`);
    return this.utf8(n - 1, 'string');
  }

  nonNullCompactString(): string {
    const s = this.compactString();
    if (s === null) throw unexpectedNull('string');
    return s;
  }

  /** int32 length, -1 = null. A view of the request buffer, not a copy. */
  bytes(): Buffer | null {
    const length = this.int32();
    if (length === -1) return null;
    return this.raw(length);
  }

  nonNullBytes(): Buffer {
    const b = this.bytes();
    if (b === null) throw unexpectedNull('bytes');
    return b;
  }

  /** uvarint length + 1, 0 = null. A view of the request buffer, not a copy. */
  compactBytes(): Buffer | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.raw(n - 1);
  }

  nonNullCompactBytes(): Buffer {
    const b = this.compactBytes();
    if (b === null) throw unexpectedNull('bytes');
    return b;
  }

  /** 16 raw bytes, as a view. */
  uuid(): Buffer {
    const o = this.offset;
    if (this.end - o < 16) throw truncated('uuid', 16, this.end - o);
    this.offset = o + 16;
    return this.buffer.subarray(o, o + 16);
  }

  /**
   * int32 element count, -1 = null (returned as -1). The count is checked against the bytes that
   * remain, given the smallest possible encoding of one element, before anyone allocates for it.
   */
  arrayLength(minElementSize = 1): number {
    const n = this.int32();
    if (n < 0) {
      if (n === -1) return -1;
      throw badLength('array', n, this.end - this.offset);
    }
    if (n * minElementSize > this.end - this.offset) throw badLength('array', n, this.end - this.offset);
    return n;
  }

  nonNullArrayLength(minElementSize = 1): number {
    const n = this.arrayLength(minElementSize);
    if (n < 0) throw unexpectedNull('array');
    return n;
  }

  /** uvarint count + 1, 0 = null (returned as -1). Checked like arrayLength. */
  compactArrayLength(minElementSize = 1): number {
    const n = this.uvarint() - 1;
    if (n > 0 && n * minElementSize > this.end - this.offset) throw badLength('array', n, this.end - this.offset);
    return n;
  }

  nonNullCompactArrayLength(minElementSize = 1): number {
    const n = this.compactArrayLength(minElementSize);
    if (n < 0) throw unexpectedNull('array');
    return n;
  }

  /** Checks that a tagged field of `size` bytes fits and returns the offset at which it ends. */
  taggedFieldEnd(size: number): number {
    if (size > this.end - this.offset) throw badLength('tagged field', size, this.end - this.offset);
    return this.offset + size;
  }

  /** After decoding a tagged field: it must not have overrun its size; bytes it did not use are skipped. */
  endTaggedField(end: number): void {
    if (this.offset > end) throw new ProtocolDecodeError('tagged field overran its declared size');
    this.offset = end;
  }

  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }

  /** The raw tagged-field section: each tag with a view of its bytes. */
  readTaggedFields(): Array<{ tag: number; data: Buffer }> {
    const count = this.uvarint();
    const fields: Array<{ tag: number; data: Buffer }> = [];
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      fields.push({ tag, data: this.raw(this.uvarint()) });
    }
    return fields;
  }
}

/**
 * Growable big-endian writer. The output is a list of chunks: Buffers of inline bytes, plus any
 * records blob that is a RecordsChunk or a Buffer of 64 KiB or more, kept as its own chunk so it is
 * never copied. The connection writes the chunks in order (writev / sendfile).
 */
export class Writer {
  private buf: Buffer;
  /** Over `buf`, made on first int64/float64 write after each growth. */
  private view: DataView | null = null;
  private pos = 0;
  /** Start, in `buf`, of the inline bytes not yet moved to `chunks`. */
  private chunkStart = 0;
  private readonly chunks: Array<Buffer | RecordsChunk> = [];
  private flushedBytes = 0;
  /** Bytes of the chunks written out of band (records passed through, not copied). */
  private outOfBandBytes = 0;
  private onlyBuffers = true;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  /** Total bytes written so far, inline and out-of-band. */
  get byteLength(): number {
    return this.flushedBytes + this.pos - this.chunkStart;
  }

  /** Bytes written into the writer's own buffers: what a writer of the same message needs. */
  get inlineByteLength(): number {
    return this.byteLength - this.outOfBandBytes;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const live = this.pos - this.chunkStart;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, live + n, 256));
    // Bytes before chunkStart already belong to a pushed chunk (a view of the old buffer): leave them.
    this.buf.copy(next, 0, this.chunkStart, this.pos);
    this.buf = next;
    this.view = null;
    this.chunkStart = 0;
    this.pos = live;
  }

  int8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value & 0xff;
  }

  int16(value: number): void {
    this.ensure(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = (value >>> 8) & 0xff;
    b[p + 1] = value & 0xff;
    this.pos = p + 2;
  }

  uint16(value: number): void {
    this.int16(value);
  }

  int32(value: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = (value >>> 24) & 0xff;
    b[p + 1] = (value >>> 16) & 0xff;
    b[p + 2] = (value >>> 8) & 0xff;
    b[p + 3] = value & 0xff;
    this.pos = p + 4;
  }

  uint32(value: number): void {
    this.int32(value);
  }

  int64(value: bigint): void {
    this.ensure(8);
    this.dataView().setBigInt64(this.pos, value);
    this.pos += 8;
  }

  float64(value: number): void {
    this.ensure(8);
    this.dataView().setFloat64(this.pos, value);
    this.pos += 8;
  }

  private dataView(): DataView {
    const b = this.buf;
    return (this.view ??= new DataView(b.buffer, b.byteOffset, b.byteLength));
  }

  bool(value: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
  }

  /** Unsigned varint; `value` must be in [0, 2^32). */
  uvarint(value: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    let v = value >>> 0;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** Zig-zag signed varint (int32). */
  varint(value: number): void {
    this.uvarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** Zig-zag signed varlong (int64). */
  varlong(value: bigint): void {
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    if (value >= -0x10000000000000n && value < 0x10000000000000n) {
      const n = Number(value);
      let z = n >= 0 ? n * 2 : -n * 2 - 1;
      while (z >= 0x80) {
        b[p++] = (z % 0x80) | 0x80;
        z = Math.floor(z / 0x80);
      }
      b[p++] = z;
    } else {
      let z = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
      while (z >= 0x80n) {
        b[p++] = Number(z & 0x7fn) | 0x80;
        z >>= 7n;
      }
      b[p++] = Number(z);
    }
    this.pos = p;
  }

  /** Writes UTF-8 at `at` (room for 3 bytes per UTF-16 unit must be ensured); returns the byte count. */
  private utf8At(value: string, at: number): number {
    const b = this.buf;
    const length = value.length;
    if (length <= 32) {
      let i = 0;
      for (; i < length; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + i] = c;
      }
      if (i === length) return length;
    }
    return b.write(value, at, 'utf8');
  }

  /** int16 length, null = -1. */
  string(value: string | null): void {
    if (value === null) {
      this.int16(-1);
      return;
    }
    if (value.length * 3 <= MAX_STRING_BYTES) {
      this.ensure(2 + value.length * 3);
      const n = this.utf8At(value, this.pos + 2);
      this.buf[this.pos] = n >>> 8;
      this.buf[this.pos + 1] = n & 0xff;
      this.pos += 2 + n;
      return;
    }
    const n = Buffer.byteLength(value, 'utf8');
    if (n > MAX_STRING_BYTES) throw new ProtocolEncodeError(`string of ${n} bytes is longer than ${MAX_STRING_BYTES}`);
    this.int16(n);
    this.ensure(n);
    this.pos += this.buf.write(value, this.pos, n, 'utf8');
  }

  /** uvarint length + 1, null = 0. */
  compactString(value: string | null): void {
    if (value === null) {
      this.uvarint(0);
      return;
    }
    if (value.length * 3 < 0x7f) {
      // The length prefix is certainly one byte.
      this.ensure(1 + value.length * 3);
      const n = this.utf8At(value, this.pos + 1);
      this.buf[this.pos] = n + 1;
      this.pos += 1 + n;
      return;
    }
    const n = Buffer.byteLength(value, 'utf8');
    if (n > MAX_STRING_BYTES) throw new ProtocolEncodeError(`string of ${n} bytes is longer than ${MAX_STRING_BYTES}`);
    this.uvarint(n + 1);
    this.ensure(n);
    this.pos += this.buf.write(value, this.pos, n, 'utf8');
  }

  /** Appends bytes with no length prefix. */
  raw(value: Uint8Array): void {
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** int32 length, null = -1. */
  bytes(value: Uint8Array | null): void {
    if (value === null) {
      this.int32(-1);
      return;
    }
    this.int32(value.length);
    this.raw(value);
  }

  /** uvarint length + 1, null = 0. */
  compactBytes(value: Uint8Array | null): void {
    if (value === null) {
      this.uvarint(0);
      return;
    }
    this.uvarint(value.length + 1);
    this.raw(value);
  }

  uuid(value: Uint8Array): void {
    if (value.length !== 16) throw new ProtocolEncodeError(`uuid must be 16 bytes, got ${value.length}`);
    this.raw(value);
  }

  /** int32 count, -1 = null. */
  arrayLength(count: number): void {
    this.int32(count);
  }

  /** uvarint count + 1, -1 (null) = 0. */
  compactArrayLength(count: number): void {
    this.uvarint(count + 1);
  }

  /**
   * A records field: the length prefix (compact or int32; null = 0 / -1), then the data. Buffers
   * under 64 KiB, and RecordsChunks under 64 KiB that can copy themselves, are copied inline
   * (the chunk is then released); bigger ones and any other RecordsChunk become their own chunk.
   */
  records(value: Buffer | RecordsChunk | null, compact: boolean): void {
    if (value === null) {
      if (compact) this.uvarint(0);
      else this.int32(-1);
      return;
    }
    const length = value.byteLength;
    if (compact) this.uvarint(length + 1);
    else this.int32(length);
    if (length === 0) return;
    const isBuffer = Buffer.isBuffer(value);
    if (isBuffer && length < INLINE_RECORDS_LIMIT) {
      this.raw(value);
      return;
    }
    if (!isBuffer && length < INLINE_RECORDS_LIMIT && value.copyTo !== undefined) {
      this.ensure(length);
      value.copyTo(this.buf, this.pos);
      this.pos += length;
      value.release?.();
      return;
    }
    this.flushInline();
    this.chunks.push(value);
    this.flushedBytes += length;
    this.outOfBandBytes += length;
    if (!isBuffer) this.onlyBuffers = false;
  }

  /** No tagged fields: the empty tagged-field section of a flexible struct. */
  emptyTaggedFields(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0;
  }

  /** One entry of a tagged-field section whose value was encoded into `body`. */
  taggedField(tag: number, body: Writer): void {
    this.uvarint(tag);
    this.uvarint(body.byteLength);
    for (const chunk of body.finish()) {
      if (!Buffer.isBuffer(chunk)) throw new ProtocolEncodeError('a tagged field cannot hold an out-of-band records chunk');
      this.raw(chunk);
    }
  }

  /** Overwrites 4 bytes already written at absolute `position` (e.g. the frame size). */
  patchInt32(position: number, value: number): void {
    let base = 0;
    for (const chunk of this.chunks) {
      const length = chunk.byteLength;
      if (position < base + length) {
        if (!Buffer.isBuffer(chunk) || position + 4 > base + length) {
          throw new ProtocolEncodeError(`cannot patch position ${position}: not inside one inline chunk`);
        }
        chunk.writeInt32BE(value | 0, position - base);
        return;
      }
      base += length;
    }
    const at = this.chunkStart + position - base;
    if (position < base || at + 4 > this.pos) throw new ProtocolEncodeError(`cannot patch position ${position}`);
    this.buf.writeInt32BE(value | 0, at);
  }

  private flushInline(): void {
    if (this.pos > this.chunkStart) {
      this.chunks.push(this.buf.subarray(this.chunkStart, this.pos));
      this.flushedBytes += this.pos - this.chunkStart;
      this.chunkStart = this.pos;
    }
  }

  /**
   * The output, in order. Calling it again after more writes returns the same array with the new
   * chunks appended.
   */
  finish(): Array<Buffer | RecordsChunk> {
    this.flushInline();
    return this.chunks;
  }

  /** The output as one Buffer (for tests and clients); throws if a non-Buffer chunk was written. */
  toBuffer(): Buffer {
    const chunks = this.finish();
    if (!this.onlyBuffers) throw new ProtocolEncodeError('toBuffer() on a writer holding a non-Buffer records chunk');
    if (chunks.length === 1) return chunks[0] as Buffer;
    return Buffer.concat(chunks as Buffer[], this.flushedBytes);
  }
}
