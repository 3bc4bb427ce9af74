// Produce, v3-13, advertised from v0 like Kafka 4.x (older librdkafka checks that v0 is
// listed before it enables compression); v0-2 requests are still refused (KAFKA-18659). acks 0, 1 and -1/all; with one replica, 1 and all
// are both satisfied once the batch is in the log. Topics by name, or by ID from v13
// (KIP-516). An error under acks=0 closes the connection, as Kafka does, since there is no
// response to carry it. Transactional produce arrives with the transaction coordinator.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import {
  type ProduceRequest,
  type ProduceResponse,
  type ProduceResponsePartitionProduceResponse,
} from '../protocol/generated/index.js';
import { CloseConnection } from '../server/dispatcher.js';
import { defineHandler, NO_RESPONSE } from './api-handler.js';

const ZERO_UUID = Buffer.alloc(16);

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
    let firstError: string | undefined;

    const responses = request.topicData.map((topicData) => {
      const topic = byId ? broker.logs.topicById(topicData.topicId ?? ZERO_UUID) : broker.logs.topic(topicData.name ?? '');
      const partitionResponses = topicData.partitionData.map((data) => {
        let result: ProduceResponsePartitionProduceResponse;
        if (!validAcks) {
          result = partitionError(data.index, ErrorCode.INVALID_REQUIRED_ACKS, `Invalid acks ${acks}: use -1, 0 or 1`);
        } else if (request.transactionalId !== null && request.transactionalId !== undefined) {
          result = partitionError(data.index, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, 'Transactions are not supported yet');
        } else if (topic === undefined) {
          result = partitionError(data.index, byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
        } else {
          const log = topic.partitions[data.index];
          if (log === undefined) {
            result = partitionError(data.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
          } else if (data.records === null || !Buffer.isBuffer(data.records)) {
            result = partitionError(data.index, ErrorCode.CORRUPT_MESSAGE, 'No records');
          } else {
            try {
              const appended = log.append(data.records, now);
              result = {
                index: data.index,
                errorCode: ErrorCode.NONE,
                baseOffset: appended.baseOffset,
                logAppendTimeMs: appended.logAppendTime,
                logStartOffset: appended.logStartOffset,
                recordErrors: [],
                errorMessage: null,
              };
            } catch (error) {
              if (!(error instanceof KafkaError)) throw error;
              result = partitionError(data.index, error.kafkaCode, error.message);
            }
          }
        }
        if (result.errorCode !== ErrorCode.NONE) firstError ??= `${topicData.name ?? 'topic id'}-${data.index}: error ${result.errorCode} ${result.errorMessage ?? ''}`;
        return result;
      });
      return { name: topicData.name ?? '', topicId: topicData.topicId ?? ZERO_UUID, partitionResponses };
    });

    if (acks === 0) {
      if (firstError !== undefined) throw new CloseConnection(`acks=0 produce failed: ${firstError}`);
      return NO_RESPONSE;
    }
    return { responses, throttleTimeMs: 0 };
  },
});
