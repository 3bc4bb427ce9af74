// ShareFetch, v1-2 (KIP-932): a share group member fetches records it then holds under an
// acquisition lock, and acknowledges what it fetched before in the same request. Epoch 0
// opens the member's share session (no acknowledgements allowed), -1 applies the
// acknowledgements and closes it, other epochs must follow the session's. Records of the
// session's partitions are acquired from the first available offset, whole batches at a
// time up to MaxRecords (ShareAcquireMode 1, v2: exactly MaxRecords), never more in flight
// than group.share.partition.max.record.locks; transaction markers are archived, never
// handed out. With nothing to hand out the request waits up to MaxWaitMs, woken by appends
// to the partitions or by records becoming available again (a release, a lock timeout).
// RENEW acknowledgements (v2, IsRenewAck) restart the locks. Only the partitions' leader
// serves them: elsewhere NOT_LEADER_OR_FOLLOWER with the current leader and its endpoint
// (KIP-951), so that the share consumer moves its session there; acknowledgements are
// answered once the share coordinator has them (share-partition-manager.ts).
// Differs from Kafka: isolation is read_uncommitted (Kafka's default,
// group.share.isolation.level is not served); the response lists every partition of an
// opening request and, later, only partitions with records, errors or acknowledgements.

import { type PartitionLog } from '../log/partition-log.js';
import { type LogRecords } from '../log/log-records.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import {
  type ShareFetchRequest,
  type ShareFetchResponse,
  type ShareFetchResponsePartitionData,
  type ShareFetchResponseShareFetchableTopicResponse,
} from '../protocol/generated/index.js';
import { type AcquiredRange } from '../share/share-partition.js';
import {
  applyAcknowledgements,
  hasAcknowledgements,
  leaderEndpoints,
  ledPartition,
  type AcknowledgedPartition,
  type LeaderHint,
  type PartitionOutcome,
} from '../share/share-requests.js';
import { CLOSE_EPOCH, OPEN_EPOCH, ShareSession, type SessionPartition } from '../share/share-sessions.js';
import { defineHandler, type RequestContext } from './api-handler.js';

const RECORD_LIMIT_MODE = 1;
const EMPTY = Buffer.alloc(0);
const NO_LEADER: LeaderHint = { leaderId: -1, leaderEpoch: -1 };

interface Fetched {
  readonly target: SessionPartition;
  errorCode: number;
  errorMessage: string | null;
  /** This broker at its leader epoch, or the leader named by NOT_LEADER_OR_FOLLOWER. */
  leader: LeaderHint;
  records: LogRecords | null;
  acquired: AcquiredRange[];
}

interface BatchHeader {
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  readonly isControl: boolean;
}

/**
 * Batch headers of a read (base offset, last offset, control flag), without decoding records,
 * parsed as acquisition asks for them: a read may hold far more batches than one fetch hands
 * out, and `seen` keeps the ones looked at.
 */
function* batchHeaders(buffer: Buffer, seen: BatchHeader[]): Generator<BatchHeader> {
  let position = 0;
  while (position + 61 <= buffer.length) {
    const baseOffset = buffer.readBigInt64BE(position);
    const length = buffer.readInt32BE(position + 8);
    if (length < 49 || position + 12 + length > buffer.length) break;
    const attributes = buffer.readInt16BE(position + 21);
    const header = { baseOffset, lastOffset: baseOffset + BigInt(buffer.readInt32BE(position + 23)), isControl: (attributes & 0x20) !== 0 };
    seen.push(header);
    yield header;
    position += 12 + length;
  }
}

