// DeleteAcls, v1-3: removes the ACLs matching each filter and lists what each removed
// (filters match as in DescribeAcls). Without an authorizer every filter answers
// SECURITY_DISABLED; needs ALTER on the cluster.

import { ErrorCode } from '../protocol/errors.js';
import { type DeleteAclsRequest, type DeleteAclsResponse } from '../protocol/generated/index.js';
import { type AclBinding, type AclFilter, AclOperation, invalidFilter } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const deleteAclsHandler = defineHandler<DeleteAclsRequest, DeleteAclsResponse>({
  apiKey: 31,
  minVersion: 1,
  maxVersion: 3,
  async handle(request, context) {
    const authorizer = context.broker.security.authorizer;
    const all = (errorCode: number, errorMessage: string | null) => ({
      throttleTimeMs: 0,
      filterResults: request.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    });
    if (authorizer === undefined) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured on the broker');
    if (!context.authorize(AclOperation.ALTER, CLUSTER_RESOURCE)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    const filters: AclFilter[] = request.filters.map((filter) => ({
      resourceType: filter.resourceTypeFilter,
      resourceName: filter.resourceNameFilter,
      patternType: filter.patternTypeFilter,
      principal: filter.principalFilter,
      host: filter.hostFilter,
      operation: filter.operation,
      permissionType: filter.permissionType,
    }));
    const valid = filters.filter((filter) => invalidFilter(filter) === undefined);
    let removed: AclBinding[][];
    try {
      removed = await authorizer.delete(valid);
    } catch (error) {
      context.broker.logger.error(`DeleteAcls from ${context.principal} could not be stored: ${(error as Error).message}`);
      return all(ErrorCode.UNKNOWN_SERVER_ERROR, `The ACLs could not be stored: ${(error as Error).message}`);
    }
    let next = 0;
    const filterResults = filters.map((filter) => {
      const invalid = invalidFilter(filter);
      if (invalid !== undefined) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid, matchingAcls: [] };
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        matchingAcls: removed[next++]!.map((acl) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...acl })),
      };
    });
    const count = removed.reduce((sum, list) => sum + list.length, 0);
    if (count > 0) context.broker.logger.info(`${count} ACL(s) deleted by ${context.principal}`);
    return { throttleTimeMs: 0, filterResults };
  },
});
