// All topics and partition logs of one broker; the durable topic metadata (names, IDs,
// partition counts, config overrides) in `<data dir>/topics.json` and the dynamic broker
// configs in `<data dir>/broker-configs.json`; topic deletion, partition creation and
// config changes, applied live; and the background work on the logs: retention every
// log.retention.check.interval.ms and the log cleaner for compacted topics.

import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rm } from 'node:fs';
import { join } from 'node:path';
import { type BrokerConfig } from '../config/broker-config.js';
import { brokerConfigValue, resolveLogConfig } from '../config/topic-config.js';
import { CompressionPool } from '../compression/pool.js';
import { type Logger } from '../logger.js';
import { writeFileDurably } from './durable-file.js';
import { LogCleaner } from './log-cleaner.js';
import { PartitionLog } from './partition-log.js';

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

export const MAX_TOPIC_NAME_LENGTH = 249;
/** Topics Kafka marks internal in Metadata. */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state']);

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

  constructor(
    private readonly config: BrokerConfig,
    logger?: Pick<Logger, 'info' | 'warn' | 'error'>,
  ) {
    this.logger = logger ?? silentLogger;
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

  /** Creates a topic (validated by the caller) and persists the metadata before returning. */
  createTopic(name: string, partitions: number, configs: Readonly<Record<string, string>>, id?: Buffer): Topic {
    if (this.topics.has(name)) throw new Error(`Topic ${name} already exists`);
    // A cluster member creates the topic under the ID the metadata store gave it.
    const stored: StoredTopic = { name, id: (id ?? newTopicId()).toString('hex'), partitions, configs: { ...configs } };
    const topic = this.openTopic(stored);
    this.persist();
    return topic;
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

  /** Adds partitions up to `count` (validated by the caller) and persists the metadata. */
  createPartitions(name: string, count: number): Topic {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new Error(`Topic ${name} does not exist`);
    const logConfig = resolveLogConfig(topic.configs, this.config);
    for (let index = topic.partitions.length; index < count; index++) topic.partitions.push(this.openPartition(topic.name, index, logConfig));
    this.persist();
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
    writeFileDurably(join(this.config.dataDir, BROKER_CONFIGS_FILE), JSON.stringify(stored, null, 2) + '\n');
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
            this.logger.info(
              `Deleted ${result.deletedSegments} segment(s) of ${log.topic}-${log.partition} by retention; log start offset ${result.logStartOffset}`,
            );
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

  private openPartition(topic: string, index: number, logConfig: ReturnType<typeof resolveLogConfig>): PartitionLog {
    const dir = join(this.config.dataDir, `${topic}-${index}`);
    mkdirSync(dir, { recursive: true });
    return new PartitionLog(topic, index, dir, logConfig, () => this.compression());
  }

  private openTopic(stored: StoredTopic): Topic {
    const logConfig = resolveLogConfig(stored.configs, this.config);
    const partitions: PartitionLog[] = [];
    for (let index = 0; index < stored.partitions; index++) partitions.push(this.openPartition(stored.name, index, logConfig));
    const topic: MutableTopic = {
      name: stored.name,
      id: Buffer.from(stored.id, 'hex'),
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
    if (!existsSync(path)) return;
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { version: number; topics: StoredTopic[] };
    if (parsed.version !== METADATA_VERSION) throw new Error(`${path}: unsupported metadata version ${parsed.version}`);
    for (const stored of parsed.topics) this.openTopic(stored);
  }

  private loadBrokerConfigs(): void {
    const path = join(this.config.dataDir, BROKER_CONFIGS_FILE);
    if (!existsSync(path)) return;
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as StoredBrokerConfigs;
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
    writeFileDurably(join(this.config.dataDir, METADATA_FILE), JSON.stringify({ version: METADATA_VERSION, topics }, null, 2) + '\n');
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
    writeFileDurably(path, `#Written by Spate\nversion=1\ncluster.id=${clusterId}\nnode.id=${this.config.nodeId}\n`);
    return clusterId;
  }
}
