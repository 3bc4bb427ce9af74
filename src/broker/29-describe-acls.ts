// DescribeAcls, v1-3: the ACLs matching a filter, grouped by resource pattern. Filters as
// in Kafka: ANY matches every pattern type, MATCH every ACL that applies to the named
// resource (literal, wildcard and prefixes). Without an authorizer it answers
// SECURITY_DISABLED; it needs DESCRIBE on the cluster.

import { ErrorCode } from '../protocol/errors.js';
import { type DescribeAclsRequest, type DescribeAclsResponse, type DescribeAclsResponseDescribeAclsResource } from '../protocol/generated/index.js';
import { AclOperation, invalidFilter } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const describeAclsHandler = defineHandler<DescribeAclsRequest, DescribeAclsResponse>({
  apiKey: 29,
  minVersion: 1,
  maxVersion: 3,
  handle(request, context) {
    const authorizer = context.broker.security.authorizer;
    const answer = (errorCode: number, errorMessage: string | null, resources: DescribeAclsResponseDescribeAclsResource[] = []) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      resources,
    });
    if (authorizer === undefined) return answer(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured on the broker');
    if (!context.authorize(AclOperation.DESCRIBE, CLUSTER_RESOURCE)) return answer(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    const filter = {
      resourceType: request.resourceTypeFilter,
      resourceName: request.resourceNameFilter,
      patternType: request.patternTypeFilter,
      principal: request.principalFilter,
      host: request.hostFilter,
      operation: request.operation,
      permissionType: request.permissionType,
    };
    const invalid = invalidFilter(filter);
    if (invalid !== undefined) return answer(ErrorCode.INVALID_REQUEST, invalid);
    const resources = new Map<string, DescribeAclsResponseDescribeAclsResource>();
    for (const acl of authorizer.describe(filter)) {
      const key = `${acl.resourceType}\u0000${acl.patternType}\u0000${acl.resourceName}`;
      let resource = resources.get(key);
      if (resource === undefined) {
        resource = { resourceType: acl.resourceType, resourceName: acl.resourceName, patternType: acl.patternType, acls: [] };
        resources.set(key, resource);
      }
      resource.acls.push({ principal: acl.principal, host: acl.host, operation: acl.operation, permissionType: acl.permissionType });
    }
    return answer(ErrorCode.NONE, null, [...resources.values()]);
  },
});
