// The typed facade over the native data plane (native/, built to build/Release/spate.node).
// This is the only module that loads the addon; everything else imports from here.
//
// Threading: validateBatches, append, flush, close, truncateTo and deleteSegmentsBefore
// run synchronously on the calling thread (appends are page-cache writes, like Kafka's).
// read, offsetForTimestamp, replaceSegment, SegmentLog.open and sendFile run on libuv worker threads and
// return promises, so the event loop never waits on the disk or a slow socket; readNow reads
// on the calling thread only what is in the page cache, and says so when it cannot;
// SegmentLog.openAll / closeAll run many logs on a pool of native threads of their own
// (num.recovery.threads.per.data.dir).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';

/** Kafka error codes the data plane reports (a subset of the protocol's error table). */
export const KafkaErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  RECORD_LIST_TOO_LARGE: 18,
  KAFKA_STORAGE_ERROR: 56,
  INVALID_RECORD: 87,
} as const;

/**
 * Every error raised by the addon (thrown or rejected) is a LogError.
 * `code` is Spate's internal code (e.g. 'CORRUPT_MESSAGE', 'LOG_CLOSED', 'EPIPE'),
 * `kafkaCode` the Kafka protocol error code to answer the client with.
 */
export class LogError extends Error {
  readonly code: string;
  readonly kafkaCode: number;
  /** The OS errno behind a storage or socket failure, when there is one. */
  declare readonly errno?: number;
  /** sendFile only: bytes that reached the socket before the failure. */
  declare readonly bytesSent?: number;

  constructor(message: string, code: string, kafkaCode: number) {
    super(message);
    this.name = 'LogError';
    this.code = code;
    this.kafkaCode = kafkaCode;
  }
}

/** Compression codec ids of the record batch attributes (bits 0-2). */
export type CompressionCodec = 0 | 1 | 2 | 3 | 4;

/** One record batch of a validated produce payload. */
export interface BatchInfo {
  /** Byte offset of the batch in the validated buffer. */
  position: number;
  /** Whole batch size in bytes (batchLength + 12). */
  size: number;
  lastOffsetDelta: number;
  attributes: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  /** The smallest record timestamp of an uncompressed batch; baseTimestamp if compressed. */
  minTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  isTransactional: boolean;
  isControl: boolean;
  compression: CompressionCodec;
}

/** The result of validateBatches: what append needs, and what the produce handler checks. */
export interface BatchesInfo {
  batchCount: number;
  recordCount: number;
  /** Largest batch maxTimestamp, -1n if none. */
  maxTimestamp: bigint;
  batches: BatchInfo[];
}

export interface SegmentLogOptions {
  /** segment.bytes: roll when the active segment would exceed it (default 1 GiB, max 2^31-1). */
  segmentBytes?: number;
  /**
   * segment.ms: roll when the active segment is older (default 7 days): measured from the
   * wall clock of its first append, or after a restart from its first batch's timestamp,
   * as Kafka does.
   */
  segmentMs?: number;
  /** index.interval.bytes: bytes between sparse index entries (default 4096). */
  indexIntervalBytes?: number;
  /** segment.index.bytes: preallocated size of each index of the active segment (default 10 MiB). */
  segmentIndexBytes?: number;
  /** flush.messages: fdatasync after this many messages (default: never, the page cache decides). */
  flushMessages?: number | bigint;
  /** flush.ms: fdatasync when this long passed since the last flush, checked on append (default: never). */
  flushMs?: number | bigint;
  /**
   * Recover (CRC-check) every segment at open, also after a clean shutdown: for internal
   * topics, whose coordinators replay every batch at start (default false).
   */
  verifyOnOpen?: boolean;
  /** cleanup.policy includes compact: offset gaps between segments are expected (default false). */
  compacted?: boolean;
  /**
   * Opening only: the log dir's `.kafka_cleanshutdown` marker was there, so nothing needs
   * recovery (default false: an unclean start recovers from the recovery point).
   */
  cleanShutdown?: boolean;
  /**
   * Opening only: the partition's entry of `recovery-point-offset-checkpoint`; after an
   * unclean stop the segments holding offsets at or above it are recovered. Without it, all
   * are (Kafka uses 0).
   */
  recoveryPoint?: bigint;
}

