// InitProducerId, v0-5 (v6 is unstable in Kafka 4.3 and not advertised): a fresh producer ID
// with epoch 0 for idempotent producers. As in Kafka, a non-transactional request gets a new
// ID even when it names its previous one (KIP-360's bump applies to transactional IDs).
// Transactional IDs are answered UNSUPPORTED_VERSION until the transaction coordinator lands.

import { ErrorCode } from '../protocol/errors.js';
import { type InitProducerIdRequest, type InitProducerIdResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';

export const initProducerIdHandler = defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  apiKey: 22,
  minVersion: 0,
  maxVersion: 5,
  handle(request, context) {
    if (request.transactionalId !== null && request.transactionalId !== undefined) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.UNSUPPORTED_VERSION, producerId: -1n, producerEpoch: -1 };
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: context.broker.producerIds.nextId(), producerEpoch: 0 };
  },
});
