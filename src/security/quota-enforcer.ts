// Client quotas enforced as Kafka's quota managers enforce them.
//
// Rate quotas (ClientQuotaManager, ClientRequestQuotaManager, ConnectionQuotas): the quota
// of a (user, client-id) pair is found in Kafka's order of precedence (user+client, user +
// default client, user, default user+client, default user + default client, default user,
// client, default client); values are recorded in quota.window.num windows of
// quota.window.size.seconds; a recording that takes the rate over the quota is answered
// with throttle_time_ms = (rate - quota) / quota * window length, and the connection stops
// reading for that long (KIP-219: the answer goes out at once, the channel is muted).
//   producer_byte_rate   bytes of Produce requests
//   consumer_byte_rate   bytes of Fetch answers
//   request_percentage   the time the broker spends on the client's requests, in percent of
//                        one thread (Kafka: of its network and I/O threads; Spate has one
//                        event loop, so: decoding, the handler up to its first wait, and
//                        encoding the answer); the throttle is at most one window
//   connection_creation_rate (ip entities, KIP-612): new connections per second from an
//                        address; one over the rate is not served and is closed only
//                        after the throttle time, so a client that reconnects at once is slowed.
//
// controller_mutation_rate (KIP-599, ControllerMutationQuotaManager): partitions created,
// added or deleted per second by a user/client, as a token bucket of controller.quota.window.num
// x controller.quota.window.size.seconds worth of mutations. Strict (CreateTopics v6+,
// CreatePartitions v3+, DeleteTopics v5+): a topic asked for while the bucket is empty is
// refused with THROTTLING_QUOTA_EXCEEDED; permissive (older versions): it is done and only
// throttled. Either way throttle_time_ms says how long until the bucket is back at zero.

import { type ClientQuotaStore, type QuotaEntityPart } from './client-quotas.js';

export type ClientRateQuota = 'producer_byte_rate' | 'consumer_byte_rate' | 'request_percentage';

interface Sample {
  startMs: number;
  value: number;
}

/** Kafka's Rate over sampled windows (org.apache.kafka.common.metrics.stats.Rate). */
class RateSensor {
  private readonly samples: Sample[] = [];
  lastRecordMs = 0;

  constructor(
    private readonly windows: number,
    private readonly windowMs: number,
  ) {}

  record(value: number, nowMs: number): void {
    this.lastRecordMs = nowMs;
    const last = this.samples[this.samples.length - 1];
    if (last === undefined || nowMs - last.startMs >= this.windowMs) this.samples.push({ startMs: nowMs, value });
    else last.value += value;
    const horizon = nowMs - this.windows * this.windowMs;
    while (this.samples.length > 0 && this.samples[0]!.startMs + this.windowMs <= horizon) this.samples.shift();
  }

  /** The rate per second and the window it is measured over. */
  measure(nowMs: number): { rate: number; windowMs: number } {
    if (this.samples.length === 0) return { rate: 0, windowMs: this.windowMs };
    // Kafka's Rate.windowSize: the elapsed time of the kept samples, but never less than
    // (windows - 1) full windows, so a new client cannot burst far above its quota.
    let elapsedMs = nowMs - this.samples[0]!.startMs;
    const fullWindows = Math.floor(elapsedMs / this.windowMs);
    if (fullWindows < this.windows - 1) elapsedMs += (this.windows - 1 - fullWindows) * this.windowMs;
    elapsedMs = Math.max(elapsedMs, 1);
    const total = this.samples.reduce((sum, sample) => sum + sample.value, 0);
    return { rate: (total * 1000) / elapsedMs, windowMs: elapsedMs };
  }
}

/** Kafka's TokenBucket: refills at `rate` per second up to rate x windows x window length. */
class TokenBucket {
  private tokens = 0;
  private lastUpdateMs = 0;
  lastRecordMs = 0;

  constructor(private readonly burstSeconds: number) {}

