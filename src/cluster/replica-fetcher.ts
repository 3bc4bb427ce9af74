// A follower's fetcher for the partitions led by one source broker (Kafka's
// ReplicaFetcherThread): Fetch v15 over the real protocol to the leader's listener, with
// ReplicaState naming this broker, the current leader epoch per partition, and the follower's
// log end as fetch offset. Fetched batches are appended with their offsets kept; the leader's
// high watermark comes back in each answer. Errors back off and wait for the metadata to move
// (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH).

import { connect, type Socket } from 'node:net';
import { type BrokerConfig } from '../config/broker-config.js';
import { brokerConfigValue } from '../config/topic-config.js';
import { type Logger } from '../logger.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { decodeResponse, encodeRequest } from '../protocol/frame.js';
import { type FetchRequest, type FetchResponse, type OffsetForLeaderEpochResponse } from '../protocol/generated/index.js';
import { type BrokerEndpoint } from './metadata.js';
import { type Partition } from './partition.js';
import { type ReplicaManager } from './replica-manager.js';

const FETCH_VERSION = 15;
const OFFSET_FOR_LEADER_EPOCH_VERSION = 4;
const BACKOFF_MS = 100;

/** One request at a time over one socket; the socket is replaced after any error. */
class BrokerChannel {
  private socket: Socket | undefined;
  private buffered: Buffer = Buffer.alloc(0);
  private pending: { resolve: (frame: Buffer) => void; reject: (error: Error) => void } | undefined;
  private correlationId = 0;
  /** The socket being used or connected; events of older ones are ignored. */
  private current: Socket | undefined;

  constructor(private readonly endpoint: BrokerEndpoint) {}

  async request<T>(apiKey: number, apiVersion: number, body: unknown): Promise<T> {
    const socket = this.socket ?? (await this.connect());
    const correlationId = ++this.correlationId;
    const frame = await new Promise<Buffer>((resolve, reject) => {
      this.pending = { resolve, reject };
      socket.write(encodeRequest(apiKey, apiVersion, correlationId, 'spate-replica-fetcher', body));
    });
    const decoded = decodeResponse(apiKey, apiVersion, frame);
    if (decoded.correlationId !== correlationId) throw new Error(`Correlation id ${decoded.correlationId} answers request ${correlationId}`);
    return decoded.body as T;
  }

  close(): void {
    const socket = this.current;
    this.current = undefined;
    this.socket = undefined;
    socket?.destroy();
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(new Error('The replica fetcher stopped'));
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.endpoint.host, port: this.endpoint.port, noDelay: true });
      this.current = socket;
      const fail = (error: Error) => {
        reject(error);
        // A replaced socket closing late must not fail the request of its successor.
        if (this.current !== socket) return;
        this.socket = undefined;
        const pending = this.pending;
        this.pending = undefined;
        pending?.reject(error);
      };
      socket.once('connect', () => {
        this.socket = socket;
        this.buffered = Buffer.alloc(0);
        resolve(socket);
      });
      socket.on('error', fail);
      socket.on('close', () => fail(new Error(`Connection to ${this.endpoint.host}:${this.endpoint.port} closed`)));
      socket.on('data', (chunk: Buffer) => {
        if (this.current !== socket) return;
        this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
        while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
          const size = this.buffered.readInt32BE(0);
          const frame = this.buffered.subarray(4, 4 + size);
          this.buffered = this.buffered.subarray(4 + size);
          const pending = this.pending;
          this.pending = undefined;
          pending?.resolve(frame);
        }
      });
    });
  }
}

export class ReplicaFetcher {
  private running = false;
  private readonly channel: BrokerChannel;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly replicas: ReplicaManager,
    readonly leaderId: number,
    private readonly endpoint: BrokerEndpoint,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {
    this.channel = new BrokerChannel(endpoint);
  }

