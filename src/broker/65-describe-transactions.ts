// DescribeTransactions, v0: state, timeout, start time, producer and partitions of each
// transactional ID; unknown IDs answer TRANSACTIONAL_ID_NOT_FOUND; IDs another broker
// coordinates NOT_COORDINATOR (COORDINATOR_LOAD_IN_PROGRESS while this one loads them).

import { ErrorCode } from '../protocol/errors.js';
import { type DescribeTransactionsRequest, type DescribeTransactionsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { transactionalIdResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const describeTransactionsHandler = defineHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>({
  apiKey: 65,
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    return {
      throttleTimeMs: 0,
      transactionStates: request.transactionalIds.map((transactionalId) => {
        const metadata = context.broker.transactions.get(transactionalId);
        if (!context.authorize(AclOperation.DESCRIBE, transactionalIdResource(transactionalId))) {
          return {
            errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            transactionalId,
            transactionState: '',
            transactionTimeoutMs: 0,
            transactionStartTimeMs: -1n,
            producerId: -1n,
            producerEpoch: -1,
            topics: [],
          };
        }
        const coordinator = context.broker.transactions.coordinatorError(transactionalId);
        if (metadata === undefined || coordinator !== ErrorCode.NONE) {
          return {
            errorCode: coordinator !== ErrorCode.NONE ? coordinator : ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
            transactionalId,
            transactionState: '',
            transactionTimeoutMs: 0,
            transactionStartTimeMs: -1n,
            producerId: -1n,
            producerEpoch: -1,
            topics: [],
          };
        }
        return {
          errorCode: ErrorCode.NONE,
          transactionalId,
          transactionState: metadata.state,
          transactionTimeoutMs: metadata.timeoutMs,
          transactionStartTimeMs: BigInt(metadata.startMs),
          producerId: metadata.producerId,
          producerEpoch: metadata.producerEpoch,
          topics: metadata.partitionList().map((t) => ({ topic: t.topic, partitions: t.partitions })),
        };
      }),
    };
  },
});
