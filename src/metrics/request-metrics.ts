// Kafka's RequestMetrics per API, kept where recording costs a few array writes: plain
// counters and histogram buckets in typed arrays, turned into Prometheus series only when
// /metrics is scraped (prom-client's own labelled children hash their labels on every
// observation, which cost about 0.6 µs a request on the produce path).
//
// The times, as kafka.network:RequestMetrics defines them, in seconds:
//   RequestQueueTime    frame read off the socket -> its handler starts (frames of one read
//                       run one after the other; Spate has no separate request queue)
//   LocalTime           the handler working and the response encoded, minus RemoteTime
//   RemoteTime          parked waiting on others: acks=all for the followers, a Fetch long
//                       poll for an append (handlers add it to RequestContext.remoteMs)
//   ResponseQueueTime   response ready -> written (waiting behind earlier responses of the
//                       connection, which go out in request order, or behind a quota throttle)
//   ResponseSendTime    written -> handed to the kernel: 0 for a response written at once
//                       (the write call itself is not timed); the wait for a full socket
//   TotalTime           frame read -> response handed to the kernel
// The clock is read once per socket read (the first request of a read starts then: decoding
// it is counted as local time), when a later request of the same read reaches its handler,
// and when a response is ready (it is written at that stamp unless it waits behind an
// earlier one); a response that cannot be written at once gets a read when it leaves. So
// two reads a request for a client that sends one at a time. A read costs 60-120 ns on the
// 2-core VM this was measured on, about as much as everything else the hook does.

import { apiSchemas } from '../protocol/generated/index.js';
import { type RequestTimesSink, type SentRequest } from '../server/connection.js';

/** Upper bounds in milliseconds (exported as seconds): sub-millisecond to a request timeout. */
const BOUNDS_MS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];
const BUCKETS = BOUNDS_MS.length + 1; // and +Inf
/** Per histogram: the buckets (not cumulative), then the sum in ms. */
const STRIDE = BUCKETS + 1;
const MAX_API_KEY = 128;
const MAX_VERSION = 32;

export const RequestTime = {
  REQUEST_QUEUE: 0,
  LOCAL: 1,
  REMOTE: 2,
  RESPONSE_QUEUE: 3,
  RESPONSE_SEND: 4,
  TOTAL: 5,
} as const;

const PHASES = [
  { name: 'spate_request_queue_time_seconds', kafka: 'RequestQueueTimeMs', help: 'from the request frame read to its handler starting' },
  { name: 'spate_request_local_time_seconds', kafka: 'LocalTimeMs', help: 'the handler working (its remote time left out)' },
  { name: 'spate_request_remote_time_seconds', kafka: 'RemoteTimeMs', help: 'parked waiting on others: acks=all for the followers, a Fetch long poll for data' },
  {
    name: 'spate_response_queue_time_seconds',
    kafka: 'ResponseQueueTimeMs',
    help: 'from the response ready to written (behind earlier responses of the connection or a throttle)',
  },
  {
    name: 'spate_response_send_time_seconds',
    kafka: 'ResponseSendTimeMs',
    help: 'from written to handed to the kernel (0 when written at once; the wait while the socket is full)',
  },
  { name: 'spate_request_total_time_seconds', kafka: 'TotalTimeMs', help: 'from the request frame read to the response handed to the kernel' },
] as const;

function bucketOf(ms: number): number {
  let bucket = 0;
  while (bucket < BOUNDS_MS.length && ms > BOUNDS_MS[bucket]!) bucket++;
  return bucket;
}

function observe(times: Float64Array, phase: number, ms: number): void {
  const base = phase * STRIDE;
  times[base + bucketOf(ms)]!++;
  times[base + BUCKETS]! += ms;
}

/** Requests' counts and times; every method is a few typed-array writes. */
export class RequestMetrics implements RequestTimesSink {
  /** Requests by api key * MAX_VERSION + version. */
  private readonly requests = new Float64Array(MAX_API_KEY * MAX_VERSION);
  /** spate_request_duration_seconds (local + remote), by api key * MAX_VERSION + version. */
  private readonly durations: Array<Float64Array | undefined> = new Array<Float64Array | undefined>(MAX_API_KEY * MAX_VERSION).fill(undefined);
  /** The six times by api key: PHASES.length histograms each. */
  private readonly times: Array<Float64Array | undefined> = new Array<Float64Array | undefined>(MAX_API_KEY).fill(undefined);