/** Acquires what each session partition has available; partitions without records get none. */
async function acquireAll(context: RequestContext, request: ShareFetchRequest, groupId: string, memberId: string, targets: readonly SessionPartition[]): Promise<Fetched[]> {
  const { broker } = context;
  const manager = broker.sharePartitions;
  const limits = manager.limits(groupId);
  let budgetBytes = Math.min(request.maxBytes > 0 ? request.maxBytes : 0x7fffffff, broker.config.fetchMaxBytes);
  let budgetRecords = request.maxRecords > 0 ? request.maxRecords : 500;
  const strict = (request.shareAcquireMode ?? 0) === RECORD_LIMIT_MODE;
  const results: Fetched[] = [];
  const failed = (target: SessionPartition, errorCode: number, leader: LeaderHint = NO_LEADER, errorMessage: string | null = null): Fetched => ({
    target,
    errorCode,
    errorMessage,
    leader,
    records: null,
    acquired: [],
  });
  for (const target of targets) {
    const led = ledPartition(broker, target.topicId, target.partition);
    if (led.replica === undefined) {
      results.push(failed(target, led.errorCode, led.leader));
      continue;
    }
    const replica = led.replica;
    const leader = { leaderId: broker.nodeId, leaderEpoch: replica.leaderEpoch };
    if (budgetRecords <= 0 || budgetBytes <= 0) {
      results.push(failed(target, ErrorCode.NONE, leader));
      continue;
    }
    let state;
    try {
      state = await manager.partitionFor(groupId, led.topicName, target.topicId, replica, broker.now());
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      results.push(failed(target, error.kafkaCode, error.kafkaCode === ErrorCode.NOT_LEADER_OR_FOLLOWER ? NO_LEADER : leader, error.message));
      continue;
    }
    const log = replica.log;
    const from = state.nextFetchOffset();
    let records: LogRecords | null = null;
    let acquired: AcquiredRange[] = [];
    if (from < log.highWatermark) {
      try {
        records = await log.read(from, budgetBytes, true);
      } catch (error) {
        if (!(error instanceof KafkaError)) throw error;
        results.push(failed(target, error.kafkaCode, leader));
        continue;
      }
      if (records !== null) {
        const headers: BatchHeader[] = [];
        acquired = state.acquire(batchHeaders(records.buffer, headers), memberId, budgetRecords, strict, limits, broker.now());
        const last = acquired[acquired.length - 1]?.lastOffset;
        // Whole batches go out (the client keeps the acquired offsets): up to the end of the one holding the last acquired offset.
        const end = last === undefined ? undefined : (headers.find((header) => header.baseOffset <= last && header.lastOffset >= last)?.lastOffset ?? last);
        if (end === undefined || !records.truncateBefore(end + 1n)) {
          records.release();
          records = null;
        }
      }
    }
    if (records !== null) {
      budgetBytes -= records.byteLength;
      for (const range of acquired) budgetRecords -= Number(range.lastOffset - range.firstOffset + 1n);
      manager.armLockTimer(state);
    }
    results.push({ target, errorCode: ErrorCode.NONE, errorMessage: null, leader, records, acquired });
  }
  // What acquisition changed (transaction markers and gaps archived) is written; the fetch does not wait for it.
  manager.flush();
  return results;
}

/** Parks until a session partition is appended to or has records released, the deadline, or the client leaves. */
function waitForRecords(context: RequestContext, groupId: string, targets: readonly SessionPartition[], maxWaitMs: number): Promise<void> {
  const { broker } = context;
  return new Promise((resolve) => {
    const unsubscribes: Array<() => void> = [];
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const unsubscribe of unsubscribes) unsubscribe();
      resolve();
    };
    const timer = setTimeout(done, maxWaitMs);
    for (const target of targets) {
      const name = broker.replicas.metadata.topicInfoById(target.topicId)?.name;
      const log: PartitionLog | undefined = name === undefined ? undefined : broker.replicas.partition(name, target.partition)?.log;
      // The high watermark moving (a follower caught up) wakes it too.
      if (log !== undefined) unsubscribes.push(log.onAppend(done));
      const state = broker.sharePartitions.existingPartition(groupId, target.topicId, target.partition);
      if (state !== undefined) unsubscribes.push(state.onAvailable(done));
    }
    // onStop rather than closed.then(): the latter keeps a reaction per long poll alive for the connection's life.
    if (context.connection.onStop !== undefined) unsubscribes.push(context.connection.onStop(done));
    else void context.connection.closed.then(done);
  });
}

function failed(errorCode: number, errorMessage: string, lockMs: number): ShareFetchResponse {
  return { throttleTimeMs: 0, errorCode, errorMessage, acquisitionLockTimeoutMs: lockMs, responses: [], nodeEndpoints: [] };
}

