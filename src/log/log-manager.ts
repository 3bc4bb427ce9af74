// All topics and partition logs of one broker; the durable topic metadata (names, IDs,
// partition counts, config overrides) in `<data dir>/topics.json` and the dynamic broker
// configs in `<data dir>/broker-configs.json`; topic deletion, partition creation and
// config changes, applied live; and the background work on the logs: retention every
// log.retention.check.interval.ms and the log cleaner for compacted topics.
//
// The log dir as Kafka keeps it: `.lock` held while the broker runs, `.kafka_cleanshutdown`
// written once every log closed cleanly (and removed as the next start begins, so a crash
// while loading counts as unclean), and `recovery-point-offset-checkpoint` written every
// log.flush.offset.checkpoint.interval.ms and at shutdown. At start the logs are opened on
// num.recovery.threads.per.data.dir native threads: after a clean stop nothing is
// recovered, after a crash only the segments past each partition's recovery point.

import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rm, rmSync, statSync } from 'node:fs';
import { open as openFile, rename as renameFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type BrokerConfig } from '../config/broker-config.js';
import { brokerConfigValue, resolveLogConfig } from '../config/topic-config.js';
import { CompressionPool } from '../compression/pool.js';
import { type Logger } from '../logger.js';
import { checksummedJson, fsyncDirectory, parseChecksummedJson, readWithBackup, writeFileDurably, writeFileWithBackup } from './durable-file.js';
import { LogCleaner } from './log-cleaner.js';
import {
  LogError,
  lockLogDir,
  openFileCount,
  openSegmentFileStats,
  raiseFileLimit,
  SegmentLog,
  setOpenSegmentFileLimit,
  syncFileSystem,
  unlockLogDir,
  type SegmentLogOptions,
} from './native.js';
import { PartitionLog, segmentOptions } from './partition-log.js';
import { parsePartitionMetadata, readPartitionMetadata, writePartitionMetadata, type PartitionMetadata } from './partition-metadata.js';
import { StorageHealth } from './storage-health.js';

export interface Topic {
  readonly name: string;
  /** The topic's UUID (KIP-516), 16 bytes. */
  readonly id: Buffer;
  readonly partitions: PartitionLog[];
  /** The config overrides; replaced as a whole by alterTopicConfigs. */
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
}

interface MutableTopic extends Omit<Topic, 'configs'> {
  configs: Readonly<Record<string, string>>;
}

interface StoredTopic {
  name: string;
  id: string;
  partitions: number;
  configs: Record<string, string>;
}

interface StoredBrokerConfigs {
  version: number;
  perBroker: Record<string, string>;
  clusterDefault: Record<string, string>;
}

const METADATA_FILE = 'topics.json';
const METADATA_VERSION = 1;
const BROKER_CONFIGS_FILE = 'broker-configs.json';
/** A deleted partition's directory is renamed with this suffix, then removed in the background. */
const DELETED_DIR_SUFFIX = '-delete';
/** A directory that belongs to no known topic (or another topic ID) is renamed aside with this suffix. */
const STRAY_DIR_SUFFIX = '-stray';
/**
 * File descriptors one open partition holds: the .log of its active segment. Indexes are
 * mapped without a descriptor, older segments' files are opened on read through a cache
 * bounded by spate.log.max.open.segment.files, and the log dir's `.lock` replaces a lock per
 * partition.
 */
export const FDS_PER_PARTITION = 1;
/** Descriptors kept free for connections, snapshots and the cleaner. */
const FD_RESERVE = 256;
/**
 * At shutdown, up to this many logs with unflushed data are synced one by one (fdatasync on
 * the recovery threads); beyond it, one syncfs(2) of the log dir's file system is cheaper
 * than that many journal commits.
 */
const SYNC_EACH_UP_TO = 128;
/** Kafka's marker of a clean shutdown, in the log dir. */
export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';
/** Kafka's per-log-dir recovery points: "0", the entry count, then "topic partition offset" lines. */
export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint';

/** spate.log.max.open.segment.files = -1: a tenth of the open file limit, at least 64 (10,000 when unlimited). */
export function defaultOpenSegmentFiles(fileLimit: number): number {
  return fileLimit < 0 ? 10_000 : Math.max(64, Math.floor(fileLimit / 10));
}

/** Parses Kafka's OffsetCheckpointFile format; throws naming what is wrong. */
export function parseOffsetCheckpoint(text: string): Map<string, bigint> {
  const lines = text.split('\n').filter((line) => line.length > 0);
  if (lines[0] !== '0') throw new Error(`unsupported version ${JSON.stringify(lines[0] ?? '')}`);
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0) throw new Error(`bad entry count ${JSON.stringify(lines[1] ?? '')}`);
  if (lines.length !== count + 2) throw new Error(`expected ${count} entries, found ${lines.length - 2}`);
  const entries = new Map<string, bigint>();
  for (const line of lines.slice(2)) {
    const match = /^(\S+) (\d+) (-?\d+)$/.exec(line);
    if (match === null) throw new Error(`malformed entry ${JSON.stringify(line)}`);
    entries.set(`${match[1]}-${match[2]}`, BigInt(match[3]!));
  }
  return entries;
}

interface PartitionPlan {
  readonly topic: string;
  readonly index: number;
  readonly dir: string;
  readonly rewriteMetadata: boolean;
  readonly options: SegmentLogOptions;
}

export const MAX_TOPIC_NAME_LENGTH = 249;
/** Topics Kafka marks internal in Metadata. */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state', '__share_group_state']);