/** One repair recovery made while opening a log (see SegmentLog.takeRepairs). */
export interface Repair {
  /** The file repaired, removed or found missing. */
  readonly file: string;
  readonly action: 'truncated' | 'deleted' | 'index-rebuilt' | 'missing';
  readonly reason: string;
  /** The offsets dropped or rebuilt, [startOffset, endOffset]; -1n when not known. */
  readonly startOffset: bigint;
  readonly endOffset: bigint;
  /** File position of the first byte dropped, and how many bytes. */
  readonly position: number;
  readonly bytes: number;
}

export interface AppendResult {
  /** Offset assigned to the first record; each batch's baseOffset was patched in the caller's buffer. */
  baseOffset: bigint;
  lastOffset: bigint;
  /** Always -1n: the caller stamps LogAppendTime before appending if the topic wants it. */
  logAppendTime: bigint;
  /** Byte position of the first batch in its segment file. */
  position: number;
}

export type Delivery = 'mmap' | 'sendfile';

/**
 * Whole record batches from one segment, starting with the batch that holds the requested
 * offset (so `baseOffset` can be below it). The slice pins its segment file: it stays
 * readable after a roll, a truncation or a segment deletion until `release()` (or garbage
 * collection of the slice).
 */
export interface ReadSlice {
  /** Base offset of the first batch. */
  readonly baseOffset: bigint;
  /** Last offset of the last batch (baseOffset - 1n when length is 0). */
  readonly lastOffset: bigint;
  /**
   * Bytes in the slice. 0 only when the first batch is larger than maxBytes and
   * minOneBatch was false.
   */
  readonly length: number;
  /**
   * 'mmap' delivery: a read-only Buffer over the mapped segment, its pages in the page cache
   * (the worker thread checked, cachestat(2), and faulted in those that were not). Never write to it (the mapping is PROT_READ: a write crashes the
   * process). Made on first access (a slice sent with sendFileNow never makes one, so it adds
   * nothing to V8's external memory); once made it keeps the mapping alive by itself, also
   * after release(). First asked after release(), it is empty. Undefined for 'sendfile'
   * delivery.
   */
  readonly buffer: Buffer | undefined;
  /** The segment file descriptor and byte position, for sendFile. Valid until release(). */
  readonly fd: number;
  readonly position: number;
  readonly released: boolean;
  /** Drops the slice's reference on the segment file. Idempotent. */
  release(): void;
  /**
   * Copies the slice's first `length` bytes into `target` at `targetOffset` (pread on the
   * calling thread: the read brought the pages into the page cache). Throws LogError 56 on a
   * file error, SLICE_RELEASED after release().
   */
  copyTo(target: Uint8Array, targetOffset: number, length: number): void;
}

export interface TimestampAndOffset {
  offset: bigint;
  timestamp: bigint;
}

