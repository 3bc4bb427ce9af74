// Replication throttles as Kafka's ReplicationQuotaManager enforces them: one quota per side
// of a broker, leader.replication.throttled.rate (what this broker sends to followers) and
// follower.replication.throttled.rate (what its fetchers ask for), in bytes per second, both
// dynamic broker configs. A quota applies only to the replicas listed in the topic configs
// leader.replication.throttled.replicas / follower.replication.throttled.replicas ("*", or
// [partition]:[broker] pairs naming this broker), and only while the follower is out of the
// ISR: a leader skips such a partition in a follower's fetch answer, a follower leaves it out
// of its fetch request, while the rate over the window is above the quota. Bytes of listed
// partitions are counted whether throttled or not, as in Kafka.
//
// The rate is Kafka's sampled Rate: replication.quota.window.num samples of
// replication.quota.window.size.seconds, and while fewer than num - 1 whole windows have
// passed the elapsed time counts as num - 1 windows (so a move starts with a burst of up to
// (num - 1) windows at the rate, then holds it).

import { type BrokerConfig } from '../config/broker-config.js';
import { brokerConfigValue } from '../config/topic-config.js';

const UNLIMITED = 9223372036854775807n;

interface Sample {
  startMs: number;
  bytes: number;
}

export type ReplicationSide = 'leader' | 'follower';

export class ReplicationQuota {
  private samples: Sample[] = [];
  /** The last parsed throttled-replicas value per topic, and the partitions it names for this broker ('*': all). */
  private readonly parsed = new Map<string, { value: string; partitions: ReadonlySet<number> | '*' }>();

  constructor(
    readonly side: ReplicationSide,
    private readonly config: BrokerConfig,
    /** The topic's config overrides, where the throttled-replicas list lives. */
    private readonly topicConfigs: (topic: string) => Readonly<Record<string, string>> | undefined,
  ) {}

  /** The quota in bytes per second; undefined when unlimited (the default: nothing is throttled). */
  get rate(): bigint | undefined {
    const value = brokerConfigValue(`${this.side}.replication.throttled.rate`, this.config) as bigint;
    return value >= UNLIMITED ? undefined : value;
  }

  /** Does this broker's side of the partition's replication count against the quota? */
  isThrottled(topic: string, partition: number): boolean {
    const value = this.topicConfigs(topic)?.[`${this.side}.replication.throttled.replicas`];
    if (value === undefined || value.trim() === '') return false;
    let entry = this.parsed.get(topic);
    if (entry?.value !== value) {
      entry = { value, partitions: parseThrottledReplicas(value, this.config.nodeId) };
      this.parsed.set(topic, entry);
    }
    return entry.partitions === '*' || entry.partitions.has(partition);
  }

  /** Kafka's shouldLeaderThrottle / shouldFollowerThrottle: an out-of-ISR follower of a listed partition while the rate is over the quota. */
  shouldThrottle(topic: string, partition: number, followerInSync: boolean, nowMs: number): boolean {
    const rate = this.rate;
    if (rate === undefined || followerInSync || !this.isThrottled(topic, partition)) return false;
    return this.measure(nowMs) > Number(rate);
  }

  /** Counts `bytes` replicated for a listed partition. */
  record(topic: string, partition: number, bytes: number, nowMs: number): void {
    if (bytes <= 0 || this.rate === undefined || !this.isThrottled(topic, partition)) return;
    const windowMs = this.windowMs;
    let current = this.samples[this.samples.length - 1];
    if (current === undefined || nowMs - current.startMs >= windowMs) {
      current = { startMs: nowMs, bytes: 0 };
      this.samples.push(current);
      if (this.samples.length > this.windowCount) this.samples.shift();
    }
    current.bytes += bytes;
  }

  /** How long until the rate is back within the quota if nothing more is recorded (0: it is). */
  msUntilAllowed(nowMs: number): number {
    const rate = this.rate;
    if (rate === undefined) return 0;
    const { total, elapsedMs } = this.window(nowMs);
    return Math.max(0, Math.ceil((total * 1000) / Number(rate) - elapsedMs));
  }

  /** Bytes per second over the kept samples (Kafka's Rate.measure with its window padding). */
  measure(nowMs: number): number {
    const { total, elapsedMs } = this.window(nowMs);
    return (total * 1000) / Math.max(elapsedMs, 1);
  }

  private window(nowMs: number): { total: number; elapsedMs: number } {
    const windowMs = this.windowMs;
    const count = this.windowCount;
    this.samples = this.samples.filter((sample) => nowMs - sample.startMs < count * windowMs);
    let total = 0;
    let oldest = nowMs;
    for (const sample of this.samples) {
      total += sample.bytes;
      if (sample.startMs < oldest) oldest = sample.startMs;
    }
    let elapsedMs = nowMs - oldest;
    const fullWindows = Math.floor(elapsedMs / windowMs);
    if (fullWindows < count - 1) elapsedMs += (count - 1 - fullWindows) * windowMs;
    return { total, elapsedMs };
  }

  private get windowMs(): number {
    return (brokerConfigValue('replication.quota.window.size.seconds', this.config) as number) * 1000;
  }

  private get windowCount(): number {
    return brokerConfigValue('replication.quota.window.num', this.config) as number;
  }
}

/** The partitions a throttled-replicas value names for broker `nodeId` ("*": every partition). */
export function parseThrottledReplicas(value: string, nodeId: number): ReadonlySet<number> | '*' {
  const trimmed = value.trim();
  if (trimmed === '*') return '*';
  const partitions = new Set<number>();
  for (const item of trimmed.split(',')) {
    const [partition, broker] = item.trim().split(':');
    if (partition !== undefined && broker !== undefined && Number(broker) === nodeId) partitions.add(Number(partition));
  }
  return partitions;
}