/** Kafka's topic name rule: 1-249 characters of [a-zA-Z0-9._-], and not "." or "..". */
export function topicNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'Topic name is empty';
  if (name === '.' || name === '..') return `Topic name cannot be "${name}"`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `Topic name is longer than ${MAX_TOPIC_NAME_LENGTH} characters`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return `Topic name "${name}" has characters other than ASCII alphanumerics, '.', '_' and '-'`;
  return undefined;
}

/** A new random topic ID; Kafka reserves the all-zero UUID and the one with only the last bit set. */
export function newTopicId(): Buffer {
  for (;;) {
    const id = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
    if (!id.every((byte, index) => byte === 0 || (index === 15 && byte === 1))) return id;
  }
}

const silentLogger: Pick<Logger, 'info' | 'warn' | 'error'> = { info() {}, warn() {}, error() {} };

export class LogManager {
  readonly clusterId: string;
  private readonly topics = new Map<string, MutableTopic>();
  private readonly topicsById = new Map<string, MutableTopic>();
  private compressionPool: CompressionPool | undefined;
  private readonly cleaner: LogCleaner;
  private retentionTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  private readonly health: StorageHealth;
  /** The soft RLIMIT_NOFILE after raising it (-1: unlimited or unknown). */
  readonly fileLimit: number;
  /** spate.log.max.open.segment.files as applied. */
  readonly maxOpenSegmentFiles: number;
  /** The log dir's `.kafka_cleanshutdown` was there at start. */
  readonly cleanShutdown: boolean;
  private readonly recoveryThreads: number;
  /** recovery-point-offset-checkpoint as found at start, by "topic-partition". */
  private readonly checkpointedRecoveryPoints: Map<string, bigint>;
  private lockFd: number | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  /** The recovery-point checkpoint being written in the background, if any. */
  private checkpointWrite: Promise<void> = Promise.resolve();
  /** A topics.json write queued for the next turn of the event loop (creations and deletions coalesce into one). */
  private pendingPersist: Promise<void> | undefined;
  private pendingWrite: (() => Error | undefined) | undefined;
  private readonly afterPersist: Array<() => void> = [];
  private readonly onPersistFailure: Array<() => void> = [];

  constructor(
    private readonly config: BrokerConfig,
    logger?: Pick<Logger, 'info' | 'warn' | 'error'>,
  ) {
    this.logger = logger ?? silentLogger;
    this.health = new StorageHealth(this.logger);
    const limit = raiseFileLimit();
    this.fileLimit = limit.soft;
    if (limit.error !== undefined) this.logger.warn(`Could not raise the open file limit (${limit.error}); it stays ${limit.soft}`);
    else if (limit.raised) this.logger.info(`Raised the open file limit to the hard limit ${limit.hard}`);
    const configuredFiles = brokerConfigValue('spate.log.max.open.segment.files', config) as number;
    this.maxOpenSegmentFiles = configuredFiles >= 0 ? configuredFiles : defaultOpenSegmentFiles(this.fileLimit);
    setOpenSegmentFileLimit(this.maxOpenSegmentFiles);
    this.recoveryThreads = brokerConfigValue('num.recovery.threads.per.data.dir', config) as number;
    mkdirSync(config.dataDir, { recursive: true });
    this.lockFd = lockLogDir(config.dataDir);
    try {
      this.clusterId = this.loadOrCreateMetaProperties();
      this.loadBrokerConfigs();
      this.removeDeletedDirectories();
      this.cleanShutdown = this.takeCleanShutdownMarker();
      this.checkpointedRecoveryPoints = this.readRecoveryPointCheckpoint();
    } catch (error) {
      this.unlock();
      throw error;
    }
    this.cleaner = new LogCleaner(this, config, this.logger);
  }

  /**
   * Opens every topic's partitions (recovering what a crash left, in parallel) and starts
   * the background work. A failure closes what was opened and releases the log dir.
   */
  async open(): Promise<this> {
    try {
      await this.loadTopics();
      // After a crash the recovery points went back to the recovered segments: the old
      // checkpoint must not claim more, should the next start also follow a crash.
      if (!this.cleanShutdown) this.writeRecoveryPointCheckpoint();
    } catch (error) {
      for (const topic of this.topics.values()) for (const log of topic.partitions) log.beginClose()?.close(false);
      this.topics.clear();
      this.topicsById.clear();
      this.unlock();
      throw error;
    }
    this.scheduleRetention();
    this.scheduleCheckpoints();
    this.cleaner.start();
    return this;
  }

  get dataDir(): string {
    return this.config.dataDir;
  }

