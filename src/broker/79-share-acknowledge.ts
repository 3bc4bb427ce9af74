// ShareAcknowledge, v1-2 (KIP-932): a share group member acknowledges records it acquired
// (ACCEPT, RELEASE, REJECT, GAP; RENEW from v2 with IsRenewAck) without fetching more. It
// needs an open share session: epoch 0 answers INVALID_SHARE_SESSION_EPOCH, -1 applies the
// acknowledgements and closes the session (what the member still holds is released), other
// epochs must be the session's next. Offsets the member does not hold answer
// INVALID_RECORD_STATE for their partition; nothing of that partition is applied then. A
// partition this broker does not lead answers NOT_LEADER_OR_FOLLOWER with its leader
// (KIP-951); the others are answered once the share coordinator has their new state.

import { then } from '../cluster/maybe-async.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type ShareAcknowledgeRequest, type ShareAcknowledgeResponse } from '../protocol/generated/index.js';
import { applyAcknowledgements, leaderEndpoints, type AcknowledgedPartition } from '../share/share-requests.js';
import { CLOSE_EPOCH, OPEN_EPOCH, ShareSession } from '../share/share-sessions.js';
import { defineHandler } from './api-handler.js';

export const shareAcknowledgeHandler = defineHandler<ShareAcknowledgeRequest, ShareAcknowledgeResponse>({
  apiKey: 79,
  minVersion: 1,
  maxVersion: 2,
  handle(request, context) {
    const { broker } = context;
    const manager = broker.sharePartitions;
    const groupId = request.groupId ?? '';
    const memberId = request.memberId ?? '';
    const lockMs = manager.limits(groupId).lockDurationMs;
    const failed = (errorCode: number, errorMessage: string): ShareAcknowledgeResponse => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      acquisitionLockTimeoutMs: lockMs,
      responses: [],
      nodeEndpoints: [],
    });
    if (groupId === '') return failed(ErrorCode.INVALID_GROUP_ID, 'The group id is empty.');
    if (memberId === '') return failed(ErrorCode.INVALID_REQUEST, 'The member id is empty.');
    const epoch = request.shareSessionEpoch;
    if (epoch === OPEN_EPOCH) return failed(ErrorCode.INVALID_SHARE_SESSION_EPOCH, 'ShareAcknowledge cannot open a share session (epoch 0).');
    if (epoch !== CLOSE_EPOCH) {
      try {
        manager.sessions.lookup(groupId, memberId, epoch).advanceEpoch();
      } catch (error) {
        if (error instanceof KafkaError) return failed(error.kafkaCode, error.message);
        throw error;
      }
    }
    const acknowledged: AcknowledgedPartition[] = request.topics.flatMap((topic) =>
      topic.partitions.map((partition) => ({ topicId: topic.topicId, partition: partition.partitionIndex, batches: partition.acknowledgementBatches })),
    );
    // Answered once the share coordinator has the new state: synchronously on a single node.
    return then(applyAcknowledgements(broker, groupId, memberId, acknowledged, request.isRenewAck === true, broker.now()), (outcomes): ShareAcknowledgeResponse => {
      if (epoch === CLOSE_EPOCH) {
        const closed = manager.sessions.remove(groupId, memberId);
        if (closed !== undefined) manager.sessionRemoved(closed);
      }
      const leaders = new Set<number>();
      const responses = request.topics.map((topic) => ({
        topicId: topic.topicId,
        partitions: topic.partitions.map((partition) => {
          const outcome = outcomes.get(ShareSession.partitionKey(topic.topicId, partition.partitionIndex));
          const leader = outcome?.leader ?? { leaderId: -1, leaderEpoch: -1 };
          if (leader.leaderId >= 0 && leader.leaderId !== broker.nodeId) leaders.add(leader.leaderId);
          return { partitionIndex: partition.partitionIndex, errorCode: outcome?.errorCode ?? ErrorCode.NONE, errorMessage: outcome?.errorMessage ?? null, currentLeader: leader };
        }),
      }));
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        acquisitionLockTimeoutMs: lockMs,
        responses,
        nodeEndpoints: leaderEndpoints(broker, leaders, context.connection.security.listener.name),
      };
    });
  },
});
