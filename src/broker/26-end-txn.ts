// EndTxn, v0-5: commit or abort the ongoing transaction (markers to every partition,
// pending transactional offsets applied or dropped). From v5 with transaction.version 2
// finalised (transactions v2, KIP-890 part 2) the epoch is bumped at every end and v5
// answers the new producer ID and epoch; otherwise -1, meaning "keep yours". The answer
// comes once the PrepareCommit / PrepareAbort state is replicated; the markers follow (on a
// single node in the same turn). Only the coordinator answers (NOT_COORDINATOR elsewhere).

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type EndTxnRequest, type EndTxnResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { transactionalIdResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const endTxnHandler = defineHandler<EndTxnRequest, EndTxnResponse>({
  apiKey: 26,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    if (!context.authorize(AclOperation.WRITE, transactionalIdResource(request.transactionalId))) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 };
    }
    try {
      const v2 = context.apiVersion >= 5 && context.broker.features.level('transaction.version') >= 2;
      const next = await context.broker.transactions.endTransaction(request.transactionalId, request.producerId, request.producerEpoch, request.committed, v2);
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: v2 ? next.producerId : -1n, producerEpoch: v2 ? next.producerEpoch : -1 };
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      const code = context.apiVersion < 2 && error.kafkaCode === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : error.kafkaCode;
      return { throttleTimeMs: 0, errorCode: code, producerId: -1n, producerEpoch: -1 };
    }
  },
});