/** One partition directory: Kafka's segment files, indexes, recovery and reads. */
export interface SegmentLog {
  /**
   * Appends records already checked by validateBatches (pass its result as `info`): assigns
   * offsets by patching each batch's baseOffset in `records`, then writes the bytes
   * straight from that buffer. Rolls first if needed. Throws LogError: 56 on I/O errors
   * (nothing partial stays in the log), 18 if the records exceed segmentBytes, 87 if
   * `records` no longer matches `info`.
   */
  append(records: Uint8Array, info: Pick<BatchesInfo, 'batchCount'>, nowMs: number): AppendResult;
  /**
   * Reads whole batches from `offset` within one segment, at most `maxBytes` (the first
   * batch whole even if larger, when `minOneBatch`: KIP-74). Resolves null at the log end
   * offset; rejects with kafkaCode 1 outside [logStartOffset, logEndOffset]. A slice never
   * crosses a segment boundary: read again from `lastOffset + 1n` for more. `delivery`
   * (default 'mmap') picks whether the slice carries a mapped `buffer` or is meant for
   * sendFile.
   */
  read(offset: bigint, maxBytes: number, minOneBatch: boolean, delivery?: Delivery): Promise<ReadSlice | null>;
  /**
   * The same read on the calling thread, when it cannot wait for the disk: the offset lies
   * in the active segment and every page the read touches is in the page cache (cachestat).
   * Returns undefined otherwise; the caller then uses read(). Throws what read() rejects with.
   */
  readNow(offset: bigint, maxBytes: number, minOneBatch: boolean, delivery?: Delivery): ReadSlice | null | undefined;
  /**
   * ListOffsets by timestamp: the first record with timestamp >= `timestamp` (exact for
   * uncompressed batches; for compressed ones the batch's base offset and max timestamp),
   * or null if every record is older. The special timestamps -1/-2/-3 are the caller's.
   */
  offsetForTimestamp(timestamp: bigint): Promise<TimestampAndOffset | null>;
  /**
   * ListOffsets MAX_TIMESTAMP (-3): the largest batch maxTimestamp and the last offset of
   * the first batch that has it; { offset: -1n, timestamp: -1n } for an empty log.
   */
  maxTimestamp(): TimestampAndOffset;
  /** fdatasync every segment written since the last flush, and msync their indexes. */
  flush(): void;
  /**
   * Flushes, trims the indexes and closes; the recovery point is then the log end offset.
   * `flush` false skips the fsyncs (a deleted partition). Live slices stay valid.
   */
  close(flush?: boolean): void;
  /** Removes every batch with an offset >= `offset` (the whole batch that holds it). */
  truncateTo(offset: bigint): void;
  /**
   * Advances logStartOffset to `offset` (capped at the log end, persisted) and deletes the
   * segments that lie wholly below it, never the active one. Returns how many it deleted.
   */
  deleteSegmentsBefore(offset: bigint): number;
  /** Rolls the active segment if it holds any batch (retention deleting all); true if it did. */
  roll(nowMs: number): boolean;
  /** Applies changed options (a topic config change) to the log and all its segments. */
  configure(options: SegmentLogOptions): void;
  /** Every segment, oldest first; the last one is the active segment. */
  segments(): SegmentInfo[];
  /**
   * The log cleaner's swap, on a worker thread: `<20-digit base>.log.cleaned`, written and
   * synced by the cleaner in the log's directory, replaces segment `baseOffset` if that
   * segment still has `expectedSize` bytes and is not the active one. Indexes are rebuilt
   * from the cleaned file; a crash at any point leaves the old or the new segment. Resolves
   * false (and removes the cleaned file) when the segment changed meanwhile.
   */
  replaceSegment(baseOffset: bigint, expectedSize: number): Promise<boolean>;
  /** What recovery repaired while opening this log; empty after the first call. */
  takeRepairs(): Repair[];
  /**
   * What the opening found of the directory's partition.metadata (its text, null when
   * absent) and producer snapshots (file names), read once by the layers above so that a
   * start lists each directory once; and how many segments it recovered (CRC-checked,
   * indexes rebuilt). Empty after the first call.
   */
  takeLoadInfo(): { partitionMetadata: string | null; snapshots: string[]; recoveredSegments: number };
  readonly logStartOffset: bigint;
  readonly logEndOffset: bigint;
  /**
   * Offsets below it are on disk (fsynced): advanced by the background flush of rolled
   * segments and by flush/close, lowered by truncation. recovery-point-offset-checkpoint
   * persists it.
   */
  readonly recoveryPoint: bigint;
  /** Bytes in all segment files. */
  readonly size: number;
  readonly segmentCount: number;
  readonly closed: boolean;
  /** Whether any segment holds writes this process has not flushed (fdatasync) yet. */
  readonly hasUnflushedData: boolean;
}

export interface SegmentInfo {
  readonly baseOffset: bigint;
  /** One past its last offset; baseOffset when empty. */
  readonly nextOffset: bigint;
  readonly size: number;
  /** Largest batch timestamp, -1 when empty. */
  readonly maxTimestamp: number;
  /** maxTimestamp of its first batch (Kafka's getFirstBatchTimestamp), -1 when empty. */
  readonly firstBatchTimestamp: number;
}

export interface SegmentLogConstructor {
  /** Opens (creating if needed) and recovers the log synchronously. */
  new (dir: string, options?: SegmentLogOptions): SegmentLog;
  /** The same, with recovery on a worker thread. */
  open(dir: string, options?: SegmentLogOptions): Promise<SegmentLog>;
  /**
   * Opens (and recovers) many logs on `threads` native threads, off the event loop: one
   * SegmentLog, or the LogError that kept it from opening, per entry.
   */
  openAll(specs: ReadonlyArray<{ dir: string; options?: SegmentLogOptions }>, threads: number): Promise<Array<SegmentLog | LogError>>;
  /** Closes many logs on `threads` native threads: null or a LogError per log. */
  closeAll(logs: readonly SegmentLog[], threads: number, flush?: boolean): Promise<Array<LogError | null>>;
}

