// DescribeClientQuotas, v0-1: the stored client quotas matching the filter components
// (match type 0: this name, 1: the default entity, 2: any name of the type); strict
// matching also requires that the entity has no other types. Needs DESCRIBE_CONFIGS on
// the cluster. The quotas are enforced by src/security/quota-enforcer.ts.

import { ErrorCode } from '../protocol/errors.js';
import { type DescribeClientQuotasRequest, type DescribeClientQuotasResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

const EXACT = 0;
const DEFAULT = 1;
const ANY = 2;

export const describeClientQuotasHandler = defineHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse>({
  apiKey: 48,
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    if (!context.authorize(AclOperation.DESCRIBE_CONFIGS, CLUSTER_RESOURCE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, entries: null };
    }
    const types = request.components.map((component) => component.entityType);
    if (new Set(types).size !== types.length) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate entity type in the filter', entries: null };
    }
    const bad = request.components.find((component) => component.matchType < EXACT || component.matchType > ANY);
    if (bad !== undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Invalid match type ${bad.matchType}`, entries: null };
    const entries = context.broker.security.quotas
      .entries()
      .filter(
        ({ entity }) =>
          request.components.every((component) => {
            const part = entity.find((candidate) => candidate.entityType === component.entityType);
            if (part === undefined) return false;
            if (component.matchType === EXACT) return part.entityName === component.match;
            if (component.matchType === DEFAULT) return part.entityName === null;
            return true;
          }) &&
          (!request.strict || entity.length === request.components.length),
      )
      .map(({ entity, values }) => ({
        entity: entity.map((part) => ({ entityType: part.entityType, entityName: part.entityName })),
        values: [...values.entries()].map(([key, value]) => ({ key, value })),
      }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
  },
});
