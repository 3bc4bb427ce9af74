// DescribeCluster, v0-2 (KIP-700): the live brokers and the controller of the cluster
// metadata (on a single node: this node). endpointType CONTROLLERS (v1+) is UNSUPPORTED_ENDPOINT_TYPE from a
// broker, as in Kafka; v2's includeFencedBrokers changes nothing (nothing is fenced).

import { ErrorCode } from '../protocol/errors.js';
import { type DescribeClusterRequest, type DescribeClusterResponse } from '../protocol/generated/index.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';
import { clusterBrokers } from './03-metadata.js';

const EndpointType = { BROKERS: 1, CONTROLLERS: 2 } as const;
/** "Operations not requested" in Kafka's authorized-operations fields. */
const NO_OPERATIONS = -2147483648;

export const describeClusterHandler = defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
  apiKey: 60,
  minVersion: 0,
  maxVersion: 2,
  handle(request, context) {
    const { broker } = context;
    const endpointType = request.endpointType ?? EndpointType.BROKERS;
    const base = {
      throttleTimeMs: 0,
      endpointType,
      clusterId: broker.clusterId,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? context.authorizedOperations(CLUSTER_RESOURCE) : NO_OPERATIONS,
    };
    if (endpointType !== EndpointType.BROKERS) {
      return {
        ...base,
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER',
        controllerId: -1,
        brokers: [],
      };
    }
    const controllerId = broker.replicas.metadata.controllerId;
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      controllerId: controllerId >= 0 ? controllerId : broker.nodeId,
      brokers: clusterBrokers(broker, context.connection.security.listener.name).map((entry) => ({
        brokerId: entry.nodeId,
        host: entry.host,
        port: entry.port,
        rack: entry.rack,
        isFenced: false,
      })),
    };
  },
});
