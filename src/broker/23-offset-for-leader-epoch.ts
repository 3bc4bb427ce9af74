// OffsetForLeaderEpoch, v2-4: one node leads every partition in epoch 0 from offset 0
// (Metadata says so), so the end offset of epoch 0 is the log end offset. A
// currentLeaderEpoch above 0 is UNKNOWN_LEADER_EPOCH; a requested epoch above the latest
// answers UNDEFINED (-1, -1), as Kafka's LeaderEpochFileCache does.

import { ErrorCode } from '../protocol/errors.js';
import { type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { topicResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

const LEADER_EPOCH = 0;

export const offsetForLeaderEpochHandler = defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  apiKey: 23,
  minVersion: 2,
  maxVersion: 4,
  handle(request, context) {
    const { broker } = context;
    const topics = request.topics.map((wanted) => {
      const topic = broker.logs.topic(wanted.topic);
      return {
        topic: wanted.topic,
        partitions: wanted.partitions.map(({ partition, currentLeaderEpoch, leaderEpoch }) => {
          const answer = (errorCode: number, epoch: number, endOffset: bigint) => ({ errorCode, partition, leaderEpoch: epoch, endOffset });
          if (!context.authorize(AclOperation.DESCRIBE, topicResource(wanted.topic))) return answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1, -1n);
          const log = topic?.partitions[partition];
          if (log === undefined) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1n);
          if (currentLeaderEpoch > LEADER_EPOCH) return answer(ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1n);
          if (currentLeaderEpoch >= 0 && currentLeaderEpoch < LEADER_EPOCH) return answer(ErrorCode.FENCED_LEADER_EPOCH, -1, -1n);
          if (leaderEpoch === LEADER_EPOCH) return answer(ErrorCode.NONE, LEADER_EPOCH, log.logEndOffset);
          if (leaderEpoch < LEADER_EPOCH && leaderEpoch >= 0) return answer(ErrorCode.NONE, -1, log.logStartOffset);
          return answer(ErrorCode.NONE, -1, -1n);
        }),
      };
    });
    return { throttleTimeMs: 0, topics };
  },
});
