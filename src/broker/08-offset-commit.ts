// OffsetCommit, v2-10: commits by a group member (generation and member ID checked, Kafka's
// errors) or by a standalone consumer (generation -1, empty member ID, only while the
// group has no members). In a KIP-848 consumer group the field carries the member epoch
// (v9+): a stale one answers STALE_MEMBER_EPOCH, older versions UNSUPPORTED_VERSION.
// Topics by ID from v10. Offsets go to __consumer_offsets before the answer.
// RetentionTimeMs (v2-4) is ignored, as Kafka 4.x ignores it. Only the group's coordinator
// answers (NOT_COORDINATOR elsewhere, COORDINATOR_LOAD_IN_PROGRESS while its partition of
// __consumer_offsets loads), once the offsets reached the in-sync replicas (at once on a
// single node); a write that does not within offsets.commit.timeout.ms answers
// COORDINATOR_NOT_AVAILABLE, one cut short by a leader change NOT_COORDINATOR.

import { ErrorCode } from '../protocol/errors.js';
import { type OffsetCommitRequest, type OffsetCommitResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource, topicResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';
import { ZERO_UUID } from '../protocol/primitives.js';

export const offsetCommitHandler = defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  apiKey: 8,
  minVersion: 2,
  maxVersion: 10,
  handle(request, context) {
    const { broker, apiVersion } = context;
    const byId = apiVersion >= 10;
    const resolved = request.topics.map((topic) => {
      const found = byId ? broker.replicas.metadata.topicInfoById(topic.topicId ?? ZERO_UUID) : broker.replicas.metadata.topicInfo(topic.name ?? '');
      const name = found?.name ?? topic.name ?? '';
      // Kafka: READ on the group, then READ on each topic committed to.
      const denied = !context.authorize(AclOperation.READ, topicResource(name));
      return { request: topic, name, known: found !== undefined && !denied, denied };
    });
    const coordinator = request.groupId === '' ? ErrorCode.NONE : broker.groups.coordinatorError(request.groupId);
    const validation = !context.authorize(AclOperation.READ, groupResource(request.groupId))
      ? ErrorCode.GROUP_AUTHORIZATION_FAILED
      : request.groupId === ''
        ? ErrorCode.INVALID_GROUP_ID
        : coordinator !== ErrorCode.NONE
          ? coordinator
          : broker.groups.validateCommit(request.groupId, request.generationIdOrMemberEpoch ?? -1, request.memberId ?? '', request.groupInstanceId ?? null, apiVersion);
    let codes: number[] | Promise<number[]> = [];
    if (validation === ErrorCode.NONE) {
      const offsets = resolved
        .filter((t) => t.known)
        .flatMap((t) =>
          t.request.partitions.map((p) => ({
            topic: t.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch ?? -1,
            metadata: p.committedMetadata,
          })),
        );
      codes = broker.groups.commitOffsets(request.groupId, offsets);
    }
    const respond = (codes: number[]): OffsetCommitResponse => {
      let next = 0;
      return {
        throttleTimeMs: 0,
        topics: resolved.map((t) => ({
          name: t.request.name ?? '',
          topicId: t.request.topicId ?? ZERO_UUID,
          partitions: t.request.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode:
              validation !== ErrorCode.NONE
                ? validation
                : t.denied
                  ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
                  : !t.known
                    ? byId
                      ? ErrorCode.UNKNOWN_TOPIC_ID
                      : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                    : codes[next++]!,
          })),
        })),
      };
    };
    // Answered once the commit reached the in-sync replicas: at once on a single node.
    return codes instanceof Promise ? codes.then(respond) : respond(codes);
  },
});