  /** The tokens left (negative: in debt) after refilling until now. */
  measure(rate: number, nowMs: number): number {
    this.tokens = Math.min(rate * this.burstSeconds, this.tokens + (rate * (nowMs - this.lastUpdateMs)) / 1000);
    this.lastUpdateMs = nowMs;
    return this.tokens;
  }

  record(rate: number, value: number, nowMs: number): number {
    this.lastRecordMs = nowMs;
    this.tokens = Math.min(rate * this.burstSeconds, this.measure(rate, nowMs) - value);
    return this.tokens;
  }
}

/** A throttled controller mutation (strict mode): THROTTLING_QUOTA_EXCEEDED for that topic. */
export class ThrottlingQuotaExceeded extends Error {
  constructor(readonly throttleTimeMs: number) {
    super('The throttling quota has been exceeded.');
  }
}

/** The controller mutation quota of one request (Kafka's ControllerMutationQuota). */
export interface ControllerMutationQuota {
  /** Counts `partitions` mutations; strict mode throws ThrottlingQuotaExceeded when the quota is already used up. */
  record(partitions: number): void;
  /** What the answer's throttle_time_ms must say. */
  readonly throttleTimeMs: number;
}

const UNLIMITED_MUTATIONS: ControllerMutationQuota = { record: () => undefined, throttleTimeMs: 0 };

/** Sensors idle for this long are dropped (Kafka expires inactive quota sensors after an hour). */
const SENSOR_EXPIRY_MS = 3_600_000;
/** How many sensors may exist before idle ones are looked for. */
const SENSOR_SWEEP_SIZE = 1024;

export class QuotaEnforcer {
  private readonly rates = new Map<string, RateSensor>();
  private readonly buckets = new Map<string, TokenBucket>();
  /** Connections refused by connection_creation_rate so far. */
  throttledConnections = 0;