export const shareFetchHandler = defineHandler<ShareFetchRequest, ShareFetchResponse>({
  apiKey: 78,
  minVersion: 1,
  maxVersion: 2,
  async handle(request, context) {
    const { broker } = context;
    const manager = broker.sharePartitions;
    const sessions = manager.sessions;
    const groupId = request.groupId ?? '';
    const memberId = request.memberId ?? '';
    const lockMs = manager.limits(groupId).lockDurationMs;
    if (groupId === '') return failed(ErrorCode.INVALID_GROUP_ID, 'The group id is empty.', lockMs);
    if (memberId === '') return failed(ErrorCode.INVALID_REQUEST, 'The member id is empty.', lockMs);
    const epoch = request.shareSessionEpoch;
    const acknowledged: AcknowledgedPartition[] = request.topics.flatMap((topic) =>
      topic.partitions.map((partition) => ({ topicId: topic.topicId, partition: partition.partitionIndex, batches: partition.acknowledgementBatches })),
    );
    if (epoch === OPEN_EPOCH && hasAcknowledgements(acknowledged)) {
      return failed(ErrorCode.INVALID_REQUEST, 'Acknowledge data present on initial fetch request.', lockMs);
    }

    // The session: opened, closed, or advanced.
    let session: ShareSession | undefined;
    try {
      if (epoch === OPEN_EPOCH) {
        const previous = sessions.get(groupId, memberId);
        session = sessions.open(groupId, memberId, context.connection.id);
        if (previous !== undefined) manager.sessionRemoved(previous);
        manager.watchConnection(context.connection.id, context.connection.closed);
      } else if (epoch !== CLOSE_EPOCH) {
        session = sessions.lookup(groupId, memberId, epoch);
        session.advanceEpoch();
      }
    } catch (error) {
      if (error instanceof KafkaError) return failed(error.kafkaCode, error.message, lockMs);
      throw error;
    }
    if (session !== undefined) {
      for (const forgotten of request.forgottenTopicsData) {
        for (const partition of forgotten.partitions) session.partitions.delete(ShareSession.partitionKey(forgotten.topicId, partition));
      }
      for (const topic of request.topics) for (const partition of topic.partitions) session.add(topic.topicId, partition.partitionIndex);
    }

    const ackOutcomes: Map<string, PartitionOutcome> = await applyAcknowledgements(broker, groupId, memberId, acknowledged, request.isRenewAck === true, broker.now());
    if (epoch === CLOSE_EPOCH) {
      const closed = sessions.remove(groupId, memberId);
      if (closed !== undefined) manager.sessionRemoved(closed);
    }

    const targets = session === undefined ? [] : [...session.partitions.values()];
    const deadline = broker.now() + Math.max(0, request.maxWaitMs);
    let fetched = await acquireAll(context, request, groupId, memberId, targets);
    const acquiredAny = () => fetched.some((entry) => entry.records !== null);
    const erred = () => fetched.some((entry) => entry.errorCode !== ErrorCode.NONE);
    while (!acquiredAny() && !erred() && request.minBytes > 0 && targets.length > 0) {
      const remaining = deadline - broker.now();
      if (remaining <= 0) break;
      await waitForRecords(context, groupId, targets, remaining);
      if (!context.connection.isOpen) break;
      fetched = await acquireAll(context, request, groupId, memberId, targets);
    }
    if (!context.connection.isOpen) {
      for (const entry of fetched) entry.records?.release();
      return failed(ErrorCode.NONE, '', lockMs);
    }

    const byTopic: ShareFetchResponseShareFetchableTopicResponse[] = [];
    const seen = new Set<string>();
    const leaders = new Set<number>();
    const emit = (topicId: Buffer, partition: ShareFetchResponsePartitionData) => {
      const last = byTopic[byTopic.length - 1];
      if (last !== undefined && last.topicId.equals(topicId)) last.partitions.push(partition);
      else byTopic.push({ topicId, partitions: [partition] });
      // KIP-951: the new leader's endpoint travels with NOT_LEADER_OR_FOLLOWER.
      if (partition.currentLeader.leaderId >= 0 && partition.currentLeader.leaderId !== broker.nodeId) leaders.add(partition.currentLeader.leaderId);
    };
    for (const entry of fetched) {
      const key = ShareSession.partitionKey(entry.target.topicId, entry.target.partition);
      seen.add(key);
      const ack = ackOutcomes.get(key);
      const interesting = epoch === OPEN_EPOCH || entry.records !== null || entry.errorCode !== ErrorCode.NONE || ack !== undefined;
      if (!interesting) continue;
      emit(entry.target.topicId, {
        partitionIndex: entry.target.partition,
        errorCode: entry.errorCode,
        errorMessage: entry.errorMessage,
        acknowledgeErrorCode: ack?.errorCode ?? ErrorCode.NONE,
        acknowledgeErrorMessage: ack?.errorMessage ?? null,
        currentLeader: entry.leader,
        records: entry.records ?? EMPTY,
        acquiredRecords: entry.acquired.map((range) => ({ firstOffset: range.firstOffset, lastOffset: range.lastOffset, deliveryCount: range.deliveryCount })),
      });
    }
    // Acknowledged partitions that are not (or no longer) in the session still get their answer.
    for (const { topicId, partition } of acknowledged) {
      const key = ShareSession.partitionKey(topicId, partition);
      const ack = ackOutcomes.get(key);
      if (seen.has(key) || ack === undefined) continue;
      seen.add(key);
      emit(topicId, {
        partitionIndex: partition,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        acknowledgeErrorCode: ack.errorCode,
        acknowledgeErrorMessage: ack.errorMessage,
        currentLeader: ack.leader ?? NO_LEADER,
        records: EMPTY,
        acquiredRecords: [],
      });
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      acquisitionLockTimeoutMs: lockMs,
      responses: byTopic,
      nodeEndpoints: leaderEndpoints(broker, leaders, context.connection.security.listener.name),
    };
  },
});
