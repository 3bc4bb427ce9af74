// AddPartitionsToTxn, v0-5: the producer's form (v0-3, one transaction) adds partitions to
// the ongoing transaction; the batched form (v4+, KIP-890) either adds or, with verifyOnly,
// checks membership. All-or-nothing per transaction: when one partition is unknown, the
// others answer OPERATION_NOT_ATTEMPTED, as in Kafka. Only the transactional ID's coordinator
// answers (NOT_COORDINATOR per partition elsewhere), once the new state is replicated. The
// batched form is what a partition leader sends the coordinator to verify (or, for
// transactions v2, add) a transactional write (transaction-verifier.ts); it needs
// CLUSTER_ACTION on the cluster (CLUSTER_AUTHORIZATION_FAILED otherwise), as in Kafka.

import { ErrorCode } from '../protocol/errors.js';
import { type AddPartitionsToTxnRequest, type AddPartitionsToTxnResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE, topicResource, transactionalIdResource } from '../security/security-manager.js';
import { defineHandler, type RequestContext } from './api-handler.js';

type Topics = ReadonlyArray<{ name: string; partitions: number[] }>;

async function addOrVerify(context: RequestContext, transactionalId: string, producerId: bigint, producerEpoch: number, topics: Topics, verifyOnly: boolean) {
  const transactions = context.broker.transactions;
  const wanted = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
  // Kafka: WRITE on the transactional ID, then on every topic; with a topic denied, the
  // others answer OPERATION_NOT_ATTEMPTED and nothing is added. The batched form comes from
  // brokers, authorized as a whole (CLUSTER_ACTION) instead.
  const refusal =
    context.apiVersion >= 4
      ? undefined
      : authorizationRefusal(
          context,
          transactionalId,
          topics.map((t) => t.name),
        );
  if (refusal !== undefined) {
    return topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: refusal(t.name) })) }));
  }
  let codes: number[];
  if (verifyOnly) codes = transactions.verifyPartitions(transactionalId, producerId, producerEpoch, wanted);
  else {
    const byKey = await transactions.addPartitions(transactionalId, producerId, producerEpoch, wanted);
    codes = wanted.map((p) => byKey.get(`${p.topic}\u0000${p.partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR);
  }
  let next = 0;
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: codes[next++]! })),
  }));
}

function authorizationRefusal(context: RequestContext, transactionalId: string, topics: string[]): ((topic: string) => number) | undefined {
  if (!context.authorize(AclOperation.WRITE, transactionalIdResource(transactionalId))) return () => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  const denied = new Set(topics.filter((topic) => !context.authorize(AclOperation.WRITE, topicResource(topic))));
  if (denied.size === 0) return undefined;
  return (topic) => (denied.has(topic) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED);
}

export const addPartitionsToTxnHandler = defineHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
  apiKey: 24,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    if (context.apiVersion <= 3) {
      return {
        throttleTimeMs: 0,
        resultsByTopicV3AndBelow: await addOrVerify(
          context,
          request.v3AndBelowTransactionalId ?? '',
          request.v3AndBelowProducerId ?? -1n,
          request.v3AndBelowProducerEpoch ?? -1,
          request.v3AndBelowTopics ?? [],
          false,
        ),
      };
    }
    // v4+ is what a partition leader sends the coordinator (KIP-890): CLUSTER_ACTION on the cluster, as in Kafka.
    if (!context.authorize(AclOperation.CLUSTER_ACTION, CLUSTER_RESOURCE))
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [] };
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      resultsByTransaction: await Promise.all(
        (request.transactions ?? []).map(async (txn) => ({
          transactionalId: txn.transactionalId,
          topicResults: await addOrVerify(context, txn.transactionalId, txn.producerId, txn.producerEpoch, txn.topics, txn.verifyOnly),
        })),
      ),
    };
  },
});
