// CreateAcls, v1-3: adds ACL bindings (LITERAL or PREFIXED patterns; an identical binding is
// kept once). Each creation is checked as Kafka checks it and answered on its own
// (INVALID_REQUEST with the reason); without an authorizer every creation answers
// SECURITY_DISABLED. Needs ALTER on the cluster. The ACLs are stored in the cluster's
// metadata before the answer (UNKNOWN_SERVER_ERROR when they cannot be), so every broker
// enforces them.

import { ErrorCode } from '../protocol/errors.js';
import { type CreateAclsRequest, type CreateAclsResponse } from '../protocol/generated/index.js';
import { type AclBinding, AclOperation, invalidBinding } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const createAclsHandler = defineHandler<CreateAclsRequest, CreateAclsResponse>({
  apiKey: 30,
  minVersion: 1,
  maxVersion: 3,
  async handle(request, context) {
    const authorizer = context.broker.security.authorizer;
    const all = (errorCode: number, errorMessage: string | null) => ({
      throttleTimeMs: 0,
      results: request.creations.map(() => ({ errorCode, errorMessage })),
    });
    if (authorizer === undefined) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured on the broker');
    if (!context.authorize(AclOperation.ALTER, CLUSTER_RESOURCE)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    const accepted: AclBinding[] = [];
    const results = request.creations.map((creation) => {
      const binding: AclBinding = {
        resourceType: creation.resourceType,
        resourceName: creation.resourceName,
        patternType: creation.resourcePatternType,
        principal: creation.principal,
        host: creation.host,
        operation: creation.operation,
        permissionType: creation.permissionType,
      };
      const invalid = invalidBinding(binding);
      if (invalid !== undefined) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid };
      accepted.push(binding);
      return { errorCode: ErrorCode.NONE, errorMessage: null };
    });
    if (accepted.length > 0) {
      try {
        await authorizer.create(accepted);
      } catch (error) {
        context.broker.logger.error(`CreateAcls from ${context.principal} could not be stored: ${(error as Error).message}`);
        const failure = { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `The ACLs could not be stored: ${(error as Error).message}` };
        return { throttleTimeMs: 0, results: results.map((result) => (result.errorCode === ErrorCode.NONE ? failure : result)) };
      }
      context.broker.logger.info(`${accepted.length} ACL(s) created by ${context.principal}`);
    }
    return { throttleTimeMs: 0, results };
  },
});
