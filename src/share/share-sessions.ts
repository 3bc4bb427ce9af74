// Share sessions (KIP-932), the share-group counterpart of KIP-227's fetch sessions: one per
// (group, member). ShareFetch with epoch 0 opens it with its partition list; later requests
// carry the next epoch and only the changes; epoch -1 closes it. A session also remembers the
// connection it was opened on: when that connection drops, the member's acquired records are
// released at once instead of waiting for their locks to run out.

import { ErrorCode, KafkaError } from '../protocol/errors.js';

export const OPEN_EPOCH = 0;
export const CLOSE_EPOCH = -1;

export interface SessionPartition {
  readonly topicId: Buffer;
  readonly partition: number;
}

export class ShareSession {
  readonly partitions = new Map<string, SessionPartition>();
  nextEpoch = 1;

  constructor(
    readonly groupId: string,
    readonly memberId: string,
    readonly connectionId: number,
  ) {}

  static partitionKey(topicId: Buffer, partition: number): string {
    return `${topicId.toString('hex')}:${partition}`;
  }

  add(topicId: Buffer, partition: number): void {
    this.partitions.set(ShareSession.partitionKey(topicId, partition), { topicId, partition });
  }

  advanceEpoch(): void {
    this.nextEpoch = this.nextEpoch === 2147483647 ? 1 : this.nextEpoch + 1;
  }
}

export class ShareSessionCache {
  private readonly sessions = new Map<string, ShareSession>();

  constructor(private readonly maxSessions: number) {}

  private static key(groupId: string, memberId: string): string {
    return `${groupId}\u0000${memberId}`;
  }

  get(groupId: string, memberId: string): ShareSession | undefined {
    return this.sessions.get(ShareSessionCache.key(groupId, memberId));
  }

  /** Opens (or reopens) a member's session; SHARE_SESSION_LIMIT_REACHED when the cache is full. */
  open(groupId: string, memberId: string, connectionId: number): ShareSession {
    const key = ShareSessionCache.key(groupId, memberId);
    if (!this.sessions.has(key) && this.sessions.size >= this.maxSessions) {
      throw new KafkaError(ErrorCode.SHARE_SESSION_LIMIT_REACHED, `The share session cache is full (${this.maxSessions} sessions)`);
    }
    const session = new ShareSession(groupId, memberId, connectionId);
    this.sessions.set(key, session);
    return session;
  }

  /** The session for an incremental request; throws the KIP-932 session errors otherwise. */
  lookup(groupId: string, memberId: string, epoch: number): ShareSession {
    const session = this.get(groupId, memberId);
    if (session === undefined) throw new KafkaError(ErrorCode.SHARE_SESSION_NOT_FOUND, `No share session for member ${memberId} of group ${groupId}`);
    if (session.nextEpoch !== epoch) {
      throw new KafkaError(ErrorCode.INVALID_SHARE_SESSION_EPOCH, `Share session of member ${memberId} expected epoch ${session.nextEpoch}, got ${epoch}`);
    }
    return session;
  }

  remove(groupId: string, memberId: string): ShareSession | undefined {
    const key = ShareSessionCache.key(groupId, memberId);
    const session = this.sessions.get(key);
    this.sessions.delete(key);
    return session;
  }

  /** Removes and returns every session opened on a connection. */
  removeConnection(connectionId: number): ShareSession[] {
    const removed: ShareSession[] = [];
    for (const [key, session] of this.sessions) {
      if (session.connectionId !== connectionId) continue;
      this.sessions.delete(key);
      removed.push(session);
    }
    return removed;
  }

  /** Whether any member of the group has a session here. */
  hasGroup(groupId: string): boolean {
    for (const session of this.sessions.values()) if (session.groupId === groupId) return true;
    return false;
  }

  removeGroup(groupId: string): void {
    for (const [key, session] of this.sessions) if (session.groupId === groupId) this.sessions.delete(key);
  }
}
