// DescribeUserScramCredentials, v0: the SCRAM mechanisms and iteration counts of users
// (never salts or keys). Kafka's rules: all users when the list is null or empty; an unknown
// user answers RESOURCE_NOT_FOUND and a user named twice DUPLICATE_RESOURCE, per user.
// Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED for the whole request).

import { ErrorCode } from '../protocol/errors.js';
import { type DescribeUserScramCredentialsRequest, type DescribeUserScramCredentialsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { scramMechanismCode } from '../security/scram.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const describeUserScramCredentialsHandler = defineHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>({
  apiKey: 50,
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    if (!context.authorize(AclOperation.DESCRIBE, CLUSTER_RESOURCE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, results: [] };
    }
    const store = context.broker.security.scram;
    const describe = (user: string) => ({
      user,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      credentialInfos: [...(store.entries().find(([name]) => name === user)?.[1] ?? new Map()).entries()].map(([mechanism, credential]) => ({
        mechanism: scramMechanismCode(mechanism),
        iterations: credential.iterations,
      })),
    });
    if (request.users === null || request.users.length === 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results: store.entries().map(([user]) => describe(user)) };
    }
    const counts = new Map<string, number>();
    for (const { name } of request.users) counts.set(name, (counts.get(name) ?? 0) + 1);
    const results = [...counts.entries()].map(([user, count]) => {
      if (count > 1)
        return {
          user,
          errorCode: ErrorCode.DUPLICATE_RESOURCE,
          errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`,
          credentialInfos: [],
        };
      if (!store.has(user))
        return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] };
      return describe(user);
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  },
});
