// Client telemetry (KIP-714): clients ask which of their metrics to push and how often
// (GetTelemetrySubscriptions), then push them (PushTelemetry). Each client instance gets an
// id from the broker, the subscriptions whose `match` fits it (client id, software name and
// version from ApiVersions, source address and port), and a subscription id that changes
// whenever the subscriptions do, so a push against an old set is refused and the client asks
// again. The broker is its own receiver: the last value of every pushed gauge and sum data
// point is kept per client instance and shown on /metrics (spate_client_metric), bounded in
// series per client and in clients, and forgotten when the client terminates or goes quiet.

import { createHash, randomUUID } from 'node:crypto';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { type Logger } from '../logger.js';
import { type ClientMetricsConfigs, type ClientMetricsSubscription, DEFAULT_PUSH_INTERVAL_MS, type MatchKey } from './client-metrics-configs.js';
import { decodeMetricsData, OtlpDecodeError } from './otlp.js';

/** Kafka's telemetry.max.bytes default: the largest push accepted. */
export const TELEMETRY_MAX_BYTES = 1024 * 1024;
/** Pushes are uncompressed: an empty list tells clients to use none (KIP-714). */
const ACCEPTED_COMPRESSION: number[] = [];
const MAX_SERIES_PER_CLIENT = 2000;
const MAX_CLIENT_INSTANCES = 1000;
/** A client that neither asks nor pushes for this many push intervals (and at least a minute) is forgotten. */
const QUIET_INTERVALS = 3;
const MIN_QUIET_MS = 60_000;

export interface ClientIdentity {
  readonly clientId: string;
  readonly softwareName: string;
  readonly softwareVersion: string;
  readonly sourceAddress: string;
  readonly sourcePort: string;
}

export interface ClientSeries {
  readonly name: string;
  readonly attributes: string;
  readonly value: number;
}

interface ClientInstance {
  readonly id: string;
  identity: ClientIdentity;
  subscriptionId: number;
  metrics: readonly string[];
  intervalMs: number;
  lastPushMs: number | undefined;
  lastSeenMs: number;
  terminated: boolean;
  readonly series: Map<string, ClientSeries>;
  warnedSeries: boolean;
}

export interface SubscriptionAnswer {
  readonly errorCode: number;
  readonly clientInstanceId: Buffer;
  readonly subscriptionId: number;
  readonly acceptedCompressionTypes: number[];
  readonly pushIntervalMs: number;
  readonly telemetryMaxBytes: number;
  readonly deltaTemporality: boolean;
  readonly requestedMetrics: string[];
}

export interface PushRequest {
  readonly clientInstanceId: Buffer;
  readonly subscriptionId: number;
  readonly terminating: boolean;
  readonly compressionType: number;
  readonly metrics: Buffer;
}

const ZERO = '00000000000000000000000000000000';

export class ClientTelemetry {
  private readonly instances = new Map<string, ClientInstance>();
  /** Client software name and version per connection, from ApiVersions v3+. */
  private readonly software = new WeakMap<object, { name: string; version: string }>();
  /** Push outcomes by Kafka error name (spate_client_telemetry_pushes_total). */
  readonly pushes = new Map<string, number>();
  private lastSweepMs = 0;
  private warnedInstances = false;

  constructor(
    private readonly configs: ClientMetricsConfigs,
    private readonly logger: Logger,
  ) {}

  noteSoftware(connection: object, name: string, version: string): void {
    this.software.set(connection, { name, version });
  }

  identity(connection: { remoteHost: string; remoteAddress: string }, clientId: string | null): ClientIdentity {
    const software = this.software.get(connection);
    return {
      clientId: clientId ?? '',
      softwareName: software?.name ?? '',
      softwareVersion: software?.version ?? '',
      sourceAddress: connection.remoteHost,
      sourcePort: connection.remoteAddress.slice(connection.remoteAddress.lastIndexOf(':') + 1),
    };
  }

  /** GetTelemetrySubscriptions: a new instance id for a zero one, and the subscriptions that match. */
  subscriptions(requestedId: Buffer, identity: ClientIdentity, nowMs: number): SubscriptionAnswer {
    this.sweep(nowMs);
    let id = requestedId.toString('hex');
    const assigned = id === ZERO;
    if (assigned) id = randomUUID().replace(/-/g, '');
    let instance = this.instances.get(id);
    if (instance === undefined) {
      instance = {
        id,
        identity,
        subscriptionId: 0,
        metrics: [],
        intervalMs: DEFAULT_PUSH_INTERVAL_MS,
        lastPushMs: undefined,
        lastSeenMs: nowMs,
        terminated: false,
        series: new Map(),
        warnedSeries: false,
      };
      if (this.instances.size < MAX_CLIENT_INSTANCES) this.instances.set(id, instance);
      else if (!this.warnedInstances) {
        this.warnedInstances = true;
        this.logger.warn(`Client telemetry: ${MAX_CLIENT_INSTANCES} client instances known; client ${identity.clientId} (${identity.sourceAddress}) and later ones are not kept`);
      }
    }
    instance.identity = identity;
    instance.lastSeenMs = nowMs;
    this.resolve(instance);
    return {
      errorCode: ErrorCode.NONE,
      // Kafka answers the instance id every time (the schema's doc says only when assigned;
      // the Java client refuses a zero id).
      clientInstanceId: Buffer.from(id, 'hex'),
      subscriptionId: instance.subscriptionId,
      acceptedCompressionTypes: ACCEPTED_COMPRESSION,
      pushIntervalMs: instance.intervalMs,
      telemetryMaxBytes: TELEMETRY_MAX_BYTES,
      deltaTemporality: true,
      requestedMetrics: [...instance.metrics],
    };
  }

