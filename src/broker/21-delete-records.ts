// DeleteRecords, v0-2: moves each partition's log start offset (offset -1: the high
// watermark) and deletes the segments wholly below it; answers the new low watermark.
// An offset beyond the high watermark is OFFSET_OUT_OF_RANGE, and a topic whose
// cleanup.policy has no "delete" is POLICY_VIOLATION, as in Kafka.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type DeleteRecordsRequest, type DeleteRecordsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { topicResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const deleteRecordsHandler = defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
  apiKey: 21,
  minVersion: 0,
  maxVersion: 2,
  handle(request, context) {
    const { broker } = context;
    const topics = request.topics.map((wanted) => {
      return {
        name: wanted.name,
        partitions: wanted.partitions.map(({ partitionIndex, offset }) => {
          if (!context.authorize(AclOperation.DELETE, topicResource(wanted.name))) return { partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
          let log;
          try {
            log = broker.replicas.leaderPartition(wanted.name, partitionIndex).log;
          } catch (error) {
            if (!(error instanceof KafkaError)) throw error;
            return { partitionIndex, lowWatermark: -1n, errorCode: error.kafkaCode };
          }
          if (!log.logConfig.cleanupPolicy.includes('delete')) {
            return { partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.POLICY_VIOLATION };
          }
          try {
            return { partitionIndex, lowWatermark: log.deleteRecordsBefore(offset), errorCode: ErrorCode.NONE };
          } catch (error) {
            if (!(error instanceof KafkaError)) throw error;
            return { partitionIndex, lowWatermark: -1n, errorCode: error.kafkaCode };
          }
        }),
      };
    });
    return { throttleTimeMs: 0, topics };
  },
});
