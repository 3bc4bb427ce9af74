// The record batch codecs, byte for byte as Kafka clients write them. Meant for worker
// threads (see pool.ts and src/log/cleaner-worker.ts): each call is synchronous CPU work.
//
//   gzip    Node's zlib (several gzip members back to back are read as one stream).
//   snappy  Kafka's framing as the Java client (snappy-java's SnappyOutputStream) and
//           librdkafka write it: the 16-byte xerial header, then blocks of a big-endian
//           int32 length and a raw snappy block of at most 32 KiB of input. Unframed raw
//           snappy (kafkajs-snappy writes it) is read too. Library: `snappy` (napi-rs,
//           prebuilt binaries inside the npm packages).
//   lz4     The LZ4 frame format (magic 0x184D2204), as KafkaLZ4BlockOutputStream writes
//           it: independent 64 KiB blocks, no content size. Library: `lz4-napi` (lz4_flex,
//           prebuilt binaries inside the npm packages); it reads every frame variant.
//   zstd    One zstd frame with its content size. Library: `@bokuweb/zstd-wasm`
//           (WebAssembly, no native build), which must be initialised once per thread.

import { gunzipSync, gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface SnappyBinding {
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Uint8Array, options?: { asBuffer: true }): Buffer;
}
interface Lz4Binding {
  compressFrameSync(data: Buffer): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
}
interface ZstdBinding {
  init(): Promise<void>;
  compress(data: Uint8Array, level?: number): Uint8Array;
  decompress(data: Uint8Array, options?: { defaultHeapSize: number }): Uint8Array;
}

const snappy = require('snappy') as SnappyBinding;
const lz4 = require('lz4-napi') as Lz4Binding;
const zstd = require('@bokuweb/zstd-wasm') as ZstdBinding;

import { Codec, CODEC_NAMES, type CodecId } from './codec-ids.js';

export { Codec, CODEC_NAMES, type CodecId } from './codec-ids.js';

/** A payload that does not decode with its codec: the batch is corrupt. */
export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

/** Largest decompressed records section accepted from one batch. */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

let zstdReady: Promise<void> | undefined;

/** Loads the zstd WebAssembly module of this thread; call (and await) before using zstd. */
export function initCodecs(): Promise<void> {
  zstdReady ??= zstd.init();
  return zstdReady;
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
const SNAPPY_BLOCK = 32 * 1024;

function snappyFramed(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // minimum compatible version
  parts.push(header);
  for (let at = 0; at < data.length; at += SNAPPY_BLOCK) {
    const block = snappy.compressSync(data.subarray(at, Math.min(data.length, at + SNAPPY_BLOCK)));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function snappyUnframed(data: Buffer): Buffer {
  if (data.length < XERIAL_MAGIC.length || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return snappy.uncompressSync(data, { asBuffer: true });
  }
  const parts: Buffer[] = [];
  let total = 0;
  for (let at = XERIAL_HEADER_SIZE; at < data.length;) {
    if (at + 4 > data.length) throw new CodecError('snappy: truncated block length');
    const length = data.readInt32BE(at);
    at += 4;
    if (length < 0 || at + length > data.length) throw new CodecError(`snappy: block of ${length} bytes exceeds the payload`);
    const block = snappy.uncompressSync(data.subarray(at, at + length), { asBuffer: true });
    total += block.length;
    if (total > MAX_DECOMPRESSED_BYTES) throw new CodecError('snappy: decompressed data too large');
    parts.push(block);
    at += length;
  }
  return Buffer.concat(parts, total);
}

/** The declared content size of a zstd frame, -1 if absent; throws on a bad frame header. */
function zstdContentSize(data: Buffer): number {
  if (data.length < 6 || data.readUInt32LE(0) !== 0xfd2fb528) throw new CodecError('zstd: not a zstd frame');
  const descriptor = data[4]!;
  if ((descriptor & 0x08) !== 0) throw new CodecError('zstd: reserved frame header bit set');
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 0x03]!;
  const at = 5 + (singleSegment ? 0 : 1) + dictionaryBytes;
  const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][sizeFlag]!;
  if (sizeBytes === 0) return -1;
  if (at + sizeBytes > data.length) throw new CodecError('zstd: truncated frame header');
  switch (sizeBytes) {
    case 1:
      return data[at]!;
    case 2:
      return data.readUInt16LE(at) + 256;
    case 4:
      return data.readUInt32LE(at);
    default: {
      const size = data.readBigUInt64LE(at);
      return size > BigInt(MAX_DECOMPRESSED_BYTES) ? MAX_DECOMPRESSED_BYTES + 1 : Number(size);
    }
  }
}

function zstdDecompress(data: Buffer): Buffer {
  const declared = zstdContentSize(data);
  if (declared > MAX_DECOMPRESSED_BYTES) throw new CodecError('zstd: decompressed data too large');
  // Without a declared size (streaming writers such as zstd-jni), grow the output buffer.
  let capacity = declared >= 0 ? declared : Math.max(64 * 1024, data.length * 8);
  for (;;) {
    try {
      return Buffer.from(zstd.decompress(data, { defaultHeapSize: capacity }));
    } catch (error) {
      if (declared >= 0 || capacity >= MAX_DECOMPRESSED_BYTES) throw new CodecError(`zstd: ${(error as Error).message}`);
      capacity = Math.min(MAX_DECOMPRESSED_BYTES, capacity * 4);
    }
  }
}

export interface CompressionLevels {
  readonly gzip?: number;
  readonly zstd?: number;
}

export function compress(codec: CodecId, data: Buffer, levels: CompressionLevels = {}): Buffer {
  switch (codec) {
    case Codec.NONE:
      return data;
    case Codec.GZIP:
      return gzipSync(data, levels.gzip === undefined || levels.gzip < 0 ? {} : { level: levels.gzip });
    case Codec.SNAPPY:
      return snappyFramed(data);
    case Codec.LZ4:
      return lz4.compressFrameSync(data);
    case Codec.ZSTD:
      return Buffer.from(zstd.compress(data, levels.zstd ?? 3));
    default:
      throw new CodecError(`unknown compression codec ${String(codec)}`);
  }
}

export function decompress(codec: CodecId, data: Buffer): Buffer {
  try {
    switch (codec) {
      case Codec.NONE:
        return data;
      case Codec.GZIP:
        return gunzipSync(data, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
      case Codec.SNAPPY:
        return snappyUnframed(data);
      case Codec.LZ4:
        return lz4.decompressFrameSync(data);
      case Codec.ZSTD:
        return zstdDecompress(data);
      default:
        throw new CodecError(`unknown compression codec ${String(codec)}`);
    }
  } catch (error) {
    if (error instanceof CodecError) throw error;
    throw new CodecError(`${codecName(codec)}: ${(error as Error).message}`);
  }
}

export function codecName(codec: number): string {
  return Object.keys(CODEC_NAMES).find((name) => CODEC_NAMES[name] === codec) ?? `codec ${codec}`;
}
