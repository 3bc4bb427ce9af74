// ListTransactions, v0-2: filtered by state, producer ID, duration (v1+, transactions running
// longer than it) and transactional ID pattern (v2+, a regular expression, full match).

import { ErrorCode } from '../protocol/errors.js';
import { type ListTransactionsRequest, type ListTransactionsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { transactionalIdResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

const STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence'];

export const listTransactionsHandler = defineHandler<ListTransactionsRequest, ListTransactionsResponse>({
  apiKey: 66,
  minVersion: 0,
  maxVersion: 2,
  handle(request, context) {
    const states = new Set(request.stateFilters);
    const producers = new Set(request.producerIdFilters);
    const unknownStateFilters = request.stateFilters.filter((state) => !STATES.includes(state));
    let pattern: RegExp | undefined;
    if (request.transactionalIdPattern !== null && request.transactionalIdPattern !== undefined && request.transactionalIdPattern !== '') {
      try {
        pattern = new RegExp(`^(?:${request.transactionalIdPattern})$`);
      } catch {
        return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REGULAR_EXPRESSION, unknownStateFilters, transactionStates: [] };
      }
    }
    // Each broker lists the transactional IDs it coordinates (admin clients ask every broker);
    // while a partition of __transaction_state loads, Kafka answers COORDINATOR_LOAD_IN_PROGRESS.
    if (context.broker.transactions.loading) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, unknownStateFilters, transactionStates: [] };
    const now = Date.now();
    const duration = request.durationFilter ?? -1n;
    const transactionStates = [...context.broker.transactions.all()]
      .filter((m) => states.size === 0 || states.has(m.state))
      .filter((m) => producers.size === 0 || producers.has(m.producerId))
      .filter((m) => duration < 0n || (m.state === 'Ongoing' && BigInt(now - m.startMs) > duration))
      .filter((m) => pattern === undefined || pattern.test(m.transactionalId))
      .filter((m) => context.authorize(AclOperation.DESCRIBE, transactionalIdResource(m.transactionalId)))
      .map((m) => ({ transactionalId: m.transactionalId, producerId: m.producerId, transactionState: m.state }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates };
  },
});
