// One broker's Prometheus metrics, with Kafka's meanings under Prometheus names:
//   kafka.network RequestMetrics (RequestsPerSec, ErrorsPerSec, and the request times split
//     into queue / local / remote / response queue / send / total) per API (request-metrics.ts),
//   kafka.server BrokerTopicMetrics (BytesInPerSec, BytesOutPerSec, MessagesInPerSec) per topic,
//   kafka.server ReplicaManager (UnderReplicatedPartitions, UnderMinIsrPartitionCount,
//     AtMinIsrPartitionCount, LeaderCount, PartitionCount, IsrShrinksPerSec, IsrExpandsPerSec)
//     and the controller's OfflinePartitionsCount,
//   kafka.log Log (Size, NumLogSegments, LogStartOffset, LogEndOffset) per partition,
//   consumer-group lag per group and partition (what Kafka's tools compute from OffsetFetch),
//   active connections per listener (kafka.server socket-server-metrics connection-count),
//   record bytes sent with sendfile(2) rather than through Node, the native read queue,
//   and what clients push with KIP-714 telemetry (the last value of each pushed data point).
// Each broker has its own registry (several brokers can share a process); the process-wide
// metrics (event loop, GC, memory) come from process-metrics.ts and are appended at scrape.
// The request hooks write plain numbers (typed arrays, per-topic totals); everything becomes
// a Prometheus series only when scraped, so an idle /metrics costs nothing on the produce path.

import { Counter, Gauge, Registry } from 'prom-client';
import { type BrokerState } from '../broker/broker-state.js';
import { topicConfigValue } from '../config/topic-config.js';
import { readQueue } from '../log/native.js';
import { errorName } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { type FetchRequest, type FetchResponse, type ProduceRequest, type ProduceResponse } from '../protocol/generated/index.js';
import { type NetworkTotals, type RequestTimesSink } from '../server/connection.js';
import { type RequestObserver } from '../server/dispatcher.js';
import { processMetrics } from './process-metrics.js';
import { apiName, RequestMetrics } from './request-metrics.js';

/** Record bytes and counts of one topic, summed by the request hook, exported at scrape. */
interface TopicTotals {
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly observe: RequestObserver;
  /** What the connections report (queue, response queue, send and total times). */
  readonly requestTimes: RequestTimesSink;
  private readonly requests = new RequestMetrics();
  private readonly topics = new Map<string, TopicTotals>();
  private readonly errors: Counter<'api' | 'error'>;
  private isrShrinks = 0;
  private isrExpands = 0;
  private readonly isrSeen = new Map<string, { leader: number; leaderEpoch: number; isr: readonly number[] }>();
  private readonly unwatch: () => void;

