// FindCoordinator, v0-6 (batched keys from v4): a group's or transactional ID's coordinator
// is the leader of the key's partition of __consumer_offsets / __transaction_state (by the
// key's Java hash, as Kafka places them), whose coordinator loads the key's state when it
// becomes that leader; a single node coordinates every key. Before the topic exists, and for
// a partition without a live leader, the answer is COORDINATOR_NOT_AVAILABLE. The
// endpoint is the one of the listener the request came in on. DESCRIBE on the group or
// transactional ID is required (GROUP_/TRANSACTIONAL_ID_AUTHORIZATION_FAILED). Share-partition
// keys (type 2, v6+, "group:topicId:partition"), which brokers use to find the share
// coordinator, name the leader of the key's __share_group_state partition (Utils.abs of the
// key's hash, as Kafka's share coordinator places it); they need CLUSTER_ACTION, and the
// first one asked in a cluster creates the topic (COORDINATOR_NOT_AVAILABLE until it exists).

import { ErrorCode } from '../protocol/errors.js';
import { type FindCoordinatorRequest, type FindCoordinatorResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource, transactionalIdResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';
import { partitionForKey } from '../log/internal-topic.js';
import { OFFSETS_TOPIC } from '../group/offsets-log.js';
import { TRANSACTION_STATE_TOPIC } from '../txn/transaction-log.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { SHARE_STATE_TOPIC, shareStatePartition } from '../share/share-state-log.js';

const GROUP = 0;
const TRANSACTION = 1;
const SHARE = 2;

/** Kafka's SharePartitionKey.getInstance: exactly "group:topicId:partition", the topic ID in base64. */
function validShareKey(key: string): boolean {
  const tokens = key.split(':');
  return tokens.length === 3 && tokens[0] !== '' && Buffer.from(tokens[1]!, 'base64url').length === 16 && /^\d+$/.test(tokens[2]!);
}

export const findCoordinatorHandler = defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  apiKey: 10,
  minVersion: 0,
  maxVersion: 6,
  handle(request, context) {
    const { broker, apiVersion } = context;
    const listener = context.connection.security.listener.name;
    const keyType = request.keyType ?? GROUP;
    const coordinatorOf = (key: string): number => {
      // A single node coordinates everything (its internal topics are created on first use).
      if (!broker.replicas.clustered) return broker.nodeId;
      const name = keyType === GROUP ? OFFSETS_TOPIC : keyType === SHARE ? SHARE_STATE_TOPIC : TRANSACTION_STATE_TOPIC;
      const internal = broker.replicas.store.topic(name);
      // Not created yet (a cluster on etcd waits for offsets.topic.replication.factor brokers).
      if (internal === undefined || internal.replicas.length === 0) {
        if (keyType === SHARE) broker.shareCoordinator.ensureTopic();
        return -1;
      }
      const partition = keyType === SHARE ? shareStatePartition(key, internal.replicas.length) : partitionForKey(key, internal.replicas.length);
      return broker.replicas.describePartition(name, partition)?.leader ?? -1;
    };
    const answer = (key: string) => {
      const supported = keyType === GROUP || keyType === TRANSACTION || (keyType === SHARE && apiVersion >= 6);
      const authorized =
        !supported ||
        (keyType === SHARE
          ? context.authorize(AclOperation.CLUSTER_ACTION, CLUSTER_RESOURCE)
          : context.authorize(AclOperation.DESCRIBE, keyType === GROUP ? groupResource(key) : transactionalIdResource(key)));
      const deniedCode =
        keyType === GROUP ? ErrorCode.GROUP_AUTHORIZATION_FAILED : keyType === SHARE ? ErrorCode.CLUSTER_AUTHORIZATION_FAILED : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
      let errorCode: number = !supported
        ? ErrorCode.INVALID_REQUEST
        : !authorized
          ? deniedCode
          : key === '' && keyType === GROUP
            ? ErrorCode.INVALID_GROUP_ID
            : keyType === SHARE && !validShareKey(key)
              ? ErrorCode.INVALID_REQUEST
              : ErrorCode.NONE;
      const nodeId = errorCode === ErrorCode.NONE ? coordinatorOf(key) : -1;
      const endpoint =
        nodeId < 0
          ? undefined
          : nodeId === broker.nodeId
            ? (broker.advertised.find((candidate) => candidate.listener === listener) ?? broker.advertised[0] ?? broker.replicas.metadata.endpoint(nodeId, listener))
            : broker.replicas.metadata.endpoint(nodeId, listener);
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
            ? supported
              ? `Share coordinator key ${key} is not group:topicId:partition`
              : `Key type ${keyType} is not supported`
            : errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE
              ? 'The coordinator is not available.'
              : errorCode === deniedCode
                ? null
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