/** The open-file cache of older segments' .log files (see native/segment-file.h). */
export interface OpenSegmentFileStats {
  /** Descriptors the cache holds now (the active segments' are not counted). */
  readonly open: number;
  readonly limit: number;
  /** Opened, found open, and closed as least recently used, since the process started. */
  readonly opened: number;
  readonly hits: number;
  readonly evicted: number;
}

interface NativeBinding {
  setErrorClass(errorClass: typeof LogError): void;
  crc32c(bytes: Uint8Array, initial?: number): number;
  crc32cPortable(bytes: Uint8Array, initial?: number): number;
  crc32cHardware: boolean;
  /** Fills 7 int32 and 4 int64 fields per batch (see record-batch-binding.cc); returns the batch count. */
  validateBatches(records: Uint8Array, fields: Int32Array, wide: BigInt64Array, requireKeys?: boolean): number;
  lastBatchFields(fields: Int32Array, wide: BigInt64Array): number;
  SegmentLog: SegmentLogConstructor;
  sendFile(socketFd: number, slice: ReadSlice, timeoutMs?: number): Promise<number>;
  sendFileNow(socketFd: number, slice: ReadSlice, skip: number, length: number): number;
  raiseFileLimit(): FileLimit;
  openFileCount(): number;
  setOpenSegmentFileLimit(limit: number): void;
  openSegmentFileStats(): OpenSegmentFileStats;
  lockLogDir(dir: string): number;
  unlockLogDir(fd: number): void;
  syncFileSystem(dir: string): Promise<void>;
  readQueue(): ReadQueue;
}

/** Segment reads handed to libuv's thread pool and not yet answered (the read queue depth). */
export interface ReadQueue {
  /** Queued or running. */
  readonly queued: number;
  /** Of those, running on a pool thread now. */
  readonly running: number;
}

/** The native read queue now (read, offsetForTimestamp), for the metrics; costs one call. */
export function readQueue(): ReadQueue {
  return binding.readQueue();
}

/** RLIMIT_NOFILE after raiseFileLimit; -1 means unlimited. */
export interface FileLimit {
  readonly soft: number;
  readonly hard: number;
  readonly raised: boolean;
  readonly error?: string;
}

/** Raises the soft RLIMIT_NOFILE to the hard limit (Kafka's deployments set it by hand). */
export function raiseFileLimit(): FileLimit {
  return binding.raiseFileLimit();
}

/** The file descriptors this process holds now (/proc/self/fd), -1 if unknown. */
export function openFileCount(): number {
  return binding.openFileCount();
}

/**
 * How many older segments' .log files may stay open at once, process-wide (the active
 * segments' are always open); beyond it the least recently read are closed.
 */
export function setOpenSegmentFileLimit(limit: number): void {
  binding.setOpenSegmentFileLimit(limit);
}

export function openSegmentFileStats(): OpenSegmentFileStats {
  return binding.openSegmentFileStats();
}

/**
 * Takes Kafka's exclusive lock on `<dir>/.lock`; returns the descriptor to pass to
 * unlockLogDir. Throws LogError LOG_DIR_LOCKED when another process holds it.
 */
export function lockLogDir(dir: string): number {
  return binding.lockLogDir(dir);
}

export function unlockLogDir(fd: number): void {
  binding.unlockLogDir(fd);
}

/** syncfs(2) of the file system holding `dir`, on a worker thread: every write to it so far is durable. */
export function syncFileSystem(dir: string): Promise<void> {
  return binding.syncFileSystem(dir);
}

// src/log/native.ts and dist/log/native.js both sit two levels below the package root.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binding = createRequire(import.meta.url)(join(packageRoot, 'build', 'Release', 'spate.node')) as NativeBinding;
binding.setErrorClass(LogError);

