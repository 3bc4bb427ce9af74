// DescribeProducers, v0 (KIP-664): the idempotent producers each partition keeps state
// for, with their epoch, last sequence and last write time. Transactions are not
// supported yet, so coordinatorEpoch and currentTxnStartOffset are always -1.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type DescribeProducersRequest, type DescribeProducersResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { topicResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const describeProducersHandler = defineHandler<DescribeProducersRequest, DescribeProducersResponse>({
  apiKey: 61,
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const { broker } = context;
    const topics = request.topics.map((wanted) => {
      return {
        name: wanted.name,
        partitions: wanted.partitionIndexes.map((partitionIndex) => {
          if (!context.authorize(AclOperation.READ, topicResource(wanted.name)))
            return { partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, activeProducers: [] };
          let log;
          try {
            log = broker.replicas.leaderPartition(wanted.name, partitionIndex).log;
          } catch (error) {
            if (!(error instanceof KafkaError)) throw error;
            return { partitionIndex, errorCode: error.kafkaCode, errorMessage: null, activeProducers: [] };
          }
          return {
            partitionIndex,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            activeProducers: log.activeProducers().map((producer) => ({
              producerId: producer.producerId,
              producerEpoch: producer.producerEpoch,
              lastSequence: producer.lastSequence,
              lastTimestamp: BigInt(producer.lastTimestamp),
              coordinatorEpoch: -1,
              currentTxnStartOffset: -1n,
            })),
          };
        }),
      };
    });
    return { throttleTimeMs: 0, topics };
  },
});
