// One broker's Prometheus metrics, with Kafka's meanings under Prometheus names:
//   kafka.network RequestMetrics (RequestsPerSec, ErrorsPerSec, TotalTimeMs) per API and version,
//   kafka.server BrokerTopicMetrics (BytesInPerSec, BytesOutPerSec, MessagesInPerSec) per topic,
//   kafka.log Log (Size, NumLogSegments, LogStartOffset, LogEndOffset) per partition,
//   consumer-group lag per group and partition (what Kafka's tools compute from OffsetFetch),
//   active connections per listener (kafka.server socket-server-metrics connection-count),
//   record bytes sent with sendfile(2) rather than through Node,
//   and what clients push with KIP-714 telemetry (the last value of each pushed data point).
// Each broker has its own registry (several brokers can share a process); the process-wide
// metrics (event loop, GC, memory) come from process-metrics.ts and are appended at scrape.
// The request hook is one call per request; the gauges read the broker's state only when
// scraped, so an idle /metrics costs nothing on the produce path.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type BrokerState } from '../broker/broker-state.js';
import { errorName } from '../protocol/errors.js';
import { apiSchemas, ApiKey } from '../protocol/generated/index.js';
import { type FetchRequest, type FetchResponse, type ProduceRequest, type ProduceResponse } from '../protocol/generated/index.js';
import { type NetworkTotals } from '../server/connection.js';
import { type RequestObserver } from '../server/dispatcher.js';
import { processMetrics } from './process-metrics.js';

/** Seconds; Kafka's request times are sub-millisecond to the request timeout. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface TopicSeries {
  readonly bytesIn: { inc(value: number): void };
  readonly bytesOut: { inc(value: number): void };
  readonly messagesIn: { inc(value: number): void };
}

interface RequestSeries {
  readonly requests: { inc(): void };
  readonly latency: { observe(value: number): void };
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly observe: RequestObserver;
  private readonly series = new Map<number, RequestSeries>();
  private readonly topics = new Map<string, TopicSeries>();
  private readonly requests: Counter<'api' | 'version'>;
  private readonly latency: Histogram<'api' | 'version'>;
  private readonly errors: Counter<'api' | 'error'>;
  private readonly bytesIn: Counter<'topic'>;
  private readonly bytesOut: Counter<'topic'>;
  private readonly messagesIn: Counter<'topic'>;

  constructor(
    private readonly state: BrokerState,
    /** Live connection counts by listener name, owned by the server. */
    private readonly connections: ReadonlyMap<string, number>,
    /** The server's network totals (src/server/connection.ts). */
    private readonly network: Readonly<NetworkTotals> = { sentDirectBytes: 0 },
  ) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'spate_requests_total',
      help: 'Requests handled, by API and version (Kafka RequestMetrics RequestsPerSec).',
      labelNames: ['api', 'version'],
      registers,
    });
    this.latency = new Histogram({
      name: 'spate_request_duration_seconds',
      help: 'Time from decoded request to response body, by API and version (Kafka RequestMetrics LocalTimeMs + RemoteTimeMs).',
      labelNames: ['api', 'version'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.errors = new Counter({
      name: 'spate_request_errors_total',
      help: 'Error codes in responses, by API and Kafka error name (Kafka RequestMetrics ErrorsPerSec); UNKNOWN_SERVER_ERROR also counts handler failures.',
      labelNames: ['api', 'error'],
      registers,
    });
    this.bytesIn = new Counter({
      name: 'spate_topic_bytes_in_total',
      help: 'Record bytes appended by producers, by topic (Kafka BrokerTopicMetrics BytesInPerSec).',
      labelNames: ['topic'],
      registers,
    });
    this.bytesOut = new Counter({
      name: 'spate_topic_bytes_out_total',
      help: 'Record bytes sent to consumers, by topic (Kafka BrokerTopicMetrics BytesOutPerSec).',
      labelNames: ['topic'],
      registers,
    });
    this.messagesIn = new Counter({
      name: 'spate_topic_messages_in_total',
      help: 'Records appended by producers, by topic (Kafka BrokerTopicMetrics MessagesInPerSec).',
      labelNames: ['topic'],
      registers,
    });
    this.definePartitionGauges(registers);
    this.observe = (apiKey, apiVersion, request, response, elapsedMs, failed) => this.record(apiKey, apiVersion, request, response, elapsedMs, failed);
  }

  /** The Prometheus text exposition: this broker's metrics, then the process's. */
  async exposition(): Promise<string> {
    const own = await this.registry.metrics();
    const shared = await processMetrics().metrics();
    return `${own}\n${shared}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private record(apiKey: number, apiVersion: number, request: unknown, response: unknown, elapsedMs: number, failed: boolean): void {
    const key = apiKey * 256 + apiVersion;
    let series = this.series.get(key);
    if (series === undefined) {
      const labels = { api: apiName(apiKey), version: String(apiVersion) };
      series = { requests: this.requests.labels(labels), latency: this.latency.labels(labels) };
      this.series.set(key, series);
    }
    series.requests.inc();
    series.latency.observe(elapsedMs / 1000);
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
      const series = this.topicSeries(this.topicName(topic.name, topic.topicId));
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
      if (bytes > 0) series.bytesIn.inc(bytes);
      if (messages > 0) series.messagesIn.inc(messages);
    }
  }

  private recordFetch(_request: FetchRequest, response: FetchResponse): void {
    for (const topic of response.responses) {
      let bytes = 0;
      for (const partition of topic.partitions) {
        if (partition.errorCode !== 0) this.errors.inc({ api: 'Fetch', error: errorName(partition.errorCode) });
        if (partition.records !== null) bytes += partition.records.byteLength;
      }
      if (bytes > 0) this.topicSeries(this.topicName(topic.topic, topic.topicId)).bytesOut.inc(bytes);
    }
  }

  /** The per-topic counter children, looked up once per topic name. */
  private topicSeries(topic: string): TopicSeries {
    let series = this.topics.get(topic);
    if (series === undefined) {
      const labels = { topic };
      series = { bytesIn: this.bytesIn.labels(labels), bytesOut: this.bytesOut.labels(labels), messagesIn: this.messagesIn.labels(labels) };
      this.topics.set(topic, series);
    }
    return series;
  }

  private topicName(name: string | undefined, topicId: Buffer | undefined): string {
    if (name !== undefined && name !== '') return name;
    if (topicId !== undefined) return this.state.logs.topicById(topicId)?.name ?? topicId.toString('hex');
    return '';
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

const names = new Map<number, string>();

function apiName(apiKey: number): string {
  let name = names.get(apiKey);
  if (name === undefined) {
    name = apiSchemas.get(apiKey)?.name ?? `api-${apiKey}`;
    names.set(apiKey, name);
  }
  return name;
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