  topic(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  topicById(id: Buffer): Topic | undefined {
    return this.topicsById.get(id.toString('hex'));
  }

  allTopics(): IterableIterator<Topic> {
    return this.topics.values();
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  /** The compression worker pool, started on first use. */
  compression(): CompressionPool {
    this.compressionPool ??= new CompressionPool();
    return this.compressionPool;
  }

  /** Names that differ only by '.' vs '_' collide in Kafka's metric names; Kafka refuses them. */
  collidingTopic(name: string): string | undefined {
    const normalized = name.replace(/\./g, '_');
    for (const existing of this.topics.keys()) {
      if (existing !== name && existing.replace(/\./g, '_') === normalized) return existing;
    }
    return undefined;
  }

  /**
   * Refuses up front a creation of `partitions` partitions that the open file limit cannot
   * hold (Kafka has no such check; its operators size ulimit by hand). Throws KafkaError
   * with `errorCode` (POLICY_VIOLATION for a topic, INVALID_PARTITIONS for more partitions).
   */
  checkCapacity(partitions: number, errorCode: number): void {
    if (this.fileLimit < 0) return;
    const needed = partitions * FDS_PER_PARTITION;
    const cache = openSegmentFileStats();
    // Far from the limit, counting /proc/self/fd (a listing of 10,000 entries on a large
    // broker, per topic created) is not worth it: the partitions, the cache and the reserve
    // taken at their most, with as much again for connections and the rest, still fit.
    let partitionsOpen = 0;
    for (const topic of this.topics.values()) partitionsOpen += topic.partitions.length;
    if (2 * (partitionsOpen * FDS_PER_PARTITION + needed + cache.limit + FD_RESERVE) <= this.fileLimit) return;
    const open = openFileCount();
    if (open < 0) return;
    // The cache of older segments may still grow to its limit: that is spoken for too.
    const cacheHeadroom = Math.max(0, cache.limit - cache.open);
    const available = this.fileLimit - open - FD_RESERVE - cacheHeadroom;
    if (needed > available) {
      throw new KafkaError(
        errorCode,
        `Creating ${partitions} partition(s) needs ${needed} file descriptors (one per partition), but only ${Math.max(0, available)} of the limit ${this.fileLimit} are free ` +
          `(${open} open, ${cacheHeadroom} more for older segments under spate.log.max.open.segment.files, ${FD_RESERVE} kept for connections). ` +
          "Raise the broker's open file limit (ulimit -n) or create fewer partitions.",
      );
    }
  }

  /**
   * Creates a topic (validated by the caller) and persists the metadata before returning.
   * On failure nothing stays behind: the partitions opened so far are closed and their
   * directories removed, and topics.json is not touched.
   */
  createTopic(name: string, partitions: number, configs: Readonly<Record<string, string>>, id?: Buffer): Topic {
    if (this.topics.has(name)) throw new Error(`Topic ${name} already exists`);
    this.checkCapacity(partitions, ErrorCode.POLICY_VIOLATION);
    // A cluster member creates the topic under the ID the metadata store gave it.
    const stored: StoredTopic = { name, id: (id ?? newTopicId()).toString('hex'), partitions, configs: { ...configs } };
    let topic: Topic;
    try {
      topic = this.openTopic(stored, true);
    } catch (error) {
      this.logger.error(`Creating topic ${name} failed, nothing kept: ${(error as Error).message}`);
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `Creating topic ${name} failed: ${(error as Error).message}`);
    }
    // topics.json is written once for the creations (and deletions) of this turn of the
    // event loop: a CreateTopics of 100 topics on a broker of 5,000 is one write, not 100
    // (each of a few hundred KiB and two fsyncs). Whoever answers a client awaits
    // metadataWritten(); a failed write takes the topic back.
    this.onPersistFailure.push(() => {
      if (this.topics.get(name) !== topic) return;
      this.topics.delete(name);
      this.topicsById.delete(stored.id);
      this.discardPartitions(topic.partitions);
      this.logger.error(`Creating topic ${name} failed, nothing kept: ${METADATA_FILE} could not be written`);
    });
    void this.persistSoon();
    return topic;
  }

  /** Closes new partitions and removes their directories (a failed creation). */
  private discardPartitions(partitions: readonly PartitionLog[]): void {
    for (const log of partitions) {
      try {
        log.close();
      } catch {
        // removing the directory below is what matters
      }
      rmSync(log.dir, { recursive: true, force: true });
    }
  }

  /**
   * Deletes a topic: it disappears from the metadata (durably) at once, its logs close, and
   * its directories are renamed `<name>-<partition>.<id>-delete` and removed in the
   * background, as Kafka does. Reads and writes in flight are told UNKNOWN_TOPIC_OR_PARTITION.
   */
  deleteTopic(name: string): void {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new Error(`Topic ${name} does not exist`);
    this.topics.delete(name);
    this.topicsById.delete(topic.id.toString('hex'));
    for (const log of topic.partitions) {
      this.cleaner.forget(log);
      log.markDeleted();
    }
    // topics.json is written once for all the deletions of this turn of the event loop
    // (a DeleteTopics of 1,000 topics: one write, not 1,000), and only then do the
    // directories go, so a crash in between never leaves a listed topic without its data.
    this.afterPersist.push(() => {
      for (const log of topic.partitions) {
        const target = `${log.dir}.${topic.id.toString('hex')}${DELETED_DIR_SUFFIX}`;
        try {
          renameSync(log.dir, target);
          rm(target, { recursive: true, force: true }, () => undefined);
        } catch (error) {
          this.logger.warn(`Could not remove ${log.dir}: ${(error as Error).message}`);
        }
      }
    });
    // Kafka checkpoints the remaining logs' recovery points after a deletion: a stale entry
    // would otherwise apply to a new topic of the same name after a crash.
    if (!this.afterPersist.includes(this.checkpointAfterDeletion)) this.afterPersist.push(this.checkpointAfterDeletion);
    void this.persistSoon();
  }

  private readonly checkpointAfterDeletion = (): void => this.recoveryPointLowered();

  /**
   * Resolves once the topic metadata changed so far is on disk (deletions are written on the
   * next turn of the event loop); rejects if that write failed.
   */
  metadataWritten(): Promise<void> {
    return this.pendingPersist ?? Promise.resolve();
  }

  private persistSoon(): Promise<void> {
    if (this.pendingPersist !== undefined) return this.pendingPersist;
    const written = new Promise<void>((resolve, reject) => {
      const run = (): Error | undefined => {
        if (this.pendingWrite !== run) return undefined; // written already by persistNow
        this.pendingWrite = undefined;
        this.pendingPersist = undefined;
        const actions = this.afterPersist.splice(0);
        const rollbacks = this.onPersistFailure.splice(0);
        try {
          this.persist();
        } catch (error) {
          this.health.failed(join(this.config.dataDir, METADATA_FILE), error as Error);
          for (const rollback of rollbacks) rollback();
          const failure = new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `Writing ${METADATA_FILE} failed: ${(error as Error).message}`);
          reject(failure);
          return failure;
        }
        for (const action of actions) action();
        resolve();
        return undefined;
      };
      this.pendingWrite = run;
      setImmediate(run);
    });
    written.catch(() => undefined); // logged above; awaited by whoever asked
    this.pendingPersist = written;
    return written;
  }

