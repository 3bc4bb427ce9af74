// Produce, v3-13, advertised from v0 like Kafka 4.x (older librdkafka checks that v0 is
// listed before it enables compression); v0-2 requests are still refused (KAFKA-18659).
// acks 0, 1 and -1/all, through the replica layer: acks=all checks min.insync.replicas
// (NOT_ENOUGH_REPLICAS) and answers once the high watermark passes the batch (at once with
// one in-sync replica), or REQUEST_TIMED_OUT after timeout_ms. NOT_LEADER_OR_FOLLOWER
// answers carry the current leader and its endpoint from v10 (KIP-951). Topics by name, or by ID from v13
// (KIP-516). An error under acks=0 closes the connection, as Kafka does, since there is no
// response to carry it. Transactional writes are checked against the producer's ongoing
// transaction (KIP-890 part 1): a partition not added to it answers INVALID_TXN_STATE, except
// from v12 with transactions v2 (KIP-890 part 2), where the write adds it to the transaction;
// in a cluster the transaction coordinator may be another broker, asked with AddPartitionsToTxn
// (its retriable errors answer NOT_ENOUGH_REPLICAS, as Kafka does).
// Internal topics refuse client writes (INVALID_TOPIC_EXCEPTION), as in Kafka. Partitions
// whose batches go through the compression workers answer once those are done; the
// response keeps the request's order.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type ProduceRequest, type ProduceResponse, type ProduceResponsePartitionProduceResponse } from '../protocol/generated/index.js';
import { CloseConnection } from '../server/dispatcher.js';
import { type AppendResult } from '../log/partition-log.js';
import { type Topic } from '../log/log-manager.js';
import { defineHandler, NO_RESPONSE, type RequestContext } from './api-handler.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { AclOperation } from '../security/acls.js';
import { topicResource, transactionalIdResource } from '../security/security-manager.js';
import { NotLeaderError } from '../cluster/replica-manager.js';
import { produceVerificationError } from '../txn/transaction-verifier.js';

function partitionError(index: number, errorCode: number, errorMessage: string | null): ProduceResponsePartitionProduceResponse {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage };
}