  /** A request answered on a Kafka connection (src/server/connection.ts), once its response went out. */
  responseSent(request: SentRequest, writtenAt: number, sentAt: number): void {
    const apiKey = request.apiKey;
    if (apiKey < 0 || apiKey >= MAX_API_KEY) return;
    const handlerMs = request.doneAt - request.startedAt;
    this.count(apiKey, request.apiVersion, handlerMs);
    const times = this.timesOf(apiKey);
    const remote = request.remoteMs;
    observe(times, RequestTime.REQUEST_QUEUE, request.startedAt - request.receivedAt);
    observe(times, RequestTime.LOCAL, handlerMs > remote ? handlerMs - remote : 0);
    observe(times, RequestTime.REMOTE, remote);
    observe(times, RequestTime.RESPONSE_QUEUE, writtenAt - request.doneAt);
    observe(times, RequestTime.RESPONSE_SEND, sentAt - writtenAt);
    observe(times, RequestTime.TOTAL, sentAt - request.receivedAt);
  }

  /** A request the HTTP gateway ran through a handler: no socket of its own, so handler time only. */
  handled(apiKey: number, apiVersion: number, handlerMs: number, remoteMs: number): void {
    if (apiKey < 0 || apiKey >= MAX_API_KEY) return;
    this.count(apiKey, apiVersion, handlerMs);
    const times = this.timesOf(apiKey);
    observe(times, RequestTime.LOCAL, handlerMs > remoteMs ? handlerMs - remoteMs : 0);
    observe(times, RequestTime.REMOTE, remoteMs);
    observe(times, RequestTime.TOTAL, handlerMs);
  }

  private count(apiKey: number, apiVersion: number, handlerMs: number): void {
    const slot = apiKey * MAX_VERSION + (apiVersion & (MAX_VERSION - 1));
    this.requests[slot]!++;
    const duration = this.durations[slot] ?? (this.durations[slot] = new Float64Array(STRIDE));
    duration[bucketOf(handlerMs)]!++;
    duration[BUCKETS]! += handlerMs;
  }

  private timesOf(apiKey: number): Float64Array {
    return this.times[apiKey] ?? (this.times[apiKey] = new Float64Array(PHASES.length * STRIDE));
  }

  /**
   * The counter and the histograms in the Prometheus text format, written directly: through
   * prom-client's value objects the ~2,000 lines of a busy broker took tens of milliseconds
   * a scrape, here well under one.
   */
  exposition(): string {
    const lines: string[] = [];
    lines.push('# HELP spate_requests_total Requests handled, by API and version (Kafka RequestMetrics RequestsPerSec).', '# TYPE spate_requests_total counter');
    for (let slot = 0; slot < this.requests.length; slot++) {
      if (this.requests[slot] !== 0) lines.push(`spate_requests_total{api="${apiName(Math.floor(slot / MAX_VERSION))}",version="${slot % MAX_VERSION}"} ${this.requests[slot]}`);
    }
    const duration = 'spate_request_duration_seconds';
    lines.push(
      `# HELP ${duration} Time from the handler starting to the response encoded, by API and version (Kafka RequestMetrics LocalTimeMs + RemoteTimeMs).`,
      `# TYPE ${duration} histogram`,
    );
    this.durations.forEach((table, slot) => {
      if (table !== undefined) histogramLines(duration, table, 0, `api="${apiName(Math.floor(slot / MAX_VERSION))}",version="${slot % MAX_VERSION}"`, lines);
    });
    PHASES.forEach((phase, index) => {
      lines.push(`# HELP ${phase.name} Kafka RequestMetrics ${phase.kafka} by API: ${phase.help}.`, `# TYPE ${phase.name} histogram`);
      this.times.forEach((table, apiKey) => {
        if (table !== undefined) histogramLines(phase.name, table, index * STRIDE, `api="${apiName(apiKey)}"`, lines);
      });
    });
    return `${lines.join('\n')}\n`;
  }
}

/** Upper bounds as the `le` label shows them (seconds). */
const LE = [...BOUNDS_MS.map((bound) => String(bound / 1000)), '+Inf'];

/** The _bucket (cumulative), _sum (seconds) and _count lines of one histogram. */
function histogramLines(name: string, table: Float64Array, base: number, labels: string, into: string[]): void {
  let cumulative = 0;
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    cumulative += table[base + bucket]!;
    into.push(`${name}_bucket{le="${LE[bucket]}",${labels}} ${cumulative}`);
  }
  into.push(`${name}_sum{${labels}} ${table[base + BUCKETS]! / 1000}`, `${name}_count{${labels}} ${cumulative}`);
}

const names = new Map<number, string>();

export function apiName(apiKey: number): string {
  let name = names.get(apiKey);
  if (name === undefined) {
    name = apiSchemas.get(apiKey)?.name ?? `api-${apiKey}`;
    names.set(apiKey, name);
  }
  return name;
}
