// OffsetForLeaderEpoch, v2-4: answered by the partition's leader from its leader-epoch cache
// (the latest epoch ends at the log end, an older one where the next begins, an unknown
// newer one is UNDEFINED -1/-1, as Kafka's LeaderEpochFileCache). The request's
// currentLeaderEpoch is checked like Fetch's (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH),
// and a broker that does not lead answers NOT_LEADER_OR_FOLLOWER. On a single node every
// partition is in epoch 0 from its log start.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { topicResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const offsetForLeaderEpochHandler = defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  apiKey: 23,
  minVersion: 2,
  maxVersion: 4,
  handle(request, context) {
    const { broker } = context;
    const topics = request.topics.map((wanted) => {
      return {
        topic: wanted.topic,
        partitions: wanted.partitions.map(({ partition, currentLeaderEpoch, leaderEpoch }) => {
          const answer = (errorCode: number, epoch: number, endOffset: bigint) => ({ errorCode, partition, leaderEpoch: epoch, endOffset });
          if (!context.authorize(AclOperation.DESCRIBE, topicResource(wanted.topic))) return answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1, -1n);
          try {
            const replica = broker.replicas.leaderPartition(wanted.topic, partition, currentLeaderEpoch);
            const found = replica.epochs.endOffsetFor(leaderEpoch, replica.log.logEndOffset);
            return answer(ErrorCode.NONE, found.epoch, found.endOffset);
          } catch (error) {
            if (!(error instanceof KafkaError)) throw error;
            return answer(error.kafkaCode, -1, -1n);
          }
        }),
      };
    });
    return { throttleTimeMs: 0, topics };
  },
});