export const produceHandler = defineHandler<ProduceRequest, ProduceResponse>({
  apiKey: 0,
  advertisedMinVersion: 0,
  minVersion: 3,
  maxVersion: 13,
  handle(request, context) {
    const { broker, apiVersion } = context;
    const byId = apiVersion >= 13;
    const acks = request.acks;
    const validAcks = acks === 0 || acks === 1 || acks === -1;
    const now = broker.now();

    let pending = false;
    // Kafka: a transactional write needs WRITE on the transactional ID, every write WRITE on its topic.
    const transactionDenied = request.transactionalId != null && !context.authorize(AclOperation.WRITE, transactionalIdResource(request.transactionalId));
    /** Leaders named in NOT_LEADER_OR_FOLLOWER answers, listed in node_endpoints (v10+). */
    const leaders = new Set<number>();
    const responses = request.topicData.map((topicData) => {
      const topic = byId ? broker.logs.topicById(topicData.topicId ?? ZERO_UUID) : broker.logs.topic(topicData.name ?? '');
      const topicDenied = !context.authorize(AclOperation.WRITE, topicResource(topic?.name ?? topicData.name ?? ''));
      const partitionResponses = topicData.partitionData.map((data): PartitionResult => {
        if (!validAcks) return partitionError(data.index, ErrorCode.INVALID_REQUIRED_ACKS, `Invalid acks ${acks}: use -1, 0 or 1`);
        if (transactionDenied) return partitionError(data.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, null);
        if (topicDenied) return partitionError(data.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED, null);
        if (topic === undefined) return partitionError(data.index, byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
        const transactionalId = request.transactionalId;
        let verified: number | Promise<number> = ErrorCode.NONE;
        if (transactionalId !== null && transactionalId !== undefined && Buffer.isBuffer(data.records) && data.records.length >= 61) {
          // KIP-890 part 1: a transactional write must belong to the producer's ongoing
          // transaction on this partition; the batch header names the producer and epoch. The
          // transaction coordinator answers (this broker in the same turn, or another one).
          // Transactions v2 (KIP-890 part 2): a v12+ producer does not send AddPartitionsToTxn;
          // its first write to a partition adds the partition to its transaction.
          const producerId = data.records.readBigInt64BE(43);
          const producerEpoch = data.records.readInt16BE(51);
          const add = apiVersion >= 12 && broker.features.level('transaction.version') >= 2;
          verified = broker.transactionVerifier.verify(transactionalId, producerId, producerEpoch, topic.name, data.index, add);
        }
        if (verified instanceof Promise) {
          pending = true;
          const known = topic;
          return verified.then((code) =>
            code === ErrorCode.NONE
              ? appendPartition(context, known, data, acks, request.timeoutMs, now, leaders)
              : verificationRefused(known.name, data.index, transactionalId!, code, apiVersion),
          );
        }
        if (verified !== ErrorCode.NONE) return verificationRefused(topic.name, data.index, transactionalId!, verified, apiVersion);
        const result = appendPartition(context, topic, data, acks, request.timeoutMs, now, leaders);
        if (result instanceof Promise) pending = true;
        return result;
      });
      return { name: topicData.name ?? '', topicId: topicData.topicId ?? ZERO_UUID, partitionResponses };
    });

    const finish = (settled: ProduceResponse['responses']): ProduceResponse | typeof NO_RESPONSE => {
      if (acks === 0) {
        for (const topic of settled) {
          for (const result of topic.partitionResponses) {
            if (result.errorCode !== ErrorCode.NONE) {
              throw new CloseConnection(`acks=0 produce failed: ${topic.name || 'topic id'}-${result.index}: error ${result.errorCode} ${result.errorMessage ?? ''}`);
            }
          }
        }
        return NO_RESPONSE;
      }
      const response: ProduceResponse = { responses: settled, throttleTimeMs: 0 };
      if (apiVersion >= 10 && leaders.size > 0) {
        response.nodeEndpoints = [...leaders].flatMap((nodeId) => {
          const endpoint = broker.replicas.metadata.endpoint(nodeId);
          return endpoint === undefined ? [] : [{ nodeId, host: endpoint.host, port: endpoint.port, rack: broker.replicas.metadata.broker(nodeId)?.rack ?? null }];
        });
      }
      return response;
    };
    if (!pending) return finish(responses as ProduceResponse['responses']);
    // acks=all waits for the followers: Kafka's RemoteTimeMs (a recompression on the worker pool counts there too).
    const parkedAt = acks === -1 ? performance.now() : 0;
    return Promise.all(responses.map(async (topic) => ({ ...topic, partitionResponses: await Promise.all(topic.partitionResponses) }))).then((settled) => {
      if (acks === -1) context.remoteMs = (context.remoteMs ?? 0) + (performance.now() - parkedAt);
      return finish(settled);
    });
  },
});

type PartitionResult = ProduceResponsePartitionProduceResponse | Promise<ProduceResponsePartitionProduceResponse>;

/** One partition's append through the replica layer (after the transaction checks). */
function appendPartition(
  context: RequestContext,
  topic: Topic,
  data: ProduceRequest['topicData'][number]['partitionData'][number],
  acks: number,
  timeoutMs: number,
  now: number,
  leaders: Set<number>,
): PartitionResult {
  const { broker } = context;
  if (topic.internal) return partitionError(data.index, ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${topic.name}`);
  if (broker.replicas.partition(topic.name, data.index) === undefined) return partitionError(data.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
  if (data.records === null || !Buffer.isBuffer(data.records)) return partitionError(data.index, ErrorCode.CORRUPT_MESSAGE, 'No records');
  try {
    const appended = broker.replicas.appendRecords(topic, data.index, data.records, acks, timeoutMs, now);
    if (appended instanceof Promise) {
      return appended.then(
        (result) => partitionOk(data.index, result),
        (error: unknown) => appendFailed(data.index, error, leaders),
      );
    }
    return partitionOk(data.index, appended);
  } catch (error) {
    return appendFailed(data.index, error, leaders);
  }
}

function verificationRefused(topic: string, index: number, transactionalId: string, code: number, apiVersion: number): ProduceResponsePartitionProduceResponse {
  const message = code === ErrorCode.INVALID_TXN_STATE ? `Partition ${topic}-${index} is not part of an ongoing transaction of ${transactionalId}` : null;
  return partitionError(index, produceVerificationError(code, apiVersion), message);
}

function partitionOk(index: number, appended: AppendResult): ProduceResponsePartitionProduceResponse {
  return {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: appended.baseOffset,
    logAppendTimeMs: appended.logAppendTime,
    logStartOffset: appended.logStartOffset,
    recordErrors: [],
    errorMessage: null,
  };
}

function appendFailed(index: number, error: unknown, leaders: Set<number>): ProduceResponsePartitionProduceResponse {
  if (!(error instanceof KafkaError)) throw error;
  const answer = partitionError(index, error.kafkaCode, error.message);
  // KIP-467 (v8+; older versions do not carry the field): which records were at fault.
  answer.recordErrors = error.recordErrors.map((e) => ({ batchIndex: e.batchIndex, batchIndexErrorMessage: e.message }));
  if (error instanceof NotLeaderError && error.kafkaCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
    answer.currentLeader = { leaderId: error.leaderId, leaderEpoch: error.leaderEpoch };
    if (error.leaderId >= 0) leaders.add(error.leaderId);
  }
  return answer;
}
