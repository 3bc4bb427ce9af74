// Fetch, v4-18. Long polls are woken by appends to the fetched partitions (or the max wait,
// or the connection closing), never by polling. min_bytes, max_bytes (also capped by the
// broker's fetch.max.bytes) and partition_max_bytes follow KIP-74: the first batch of the
// first non-empty partition is returned whole even when larger than the limits. Fetch
// sessions follow KIP-227 (full and incremental). Topics by ID from v13 (KIP-516).
// read_committed (isolation 1) stops at the last stable offset and lists the aborted
// transactions overlapping the returned batches, so clients can drop their records.
// Differences from Kafka: no follower fetching (replica IDs are served as consumers), no
// preferred read replica, no diverging-epoch answers (one leader epoch, 0).

import { type PartitionLog } from '../log/partition-log.js';
import { type LogRecords } from '../log/log-records.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import {
  type FetchRequest,
  type FetchResponse,
  type FetchResponseFetchableTopicResponse,
  type FetchResponsePartitionData,
} from '../protocol/generated/index.js';
import { defineHandler, type RequestContext } from './api-handler.js';
import { FetchSession, FINAL_EPOCH, INITIAL_EPOCH, type SessionPartition } from './fetch-sessions.js';
import { ZERO_UUID } from '../protocol/primitives.js';

const READ_COMMITTED = 1;

interface FetchTarget {
  readonly topic: string;
  readonly topicId: Buffer;
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly maxBytes: number;
  readonly log: PartitionLog | undefined;
  /** An error decided before reading (unknown topic ID, ...). */
  readonly errorCode: number;
  readonly session?: SessionPartition;
}

interface ReadResult {
  readonly target: FetchTarget;
  errorCode: number;
  records: LogRecords | null;
}

function emptyFetchResponse(errorCode: number, sessionId = 0): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId, responses: [] };
}

/** Resolves the request (and its session) to the ordered partitions to read. */
function planFetch(
  request: FetchRequest,
  context: RequestContext,
): { targets: FetchTarget[]; session: FetchSession | undefined; incremental: boolean } {
  const { broker, apiVersion } = context;
  const byId = apiVersion >= 13;
  const sessionId = request.sessionId ?? 0;
  const sessionEpoch = request.sessionEpoch ?? FINAL_EPOCH;
  const now = broker.now();

  const resolve = (name: string | undefined, topicId: Buffer | undefined) => {
    if (byId) {
      const topic = broker.logs.topicById(topicId ?? ZERO_UUID);
      return { name: topic?.name ?? '', id: topicId ?? ZERO_UUID, topic };
    }
    const topic = broker.logs.topic(name ?? '');
    return { name: name ?? '', id: topic?.id ?? ZERO_UUID, topic };
  };
  const requested: FetchTarget[] = [];
  for (const wanted of request.topics) {
    const { name, id, topic } = resolve(wanted.topic, wanted.topicId);
    for (const partition of wanted.partitions) {
      const log = topic?.partitions[partition.partition];
      const errorCode =
        topic === undefined
          ? byId
            ? ErrorCode.UNKNOWN_TOPIC_ID
            : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : log === undefined
            ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            : ErrorCode.NONE;
      requested.push({
        topic: name,
        topicId: id,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        maxBytes: partition.partitionMaxBytes,
        log,
        errorCode,
      });
    }
  }

  // Sessionless full fetch, or the client closing its session.
  if (sessionEpoch === FINAL_EPOCH) {
    if (sessionId !== 0) broker.fetchSessions.remove(sessionId);
    return { targets: requested, session: undefined, incremental: false };
  }
  // A full fetch that opens a new session.
  if (sessionEpoch === INITIAL_EPOCH) {
    if (sessionId !== 0) broker.fetchSessions.remove(sessionId);
    const session = broker.fetchSessions.create(now);
    if (session === undefined) return { targets: requested, session: undefined, incremental: false };
    const targets = requested.map((target) => {
      if (target.errorCode !== ErrorCode.NONE && byId) return target;
      const entry = newSessionPartition(target);
      session.partitions.set(FetchSession.key(target.topic, target.partition), entry);
      return { ...target, session: entry };
    });
    return { targets, session, incremental: false };
  }
  // An incremental fetch: apply the changes, then read every partition of the session.
  const session = broker.fetchSessions.lookup(sessionId, sessionEpoch, now);
  for (const forgotten of request.forgottenTopicsData ?? []) {
    const { name } = resolve(forgotten.topic, forgotten.topicId);
    for (const partition of forgotten.partitions) session.partitions.delete(FetchSession.key(name, partition));
  }
  const unresolved: FetchTarget[] = [];
  for (const target of requested) {
    if (target.errorCode === ErrorCode.UNKNOWN_TOPIC_ID) {
      unresolved.push(target);
      continue;
    }
    const key = FetchSession.key(target.topic, target.partition);
    const existing = session.partitions.get(key);
    if (existing === undefined) {
      session.partitions.set(key, newSessionPartition(target));
    } else {
      existing.fetchOffset = target.fetchOffset;
      existing.maxBytes = target.maxBytes;
    }
  }
  session.advanceEpoch();
  const targets: FetchTarget[] = [...unresolved];
  for (const entry of session.partitions.values()) {
    const topic = broker.logs.topic(entry.topic);
    const log = topic?.partitions[entry.partition];
    targets.push({
      topic: entry.topic,
      topicId: entry.topicId,
      partition: entry.partition,
      fetchOffset: entry.fetchOffset,
      maxBytes: entry.maxBytes,
      log,
      errorCode: log === undefined ? (byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) : ErrorCode.NONE,
      session: entry,
    });
  }
  return { targets, session, incremental: true };
}

