// What the five share-state APIs (83-87) have in common, as Kafka's KafkaApis and
// ShareCoordinatorService handle them: only brokers send them, so CLUSTER_ACTION on the
// cluster is required (CLUSTER_AUTHORIZATION_FAILED on every partition otherwise); a request
// with an empty group ID, no topics or a topic without partitions gets an empty answer;
// every partition is answered on its own by the share coordinator.

import { type RequestContext } from '../broker/api-handler.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { type SharePartitionId, type ShareStateResult } from './share-coordinator.js';

interface StateRequest<P> {
  readonly groupId: string;
  readonly topics: ReadonlyArray<{ readonly topicId: Buffer; readonly partitions: readonly P[] }>;
}

export type PartitionAnswer<R> = { partition: number; errorCode: number; errorMessage: string | null } & R;

/** Answers every partition of a share-state request with `answer` (or the authorization error, with `errorFields`). */
export async function answerSharePartitions<P extends { readonly partition: number }, R extends object>(
  context: RequestContext,
  request: StateRequest<P>,
  answer: (id: SharePartitionId, partition: P) => Promise<ShareStateResult & R>,
  errorFields: R = {} as R,
): Promise<Array<{ topicId: Buffer; partitions: Array<PartitionAnswer<R>> }>> {
  if (request.groupId === '' || request.topics.length === 0 || request.topics.some((topic) => topic.partitions.length === 0)) return [];
  const allowed = context.authorize(AclOperation.CLUSTER_ACTION, CLUSTER_RESOURCE);
  return Promise.all(
    request.topics.map(async (topic) => ({
      topicId: topic.topicId,
      partitions: await Promise.all(
        topic.partitions.map(async (partition): Promise<PartitionAnswer<R>> => {
          if (!allowed) return { ...errorFields, partition: partition.partition, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null };
          const result = await answer({ groupId: request.groupId, topicId: topic.topicId, partition: partition.partition }, partition);
          return { ...result, partition: partition.partition };
        }),
      ),
    })),
  );
}
