// AlterClientQuotas, v0-1: sets and removes client quota values per entity (what
// `kafka-configs --alter --entity-type users|clients|ips` sends), checked as Kafka checks
// them: the entity shape (user, client-id, both, or ip) and the keys it allows, positive
// values; INVALID_REQUEST otherwise. Needs ALTER_CONFIGS on the cluster. Stored in the
// cluster's metadata before the answer (UNKNOWN_SERVER_ERROR when it cannot be), so every
// broker enforces them (src/security/quota-enforcer.ts).

import { ErrorCode } from '../protocol/errors.js';
import { type AlterClientQuotasRequest, type AlterClientQuotasResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { invalidQuota } from '../security/client-quotas.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const alterClientQuotasHandler = defineHandler<AlterClientQuotasRequest, AlterClientQuotasResponse>({
  apiKey: 49,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, context) {
    const allowed = context.authorize(AclOperation.ALTER_CONFIGS, CLUSTER_RESOURCE);
    const accepted: AlterClientQuotasRequest['entries'] = [];
    const entries = request.entries.map((entry) => {
      const entity = entry.entity.map((part) => ({ entityType: part.entityType, entityName: part.entityName }));
      if (!allowed) return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, entity };
      const invalid =
        invalidQuota(
          entity,
          entry.ops.map((op) => op.key),
        ) ?? (entry.ops.some((op) => !op.remove && !(op.value > 0)) ? 'Quota values must be positive' : undefined);
      if (invalid !== undefined) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid, entity };
      accepted.push(entry);
      return { errorCode: ErrorCode.NONE, errorMessage: null, entity };
    });
    if (!request.validateOnly && accepted.length > 0) {
      try {
        await context.broker.security.quotas.apply(accepted);
      } catch (error) {
        context.broker.logger.error(`AlterClientQuotas from ${context.principal} could not be stored: ${(error as Error).message}`);
        const errorMessage = `The quotas could not be stored: ${(error as Error).message}`;
        return {
          throttleTimeMs: 0,
          entries: entries.map((entry) => (entry.errorCode === ErrorCode.NONE ? { ...entry, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage } : entry)),
        };
      }
    }
    return { throttleTimeMs: 0, entries };
  },
});
