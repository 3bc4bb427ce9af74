// ShareFetch, v1-2 (KIP-932): a share group member fetches records it then holds under an
// acquisition lock, and acknowledges what it fetched before in the same request. Epoch 0
// opens the member's share session (no acknowledgements allowed), -1 applies the
// acknowledgements and closes it, other epochs must follow the session's. Records of the
// session's partitions are acquired from the first available offset, whole batches at a
// time up to MaxRecords (ShareAcquireMode 1, v2: exactly MaxRecords), never more in flight
// than group.share.partition.max.record.locks; transaction markers are archived, never
// handed out. With nothing to hand out the request waits up to MaxWaitMs, woken by appends
// to the partitions or by records becoming available again (a release, a lock timeout).
// RENEW acknowledgements (v2, IsRenewAck) restart the locks.
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
import { applyAcknowledgements, hasAcknowledgements, type AcknowledgedPartition, type PartitionOutcome } from '../share/share-requests.js';
import { CLOSE_EPOCH, OPEN_EPOCH, ShareSession, type SessionPartition } from '../share/share-sessions.js';
import { defineHandler, type RequestContext } from './api-handler.js';

const RECORD_LIMIT_MODE = 1;
const EMPTY = Buffer.alloc(0);

interface Fetched {
  readonly target: SessionPartition;
  errorCode: number;
  records: LogRecords | null;
  acquired: AcquiredRange[];
}

/** Batch headers of a read (base offset, last offset, control flag), without decoding records. */
function batchHeaders(buffer: Buffer): Array<{ baseOffset: bigint; lastOffset: bigint; isControl: boolean }> {
  const headers: Array<{ baseOffset: bigint; lastOffset: bigint; isControl: boolean }> = [];
  let position = 0;
  while (position + 61 <= buffer.length) {
    const baseOffset = buffer.readBigInt64BE(position);
    const length = buffer.readInt32BE(position + 8);
    if (length < 49 || position + 12 + length > buffer.length) break;
    const attributes = buffer.readInt16BE(position + 21);
    headers.push({ baseOffset, lastOffset: baseOffset + BigInt(buffer.readInt32BE(position + 23)), isControl: (attributes & 0x20) !== 0 });
    position += 12 + length;
  }
  return headers;
}

/** Acquires what each session partition has available; partitions without records get none. */
async function acquireAll(context: RequestContext, request: ShareFetchRequest, groupId: string, memberId: string, targets: readonly SessionPartition[]): Promise<Fetched[]> {
  const { broker } = context;
  const shares = broker.shares;
  const limits = shares.limits(groupId);
  let budgetBytes = Math.min(request.maxBytes > 0 ? request.maxBytes : 0x7fffffff, broker.config.fetchMaxBytes);
  let budgetRecords = request.maxRecords > 0 ? request.maxRecords : 500;
  const strict = (request.shareAcquireMode ?? 0) === RECORD_LIMIT_MODE;
  const results: Fetched[] = [];
  for (const target of targets) {
    const topic = broker.logs.topicById(target.topicId);
    const log = topic?.partitions[target.partition];
    if (topic === undefined || log === undefined) {
      results.push({ target, errorCode: topic === undefined ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, records: null, acquired: [] });
      continue;
    }
    if (budgetRecords <= 0 || budgetBytes <= 0) {
      results.push({ target, errorCode: ErrorCode.NONE, records: null, acquired: [] });
      continue;
    }
    const state = await shares.partitionFor(groupId, topic, target.partition, log, broker.now());
    const from = state.nextFetchOffset();
    let records: LogRecords | null = null;
    let acquired: AcquiredRange[] = [];
    if (from < log.highWatermark) {
      try {
        records = await log.read(from, budgetBytes, true);
      } catch (error) {
        if (!(error instanceof KafkaError)) throw error;
        results.push({ target, errorCode: error.kafkaCode, records: null, acquired: [] });
        continue;
      }
      if (records !== null) {
        acquired = state.acquire(batchHeaders(records.buffer), memberId, budgetRecords, strict, limits, broker.now());
        const last = acquired[acquired.length - 1];
        if (last === undefined || !records.truncateBefore(last.lastOffset + 1n)) {
          records.release();
          records = null;
        }
      }
    }
    if (records !== null) {
      budgetBytes -= records.byteLength;
      for (const range of acquired) budgetRecords -= Number(range.lastOffset - range.firstOffset + 1n);
      shares.armLockTimer(state);
    }
    results.push({ target, errorCode: ErrorCode.NONE, records, acquired });
  }
  shares.flush(broker.now());
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
      const log: PartitionLog | undefined = broker.logs.topicById(target.topicId)?.partitions[target.partition];
      if (log !== undefined) unsubscribes.push(log.onAppend(done));
      const state = broker.shares.existingPartition(groupId, target.topicId, target.partition);
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
    const shares = broker.shares;
    const groupId = request.groupId ?? '';
    const memberId = request.memberId ?? '';
    const lockMs = shares.limits(groupId).lockDurationMs;
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
        const previous = shares.sessions.get(groupId, memberId);
        session = shares.sessions.open(groupId, memberId, context.connection.id);
        if (previous !== undefined) shares.releaseSession(previous);
        shares.watchConnection(context.connection.id, context.connection.closed);
      } else if (epoch !== CLOSE_EPOCH) {
        session = shares.sessions.lookup(groupId, memberId, epoch);
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

    const ackOutcomes: Map<string, PartitionOutcome> = applyAcknowledgements(shares, broker.logs, groupId, memberId, acknowledged, request.isRenewAck === true, broker.now());
    if (epoch === CLOSE_EPOCH) {
      const closed = shares.sessions.remove(groupId, memberId);
      if (closed !== undefined) shares.releaseSession(closed);
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
    const emit = (topicId: Buffer, partition: ShareFetchResponsePartitionData) => {
      const last = byTopic[byTopic.length - 1];
      if (last !== undefined && last.topicId.equals(topicId)) last.partitions.push(partition);
      else byTopic.push({ topicId, partitions: [partition] });
    };
    const leader = { leaderId: broker.nodeId, leaderEpoch: 0 };
    for (const entry of fetched) {
      const key = ShareSession.partitionKey(entry.target.topicId, entry.target.partition);
      seen.add(key);
      const ack = ackOutcomes.get(key);
      const interesting = epoch === OPEN_EPOCH || entry.records !== null || entry.errorCode !== ErrorCode.NONE || ack !== undefined;
      if (!interesting) continue;
      emit(entry.target.topicId, {
        partitionIndex: entry.target.partition,
        errorCode: entry.errorCode,
        errorMessage: null,
        acknowledgeErrorCode: ack?.errorCode ?? ErrorCode.NONE,
        acknowledgeErrorMessage: ack?.errorMessage ?? null,
        currentLeader: leader,
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
        currentLeader: leader,
        records: EMPTY,
        acquiredRecords: [],
      });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, acquisitionLockTimeoutMs: lockMs, responses: byTopic, nodeEndpoints: [] };
  },
});