  /**
   * Writes the topic metadata now if a write is pending (a coordinator creating its
   * internal topic on first use appends to it at once: the topic must be listed first).
   * Throws if the write fails.
   */
  persistNow(): void {
    const failure = this.pendingWrite?.();
    if (failure !== undefined) throw failure;
  }

  /**
   * A replica moved away from this broker (a completed reassignment, Kafka's StopReplica with
   * delete): its directory is renamed `<name>-<partition>.<uuid>-delete` and removed in the
   * background, as a deleted topic's are, and an empty log takes its place, as on every broker
   * that holds no replica of the partition. Returns the new log.
   */
  deleteReplicaData(name: string, index: number): PartitionLog {
    const topic = this.topics.get(name);
    const old = topic?.partitions[index];
    if (topic === undefined || old === undefined) throw new Error(`Partition ${name}-${index} does not exist`);
    this.cleaner.forget(old);
    old.markDeleted();
    const target = `${old.dir}.${randomUUID().replace(/-/g, '')}${DELETED_DIR_SUFFIX}`;
    try {
      renameSync(old.dir, target);
      rm(target, { recursive: true, force: true }, () => undefined);
    } catch (error) {
      this.logger.warn(`Could not remove ${old.dir}: ${(error as Error).message}`);
    }
    const log = this.openPartition(name, topic.id, index, resolveLogConfig(topic.configs, this.config), true);
    topic.partitions[index] = log;
    this.recoveryPointLowered(); // the old data's recovery point must not apply to the new log after a crash
    return log;
  }

