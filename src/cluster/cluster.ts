// The one-process cluster: N brokers (node ids 0..N-1) in this process, each with its own
// listener (port 0 unless told) and data directory, sharing one in-process metadata store,
// replicating to each other over the real protocol. stopBroker / restartBroker are how tests
// exercise failover; a restarted broker keeps its data directory and rejoins as a follower.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger, type LogLevel } from '../logger.js';
import { SpateBroker, type BrokerOptions } from '../server/broker-server.js';
import { InProcessMetadataStore, type MetadataStore } from './metadata-store.js';
import { createInternalTopics } from './internal-topics.js';

export interface ClusterOptions {
  /** How many brokers (node ids 0..brokers-1). */
  readonly brokers: number;
  readonly host?: string;
  /** First port; broker i listens on basePort + i. 0 (default): an ephemeral port each. */
  readonly basePort?: number;
  /** First HTTP port (metrics, REST, WebSocket); broker i on httpBasePort + i. 0 or unset: a free port each. */
  readonly httpBasePort?: number;
  /** Parent of the brokers' data directories (`broker-<id>`); default: a temporary directory removed by stop(). */
  readonly dataDir?: string;
  /** A Kafka-style properties file every broker reads (its listeners are replaced). */
  readonly configFile?: string;
  /** Kafka property overrides applied to every broker. */
  readonly config?: Readonly<Record<string, string | number | boolean>>;
  /** Overrides for one broker, over `config` (e.g. its `broker.rack`). */
  readonly brokerConfig?: (nodeId: number) => Readonly<Record<string, string | number | boolean>> | undefined;
  readonly logLevel?: LogLevel;
  readonly logger?: Logger;
}

export class SpateCluster {
  readonly store: MetadataStore;
  private readonly brokersById = new Map<number, SpateBroker>();
  private readonly root: string;
  private readonly temporary: boolean;
  private readonly logger: Logger;
  /** Ports of stopped brokers, so that a restart binds the same port again when possible. */
  private readonly ports = new Map<number, number>();
  /** One cluster ID for every broker (clients refuse brokers of another cluster). */
  private readonly clusterId: string;

  constructor(private readonly options: ClusterOptions) {
    if (!Number.isInteger(options.brokers) || options.brokers < 1) throw new Error(`brokers must be a positive integer, got ${options.brokers}`);
    this.temporary = options.dataDir === undefined;
    this.root = options.dataDir ?? mkdtempSync(join(tmpdir(), 'spate-cluster-'));
    this.logger = options.logger ?? createLogger(options.logLevel ?? 'info');
    this.store = new InProcessMetadataStore({ firstProducerId: this.reservedProducerIds() });
    this.clusterId = String(options.config?.['cluster.id'] ?? this.existingClusterId() ?? randomBytes(16).toString('base64url'));
  }

  /** The cluster ID a broker of an earlier run wrote to its meta.properties. */
  private existingClusterId(): string | undefined {
    for (let nodeId = 0; nodeId < this.options.brokers; nodeId++) {
      const path = join(this.root, `broker-${nodeId}`, 'meta.properties');
      if (!existsSync(path)) continue;
      const found = /^cluster\.id=(.+)$/m.exec(readFileSync(path, 'utf8'))?.[1]?.trim();
      if (found !== undefined && found !== '') return found;
    }
    return undefined;
  }

  /** Producer IDs stay unique across runs on the same data directories: start past every block handed out. */
  private reservedProducerIds(): bigint {
    let highest = 0n;
    for (let nodeId = 0; nodeId < this.options.brokers; nodeId++) {
      const path = join(this.root, `broker-${nodeId}`, 'producer-id-block');
      if (!existsSync(path)) continue;
      const text = readFileSync(path, 'utf8').trim();
      if (/^\d+$/.test(text) && BigInt(text) > highest) highest = BigInt(text);
    }
    return highest;
  }

  /** The running brokers, by node id. */
  get brokers(): SpateBroker[] {
    return [...this.brokersById.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  broker(nodeId: number): SpateBroker {
    const broker = this.brokersById.get(nodeId);
    if (broker === undefined) throw new Error(`Broker ${nodeId} is not running`);
    return broker;
  }

  /** "host:port,host:port,..." of the running brokers, for a client's bootstrap list. */
  get bootstrap(): string {
    return this.brokers.map((broker) => broker.bootstrap).join(',');
  }

  async start(): Promise<this> {
    try {
      for (let nodeId = 0; nodeId < this.options.brokers; nodeId++) await this.startBroker(nodeId);
      // The coordinators' internal topics, replicated min(3, brokers) times, exist before any client asks.
      await createInternalTopics(this.brokers[0]!, () => Math.min(3, this.options.brokers));
    } catch (error) {
      await this.stop();
      throw error;
    }
    return this;
  }

  /** Starts broker `nodeId` (again), on its data directory. */
  async startBroker(nodeId: number): Promise<SpateBroker> {
    if (this.brokersById.has(nodeId)) throw new Error(`Broker ${nodeId} is already running`);
    const port = this.ports.get(nodeId) ?? (this.options.basePort !== undefined && this.options.basePort > 0 ? this.options.basePort + nodeId : 0);
    const options: BrokerOptions = {
      host: this.options.host ?? '127.0.0.1',
      port,
      dataDir: join(this.root, `broker-${nodeId}`),
      ...(this.options.configFile !== undefined ? { configFile: this.options.configFile } : {}),
      config: { 'cluster.id': this.clusterId, ...(this.options.config ?? {}), ...(this.options.brokerConfig?.(nodeId) ?? {}), 'node.id': nodeId },
      logger: this.logger,
      metadataStore: this.store,
      // Each broker has its own HTTP listener: httpBasePort + node id, or a free port each.
      httpPort: this.options.httpBasePort !== undefined && this.options.httpBasePort > 0 ? this.options.httpBasePort + nodeId : 0,
    };
    let broker: SpateBroker;
    try {
      broker = await new SpateBroker(options).start();
    } catch (error) {
      if (port === 0 || this.ports.get(nodeId) === undefined) throw error;
      // The old port was taken meanwhile: any port will do, the store announces the new one.
      broker = await new SpateBroker({ ...options, port: 0 }).start();
    }
    this.brokersById.set(nodeId, broker);
    this.ports.set(nodeId, broker.port);
    return broker;
  }

  /** Stops broker `nodeId` (its partitions get new leaders from the ISR); its data stays. */
  async stopBroker(nodeId: number): Promise<void> {
    const broker = this.brokersById.get(nodeId);
    if (broker === undefined) return;
    this.brokersById.delete(nodeId);
    await broker.stop();
  }

  async restartBroker(nodeId: number): Promise<SpateBroker> {
    await this.stopBroker(nodeId);
    return this.startBroker(nodeId);
  }

  /** The current leader of a partition (-1 when offline). */
  leaderOf(topic: string, partition: number): number {
    return this.store.partitionState(topic, partition)?.leader ?? -1;
  }

  async stop(): Promise<void> {
    for (const nodeId of [...this.brokersById.keys()].sort((a, b) => b - a)) await this.stopBroker(nodeId);
    if (this.temporary) rmSync(this.root, { recursive: true, force: true });
  }
}

/** Starts a one-process cluster; resolves once every broker accepts connections. */
export async function startCluster(options: ClusterOptions): Promise<SpateCluster> {
  return new SpateCluster(options).start();
}
