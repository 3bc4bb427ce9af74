// Fetch sessions (KIP-227). A client that opens a session sends its partition list once;
// later requests carry only changes, and responses carry only partitions with news
// (records, a moved high watermark / log start / LSO, or an error).

import { ErrorCode, KafkaError } from '../protocol/errors.js';

export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;

export interface SessionPartition {
  readonly topic: string;
  readonly topicId: Buffer;
  readonly partition: number;
  fetchOffset: bigint;
  maxBytes: number;
  /** What the last response said, to decide whether the next one must mention it. */
  lastHighWatermark: bigint;
  lastLogStartOffset: bigint;
  lastStableOffset: bigint;
}

export class FetchSession {
  readonly partitions = new Map<string, SessionPartition>();
  nextEpoch = 1;
  lastUsedMs: number;

  constructor(
    readonly id: number,
    nowMs: number,
  ) {
    this.lastUsedMs = nowMs;
  }

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  advanceEpoch(): void {
    this.nextEpoch = this.nextEpoch === 2147483647 ? 1 : this.nextEpoch + 1;
  }
}

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();

  constructor(private readonly slots: number) {}

  get size(): number {
    return this.sessions.size;
  }

  /** A new session, or undefined when the cache is full (the client then fetches sessionless). */
  create(nowMs: number): FetchSession | undefined {
    if (this.slots <= 0) return undefined;
    if (this.sessions.size >= this.slots) this.evictOldest();
    let id: number;
    do id = 1 + Math.floor(Math.random() * 2147483646);
    while (this.sessions.has(id));
    const session = new FetchSession(id, nowMs);
    this.sessions.set(id, session);
    return session;
  }

  remove(id: number): void {
    this.sessions.delete(id);
  }

  /** Finds a session for an incremental request; throws the KIP-227 errors otherwise. */
  lookup(id: number, epoch: number, nowMs: number): FetchSession {
    const session = this.sessions.get(id);
    if (session === undefined) throw new KafkaError(ErrorCode.FETCH_SESSION_ID_NOT_FOUND, `Fetch session ${id} not found`);
    if (session.nextEpoch !== epoch) {
      throw new KafkaError(ErrorCode.INVALID_FETCH_SESSION_EPOCH, `Fetch session ${id} expected epoch ${session.nextEpoch}, got ${epoch}`);
    }
    session.lastUsedMs = nowMs;
    return session;
  }

  private evictOldest(): void {
    let oldest: FetchSession | undefined;
    for (const session of this.sessions.values()) {
      if (oldest === undefined || session.lastUsedMs < oldest.lastUsedMs) oldest = session;
    }
    if (oldest !== undefined) this.sessions.delete(oldest.id);
  }
}
