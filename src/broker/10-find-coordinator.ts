// FindCoordinator, v0-6: this node coordinates every group and transactional ID (one node;
// batched keys from v4). Share-partition keys (type 2, which Kafka brokers use to find the
// share coordinator) are refused: the share coordinator is local to this node.

import { ErrorCode } from '../protocol/errors.js';
import { type FindCoordinatorRequest, type FindCoordinatorResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource, transactionalIdResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

const GROUP = 0;
const TRANSACTION = 1;

export const findCoordinatorHandler = defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  apiKey: 10,
  minVersion: 0,
  maxVersion: 6,
  handle(request, context) {
    const { broker, apiVersion } = context;
    // The coordinator's endpoint on the listener the request came in on.
    const endpoint = broker.advertised.find((candidate) => candidate.listener === context.connection.security.listener.name) ?? broker.advertised[0]!;
    const keyType = request.keyType ?? GROUP;
    const answer = (key: string) => {
      const supported = keyType === GROUP || keyType === TRANSACTION;
      const resource = keyType === GROUP ? groupResource(key) : transactionalIdResource(key);
      const authorized = !supported || context.authorize(AclOperation.DESCRIBE, resource);
      const deniedCode = keyType === GROUP ? ErrorCode.GROUP_AUTHORIZATION_FAILED : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
      const errorCode = !supported ? ErrorCode.INVALID_REQUEST : !authorized ? deniedCode : key === '' && keyType === GROUP ? ErrorCode.INVALID_GROUP_ID : ErrorCode.NONE;
      const ok = errorCode === ErrorCode.NONE;
      return {
        key,
        nodeId: ok ? broker.nodeId : -1,
        host: ok ? endpoint.host : '',
        port: ok ? endpoint.port : -1,
        errorCode,
        errorMessage: ok ? null : errorCode === ErrorCode.INVALID_REQUEST ? `Key type ${keyType} is not supported` : errorCode === deniedCode ? null : 'The group id is empty',
      };
    };
    if (apiVersion >= 4) {
      return { throttleTimeMs: 0, coordinators: (request.coordinatorKeys ?? []).map(answer) };
    }
    const single = answer(request.key ?? '');
    return {
      throttleTimeMs: 0,
      errorCode: single.errorCode,
      errorMessage: single.errorMessage,
      nodeId: single.nodeId,
      host: single.host,
      port: single.port,
    };
  },
});
