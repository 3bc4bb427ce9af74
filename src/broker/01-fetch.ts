// Fetch, v4-18. Long polls are woken by appends to the fetched partitions (or the max wait,
// or the connection closing), never by polling. min_bytes, max_bytes (also capped by the
// broker's fetch.max.bytes) and partition_max_bytes follow KIP-74: the first batch of the
// first non-empty partition is returned whole even when larger than the limits. Fetch
// sessions follow KIP-227 (full and incremental). Topics by ID from v13 (KIP-516).
// read_committed (isolation 1) stops at the last stable offset and lists the aborted
// transactions overlapping the returned batches, so clients can drop their records.
// Reads go through the replica layer: only the leader serves, at the request's
// current_leader_epoch (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH otherwise), and
// NOT_LEADER_OR_FOLLOWER answers carry the current leader (v12+) and its endpoint (v16+,
// KIP-951). Consumers read up to the high watermark; follower fetches (replica_id before v15,
// ReplicaState from v15) read up to the log end and report the follower's log end to the
// leader, which may advance the high watermark and grow the ISR.
// Differences from Kafka: no preferred read replica (KIP-392), no diverging-epoch answers.

import { AclOperation } from '../security/acls.js';
import { topicResource } from '../security/security-manager.js';
import { type PartitionLog } from '../log/partition-log.js';
import { type LogRecords } from '../log/log-records.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type FetchRequest, type FetchResponse, type FetchResponseFetchableTopicResponse, type FetchResponsePartitionData } from '../protocol/generated/index.js';
import { defineHandler, type RequestContext } from './api-handler.js';
import { FetchSession, FINAL_EPOCH, INITIAL_EPOCH, type SessionPartition } from './fetch-sessions.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { type Partition } from '../cluster/partition.js';
import { NotLeaderError } from '../cluster/replica-manager.js';
import { type BrokerState } from './broker-state.js';

const READ_COMMITTED = 1;

interface FetchTarget {
  readonly topic: string;
  readonly topicId: Buffer;
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly maxBytes: number;
  readonly log: PartitionLog | undefined;
  readonly replica?: Partition | undefined;
  /** An error decided before reading (unknown topic ID, not the leader, ...). */
  readonly errorCode: number;
  /** The current leader, for a NOT_LEADER_OR_FOLLOWER answer (KIP-951). */
  readonly leader?: { leaderId: number; leaderEpoch: number };
  readonly session?: SessionPartition;
}

interface ReadResult {
  readonly target: FetchTarget;
  errorCode: number;
  records: LogRecords | null;
  /** Held back by leader.replication.throttled.rate: answered without records. */
  throttled?: boolean;
}

function emptyFetchResponse(errorCode: number, sessionId = 0): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId, responses: [] };
}

/** A topic the principal may not READ (Kafka answers this before looking at the partition). */
const DENIED = { log: undefined, replica: undefined, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED } as const;

