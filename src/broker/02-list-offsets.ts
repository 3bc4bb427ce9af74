// ListOffsets, v1-11: earliest (-2), latest (-1; the LSO under read_committed), max
// timestamp (-3, v7+), earliest local (-4, v8+, the log start here), latest tiered (-5) and
// earliest pending upload (-6), which answer -1 without tiered storage as Kafka does, and
// lookups by timestamp through the time index.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type ListOffsetsRequest, type ListOffsetsResponse, type ListOffsetsResponseListOffsetsPartitionResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { topicResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

const EARLIEST = -2n;
const LATEST = -1n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;
const EARLIEST_PENDING_UPLOAD = -6n;
const READ_COMMITTED = 1;

export const listOffsetsHandler = defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
  apiKey: 2,
  minVersion: 1,
  maxVersion: 11,
  async handle(request, context) {
    const { broker } = context;
    const topics = await Promise.all(
      request.topics.map(async (wanted) => {
        const partitions = await Promise.all(
          wanted.partitions.map(async (partition): Promise<ListOffsetsResponseListOffsetsPartitionResponse> => {
            if (!context.authorize(AclOperation.DESCRIBE, topicResource(wanted.name))) {
              return { partitionIndex: partition.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
            }
            let replica;
            try {
              replica = broker.replicas.leaderPartition(wanted.name, partition.partitionIndex, partition.currentLeaderEpoch ?? -1);
            } catch (error) {
              if (!(error instanceof KafkaError)) throw error;
              return { partitionIndex: partition.partitionIndex, errorCode: error.kafkaCode, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
            }
            const answer = (errorCode: number, offset = -1n, timestamp = -1n) => ({
              partitionIndex: partition.partitionIndex,
              errorCode,
              timestamp,
              offset,
              leaderEpoch: errorCode === ErrorCode.NONE ? replica.leaderEpoch : -1,
            });
            const log = replica.log;
            switch (partition.timestamp) {
              case EARLIEST:
              case EARLIEST_LOCAL:
                return answer(ErrorCode.NONE, log.logStartOffset);
              case LATEST:
                return answer(ErrorCode.NONE, request.isolationLevel === READ_COMMITTED ? log.lastStableOffset : log.highWatermark);
              case MAX_TIMESTAMP: {
                const max = await log.firstOffsetOfMaxTimestamp();
                return answer(ErrorCode.NONE, max.offset, max.timestamp);
              }
              case LATEST_TIERED:
              case EARLIEST_PENDING_UPLOAD:
                return answer(ErrorCode.NONE);
              default: {
                if (partition.timestamp < 0n) return answer(ErrorCode.INVALID_REQUEST);
                const found = await log.offsetForTimestamp(partition.timestamp);
                return found === null ? answer(ErrorCode.NONE) : answer(ErrorCode.NONE, found.offset, found.timestamp);
              }
            }
          }),
        );
        return { name: wanted.name, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
