// DescribeQuorum, v0-2 (KIP-595, KIP-853): answered from the cluster's own view of its
// metadata, so that `kafka-metadata-quorum describe --status / --replication` work. Spate has
// no KRaft quorum: its metadata store (in process, or etcd) is where agreement lives. So the
// one voter is the controller the store names (the lowest live node id), the leader epoch is
// the number of controller elections the store has seen, the high watermark and every live
// broker's log end offset are the store's change count (etcd: its revision), since every
// broker applies each change as it is made (their fetch and caught-up timestamps are now),
// and the other live brokers are the observers. Directory IDs are the zero UUID (no metadata
// log directory). Only __cluster_metadata-0 is described: another partition is
// UNKNOWN_TOPIC_OR_PARTITION, as KRaft answers. Needs DESCRIBE on the cluster.

import { ErrorCode } from '../protocol/errors.js';
import { type DescribeQuorumRequest, type DescribeQuorumResponse } from '../protocol/generated/index.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

const METADATA_TOPIC = '__cluster_metadata';

export const describeQuorumHandler = defineHandler<DescribeQuorumRequest, DescribeQuorumResponse>({
  apiKey: 55,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const { broker } = context;
    if (!context.authorize(AclOperation.DESCRIBE, CLUSTER_RESOURCE)) {
      return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', topics: [], nodes: [] };
    }
    const valid =
      request.topics.length === 1 &&
      request.topics[0]!.topicName === METADATA_TOPIC &&
      request.topics[0]!.partitions.length === 1 &&
      request.topics[0]!.partitions[0]!.partitionIndex === 0;
    if (!valid) {
      broker.logger.info(`DescribeQuorum from ${context.clientId ?? 'a client'} refused: only ${METADATA_TOPIC}-0 is described`);
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topics: request.topics.map((topic) => ({
          topicName: topic.topicName,
          partitions: topic.partitions.map((partition) => ({
            partitionIndex: partition.partitionIndex,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: `Only ${METADATA_TOPIC}-0 is described.`,
            leaderId: -1,
            leaderEpoch: -1,
            highWatermark: -1n,
            currentVoters: [],
            observers: [],
          })),
        })),
        nodes: [],
      };
    }
    const metadata = broker.replicas.metadata;
    const position = await broker.replicas.store.metadataPosition();
    const brokers = metadata.brokers();
    const controllerId = metadata.controllerId >= 0 ? metadata.controllerId : broker.nodeId;
    const now = BigInt(Date.now());
    const replica = (replicaId: number) => ({ replicaId, replicaDirectoryId: ZERO_UUID, logEndOffset: position.offset, lastFetchTimestamp: now, lastCaughtUpTimestamp: now });
    const voter = brokers.find((entry) => entry.nodeId === controllerId);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: [
        {
          topicName: METADATA_TOPIC,
          partitions: [
            {
              partitionIndex: 0,
              errorCode: ErrorCode.NONE,
              errorMessage: null,
              leaderId: controllerId,
              leaderEpoch: Math.max(1, position.controllerEpoch),
              highWatermark: position.offset,
              currentVoters: [replica(controllerId)],
              observers: brokers.filter((entry) => entry.nodeId !== controllerId).map((entry) => replica(entry.nodeId)),
            },
          ],
        },
      ],
      // The voter's endpoints (v2): its broker listeners, as Spate has no controller listener.
      nodes:
        voter === undefined
          ? []
          : [{ nodeId: voter.nodeId, listeners: voter.endpoints.map((endpoint) => ({ name: endpoint.listener, host: endpoint.host, port: endpoint.port })) }],
    };
  },
});