  constructor(
    private readonly store: ClientQuotaStore,
    private readonly windows: number,
    private readonly windowMs: number,
    private readonly controllerWindows: number = 11,
    private readonly controllerWindowMs: number = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Are any quotas set? Nothing is measured or looked up otherwise (the common case). */
  get active(): boolean {
    return this.store.size > 0;
  }

  /** The quota of a user/client pair and the entity it applies to (Kafka's metric tags), or undefined. */
  quotaFor(key: string, user: string, clientId: string): { bound: number; entity: string } | undefined {
    const u = (name: string | null): QuotaEntityPart => ({ entityType: 'user', entityName: name });
    const c = (name: string | null): QuotaEntityPart => ({ entityType: 'client-id', entityName: name });
    const order: QuotaEntityPart[][] = [[u(user), c(clientId)], [u(user), c(null)], [u(user)], [u(null), c(clientId)], [u(null), c(null)], [u(null)], [c(clientId)], [c(null)]];
    const entries = this.store.entries();
    for (const wanted of order) {
      const found = entries.find(
        ({ entity, values }) =>
          values.has(key) && entity.length === wanted.length && wanted.every((part) => entity.some((e) => e.entityType === part.entityType && e.entityName === part.entityName)),
      );
      if (found !== undefined) {
        // The sensor belongs to the actual user/client the quota applies to (Kafka's metric tags).
        const tag = wanted.map((part) => `${part.entityType}=${part.entityType === 'user' ? user : clientId}`).join(',');
        return { bound: found.values.get(key)!, entity: tag };
      }
    }
    return undefined;
  }

  /** The connection_creation_rate of an address: its own entity, else the default ip entity. */
  private ipQuota(host: string): number | undefined {
    const entries = this.store.entries();
    for (const name of [host, null]) {
      const found = entries.find(
        ({ entity, values }) => values.has('connection_creation_rate') && entity.length === 1 && entity[0]!.entityType === 'ip' && entity[0]!.entityName === name,
      );
      if (found !== undefined) return found.values.get('connection_creation_rate');
    }
    return undefined;
  }

  private rateSensor(key: string, nowMs: number): RateSensor {
    let sensor = this.rates.get(key);
    if (sensor === undefined) {
      if (this.rates.size >= SENSOR_SWEEP_SIZE) {
        for (const [name, idle] of this.rates) if (nowMs - idle.lastRecordMs > SENSOR_EXPIRY_MS) this.rates.delete(name);
      }
      sensor = new RateSensor(this.windows, this.windowMs);
      this.rates.set(key, sensor);
    }
    return sensor;
  }

  /**
   * Records a value against the client's quota; returns how long it must be throttled (0
   * when within its quota). `check` false records without throttling (Kafka's
   * recordNoThrottle: what is measured after the answer is on its way).
   */
  record(key: ClientRateQuota, user: string, clientId: string, value: number, nowMs: number, check = true): number {
    if (this.store.size === 0) return 0;
    const quota = this.quotaFor(key, user, clientId);
    if (quota === undefined) return 0;
    const sensor = this.rateSensor(`${key}|${quota.entity}`, nowMs);
    sensor.record(value, nowMs);
    if (!check) return 0;
    const { rate, windowMs } = sensor.measure(nowMs);
    if (rate <= quota.bound) return 0;
    // Kafka bounds the request-time throttle by one window; the byte rates here by all of them.
    const limit = key === 'request_percentage' ? this.windowMs : this.windows * this.windowMs;
    return Math.min(Math.round(((rate - quota.bound) / quota.bound) * windowMs), limit);
  }

  /**
   * KIP-612: a new connection from `host`. Returns 0 when it may be served, else how long
   * to hold it before closing it (it is then not counted, as Kafka un-records it).
   */
  connectionThrottleMs(host: string, nowMs: number): number {
    if (this.store.size === 0) return 0;
    const bound = this.ipQuota(host);
    if (bound === undefined) return 0;
    const sensor = this.rateSensor(`connection_creation_rate|ip=${host}`, nowMs);
    sensor.record(1, nowMs);
    const { rate, windowMs } = sensor.measure(nowMs);
    if (rate <= bound) return 0;
    sensor.record(-1, nowMs);
    this.throttledConnections++;
    return Math.max(1, Math.min(Math.round(((rate - bound) / bound) * windowMs), this.windowMs));
  }

  /**
   * The controller mutation quota for one request of a user/client. `strict`: the API
   * version is one where Kafka refuses mutations over the quota (KIP-599).
   */
  controllerMutations(user: string, clientId: string, strict: boolean): ControllerMutationQuota {
    if (this.store.size === 0) return UNLIMITED_MUTATIONS;
    const quota = this.quotaFor('controller_mutation_rate', user, clientId);
    if (quota === undefined) return UNLIMITED_MUTATIONS;
    const key = `controller_mutation_rate|${quota.entity}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      const nowMs = this.now();
      if (this.buckets.size >= SENSOR_SWEEP_SIZE) {
        for (const [name, idle] of this.buckets) if (nowMs - idle.lastRecordMs > SENSOR_EXPIRY_MS) this.buckets.delete(name);
      }
      bucket = new TokenBucket((this.controllerWindows * this.controllerWindowMs) / 1000);
      this.buckets.set(key, bucket);
    }
    const tokenBucket = bucket;
    const rate = quota.bound;
    const throttleFor = (tokens: number) => (tokens >= 0 ? 0 : Math.round((-tokens / rate) * 1000));
    const now = this.now;
    let throttleTimeMs = 0;
    return {
      record(partitions: number): void {
        const nowMs = now();
        if (strict) {
          const tokens = tokenBucket.measure(rate, nowMs);
          if (tokens < 0) {
            throttleTimeMs = Math.max(throttleTimeMs, throttleFor(tokens));
            throw new ThrottlingQuotaExceeded(throttleTimeMs);
          }
          tokenBucket.record(rate, partitions, nowMs);
        } else {
          throttleTimeMs = Math.max(throttleTimeMs, throttleFor(tokenBucket.record(rate, partitions, nowMs)));
        }
      },
      get throttleTimeMs() {
        return throttleTimeMs;
      },
    };
  }
}
