// FindCoordinator, v0-6 (batched keys from v4): a group's or transactional ID's coordinator
// is the leader of the key's partition of __consumer_offsets / __transaction_state (by the
// key's Java hash, as Kafka places them); before that topic exists, and on a single node,
// this node. A partition without a live leader answers COORDINATOR_NOT_AVAILABLE. Share-group keys (type 2) are refused: share groups are not served.

import { ErrorCode } from '../protocol/errors.js';
import { type FindCoordinatorRequest, type FindCoordinatorResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';
import { partitionForKey } from '../log/internal-topic.js';
import { OFFSETS_TOPIC } from '../group/offsets-log.js';
import { TRANSACTION_STATE_TOPIC } from '../txn/transaction-log.js';

const GROUP = 0;
const TRANSACTION = 1;

export const findCoordinatorHandler = defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  apiKey: 10,
  minVersion: 0,
  maxVersion: 6,
  handle(request, context) {
    const { broker, apiVersion } = context;
    const keyType = request.keyType ?? GROUP;
    const coordinatorOf = (key: string): number => {
      const internal = broker.logs.topic(keyType === GROUP ? OFFSETS_TOPIC : TRANSACTION_STATE_TOPIC);
      if (internal === undefined || internal.partitions.length === 0) return broker.nodeId;
      return broker.replicas.describePartition(internal.name, partitionForKey(key, internal.partitions.length))?.leader ?? -1;
    };
    const answer = (key: string) => {
      const supported = keyType === GROUP || keyType === TRANSACTION;
      let errorCode: number = !supported ? ErrorCode.INVALID_REQUEST : key === '' && keyType === GROUP ? ErrorCode.INVALID_GROUP_ID : ErrorCode.NONE;
      const nodeId = errorCode === ErrorCode.NONE ? coordinatorOf(key) : -1;
      const endpoint = nodeId === broker.nodeId ? (broker.advertised[0] ?? broker.replicas.metadata.endpoint(nodeId)) : broker.replicas.metadata.endpoint(nodeId);
      if (errorCode === ErrorCode.NONE && endpoint === undefined) errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      const ok = errorCode === ErrorCode.NONE;
      return {
        key,
        nodeId: ok ? nodeId : -1,
        host: ok ? endpoint!.host : '',
        port: ok ? endpoint!.port : -1,
        errorCode,
        errorMessage: ok
          ? null
          : errorCode === ErrorCode.INVALID_REQUEST
            ? `Key type ${keyType} is not supported`
            : errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE
              ? 'The coordinator is not available.'
              : 'The group id is empty',
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
