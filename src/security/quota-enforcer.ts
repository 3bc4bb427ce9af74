// Byte-rate quotas enforced as Kafka's ClientQuotaManager does: the quota of a (user,
// client-id) pair is found in Kafka's order of precedence (user+client, user+default
// client, user, default user+client, default user+default client, default user, client,
// default client); bytes are recorded in quota.window.num windows of
// quota.window.size.seconds; a request that takes the rate over the quota is answered with
// throttle_time_ms = (rate - quota) / quota * window length, and the connection stops
// reading for that long (KIP-219: the answer goes out at once, the channel is muted).

import { type ClientQuotaStore, type QuotaEntityPart } from './client-quotas.js';

export type ByteRateQuota = 'producer_byte_rate' | 'consumer_byte_rate';

interface Sample {
  startMs: number;
  bytes: number;
}

export class QuotaEnforcer {
  private readonly sensors = new Map<string, Sample[]>();

  constructor(
    private readonly store: ClientQuotaStore,
    private readonly windows: number,
    private readonly windowMs: number,
  ) {}

  /** The quota in bytes per second and the entity it was found on, or undefined. */
  quotaFor(key: ByteRateQuota, user: string, clientId: string): { bound: number; entity: string } | undefined {
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

  /** Records the bytes; returns how long the client must be throttled (0 when within its quota). */
  record(key: ByteRateQuota, user: string, clientId: string, bytes: number, nowMs: number): number {
    if (this.store.size === 0) return 0; // the common case: no quotas, nothing to look up
    const quota = this.quotaFor(key, user, clientId);
    if (quota === undefined) return 0;
    const sensorKey = `${key}|${quota.entity}`;
    let samples = this.sensors.get(sensorKey);
    if (samples === undefined) {
      samples = [];
      this.sensors.set(sensorKey, samples);
    }
    const last = samples[samples.length - 1];
    if (last === undefined || nowMs - last.startMs >= this.windowMs) samples.push({ startMs: nowMs, bytes });
    else last.bytes += bytes;
    const horizon = nowMs - this.windows * this.windowMs;
    while (samples.length > 0 && samples[0]!.startMs + this.windowMs <= horizon) samples.shift();
    // Kafka's Rate.windowSize: the elapsed time of the kept samples, but never less than
    // (windows - 1) full windows, so a new client cannot burst far above its quota.
    let elapsedMs = nowMs - samples[0]!.startMs;
    const fullWindows = Math.floor(elapsedMs / this.windowMs);
    if (fullWindows < this.windows - 1) elapsedMs += (this.windows - 1 - fullWindows) * this.windowMs;
    elapsedMs = Math.max(elapsedMs, 1);
    const total = samples.reduce((sum, sample) => sum + sample.bytes, 0);
    const rate = (total * 1000) / elapsedMs;
    if (rate <= quota.bound) return 0;
    return Math.min(Math.round(((rate - quota.bound) / quota.bound) * elapsedMs), this.windows * this.windowMs);
  }
}