  /** PushTelemetry: checks the push against the instance's subscription, keeps its data points. */
  push(request: PushRequest, identity: ClientIdentity, nowMs: number): number {
    const errorCode = this.accept(request, identity, nowMs);
    const name = errorName(errorCode);
    this.pushes.set(name, (this.pushes.get(name) ?? 0) + 1);
    return errorCode;
  }

  /** Every kept data point, per client instance (for /metrics). */
  *series(nowMs: number): Iterable<{ instanceId: string; clientId: string; series: ClientSeries }> {
    this.sweep(nowMs);
    for (const instance of this.instances.values()) {
      for (const series of instance.series.values()) yield { instanceId: instance.id, clientId: instance.identity.clientId, series };
    }
  }

  private accept(request: PushRequest, identity: ClientIdentity, nowMs: number): number {
    const id = request.clientInstanceId.toString('hex');
    if (id === ZERO) return ErrorCode.INVALID_REQUEST;
    const instance = this.instances.get(id);
    // Unknown (this broker restarted, or the instance was forgotten): the client asks again.
    if (instance === undefined) return ErrorCode.UNKNOWN_SUBSCRIPTION_ID;
    if (instance.terminated) return ErrorCode.INVALID_REQUEST;
    instance.identity = identity;
    instance.lastSeenMs = nowMs;
    this.resolve(instance);
    if (request.subscriptionId !== instance.subscriptionId) return ErrorCode.UNKNOWN_SUBSCRIPTION_ID;
    // Kafka refuses a push before the interval has passed; half of it is let through here,
    // so that a client's jittered first push and clock noise are not refused.
    if (!request.terminating && instance.lastPushMs !== undefined && nowMs - instance.lastPushMs < instance.intervalMs / 2) {
      return ErrorCode.THROTTLING_QUOTA_EXCEEDED;
    }
    if (request.compressionType !== 0 && !ACCEPTED_COMPRESSION.includes(request.compressionType)) return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
    if (request.metrics.length > TELEMETRY_MAX_BYTES) return ErrorCode.TELEMETRY_TOO_LARGE;
    if (request.terminating) {
      instance.lastPushMs = nowMs;
      instance.terminated = true;
      instance.series.clear();
      return ErrorCode.NONE;
    }
    let decoded;
    try {
      decoded = decodeMetricsData(request.metrics);
    } catch (error) {
      if (!(error instanceof OtlpDecodeError)) throw error;
      this.logger.warn(`Client telemetry from ${identity.clientId} (${identity.sourceAddress}:${identity.sourcePort}, instance ${id}) refused: ${error.message}`);
      return ErrorCode.INVALID_RECORD;
    }
    instance.lastPushMs = nowMs;
    for (const point of decoded.points) {
      if (!instance.metrics.some((prefix) => point.name.startsWith(prefix))) continue;
      const attributes = point.attributes.map(([key, value]) => `${key}=${value}`).join(',');
      const key = `${point.name}\u0000${attributes}`;
      if (!instance.series.has(key) && instance.series.size >= MAX_SERIES_PER_CLIENT) {
        if (!instance.warnedSeries) {
          instance.warnedSeries = true;
          this.logger.warn(`Client telemetry from ${identity.clientId} (instance ${id}): more than ${MAX_SERIES_PER_CLIENT} series; the rest are dropped`);
        }
        continue;
      }
      instance.series.set(key, { name: point.name, attributes, value: point.value });
    }
    return ErrorCode.NONE;
  }

  /** The instance's subscription set, id and interval, from the subscriptions that match it now. */
  private resolve(instance: ClientInstance): void {
    const matched = this.configs.subscriptions().filter((subscription) => matches(subscription, instance));
    const prefixes = new Set<string>();
    for (const subscription of matched) for (const prefix of subscription.metrics) prefixes.add(prefix);
    const metrics = prefixes.has('') ? [''] : [...prefixes].sort();
    const withMetrics = matched.filter((subscription) => subscription.metrics.length > 0);
    const intervalMs = withMetrics.length === 0 ? DEFAULT_PUSH_INTERVAL_MS : Math.min(...withMetrics.map((subscription) => subscription.intervalMs));
    const digest = createHash('sha256')
      .update(JSON.stringify([instance.id, metrics, intervalMs, this.configs.generation]))
      .digest();
    instance.metrics = metrics;
    instance.intervalMs = intervalMs;
    instance.subscriptionId = digest.readInt32BE(0);
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < 10_000) return;
    this.lastSweepMs = nowMs;
    for (const [id, instance] of this.instances) {
      if (nowMs - instance.lastSeenMs > Math.max(MIN_QUIET_MS, QUIET_INTERVALS * instance.intervalMs)) this.instances.delete(id);
    }
  }
}

function attribute(instance: ClientInstance, key: MatchKey): string {
  const { identity } = instance;
  if (key === 'client_instance_id')
    return [instance.id.slice(0, 8), instance.id.slice(8, 12), instance.id.slice(12, 16), instance.id.slice(16, 20), instance.id.slice(20)].join('-');
  if (key === 'client_id') return identity.clientId;
  if (key === 'client_software_name') return identity.softwareName;
  if (key === 'client_software_version') return identity.softwareVersion;
  if (key === 'client_source_address') return identity.sourceAddress;
  return identity.sourcePort;
}

function matches(subscription: ClientMetricsSubscription, instance: ClientInstance): boolean {
  return subscription.match.every(({ key, pattern }) => pattern.test(attribute(instance, key)));
}