  constructor(
    private readonly state: BrokerState,
    /** Live connection counts by listener name, owned by the server. */
    private readonly connections: ReadonlyMap<string, number>,
    /** The server's network totals (src/server/connection.ts). */
    private readonly network: Readonly<NetworkTotals> = { sentDirectBytes: 0 },
  ) {
    const registers = [this.registry];
    this.requestTimes = this.requests;
    this.errors = new Counter({
      name: 'spate_request_errors_total',
      help: 'Error codes in responses, by API and Kafka error name (Kafka RequestMetrics ErrorsPerSec); UNKNOWN_SERVER_ERROR also counts handler failures.',
      labelNames: ['api', 'error'],
      registers,
    });
    const topics = this.topics;
    const topicCounter = (name: string, help: string, pick: (totals: TopicTotals) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['topic'],
        registers,
        collect() {
          this.reset();
          for (const [topic, totals] of topics) if (pick(totals) > 0) this.inc({ topic }, pick(totals));
        },
      });
    topicCounter('spate_topic_bytes_in_total', 'Record bytes appended by producers, by topic (Kafka BrokerTopicMetrics BytesInPerSec).', (totals) => totals.bytesIn);
    topicCounter('spate_topic_bytes_out_total', 'Record bytes sent to consumers, by topic (Kafka BrokerTopicMetrics BytesOutPerSec).', (totals) => totals.bytesOut);
    topicCounter('spate_topic_messages_in_total', 'Records appended by producers, by topic (Kafka BrokerTopicMetrics MessagesInPerSec).', (totals) => totals.messagesIn);
    this.definePartitionGauges(registers);
    this.defineReplicaMetrics(registers);
    // ISR shrinks and expands are counted from the store's partition-state events (read only:
    // the replica layer in src/cluster decides them).
    const store = state.replicas.store;
    const seedTopic = (name: string) => {
      const partitions = store.topic(name)?.replicas.length ?? 0;
      for (let index = 0; index < partitions; index++) this.onPartitionState(name, index);
    };
    this.unwatch = store.watch((event) => {
      if (event.kind === 'partition-state') this.onPartitionState(event.topic, event.partition);
      else if (event.kind === 'topic-created' || event.kind === 'partitions-added') seedTopic(event.topic);
      else if (event.kind === 'topic-deleted') for (const key of this.isrSeen.keys()) if (key.startsWith(`${event.topic}\u0000`)) this.isrSeen.delete(key);
    });
    for (const assignment of store.topics()) seedTopic(assignment.name);
    this.observe = (apiKey, apiVersion, request, response, failed) => this.record(apiKey, apiVersion, request, response, failed);
  }

  /** Stops following the metadata store (the broker is stopping). */
  close(): void {
    this.unwatch();
  }

  /** The Prometheus text exposition: this broker's metrics, then the process's. */
  async exposition(): Promise<string> {
    const own = await this.registry.metrics();
    const shared = await processMetrics().metrics();
    return `${this.requests.exposition()}\n${own}\n${shared}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A request the HTTP gateway ran through a handler (it has no Kafka connection to time it). */
  gatewayHandled(apiKey: number, apiVersion: number, handlerMs: number, remoteMs: number): void {
    this.requests.handled(apiKey, apiVersion, handlerMs, remoteMs);
  }

  private record(apiKey: number, apiVersion: number, request: unknown, response: unknown, failed: boolean): void {
    if (failed) {
      this.errors.inc({ api: apiName(apiKey), error: 'UNKNOWN_SERVER_ERROR' });
      return;
    }
    if (typeof response !== 'object' || response === null) return;
    if (apiKey === ApiKey.Produce) this.recordProduce(request as ProduceRequest, response as ProduceResponse);
    else if (apiKey === ApiKey.Fetch) this.recordFetch(request as FetchRequest, response as FetchResponse);
    else this.recordErrors(apiName(apiKey), response, 0);
  }

  /** Error codes at the top of a response and in its per-resource lists (topics, groups, ...). */
  private recordErrors(api: string, value: object, depth: number): void {
    for (const field in value) {
      const item = (value as Record<string, unknown>)[field];
      if (field === 'errorCode') {
        if (typeof item === 'number' && item !== 0) this.errors.inc({ api, error: errorName(item) });
      } else if (depth < 3 && Array.isArray(item)) {
        for (const entry of item) if (typeof entry === 'object' && entry !== null && !Buffer.isBuffer(entry)) this.recordErrors(api, entry, depth + 1);
      }
    }
  }

  /**
   * Only partitions the broker accepted count as bytes and messages in, as Kafka counts them.
   * The handler answers topics and partitions in request order, so request and response are
   * walked side by side (no allocation on this path).
   */
  private recordProduce(request: ProduceRequest, response: ProduceResponse): void {
    const topics = request.topicData;
    for (let topicIndex = 0; topicIndex < topics.length; topicIndex++) {
      const topic = topics[topicIndex]!;
      const answered = response.responses[topicIndex];
      let bytes = 0;
      let messages = 0;
      for (let partitionIndex = 0; partitionIndex < topic.partitionData.length; partitionIndex++) {
        const partition = topic.partitionData[partitionIndex]!;
        const result = answered?.partitionResponses[partitionIndex];
        if (result !== undefined && result.errorCode !== 0) {
          this.errors.inc({ api: 'Produce', error: errorName(result.errorCode) });
          continue;
        }
        // A response out of request order (never from Spate's handler) is not counted.
        if (result === undefined || result.index !== partition.index) continue;
        const records = partition.records;
        if (records === null) continue;
        bytes += records.byteLength;
        if (Buffer.isBuffer(records)) messages += countRecords(records);
      }
      if (bytes === 0 && messages === 0) continue;
      const totals = this.topicTotals(this.topicName(topic.name, topic.topicId));
      totals.bytesIn += bytes;
      totals.messagesIn += messages;
    }
  }

  private recordFetch(_request: FetchRequest, response: FetchResponse): void {
    for (const topic of response.responses) {
      let bytes = 0;
      for (const partition of topic.partitions) {
        if (partition.errorCode !== 0) this.errors.inc({ api: 'Fetch', error: errorName(partition.errorCode) });
        if (partition.records !== null) bytes += partition.records.byteLength;
      }
      if (bytes > 0) this.topicTotals(this.topicName(topic.topic, topic.topicId)).bytesOut += bytes;
    }
  }

  /** The per-topic totals, made once per topic name. */
  private topicTotals(topic: string): TopicTotals {
    let totals = this.topics.get(topic);
    if (totals === undefined) {
      totals = { bytesIn: 0, bytesOut: 0, messagesIn: 0 };
      this.topics.set(topic, totals);
    }
    return totals;
  }

  private topicName(name: string | undefined, topicId: Buffer | undefined): string {
    if (name !== undefined && name !== '') return name;
    if (topicId !== undefined) return this.state.logs.topicById(topicId)?.name ?? topicId.toString('hex');
    return '';
  }

  /**
   * Kafka's leader counts an ISR shrink or expand (IsrShrinksPerSec, IsrExpandsPerSec) when it
   * changes the ISR of a partition it leads; here: an ISR change of a partition this broker
   * leads, without a change of leader or leader epoch (a controller's removal of a replica on
   * a broker that left counts too).
   */
  private onPartitionState(topic: string, partition: number): void {
    const key = `${topic}\u0000${partition}`;
    const state = this.state.replicas.store.partitionState(topic, partition);
    const previous = this.isrSeen.get(key);
    if (state === undefined) return;
    this.isrSeen.set(key, { leader: state.leader, leaderEpoch: state.leaderEpoch, isr: state.isr });
    if (previous === undefined || state.leader !== this.state.replicas.nodeId) return;
    if (previous.leader !== state.leader || previous.leaderEpoch !== state.leaderEpoch) return;
    if (previous.isr.some((replica) => !state.isr.includes(replica))) this.isrShrinks++;
    if (state.isr.some((replica) => !previous.isr.includes(replica))) this.isrExpands++;
  }

  /** Partition counts from the metadata store (leader, replicas, ISR), computed at scrape. */
  private defineReplicaMetrics(registers: Registry[]): void {
    const state = this.state;
    const replicas = state.replicas;
    const counts = () => {
      const totals = { partitions: 0, leaders: 0, underReplicated: 0, underMinIsr: 0, atMinIsr: 0, offline: 0 };
      const live = new Set(replicas.metadata.brokers().map((broker) => broker.nodeId));
      const nodeId = replicas.nodeId;
      for (const assignment of replicas.store.topics()) {
        const minIsr = topicConfigValue('min.insync.replicas', state.logs.topic(assignment.name)?.configs ?? assignment.configs, state.config) as number;
        for (let index = 0; index < assignment.replicas.length; index++) {
          const partition = replicas.store.partitionState(assignment.name, index);
          if (partition === undefined) continue;
          if (partition.leader === -1 || !live.has(partition.leader)) totals.offline++;
          if (partition.replicas.includes(nodeId)) totals.partitions++;
          if (partition.leader !== nodeId) continue;
          totals.leaders++;
          if (partition.isr.length < partition.replicas.length) totals.underReplicated++;
          if (partition.isr.length < minIsr) totals.underMinIsr++;
          else if (partition.isr.length === minIsr) totals.atMinIsr++;
        }
      }
      return totals;
    };
    const gauge = (name: string, help: string, pick: (totals: ReturnType<typeof counts>) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(pick(counts()));
        },
      });
    gauge(
      'spate_under_replicated_partitions',
      'Partitions this broker leads whose ISR is smaller than their replica set (Kafka ReplicaManager UnderReplicatedPartitions).',
      (totals) => totals.underReplicated,
    );
    gauge(
      'spate_under_min_isr_partitions',
      'Partitions this broker leads whose ISR is below min.insync.replicas (Kafka ReplicaManager UnderMinIsrPartitionCount).',
      (totals) => totals.underMinIsr,
    );
    gauge(
      'spate_at_min_isr_partitions',
      'Partitions this broker leads whose ISR is exactly min.insync.replicas (Kafka ReplicaManager AtMinIsrPartitionCount).',
      (totals) => totals.atMinIsr,
    );
    gauge('spate_leader_partitions', 'Partitions this broker leads (Kafka ReplicaManager LeaderCount).', (totals) => totals.leaders);
    gauge('spate_replica_partitions', 'Partitions this broker holds a replica of (Kafka ReplicaManager PartitionCount).', (totals) => totals.partitions);
    gauge(
      'spate_offline_partitions',
      'Partitions without a live leader; reported by the controller, 0 on the other brokers (Kafka KafkaController OfflinePartitionsCount).',
      (totals) => (replicas.metadata.controllerId === replicas.nodeId ? totals.offline : 0),
    );
    const isrChanges = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    isrChanges('spate_isr_shrinks_total', 'ISR shrinks of partitions this broker leads (Kafka ReplicaManager IsrShrinksPerSec).', () => this.isrShrinks);
    isrChanges('spate_isr_expands_total', 'ISR expansions of partitions this broker leads (Kafka ReplicaManager IsrExpandsPerSec).', () => this.isrExpands);
    new Gauge({
      name: 'spate_native_read_queue_depth',
      help: "Segment reads handed to libuv's thread pool and not yet answered, by state (queued includes running; the pool has UV_THREADPOOL_SIZE threads).",
      labelNames: ['state'],
      registers,
      collect() {
        const queue = readQueue();
        this.set({ state: 'queued' }, queue.queued);
        this.set({ state: 'running' }, queue.running);
      },
    });
  }

  /** Gauges computed at scrape time from the logs, the groups and the server. */
  private definePartitionGauges(registers: Registry[]): void {
    const logs = () => this.state.logs;
    const perPartition = (name: string, help: string, value: (log: import('../log/partition-log.js').PartitionLog) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['topic', 'partition'],
        registers,
        collect() {
          this.reset();
          for (const topic of logs().allTopics()) {
            for (const log of topic.partitions) {
              if (!log.isDeleted) this.set({ topic: topic.name, partition: String(log.partition) }, value(log));
            }
          }
        },
      });
    perPartition('spate_log_size_bytes', 'Bytes of the partition log on disk (Kafka Log Size).', (log) => log.sizeInBytes);
    perPartition('spate_log_segments', 'Segments of the partition log (Kafka Log NumLogSegments).', (log) => log.segmentInfo().length);
    perPartition('spate_log_start_offset', 'First offset of the partition log (Kafka Log LogStartOffset).', (log) => Number(log.logStartOffset));
    perPartition('spate_log_end_offset', 'Next offset to be written (Kafka Log LogEndOffset).', (log) => Number(log.logEndOffset));
    perPartition('spate_log_high_watermark', 'High watermark of the partition.', (log) => Number(log.highWatermark));

    const state = this.state;
    new Gauge({
      name: 'spate_consumer_group_lag',
      help: 'High watermark minus the committed offset, by group, topic and partition (what kafka-consumer-groups.sh shows as LAG).',
      labelNames: ['group', 'topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const row of consumerGroupLags(state)) {
          this.set({ group: row.group, topic: row.topic, partition: String(row.partition) }, Number(row.lag));
        }
      },
    });
    const connections = this.connections;
    new Gauge({
      name: 'spate_active_connections',
      help: 'Open Kafka protocol connections, by listener (Kafka socket-server-metrics connection-count).',
      labelNames: ['listener'],
      registers,
      collect() {
        this.reset();
        for (const [listener, count] of connections) this.set({ listener }, count);
      },
    });
    const telemetry = state.telemetry;
    new Gauge({
      name: 'spate_client_metric',
      help: "The last value each client instance pushed for each of its subscribed metrics (KIP-714 client telemetry; attributes are the data point's own, key=value joined by commas).",
      labelNames: ['client_instance_id', 'client_id', 'name', 'attributes'],
      registers,
      collect() {
        this.reset();
        for (const { instanceId, clientId, series } of telemetry.series(Date.now())) {
          this.set({ client_instance_id: instanceId, client_id: clientId, name: series.name, attributes: series.attributes }, series.value);
        }
      },
    });
    new Counter({
      name: 'spate_client_telemetry_pushes_total',
      help: 'PushTelemetry requests by outcome (NONE, or the Kafka error answered).',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        for (const [result, count] of telemetry.pushes) this.inc({ result }, count);
      },
    });
    const network = this.network;
    new Counter({
      name: 'spate_network_sendfile_bytes_total',
      help: 'Record bytes sent to consumers and followers with sendfile(2), from the page cache without passing through the process (fetch chunks of 64 KiB or more on plain TCP listeners).',
      registers,
      collect() {
        this.reset();
        this.inc(network.sentDirectBytes);
      },
    });
  }
}

export interface GroupLag {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly committed: bigint;
  readonly end: bigint;
  readonly lag: bigint;
}

/** Lag of every committed offset whose partition still exists: high watermark minus offset, never negative. */
export function consumerGroupLags(state: BrokerState, groupId?: string): GroupLag[] {
  const rows: GroupLag[] = [];
  const groups = groupId === undefined ? state.groups.listGroups().map((group) => group.groupId) : [groupId];
  for (const group of groups) {
    for (const [topic, partitions] of state.groups.allCommittedOffsets(group)) {
      for (const [partition, committed] of partitions) {
        const log = state.logs.partition(topic, partition);
        if (log === undefined) continue;
        const end = log.highWatermark;
        const lag = end > committed.offset ? end - committed.offset : 0n;
        rows.push({ group, topic, partition, committed: committed.offset, end, lag });
      }
    }
  }
  return rows;
}

/** Records in a v2 records blob, read from the batch headers (recordsCount at byte 57). */
export function countRecords(records: Buffer): number {
  let count = 0;
  let position = 0;
  while (position + 61 <= records.length) {
    count += records.readInt32BE(position + 57);
    position += 12 + records.readInt32BE(position + 8);
  }
  return count;
}
