// AddOffsetsToTxn, v0-4: adds the group's __consumer_offsets partition to the transaction, so
// the offsets committed with TxnOffsetCommit follow the transaction's outcome. A fenced
// epoch is PRODUCER_FENCED from v2 and INVALID_PRODUCER_EPOCH below (KIP-588), as in Kafka.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type AddOffsetsToTxnRequest, type AddOffsetsToTxnResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource, transactionalIdResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const addOffsetsToTxnHandler = defineHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
  apiKey: 25,
  minVersion: 0,
  maxVersion: 4,
  async handle(request, context) {
    const { broker } = context;
    if (!context.authorize(AclOperation.WRITE, transactionalIdResource(request.transactionalId)))
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    if (!context.authorize(AclOperation.READ, groupResource(request.groupId))) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    if (request.groupId === '') return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_GROUP_ID };
    try {
      const { topic, partition } = broker.groups.offsetsTopicPartition(request.groupId);
      const codes = await broker.transactions.addPartitions(request.transactionalId, request.producerId, request.producerEpoch, [{ topic, partition }]);
      return { throttleTimeMs: 0, errorCode: forVersion([...codes.values()][0] ?? ErrorCode.NONE, context.apiVersion) };
    } catch (error) {
      if (error instanceof KafkaError) return { throttleTimeMs: 0, errorCode: forVersion(error.kafkaCode, context.apiVersion) };
      throw error;
    }
  },
});

function forVersion(code: number, apiVersion: number): number {
  return apiVersion < 2 && code === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : code;
}