/** The replica layer's verdict on reading one partition here. */
function resolvePartition(broker: BrokerState, topic: string, index: number, currentLeaderEpoch: number, topicKnown: boolean, byId: boolean) {
  if (!topicKnown) return { log: undefined, replica: undefined, errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  try {
    const replica = broker.replicas.leaderPartition(topic, index, currentLeaderEpoch);
    return { log: replica.log, replica, errorCode: ErrorCode.NONE };
  } catch (error) {
    if (!(error instanceof KafkaError)) throw error;
    const leader = error instanceof NotLeaderError ? { leaderId: error.leaderId, leaderEpoch: error.leaderEpoch } : undefined;
    return { log: undefined, replica: undefined, errorCode: error.kafkaCode, ...(leader !== undefined ? { leader } : {}) };
  }
}

/** Resolves the request (and its session) to the ordered partitions to read. */
function planFetch(request: FetchRequest, context: RequestContext): { targets: FetchTarget[]; session: FetchSession | undefined; incremental: boolean } {
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
  // A consumer needs READ on each topic (TOPIC_AUTHORIZATION_FAILED per partition otherwise).
  const readable = (name: string) => context.authorize(AclOperation.READ, topicResource(name));
  const requested: FetchTarget[] = [];
  for (const wanted of request.topics) {
    const { name, id, topic } = resolve(wanted.topic, wanted.topicId);
    const denied = topic !== undefined && !readable(topic.name);
    for (const partition of wanted.partitions) {
      requested.push({
        topic: name,
        topicId: id,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        maxBytes: partition.partitionMaxBytes,
        ...(denied ? DENIED : resolvePartition(broker, name, partition.partition, partition.currentLeaderEpoch ?? -1, topic !== undefined, byId)),
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
    const topicKnown = broker.logs.topic(entry.topic) !== undefined;
    const resolved = topicKnown && !readable(entry.topic) ? DENIED : resolvePartition(broker, entry.topic, entry.partition, -1, topicKnown, byId);
    targets.push({
      topic: entry.topic,
      topicId: entry.topicId,
      partition: entry.partition,
      fetchOffset: entry.fetchOffset,
      maxBytes: entry.maxBytes,
      ...resolved,
      errorCode: resolved.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && byId ? ErrorCode.UNKNOWN_TOPIC_ID : resolved.errorCode,
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

/**
 * Reads every target, then keeps what fits the response limit, in order. A read the log can
 * do at once (the active segment, in the page cache) is done here; the others run in
 * parallel on worker threads. No promise or closure is made for a read done at once: a
 * fetch of 8 partitions near the log end left about 9 KB of such garbage (bench/micro).
 */
async function readTargets(
  targets: readonly FetchTarget[],
  responseMaxBytes: number,
  readCommitted: boolean,
  follower: boolean,
  throttled?: (target: FetchTarget) => boolean,
): Promise<ReadResult[]> {
  const results: ReadResult[] = new Array<ReadResult>(targets.length);
  let pending: Array<Promise<void>> | undefined;
  for (let i = 0; i < targets.length; i++) {
    const target = targets[i]!;
    const result: ReadResult = { target, errorCode: ErrorCode.NONE, records: null, throttled: false };
    results[i] = result;
    const log = target.log;
    if (target.errorCode !== ErrorCode.NONE || log === undefined) {
      result.errorCode = target.errorCode === ErrorCode.NONE ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : target.errorCode;
      continue;
    }
    if (throttled?.(target) === true) {
      result.throttled = true;
      continue;
    }
    // read_committed readers stop at the last stable offset: nothing of an open transaction;
    // other consumers at the high watermark; followers read to the log end.
    const limit = follower ? undefined : readCommitted ? log.lastStableOffset : log.highWatermark < log.logEndOffset ? log.highWatermark : undefined;
    if (limit !== undefined && target.fetchOffset >= limit && target.fetchOffset <= log.logEndOffset) continue;
    const maxBytes = Math.max(0, Math.min(target.maxBytes, responseMaxBytes));
    try {
      const records = log.readNow(target.fetchOffset, maxBytes, true);
      if (records !== undefined) {
        keepRead(result, records, limit);
        continue;
      }
    } catch (error) {
      result.errorCode = readError(error);
      continue;
    }
    (pending ??= []).push(
      log.read(target.fetchOffset, maxBytes, true).then(
        (records) => keepRead(result, records, limit),
        (error: unknown) => void (result.errorCode = readError(error)),
      ),
    );
  }
  if (pending !== undefined) await Promise.all(pending);
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

/** Keeps what a read returned, cut at `limit` (nothing when no whole batch is below it). */
function keepRead(result: ReadResult, records: LogRecords | null, limit: bigint | undefined): void {
  if (records !== null && limit !== undefined && !records.truncateBefore(limit)) {
    records.release();
    return;
  }
  result.records = records;
}

/** The partition's error code for a failed read; anything but a KafkaError fails the request. */
function readError(error: unknown): number {
  if (error instanceof KafkaError) return error.kafkaCode;
  throw error;
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
    const connection = context.connection;
    if (connection.onStop !== undefined) unsubscribes.push(connection.onStop(done));
    else {
      void connection.closed.then(done);
      void connection.draining?.then(done);
    }
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
    const replicaId = apiVersion >= 15 ? (request.replicaState?.replicaId ?? -1) : (request.replicaId ?? -1);
    const follower = replicaId >= 0;
    if (follower) {
      for (const [index, target] of targets.entries()) {
        if (target.replica === undefined) continue;
        // Kafka refuses follower fetches from brokers that hold no replica of the partition.
        if (!target.replica.state.replicas.includes(replicaId)) {
          targets[index] = { ...target, log: undefined, replica: undefined, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
          continue;
        }
        // The fetch offset is the follower's log end: it may move the high watermark and the ISR.
        target.replica.recordFollowerFetch(replicaId, target.fetchOffset, broker.now());
      }
    }
    // A connection without the stopping flag (the HTTP gateway's) is watched through its promise.
    let shuttingDown = false;
    if (context.connection.stopping === undefined) void context.connection.draining?.then(() => (shuttingDown = true));
    const stopping = () => shuttingDown || context.connection.stopping === true;
    // leader.replication.throttled.rate (Kafka's ReplicationQuotaManager): an out-of-ISR follower of a listed replica gets nothing while the rate is over.
    const quota = broker.replicas.quotas.leader;
    const throttled =
      follower && quota.rate !== undefined
        ? (target: FetchTarget) => target.replica !== undefined && quota.shouldThrottle(target.topic, target.partition, target.replica.state.isr.includes(replicaId), broker.now())
        : undefined;
    let results = await readTargets(targets, responseMaxBytes, readCommitted, follower, throttled);
    while (bytesOf(results) < request.minBytes && !hasError(results) && !stopping()) {
      let remaining = deadline - broker.now();
      if (remaining <= 0) break;
      // A held-back replica is read again once the rate allows, not at the end of the wait.
      if (results.some((result) => result.throttled === true)) remaining = Math.min(remaining, Math.max(1, quota.msUntilAllowed(broker.now())));
      for (const result of results) result.records?.release();
      const logs = targets.map((target) => target.log).filter((log): log is PartitionLog => log !== undefined);
      const parkedAt = performance.now();
      await waitForAppend(context, logs, remaining);
      context.remoteMs = (context.remoteMs ?? 0) + (performance.now() - parkedAt);
      if (!context.connection.isOpen) return emptyFetchResponse(ErrorCode.NONE);
      results = await readTargets(targets, responseMaxBytes, readCommitted, follower, throttled);
    }
    if (throttled !== undefined) for (const result of results) quota.record(result.target.topic, result.target.partition, result.records?.byteLength ?? 0, broker.now());

    const byTopic: FetchResponseFetchableTopicResponse[] = [];
    const leaders = new Set<number>();
    for (const result of results) {
      const { target } = result;
      const log = target.log;
      const highWatermark = log?.highWatermark ?? -1n;
      const lastStableOffset = log?.lastStableOffset ?? -1n;
      const logStartOffset = log?.logStartOffset ?? -1n;
      const entry = target.session;
      if (incremental && entry !== undefined && result.errorCode === ErrorCode.NONE && result.records === null) {
        const unchanged = entry.lastHighWatermark === highWatermark && entry.lastLogStartOffset === logStartOffset && entry.lastStableOffset === lastStableOffset;
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
      if (target.leader !== undefined && result.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER && apiVersion >= 12) {
        partition.currentLeader = target.leader;
        if (target.leader.leaderId >= 0) leaders.add(target.leader.leaderId);
      }
      const last = byTopic[byTopic.length - 1];
      const sameTopic = last !== undefined && (apiVersion >= 13 ? last.topicId!.equals(target.topicId) : last.topic === target.topic);
      if (sameTopic) last.partitions.push(partition);
      else byTopic.push({ topic: target.topic, topicId: target.topicId, partitions: [partition] });
    }
    const response: FetchResponse = { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: session?.id ?? 0, responses: byTopic };
    if (apiVersion >= 16 && leaders.size > 0) {
      response.nodeEndpoints = [...leaders].flatMap((nodeId) => {
        const endpoint = broker.replicas.metadata.endpoint(nodeId);
        return endpoint === undefined ? [] : [{ nodeId, host: endpoint.host, port: endpoint.port, rack: broker.replicas.metadata.broker(nodeId)?.rack ?? null }];
      });
    }
    return response;
  },
});
