// All topics and partition logs of one broker, and the durable topic metadata
// (names, IDs, partition counts, config overrides) in `<data dir>/topics.json`.

import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BrokerConfig } from '../config/broker-config.js';
import { resolveLogConfig } from '../config/topic-config.js';
import { writeFileDurably } from './durable-file.js';
import { PartitionLog } from './partition-log.js';

export interface Topic {
  readonly name: string;
  /** The topic's UUID (KIP-516), 16 bytes. */
  readonly id: Buffer;
  readonly partitions: PartitionLog[];
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
}

interface StoredTopic {
  name: string;
  id: string;
  partitions: number;
  configs: Record<string, string>;
}

const METADATA_FILE = 'topics.json';
const METADATA_VERSION = 1;

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

export class LogManager {
  readonly clusterId: string;
  private readonly topics = new Map<string, Topic>();
  private readonly topicsById = new Map<string, Topic>();

  constructor(private readonly config: BrokerConfig) {
    mkdirSync(config.dataDir, { recursive: true });
    this.clusterId = this.loadOrCreateMetaProperties();
    this.loadTopics();
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

  /** Names that differ only by '.' vs '_' collide in Kafka's metric names; Kafka refuses them. */
  collidingTopic(name: string): string | undefined {
    const normalized = name.replace(/\./g, '_');
    for (const existing of this.topics.keys()) {
      if (existing !== name && existing.replace(/\./g, '_') === normalized) return existing;
    }
    return undefined;
  }

  /** Creates a topic (validated by the caller) and persists the metadata before returning. */
  createTopic(name: string, partitions: number, configs: Readonly<Record<string, string>>): Topic {
    if (this.topics.has(name)) throw new Error(`Topic ${name} already exists`);
    const stored: StoredTopic = { name, id: newTopicId().toString('hex'), partitions, configs: { ...configs } };
    const topic = this.openTopic(stored);
    this.persist();
    return topic;
  }

  flush(): void {
    for (const topic of this.topics.values()) for (const log of topic.partitions) log.flush();
  }

  close(): void {
    for (const topic of this.topics.values()) for (const log of topic.partitions) log.close();
  }

  expireProducers(nowMs: number): void {
    for (const topic of this.topics.values()) {
      for (const log of topic.partitions) log.expireProducers(nowMs, this.config.producerIdExpirationMs);
    }
  }

  private openTopic(stored: StoredTopic): Topic {
    const logConfig = resolveLogConfig(stored.configs, this.config);
    const partitions: PartitionLog[] = [];
    for (let index = 0; index < stored.partitions; index++) {
      const dir = join(this.config.dataDir, `${stored.name}-${index}`);
      mkdirSync(dir, { recursive: true });
      partitions.push(new PartitionLog(stored.name, index, dir, logConfig));
    }
    const topic: Topic = {
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