function newSessionPartition(target: FetchTarget): SessionPartition {
  return {
    topic: target.topic,
    topicId: target.topicId,
    partition: target.partition,
    fetchOffset: target.fetchOffset,
    maxBytes: target.maxBytes,
    lastHighWatermark: -1n,
    lastLogStartOffset: -1n,
    lastStableOffset: -1n,
  };
}

/** Reads every target in parallel, then keeps what fits the response limit, in order. */
async function readTargets(targets: readonly FetchTarget[], responseMaxBytes: number, readCommitted: boolean): Promise<ReadResult[]> {
  const reads = targets.map(async (target): Promise<ReadResult> => {
    if (target.errorCode !== ErrorCode.NONE || target.log === undefined) {
      return { target, errorCode: target.errorCode === ErrorCode.NONE ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : target.errorCode, records: null };
    }
    try {
      // read_committed readers stop at the last stable offset: nothing of an open transaction.
      const limit = readCommitted ? target.log.lastStableOffset : undefined;
      if (limit !== undefined && target.fetchOffset >= limit && target.fetchOffset <= target.log.logEndOffset) {
        return { target, errorCode: ErrorCode.NONE, records: null };
      }
      const records = await target.log.read(target.fetchOffset, Math.max(0, Math.min(target.maxBytes, responseMaxBytes)), true);
      if (records !== null && limit !== undefined && !records.truncateBefore(limit)) {
        records.release();
        return { target, errorCode: ErrorCode.NONE, records: null };
      }
      return { target, errorCode: ErrorCode.NONE, records };
    } catch (error) {
      if (error instanceof KafkaError) return { target, errorCode: error.kafkaCode, records: null };
      throw error;
    }
  });
  const results = await Promise.all(reads);
  let total = 0;
  for (const result of results) {
    if (result.records === null) continue;
    const size = result.records.byteLength;
    const fits = total === 0 || (total + size <= responseMaxBytes && size <= result.target.maxBytes);
    if (!fits) {
      result.records.release();
      result.records = null;
      continue;
    }
    total += size;
  }
  return results;
}

function bytesOf(results: readonly ReadResult[]): number {
  let total = 0;
  for (const result of results) total += result.records?.byteLength ?? 0;
  return total;
}