/** CRC-32C (Castagnoli). Chainable: crc32c(b, crc32c(a)) === crc32c(a ‖ b). */
export const crc32c: (bytes: Uint8Array, initial?: number) => number = binding.crc32c;
/** The table-driven CRC-32C, for tests and benchmarks. */
export const crc32cPortable: (bytes: Uint8Array, initial?: number) => number = binding.crc32cPortable;
/** Whether crc32c uses the SSE4.2 instruction on this machine. */
export const crc32cHardware: boolean = binding.crc32cHardware;

// Scratch arrays the addon fills with the batch fields, grown on demand.
let fields = new Int32Array(7 * 64);
let wide = new BigInt64Array(4 * 64 + 1);

export interface ValidateOptions {
  /**
   * cleanup.policy=compact: a record without a key in an uncompressed batch is refused
   * (INVALID_RECORD, internal code KEYLESS_RECORD). Compressed batches are not decompressed.
   */
  requireKeys?: boolean;
}

/**
 * Validates a produce payload: whole magic-2 batches back to back, CRC-32C, record framing
 * of uncompressed batches, lastOffsetDelta == recordCount - 1. Throws LogError with
 * kafkaCode 2 (CORRUPT_MESSAGE) or 87 (INVALID_RECORD).
 */
export function validateBatches(records: Uint8Array, options?: ValidateOptions): BatchesInfo {
  const batchCount = binding.validateBatches(records, fields, wide, options?.requireKeys === true);
  if (batchCount * 7 > fields.length) {
    fields = new Int32Array(7 * batchCount);
    wide = new BigInt64Array(4 * batchCount + 1);
    binding.lastBatchFields(fields, wide);
  }
  const batches: BatchInfo[] = new Array<BatchInfo>(batchCount);
  let recordCount = 0;
  for (let i = 0, f = 0, w = 0; i < batchCount; i++, f += 7, w += 4) {
    const attributes = fields[f + 3]!;
    batches[i] = {
      position: fields[f]!,
      size: fields[f + 1]!,
      lastOffsetDelta: fields[f + 2]!,
      attributes,
      baseTimestamp: wide[w]!,
      maxTimestamp: wide[w + 1]!,
      minTimestamp: wide[w + 3]!,
      producerId: wide[w + 2]!,
      producerEpoch: fields[f + 4]!,
      baseSequence: fields[f + 5]!,
      recordCount: fields[f + 6]!,
      isTransactional: (attributes & 0x10) !== 0,
      isControl: (attributes & 0x20) !== 0,
      compression: (attributes & 0x7) as CompressionCodec,
    };
    recordCount += fields[f + 6]!;
  }
  return { batchCount, recordCount, maxTimestamp: wide[batchCount * 4]!, batches };
}

export const SegmentLog: SegmentLogConstructor = binding.SegmentLog;

/**
 * Sends a slice (from read(..., 'sendfile') or 'mmap') to a socket with sendfile(2) on a
 * worker thread; resolves with the bytes sent (= slice.length). The caller must not write
 * to the socket through Node until the promise settles, and should hand over the socket
 * only once Node's own write queue is empty (socket.writableLength === 0). While the peer
 * is not reading, the worker waits (poll) up to `timeoutMs` per stall (default 30 s; it
 * holds a libuv thread meanwhile). Rejects with LogError code 'EPIPE', 'ECONNRESET',
 * 'ETIMEDOUT', 'SLICE_RELEASED'.
 */
export function sendFile(socketFd: number, slice: ReadSlice, timeoutMs?: number): Promise<number> {
  return binding.sendFile(socketFd, slice, timeoutMs);
}

/**
 * Sends bytes [skip, skip + length) of a slice to a socket with sendfile(2) on the calling
 * thread, as many as the socket's send buffer takes now (it never waits, so the caller
 * writes the rest through Node); returns how many went out. For 'mmap' slices, whose pages
 * the read worker found in, or brought into, the page cache: the call copies from the page
 * cache and never waits for the disk. The socket must have nothing queued in Node (writableLength 0) or the bytes
 * would overtake it. A socket error returns what was sent (Node's next write reports it);
 * a file error throws LogError 56.
 */
export function sendFileNow(socketFd: number, slice: ReadSlice, skip: number, length: number): number {
  return binding.sendFileNow(socketFd, slice, skip, length);
}

/** The OS descriptor of a connected TCP socket (Node keeps it on its internal handle). */
export function socketFd(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new LogError('socket has no file descriptor', 'EBADF', -1);
  return fd;
}
