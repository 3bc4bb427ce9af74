// TxnOffsetCommit, v0-5: offsets committed inside a transaction. They are written to
// __consumer_offsets as part of the producer's transaction and become visible to OffsetFetch
// only when it commits; an abort drops them. From v3 the group member is checked like
// OffsetCommit (KIP-447), so a zombie from an older generation is refused. From v5 with
// transactions v2 the commit adds the group's partition to the transaction itself. Only the
// group's coordinator answers, after asking the transaction's coordinator (KIP-890
// verification, on whichever broker it is) and once the offsets are replicated.

import { ErrorCode } from '../protocol/errors.js';
import { type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource, topicResource, transactionalIdResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const txnOffsetCommitHandler = defineHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
  apiKey: 28,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    const { broker } = context;
    const answer = (codeFor: (topic: string, index: number) => number) => ({
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((p, index) => ({ partitionIndex: p.partitionIndex, errorCode: codeFor(topic.name, index) })),
      })),
    });
    // Kafka: WRITE on the transactional ID, READ on the group, READ on each topic.
    if (!context.authorize(AclOperation.WRITE, transactionalIdResource(request.transactionalId))) return answer(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (!context.authorize(AclOperation.READ, groupResource(request.groupId))) return answer(() => ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const deniedTopics = new Set(request.topics.map((topic) => topic.name).filter((name) => !context.authorize(AclOperation.READ, topicResource(name))));
    if (deniedTopics.size > 0) return answer((topic) => (deniedTopics.has(topic) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED));
    // Only the group's coordinator answers (NOT_COORDINATOR elsewhere, COORDINATOR_LOAD_IN_PROGRESS while it loads).
    const coordinator = broker.groups.coordinatorError(request.groupId);
    if (coordinator !== ErrorCode.NONE) return answer(() => coordinator);
    // KIP-890: the group's partition must be in the producer's ongoing transaction, which its
    // transaction coordinator (here or on another broker) confirms. Transactions v2 (KIP-890
    // part 2): a v5 producer does not send AddOffsetsToTxn; the commit adds the partition.
    const offsets = broker.groups.offsetsTopicPartition(request.groupId);
    const add = context.apiVersion >= 5 && broker.features.level('transaction.version') >= 2;
    let failure = txnOffsetCommitError(
      await broker.transactionVerifier.verify(request.transactionalId, request.producerId, request.producerEpoch, offsets.topic, offsets.partition, add),
    );
    // The group's shard may have moved while the transaction coordinator answered.
    if (failure === ErrorCode.NONE) failure = broker.groups.coordinatorError(request.groupId);
    if (failure === ErrorCode.NONE && context.apiVersion >= 3 && (request.generationId !== -1 || request.memberId !== '')) {
      failure = broker.groups.validateCommit(request.groupId, request.generationId ?? -1, request.memberId ?? '', request.groupInstanceId ?? null);
    }
    if (failure !== ErrorCode.NONE) return answer(() => failure);
    const codes = broker.groups.commitTransactionalOffsets(
      request.groupId,
      request.producerId,
      request.producerEpoch,
      request.topics.flatMap((topic) =>
        topic.partitions.map((p) => ({
          topic: topic.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch ?? -1,
          metadata: p.committedMetadata,
        })),
      ),
    );
    // Answered once the offsets reached the in-sync replicas of the group's partition.
    const written = await broker.groups.committed(request.groupId);
    if (written !== ErrorCode.NONE) return answer(() => written);
    let next = 0;
    return answer(() => codes[next++]!);
  },
});

/**
 * A failed verification as TxnOffsetCommit answers it: the transaction coordinator's
 * retriable errors become COORDINATOR_LOAD_IN_PROGRESS, which clients retry at once (Kafka's
 * GroupCoordinatorService does so for NETWORK_EXCEPTION); the rest pass through.
 */
function txnOffsetCommitError(code: number): number {
  switch (code) {
    case ErrorCode.NETWORK_EXCEPTION:
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
      return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    default:
      return code;
  }
}