  /** True while the leader is still reachable at this endpoint (a restarted broker has a new port). */
  targets(endpoint: BrokerEndpoint): boolean {
    return endpoint.host === this.endpoint.host && endpoint.port === this.endpoint.port;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  stop(): void {
    this.running = false;
    this.channel.close();
    this.wake();
  }

  /** The set of followed partitions changed: fetch again at once if idle. */
  wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const pending = this.replicas.pendingFrom(this.leaderId);
      const partitions = this.replicas.followedFrom(this.leaderId);
      if (partitions.length === 0 && pending.length === 0) {
        await this.sleep(1000);
        continue;
      }
      try {
        if (pending.length > 0 && (await this.checkDivergence(pending))) {
          await this.sleep(BACKOFF_MS);
          continue;
        }
        if (partitions.length === 0) continue;
        const backoff = await this.fetchOnce(partitions);
        failures = 0;
        if (backoff) await this.sleep(BACKOFF_MS);
      } catch (error) {
        if (!this.running) break;
        if (failures++ === 0) this.logger.warn(`Replica fetch from broker ${this.leaderId} at ${this.endpoint.host}:${this.endpoint.port} failed: ${(error as Error).message}`);
        this.channel.close();
        await this.sleep(Math.min(BACKOFF_MS * failures, 1000));
      }
    }
  }

  /**
   * OffsetForLeaderEpoch for the partitions that just became followers: where does the
   * leader's log end for this replica's latest epoch? True when some answer was an error.
   */
  private async checkDivergence(partitions: readonly Partition[]): Promise<boolean> {
    const byTopic = new Map<string, Partition[]>();
    for (const partition of partitions) byTopic.set(partition.topic, [...(byTopic.get(partition.topic) ?? []), partition]);
    const sentEpochs = new Map(partitions.map((partition) => [`${partition.topic}-${partition.index}`, partition.leaderEpoch]));
    const response = await this.channel.request<OffsetForLeaderEpochResponse>(23, OFFSET_FOR_LEADER_EPOCH_VERSION, {
      replicaId: this.replicas.nodeId,
      topics: [...byTopic].map(([topic, list]) => ({
        topic,
        partitions: list.map((partition) => ({ partition: partition.index, currentLeaderEpoch: partition.leaderEpoch, leaderEpoch: partition.epochs.latestEpoch })),
      })),
    });
    let failed = false;
    for (const topic of response.topics) {
      for (const answer of topic.partitions) {
        const partition = this.replicas.partition(topic.topic, answer.partition);
        if (partition === undefined || partition.isLeader || partition.leaderEpoch !== sentEpochs.get(`${topic.topic}-${answer.partition}`)) continue;
        if (answer.errorCode !== ErrorCode.NONE) {
          failed = true;
          continue;
        }
        this.replicas.completeEpochCheck(partition, answer.leaderEpoch, answer.endOffset);
      }
    }
    return failed;
  }

  /** One Fetch round trip; true when some partition answered an error (back off before the next). */
  private async fetchOnce(followed: readonly Partition[]): Promise<boolean> {
    // follower.replication.throttled.rate (Kafka's ReplicationQuotaManager): out-of-ISR replicas listed for this broker sit out while the rate is over.
    const quota = this.replicas.quotas.follower;
    const now = Date.now();
    const partitions = followed.filter((partition) => !quota.shouldThrottle(partition.topic, partition.index, partition.state.isr.includes(this.replicas.nodeId), now));
    if (partitions.length === 0) {
      await this.sleep(Math.max(1, quota.msUntilAllowed(now)));
      return false;
    }
    const byTopic = new Map<string, Partition[]>();
    for (const partition of partitions) {
      const list = byTopic.get(partition.topic) ?? [];
      list.push(partition);
      byTopic.set(partition.topic, list);
    }
    const partitionMaxBytes = brokerConfigValue('replica.fetch.max.bytes', this.config) as number;
    const request: FetchRequest = {
      clusterId: null,
      replicaState: { replicaId: this.replicas.nodeId, replicaEpoch: -1n },
      // While a throttled replica sits out, the others long-poll only until the rate allows it again.
      maxWaitMs: Math.min(brokerConfigValue('replica.fetch.wait.max.ms', this.config) as number, partitions.length < followed.length ? quota.msUntilAllowed(now) : Infinity),
      minBytes: 1,
      maxBytes: 10 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, list]) => ({
        topicId: this.replicas.topicId(topic)!,
        partitions: list.map((partition) => ({
          partition: partition.index,
          currentLeaderEpoch: partition.leaderEpoch,
          fetchOffset: partition.log.logEndOffset,
          lastFetchedEpoch: -1,
          logStartOffset: partition.log.logStartOffset,
          partitionMaxBytes,
        })),
      })),
      forgottenTopicsData: [],
      rackId: '',
    };
    const sent = new Map(partitions.map((partition) => [`${partition.topic}-${partition.index}`, { partition, leaderEpoch: partition.leaderEpoch }]));
    const response = await this.channel.request<FetchResponse>(1, FETCH_VERSION, request);
    if ((response.errorCode ?? ErrorCode.NONE) !== ErrorCode.NONE)
      throw new KafkaError(response.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, `Fetch answered error ${response.errorCode}`);
    let backoff = false;
    for (const topic of response.responses) {
      const name = this.replicas.topicName(topic.topicId!);
      if (name === undefined) continue;
      for (const data of topic.partitions) {
        const partition = this.replicas.partition(name, data.partitionIndex);
        const asked = sent.get(`${name}-${data.partitionIndex}`);
        // Leadership moved while the fetch was in flight (its answer belongs to the old epoch),
        // or this broker stopped being a replica and its log was replaced.
        if (partition === undefined || partition !== asked?.partition || partition.isLeader || partition.leaderEpoch !== asked.leaderEpoch) continue;
        if (!partition.state.replicas.includes(this.replicas.nodeId)) continue;
        if (data.errorCode !== ErrorCode.NONE) {
          backoff = true;
          continue;
        }
        const records = data.records as Buffer | null;
        if (records !== null && records.length > 0) {
          partition.appendFromLeader(Buffer.from(records), Date.now());
          quota.record(name, data.partitionIndex, records.length, Date.now());
        }
        partition.followerHighWatermark(data.highWatermark);
      }
    }
    return backoff;
  }
}