  /** Adds partitions up to `count` (validated by the caller) and persists the metadata; all or nothing. */
  createPartitions(name: string, count: number): Topic {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new Error(`Topic ${name} does not exist`);
    const current = topic.partitions.length;
    this.checkCapacity(count - current, ErrorCode.INVALID_PARTITIONS);
    const logConfig = resolveLogConfig(topic.configs, this.config);
    const added: PartitionLog[] = [];
    try {
      for (let index = current; index < count; index++) added.push(this.openPartition(topic.name, topic.id, index, logConfig, true));
      topic.partitions.push(...added);
      this.persist();
    } catch (error) {
      topic.partitions.length = current;
      this.discardPartitions(added);
      this.logger.error(`Adding partitions to ${name} failed, nothing kept: ${(error as Error).message}`);
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `Adding partitions to ${name} failed: ${(error as Error).message}`);
    }
    return topic;
  }

  /** Replaces a topic's config overrides (validated by the caller): durable, then applied. */
  alterTopicConfigs(name: string, configs: Readonly<Record<string, string>>): void {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new Error(`Topic ${name} does not exist`);
    topic.configs = { ...configs };
    this.persist();
    const logConfig = resolveLogConfig(topic.configs, this.config);
    for (const log of topic.partitions) log.updateConfig(logConfig);
    this.cleaner.wake();
  }

  /**
   * Replaces the dynamic broker configs of one layer (validated by the caller): durable,
   * then every topic's configs are resolved again.
   */
  alterBrokerConfigs(layer: 'perBroker' | 'clusterDefault', configs: Readonly<Record<string, string>>): void {
    const target = this.config.dynamic[layer];
    target.clear();
    for (const [key, value] of Object.entries(configs)) target.set(key, value);
    const stored: StoredBrokerConfigs = {
      version: 1,
      perBroker: Object.fromEntries(this.config.dynamic.perBroker),
      clusterDefault: Object.fromEntries(this.config.dynamic.clusterDefault),
    };
    writeFileWithBackup(join(this.config.dataDir, BROKER_CONFIGS_FILE), checksummedJson({ ...stored }));
    for (const topic of this.topics.values()) {
      const logConfig = resolveLogConfig(topic.configs, this.config);
      for (const log of topic.partitions) log.updateConfig(logConfig);
    }
    this.scheduleRetention();
    this.cleaner.reconfigure();
  }

  /** One retention pass over every partition (also run by the background timer). */
  applyRetention(nowMs = Date.now()): number {
    let deleted = 0;
    for (const topic of this.topics.values()) {
      for (const log of topic.partitions) {
        try {
          const result = log.applyRetention(nowMs);
          if (result.deletedSegments > 0) {
            deleted += result.deletedSegments;
            this.logger.info(`Deleted ${result.deletedSegments} segment(s) of ${log.topic}-${log.partition} by retention; log start offset ${result.logStartOffset}`);
          }
        } catch (error) {
          this.logger.error(`Retention of ${log.topic}-${log.partition} failed: ${(error as Error).message}`);
        }
      }
    }
    return deleted;
  }

  /** Every partition log, for the cleaner. */
  *allLogs(): Generator<PartitionLog> {
    for (const topic of this.topics.values()) yield* topic.partitions;
  }

  get logCleaner(): LogCleaner {
    return this.cleaner;
  }

  flush(): void {
    for (const topic of this.topics.values()) for (const log of topic.partitions) log.flush();
  }

  /** Every open partition's recovery point in Kafka's checkpoint format; `atLogEnd` after a shutdown synced everything. */
  private recoveryPointCheckpoint(atLogEnd = false): string {
    const lines: string[] = [];
    for (const topic of this.topics.values()) {
      for (const log of topic.partitions) if (!log.isDeleted) lines.push(`${topic.name} ${log.partition} ${atLogEnd ? log.logEndOffset : log.recoveryPoint}`);
    }
    return `0\n${lines.length}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
  }

  /** Writes recovery-point-offset-checkpoint now (temp file, fsync, rename, fsync of the dir). */
  writeRecoveryPointCheckpoint(atLogEnd = false): void {
    writeFileDurably(join(this.config.dataDir, RECOVERY_POINT_CHECKPOINT_FILE), this.recoveryPointCheckpoint(atLogEnd));
  }

  /** The periodic write, off the event loop's critical path (fs promises); one at a time. */
  private checkpointInBackground(): Promise<void> {
    const path = join(this.config.dataDir, RECOVERY_POINT_CHECKPOINT_FILE);
    this.checkpointWrite = this.checkpointWrite.then(async () => {
      if (this.closed) return;
      const temp = `${path}.writing`; // not writeFileDurably's .tmp: the two may overlap
      try {
        const file = await openFile(temp, 'w');
        try {
          await file.writeFile(this.recoveryPointCheckpoint());
          await file.sync();
        } finally {
          await file.close();
        }
        await renameFile(temp, path);
        const dir = await openFile(this.config.dataDir, 'r');
        try {
          await dir.sync();
        } finally {
          await dir.close();
        }
      } catch (error) {
        this.health.failed(path, error as Error);
      }
    });
    return this.checkpointWrite;
  }

  private scheduleCheckpoints(): void {
    const interval = brokerConfigValue('log.flush.offset.checkpoint.interval.ms', this.config) as number;
    if (interval <= 0 || this.closed) return;
    this.checkpointTimer = setInterval(() => void this.checkpointInBackground(), interval);
    this.checkpointTimer.unref();
  }

  /**
   * A truncation lowered a recovery point, or a deletion removed some: Kafka writes the
   * checkpoint at once, so that a crash right after never recovers from a stale point.
   */
  private recoveryPointLowered(): void {
    if (this.closed) return;
    try {
      this.writeRecoveryPointCheckpoint();
    } catch (error) {
      this.health.failed(join(this.config.dataDir, RECOVERY_POINT_CHECKPOINT_FILE), error as Error);
    }
  }

  /** Reads the log dir's clean-shutdown marker and removes it (durably) before any log opens. */
  private takeCleanShutdownMarker(): boolean {
    const path = join(this.config.dataDir, CLEAN_SHUTDOWN_FILE);
    if (!existsSync(path)) return false;
    rmSync(path, { force: true });
    fsyncDirectory(path);
    return true;
  }

  /** recovery-point-offset-checkpoint; a damaged one is logged and ignored (every segment is then recovered after a crash), as Kafka does. */
  private readRecoveryPointCheckpoint(): Map<string, bigint> {
    const path = join(this.config.dataDir, RECOVERY_POINT_CHECKPOINT_FILE);
    if (!existsSync(path)) return new Map();
    try {
      return parseOffsetCheckpoint(readFileSync(path, 'utf8'));
    } catch (error) {
      this.logger.warn(
        `${path} is damaged (${(error as Error).message}); ignored: ${this.cleanShutdown ? 'the last stop was clean, so nothing is lost' : 'every segment of every partition is recovered'}`,
      );
      return new Map();
    }
  }

  private unlock(): void {
    if (this.lockFd !== undefined) unlockLogDir(this.lockFd);
    this.lockFd = undefined;
  }

  /** Rebuilds every partition's producer and transaction state (see PartitionLog.loadState). */
  async loadState(nowMs: number): Promise<void> {
    for (const topic of this.topics.values()) {
      for (const log of topic.partitions) await log.loadState(nowMs);
    }
  }

  /**
   * Kafka's LogManager.shutdown: every log is closed on the recovery threads and made
   * durable, the recovery points (now the log ends) are checkpointed, and
   * `.kafka_cleanshutdown` is written only if every log closed cleanly; then the log dir's
   * lock is released. Durable by one syncfs(2) of the log dir's file system rather than an
   * fdatasync per log: each of those waits for a journal commit of its own, 5,000 of them
   * took tens of seconds on this machine's disk.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
    if (this.checkpointTimer !== undefined) clearInterval(this.checkpointTimer);
    this.cleaner.stop();
    void this.compressionPool?.close();
    await this.pendingPersist?.catch(() => undefined);
    await this.checkpointWrite;
    const started = performance.now();
    // The producer snapshots of the partitions written since their last one, 16 at a time
    // through libuv's threads (one write each would otherwise hold the event loop).
    const open = [...this.allLogs()];
    for (let next = 0; next < open.length;) {
      const batch = open.slice(next, (next += 16));
      await Promise.all(batch.map((log) => log.writeSnapshotAsync()));
    }
    const logs: PartitionLog[] = [];
    const natives: SegmentLog[] = [];
    for (const log of open) {
      const native = log.beginClose();
      if (native === undefined) continue;
      logs.push(log);
      natives.push(native);
    }
    const snapshotsMs = performance.now() - started;
    // Durable by an fdatasync per log when few hold unflushed data, else by one syncfs.
    const dirty = natives.filter((native) => native.hasUnflushedData).length;
    const syncEach = dirty <= SYNC_EACH_UP_TO;
    const results = await SegmentLog.closeAll(natives, this.recoveryThreads, syncEach);
    const closedMs = performance.now() - started - snapshotsMs;
    let failed = 0;
    results.forEach((error, i) => {
      if (error === null) return;
      failed++;
      if (failed <= 10) this.logger.error(`Closing ${logs[i]!.topic}-${logs[i]!.partition} failed: ${error.message}`);
    });
    try {
      if (!syncEach) await syncFileSystem(this.config.dataDir);
    } catch (error) {
      failed++;
      this.logger.error(`Shutdown: ${(error as Error).message}`);
    }
    this.logger.info(
      `Closed ${natives.length} log(s) in ${Math.round(performance.now() - started)} ms: producer snapshots ${Math.round(snapshotsMs)} ms, ` +
        `closing on ${this.recoveryThreads} recovery thread(s) ${Math.round(closedMs)} ms (${dirty} with unflushed data, ${syncEach ? 'an fdatasync each' : 'one syncfs'}), ` +
        `syncfs ${Math.round(performance.now() - started - snapshotsMs - closedMs)} ms`,
    );
    try {
      this.writeRecoveryPointCheckpoint(failed === 0);
      if (failed === 0) writeFileDurably(join(this.config.dataDir, CLEAN_SHUTDOWN_FILE), '{"version":0,"brokerEpoch":-1}\n');
      else this.logger.error(`${failed} log(s) did not close cleanly: no ${CLEAN_SHUTDOWN_FILE}, so the next start recovers them`);
    } catch (error) {
      this.logger.error(`Could not write the shutdown checkpoint in ${this.config.dataDir}: ${(error as Error).message}; the next start recovers from the last one`);
    }
    this.unlock();
  }

  expireProducers(nowMs: number): void {
    for (const topic of this.topics.values()) {
      for (const log of topic.partitions) log.expireProducers(nowMs, this.config.producerIdExpirationMs);
    }
  }

  private scheduleRetention(): void {
    if (this.closed) return;
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
    const interval = Number(brokerConfigValue('log.retention.check.interval.ms', this.config) as bigint);
    this.retentionTimer = setInterval(() => this.applyRetention(), Math.min(interval, 2147483647));
    this.retentionTimer.unref();
  }

  /**
   * Opens partition `index` of a topic. Its directory is keyed by topic ID as in Kafka
   * (partition.metadata): a directory of another topic ID, or any existing directory when
   * the partition is new, is renamed aside `<dir>-stray` and logged, never adopted.
   */
  private openPartition(topic: string, id: Buffer, index: number, logConfig: ReturnType<typeof resolveLogConfig>, isNew: boolean): PartitionLog {
    // A new partition's directory is new (anything there was moved aside): nothing to recover.
    const plan = this.planPartition(topic, id, index, logConfig, isNew, { cleanShutdown: true });
    return this.finishPartition(plan, id, logConfig);
  }

  /** What opening partition `index` needs: its directory checked (and made), the native options. */
  private planPartition(
    topic: string,
    id: Buffer,
    index: number,
    logConfig: ReturnType<typeof resolveLogConfig>,
    isNew: boolean,
    hints: Pick<SegmentLogOptions, 'cleanShutdown' | 'recoveryPoint'>,
  ): PartitionPlan {
    const dir = join(this.config.dataDir, `${topic}-${index}`);
    let rewriteMetadata = true;
    if (existsSync(dir)) {
      const found = readPartitionMetadata(dir);
      if (found.kind === 'ok' && !found.topicId.equals(id)) {
        this.moveAside(dir, `it belongs to topic ID ${found.topicId.toString('base64url')}, not ${topic}'s ${id.toString('base64url')}`);
      } else if (isNew) {
        this.moveAside(dir, `it existed before topic ${topic} was created (partition.metadata ${found.kind})`);
      } else if (found.kind === 'damaged') {
        this.logger.warn(`${join(dir, 'partition.metadata')} is unreadable (${found.problem}); rewritten with ${topic}'s topic ID from ${METADATA_FILE}`);
      } else {
        rewriteMetadata = found.kind === 'missing';
      }
    }
    mkdirSync(dir, { recursive: true });
    return { topic, index, dir, rewriteMetadata, options: { ...segmentOptions(logConfig), verifyOnOpen: INTERNAL_TOPICS.has(topic), ...hints } };
  }

  /** The PartitionLog over a planned partition, its native log opened here or given. */
  private finishPartition(plan: PartitionPlan, id: Buffer, logConfig: ReturnType<typeof resolveLogConfig>, segments?: SegmentLog, snapshotFiles?: readonly string[]): PartitionLog {
    const log = new PartitionLog(plan.topic, plan.index, plan.dir, logConfig, () => this.compression(), {
      logger: this.logger,
      verifyOnOpen: plan.options.verifyOnOpen === true,
      health: this.health,
      loadHints: { cleanShutdown: plan.options.cleanShutdown === true, ...(plan.options.recoveryPoint !== undefined ? { recoveryPoint: plan.options.recoveryPoint } : {}) },
      onRecoveryPointLowered: () => this.recoveryPointLowered(),
      ...(segments !== undefined ? { segments } : {}),
      ...(snapshotFiles !== undefined ? { snapshotFiles } : {}),
    });
    try {
      if (plan.rewriteMetadata) writePartitionMetadata(plan.dir, id);
    } catch (error) {
      log.close();
      throw error;
    }
    return log;
  }

  private moveAside(dir: string, why: string): void {
    let target = `${dir}${STRAY_DIR_SUFFIX}`;
    for (let n = 1; existsSync(target); n++) target = `${dir}${STRAY_DIR_SUFFIX}${n}`;
    renameSync(dir, target);
    this.logger.warn(`Moved ${dir} aside to ${target}: ${why}. Its data is kept there; delete it once it is not needed`);
  }

  private openTopic(stored: StoredTopic, isNew = false): Topic {
    const logConfig = resolveLogConfig(stored.configs, this.config);
    const id = Buffer.from(stored.id, 'hex');
    const partitions: PartitionLog[] = [];
    try {
      for (let index = 0; index < stored.partitions; index++) partitions.push(this.openPartition(stored.name, id, index, logConfig, isNew));
    } catch (error) {
      if (isNew) this.discardPartitions(partitions);
      else for (const log of partitions) log.close();
      throw error;
    }
    return this.addTopic(stored, id, partitions);
  }

  private addTopic(stored: StoredTopic, id: Buffer, partitions: PartitionLog[]): Topic {
    const topic: MutableTopic = {
      name: stored.name,
      id,
      partitions,
      configs: stored.configs,
      internal: INTERNAL_TOPICS.has(stored.name),
    };
    this.topics.set(topic.name, topic);
    this.topicsById.set(stored.id, topic);
    return topic;
  }

  private async loadTopics(): Promise<void> {
    const path = join(this.config.dataDir, METADATA_FILE);
    const loaded = readWithBackup(
      path,
      (text) => {
        const parsed = parseChecksummedJson(text) as { version?: number; topics?: StoredTopic[] };
        if (parsed.version !== METADATA_VERSION) throw new Error(`unsupported metadata version ${String(parsed.version)}`);
        if (!Array.isArray(parsed.topics)) throw new Error('no topics list');
        return parsed.topics;
      },
      this.logger,
    );
    const topics = loaded?.value ?? this.rebuildTopics(path);
    // The logs open (and recover) together on the recovery threads, each listing its
    // directory once (partition.metadata and the producer snapshots come with it); then
    // each is checked against its topic ID and becomes a PartitionLog, which logs repairs.
    const plans: Array<{ stored: StoredTopic; id: Buffer; logConfig: ReturnType<typeof resolveLogConfig>; plan: PartitionPlan }> = [];
    for (const stored of topics) {
      const logConfig = resolveLogConfig(stored.configs, this.config);
      const id = Buffer.from(stored.id, 'hex');
      const options = { ...segmentOptions(logConfig), verifyOnOpen: INTERNAL_TOPICS.has(stored.name), cleanShutdown: this.cleanShutdown };
      for (let index = 0; index < stored.partitions; index++) {
        const recoveryPoint = this.checkpointedRecoveryPoints.get(`${stored.name}-${index}`);
        const dir = join(this.config.dataDir, `${stored.name}-${index}`);
        const plan = { topic: stored.name, index, dir, rewriteMetadata: false, options: recoveryPoint === undefined ? options : { ...options, recoveryPoint } };
        plans.push({ stored, id, logConfig, plan });
      }
    }
    const started = performance.now();
    const opened = await SegmentLog.openAll(
      plans.map(({ plan }) => ({ dir: plan.dir, options: plan.options })),
      this.recoveryThreads,
    );
    const openedMs = performance.now() - started;
    const failed = opened.findIndex((result) => result instanceof LogError);
    if (failed >= 0) {
      for (const result of opened) if (!(result instanceof LogError)) result.close(false);
      const { plan } = plans[failed]!;
      throw new Error(
        `Cannot open the log of ${plan.topic}-${plan.index} in ${plan.dir}: ${(opened[failed] as LogError).message}. ` +
          'Fix the file named (permissions, disk) or move the directory aside to start without this partition',
        { cause: opened[failed] },
      );
    }
    const byTopic = new Map<StoredTopic, PartitionLog[]>();
    const recovered = { segments: 0, partitions: 0 };
    plans.forEach(({ stored, id, logConfig, plan }, i) => {
      const partitions = byTopic.get(stored) ?? [];
      partitions.push(this.adoptOpenedPartition(plan, id, logConfig, opened[i] as SegmentLog, recovered));
      byTopic.set(stored, partitions);
    });
    for (const stored of topics) this.addTopic(stored, Buffer.from(stored.id, 'hex'), byTopic.get(stored) ?? []);
    this.logger.info(
      `Loaded ${plans.length} partition(s) of ${topics.length} topic(s) in ${Math.round(performance.now() - started)} ms ` +
        `(${Math.round(openedMs)} ms opening on ${this.recoveryThreads} recovery thread(s)) after ${this.cleanShutdown ? 'a clean shutdown' : 'an unclean shutdown'}: ` +
        `${recovered.segments} segment(s) of ${recovered.partitions} partition(s) recovered`,
    );
    if (loaded === undefined ? topics.length > 0 : loaded.path !== path) this.persist();
  }

  /**
   * A log opened at start becomes its topic's partition if its partition.metadata names the
   * topic's ID; a directory of another topic ID is closed, moved aside `<dir>-stray` with a
   * WARN and replaced by an empty one, never adopted (Kafka keys directories by topic ID).
   */
  private adoptOpenedPartition(
    plan: PartitionPlan,
    id: Buffer,
    logConfig: ReturnType<typeof resolveLogConfig>,
    opened: SegmentLog,
    recovered: { segments: number; partitions: number },
  ): PartitionLog {
    const files = opened.takeLoadInfo();
    recovered.segments += files.recoveredSegments;
    if (files.recoveredSegments > 0) recovered.partitions++;
    const found: PartitionMetadata = files.partitionMetadata === null ? { kind: 'missing' } : parsePartitionMetadata(files.partitionMetadata);
    const metadataPath = join(plan.dir, 'partition.metadata');
    if (found.kind === 'ok' && !found.topicId.equals(id)) {
      opened.close(false);
      this.moveAside(plan.dir, `it belongs to topic ID ${found.topicId.toString('base64url')}, not ${plan.topic}'s ${id.toString('base64url')}`);
      const fresh = { ...plan, rewriteMetadata: true, options: { ...plan.options, cleanShutdown: true } };
      delete fresh.options.recoveryPoint;
      return this.finishPartition(fresh, id, logConfig);
    }
    if (found.kind === 'damaged') this.logger.warn(`${metadataPath} is unreadable (${found.problem}); rewritten with ${plan.topic}'s topic ID from ${METADATA_FILE}`);
    return this.finishPartition({ ...plan, rewriteMetadata: found.kind !== 'ok' }, id, logConfig, opened, files.snapshots);
  }

  /**
   * topics.json and its backup are gone: the topics come back from the partition
   * directories and their partition.metadata (config overrides are lost), so the old data
   * is never taken over by a new topic of the same name.
   */
  private rebuildTopics(path: string): StoredTopic[] {
    const found = new Map<string, { name: string; id: Buffer; partitions: number }>();
    for (const entry of readdirSync(this.config.dataDir)) {
      const match = /^(.+)-(\d+)$/.exec(entry);
      if (match === null || topicNameProblem(match[1]!) !== undefined) continue;
      const dir = join(this.config.dataDir, entry);
      if (!statSync(dir).isDirectory()) continue;
      const metadata = readPartitionMetadata(dir);
      // Directories from before partition.metadata: the name is all there is.
      const id = metadata.kind === 'ok' ? metadata.topicId : undefined;
      const key = `${match[1]}\u0000${id?.toString('hex') ?? ''}`;
      const topic = found.get(key) ?? { name: match[1]!, id: id ?? newTopicId(), partitions: 0 };
      topic.partitions = Math.max(topic.partitions, Number(match[2]) + 1);
      found.set(key, topic);
    }
    const byName = new Map<string, StoredTopic>();
    for (const topic of found.values()) {
      if (byName.has(topic.name)) {
        this.logger.warn(`Rebuilding ${path}: several topic IDs for ${topic.name}; keeping ${byName.get(topic.name)!.id}, the other directories are moved aside when opened`);
        continue;
      }
      byName.set(topic.name, { name: topic.name, id: topic.id.toString('hex'), partitions: topic.partitions, configs: {} });
    }
    if (byName.size > 0) {
      this.logger.warn(
        `${path} is missing: rebuilt ${byName.size} topic(s) from the partition directories (${[...byName.keys()].join(', ')}); their config overrides are lost, set them again with AlterConfigs`,
      );
    }
    return [...byName.values()];
  }

  private loadBrokerConfigs(): void {
    const path = join(this.config.dataDir, BROKER_CONFIGS_FILE);
    const loaded = readWithBackup(path, (text) => parseChecksummedJson(text) as unknown as StoredBrokerConfigs, this.logger);
    if (loaded === undefined) return;
    const parsed = loaded.value;
    for (const [key, value] of Object.entries(parsed.perBroker ?? {})) this.config.dynamic.perBroker.set(key, value);
    for (const [key, value] of Object.entries(parsed.clusterDefault ?? {})) this.config.dynamic.clusterDefault.set(key, value);
  }

  /** Finishes the removal of directories of topics deleted before a restart. */
  private removeDeletedDirectories(): void {
    for (const name of readdirSync(this.config.dataDir)) {
      if (name.endsWith(DELETED_DIR_SUFFIX)) rm(join(this.config.dataDir, name), { recursive: true, force: true }, () => undefined);
    }
  }

  private persist(): void {
    const topics: StoredTopic[] = [...this.topics.values()].map((topic) => ({
      name: topic.name,
      id: topic.id.toString('hex'),
      partitions: topic.partitions.length,
      configs: { ...topic.configs },
    }));
    writeFileWithBackup(join(this.config.dataDir, METADATA_FILE), checksummedJson({ version: METADATA_VERSION, topics }));
  }

  /**
   * meta.properties holds the cluster ID and node ID, as in a Kafka log dir. A damaged one
   * falls back to its previous generation with a WARN; with neither readable the start is
   * refused naming both (a new cluster ID would silently make this a different cluster).
   */
  private loadOrCreateMetaProperties(): string {
    const path = join(this.config.dataDir, 'meta.properties');
    const loaded = readWithBackup(
      path,
      (text) => {
        const clusterId = /^cluster\.id=(.*)$/m.exec(text)?.[1]?.trim();
        if (clusterId === undefined || clusterId === '') throw new Error('no cluster.id');
        return { clusterId, nodeId: /^node\.id=(.*)$/m.exec(text)?.[1]?.trim() };
      },
      this.logger,
    );
    if (loaded !== undefined) {
      const { clusterId, nodeId } = loaded.value;
      if (nodeId !== undefined && Number(nodeId) !== this.config.nodeId) {
        throw new Error(`${path} belongs to node ${nodeId}, but this broker is node.id=${this.config.nodeId}`);
      }
      if (this.config.clusterId !== null && this.config.clusterId !== clusterId) {
        throw new Error(`${path} belongs to cluster ${clusterId}, but cluster.id=${this.config.clusterId}`);
      }
      if (loaded.path !== path) writeFileWithBackup(path, `#Written by Spate\nversion=1\ncluster.id=${clusterId}\nnode.id=${this.config.nodeId}\n`);
      return clusterId;
    }
    const clusterId = this.config.clusterId ?? randomBytes(16).toString('base64url');
    writeFileWithBackup(path, `#Written by Spate\nversion=1\ncluster.id=${clusterId}\nnode.id=${this.config.nodeId}\n`);
    return clusterId;
  }
}
