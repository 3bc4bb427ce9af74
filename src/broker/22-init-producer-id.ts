// InitProducerId, v0-5 (v6 is unstable in Kafka 4.3 and not advertised). Without a
// transactional ID: a fresh producer ID with epoch 0 (as in Kafka, even when the request names
// its previous ID). With one: the transaction coordinator's ID and a bumped epoch, which
// fences older instances and aborts what they left open; KIP-360 lets a producer that names
// its current ID and epoch recover by bumping it. Only the transactional ID's coordinator
// answers (NOT_COORDINATOR elsewhere, COORDINATOR_LOAD_IN_PROGRESS while it loads), once the
// new epoch is replicated; while an abort it started is completing, CONCURRENT_TRANSACTIONS.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type InitProducerIdRequest, type InitProducerIdResponse } from '../protocol/generated/index.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { CLUSTER_RESOURCE, transactionalIdResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const initProducerIdHandler = defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  apiKey: 22,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    const { broker } = context;
    if (request.transactionalId === null || request.transactionalId === undefined) {
      // KIP-679: an idempotent producer needs IDEMPOTENT_WRITE on the cluster, or WRITE on some topic.
      if (!context.authorize(AclOperation.IDEMPOTENT_WRITE, CLUSTER_RESOURCE) && !context.authorizeAny(AclOperation.WRITE, ResourceType.TOPIC)) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 };
      }
      try {
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: broker.producerIds.nextId(), producerEpoch: 0 };
      } catch (error) {
        // COORDINATOR_LOAD_IN_PROGRESS while a cluster's block of IDs is on its way.
        if (!(error instanceof KafkaError)) throw error;
        return { throttleTimeMs: 0, errorCode: error.kafkaCode, producerId: -1n, producerEpoch: -1 };
      }
    }
    if (!context.authorize(AclOperation.WRITE, transactionalIdResource(request.transactionalId))) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 };
    }
    try {
      const { producerId, producerEpoch } = await broker.transactions.initProducerId(
        request.transactionalId,
        request.transactionTimeoutMs,
        request.producerId ?? -1n,
        request.producerEpoch ?? -1,
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch };
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      // Clients before KIP-588 (v0-2) know the fencing error as INVALID_PRODUCER_EPOCH.
      const code = context.apiVersion < 3 && error.kafkaCode === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : error.kafkaCode;
      return { throttleTimeMs: 0, errorCode: code, producerId: -1n, producerEpoch: -1 };
    }
  },
});