function hasError(results: readonly ReadResult[]): boolean {
  return results.some((result) => result.errorCode !== ErrorCode.NONE);
}

/** Parks until one of the logs is appended to, the deadline passes, or the client goes away. */
function waitForAppend(context: RequestContext, logs: PartitionLog[], maxWaitMs: number): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribes: Array<() => void> = [];
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const unsubscribe of unsubscribes) unsubscribe();
      resolve();
    };
    for (const log of logs) unsubscribes.push(log.onAppend(done));
    timer = setTimeout(done, maxWaitMs);
    void context.connection.closed.then(done);
    void context.connection.draining?.then(done);
  });
}

export const fetchHandler = defineHandler<FetchRequest, FetchResponse>({
  apiKey: 1,
  minVersion: 4,
  maxVersion: 18,
  async handle(request, context) {
    const { broker, apiVersion } = context;
    let plan;
    try {
      plan = planFetch(request, context);
    } catch (error) {
      if (error instanceof KafkaError) return emptyFetchResponse(error.kafkaCode);
      throw error;
    }
    const { targets, session, incremental } = plan;
    const responseMaxBytes = Math.min(request.maxBytes ?? 0x7fffffff, broker.config.fetchMaxBytes);
    const deadline = broker.now() + Math.max(0, request.maxWaitMs);
    const readCommitted = request.isolationLevel === READ_COMMITTED;
    let shuttingDown = false;
    void context.connection.draining?.then(() => (shuttingDown = true));
    let results = await readTargets(targets, responseMaxBytes, readCommitted);
    while (bytesOf(results) < request.minBytes && !hasError(results) && !shuttingDown) {
      const remaining = deadline - broker.now();
      if (remaining <= 0) break;
      for (const result of results) result.records?.release();
      const logs = targets.map((target) => target.log).filter((log): log is PartitionLog => log !== undefined);
      await waitForAppend(context, logs, remaining);
      if (!context.connection.isOpen) return emptyFetchResponse(ErrorCode.NONE);
      results = await readTargets(targets, responseMaxBytes, readCommitted);
    }

    const byTopic: FetchResponseFetchableTopicResponse[] = [];
    for (const result of results) {
      const { target } = result;
      const log = target.log;
      const highWatermark = log?.highWatermark ?? -1n;
      const lastStableOffset = log?.lastStableOffset ?? -1n;
      const logStartOffset = log?.logStartOffset ?? -1n;
      const entry = target.session;
      if (incremental && entry !== undefined && result.errorCode === ErrorCode.NONE && result.records === null) {
        const unchanged =
          entry.lastHighWatermark === highWatermark &&
          entry.lastLogStartOffset === logStartOffset &&
          entry.lastStableOffset === lastStableOffset;
        if (unchanged) continue;
      }
      if (entry !== undefined) {
        entry.lastHighWatermark = highWatermark;
        entry.lastLogStartOffset = logStartOffset;
        entry.lastStableOffset = lastStableOffset;
      }
      const partition: FetchResponsePartitionData = {
        partitionIndex: target.partition,
        errorCode: result.errorCode,
        highWatermark,
        lastStableOffset,
        logStartOffset,
        abortedTransactions:
          readCommitted && result.errorCode === ErrorCode.NONE
            ? result.records === null || log === undefined
              ? []
              : log.abortedTransactions(target.fetchOffset, result.records.lastOffset + 1n).map((txn) => ({ producerId: txn.producerId, firstOffset: txn.firstOffset }))
            : null,
        preferredReadReplica: -1,
        records: result.records ?? Buffer.alloc(0),
      };
      const last = byTopic[byTopic.length - 1];
      const sameTopic = last !== undefined && (apiVersion >= 13 ? last.topicId!.equals(target.topicId) : last.topic === target.topic);
      if (sameTopic) last.partitions.push(partition);
      else byTopic.push({ topic: target.topic, topicId: target.topicId, partitions: [partition] });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: session?.id ?? 0, responses: byTopic };
  },
});
