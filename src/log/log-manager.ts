// All topics and partition logs of one broker; the durable topic metadata (names, IDs,
// partition counts, config overrides) in `<data dir>/topics.json` and the dynamic broker
// configs in `<data dir>/broker-configs.json`; topic deletion, partition creation and
// config changes, applied live; and the background work on the logs: retention every
// log.retention.check.interval.ms and the log cleaner for compacted topics.

import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rm, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type BrokerConfig } from '../config/broker-config.js';
import { brokerConfigValue, resolveLogConfig } from '../config/topic-config.js';
import { CompressionPool } from '../compression/pool.js';
import { type Logger } from '../logger.js';
import { checksummedJson, parseChecksummedJson, readWithBackup, writeFileWithBackup } from './durable-file.js';
import { LogCleaner } from './log-cleaner.js';
import { openFileCount, raiseFileLimit } from './native.js';
import { PartitionLog } from './partition-log.js';
import { readPartitionMetadata, writePartitionMetadata } from './partition-metadata.js';
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
 * File descriptors one open partition holds: the .log, .index and .timeindex of its active
 * segment and the directory lock (older segments hold three more each).
 */
export const FDS_PER_PARTITION = 4;
/** Descriptors kept free for connections, snapshots and the cleaner. */
const FD_RESERVE = 256;

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
    mkdirSync(config.dataDir, { recursive: true });
    this.clusterId = this.loadOrCreateMetaProperties();
    this.loadBrokerConfigs();
    this.removeDeletedDirectories();
    this.loadTopics();
    this.cleaner = new LogCleaner(this, config, this.logger);
    this.scheduleRetention();
    this.cleaner.start();
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
    const open = openFileCount();
    if (open < 0) return;
    const needed = partitions * FDS_PER_PARTITION;
    const available = this.fileLimit - open - FD_RESERVE;
    if (needed > available) {
      throw new KafkaError(
        errorCode,
        `Creating ${partitions} partition(s) needs about ${needed} file descriptors, but only ${Math.max(0, available)} of the limit ${this.fileLimit} are free ` +
          `(${open} open, ${FD_RESERVE} kept for connections). Raise the broker's open file limit (ulimit -n) or create fewer partitions.`,
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
    try {
      this.persist();
    } catch (error) {
      this.topics.delete(name);
      this.topicsById.delete(stored.id);
      this.discardPartitions(topic.partitions);
      this.health.failed(join(this.config.dataDir, METADATA_FILE), error as Error);
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `Creating topic ${name} failed: ${(error as Error).message}`);
    }
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
    this.persist();
    for (const log of topic.partitions) {
      this.cleaner.forget(log);
      log.markDeleted();
      const target = `${log.dir}.${topic.id.toString('hex')}${DELETED_DIR_SUFFIX}`;
      try {
        renameSync(log.dir, target);
        rm(target, { recursive: true, force: true }, () => undefined);
      } catch (error) {
        this.logger.warn(`Could not remove ${log.dir}: ${(error as Error).message}`);
      }
    }
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

  /** Rebuilds every partition's producer and transaction state (see PartitionLog.loadState). */
  async loadState(nowMs: number): Promise<void> {
    for (const topic of this.topics.values()) {
      for (const log of topic.partitions) await log.loadState(nowMs);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
    this.cleaner.stop();
    void this.compressionPool?.close();
    for (const topic of this.topics.values()) for (const log of topic.partitions) log.close();
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
    const log = new PartitionLog(topic, index, dir, logConfig, () => this.compression(), {
      logger: this.logger,
      verifyOnOpen: INTERNAL_TOPICS.has(topic),
      health: this.health,
    });
    try {
      if (rewriteMetadata) writePartitionMetadata(dir, id);
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

  private loadTopics(): void {
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
    for (const stored of topics) this.openTopic(stored);
    if (loaded === undefined ? topics.length > 0 : loaded.path !== path) this.persist();
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

  /** meta.properties holds the cluster ID and node ID, as in a Kafka log dir. */
  private loadOrCreateMetaProperties(): string {
    const path = join(this.config.dataDir, 'meta.properties');
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const clusterId = /^cluster\.id=(.*)$/m.exec(text)?.[1]?.trim();
      const nodeId = /^node\.id=(.*)$/m.exec(text)?.[1]?.trim();
      if (nodeId !== undefined && Number(nodeId) !== this.config.nodeId) {
        throw new Error(`${path} belongs to node ${nodeId}, but this broker is node.id=${this.config.nodeId}`);
      }
      if (clusterId !== undefined && clusterId !== '') {
        if (this.config.clusterId !== null && this.config.clusterId !== clusterId) {
          throw new Error(`${path} belongs to cluster ${clusterId}, but cluster.id=${this.config.clusterId}`);
        }
        return clusterId;
      }
    }
    const clusterId = this.config.clusterId ?? randomBytes(16).toString('base64url');
    writeFileWithBackup(path, `#Written by Spate\nversion=1\ncluster.id=${clusterId}\nnode.id=${this.config.nodeId}\n`);
    return clusterId;
  }
}
