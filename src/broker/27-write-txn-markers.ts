// WriteTxnMarkers, v1-2 (Kafka 4.x's range): a transaction coordinator on another broker asks
// this one, as the leader of some partitions, to end a producer's transaction there with a
// COMMIT or ABORT control batch. Each marker is appended through the replica layer as leader
// (NOT_LEADER_OR_FOLLOWER otherwise, so the coordinator retries at the new leader; min.insync.replicas
// applies) and answered once the in-sync replicas have it, as Kafka appends markers with
// acks=-1. A marker on __consumer_offsets applies or drops the offsets the transaction
// committed. Only brokers send it: CLUSTER_ACTION on the cluster is required, as in Kafka.
// Differs from Kafka: the coordinator epoch is not checked against the one of the
// producer's last marker (no TRANSACTION_COORDINATOR_FENCED), and the marker does not
// record it (it is 0 in the EndTxnMarker value).

import { ErrorCode } from '../protocol/errors.js';
import { type WriteTxnMarkersRequest, type WriteTxnMarkersResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const writeTxnMarkersHandler = defineHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse>({
  apiKey: 27,
  minVersion: 1,
  maxVersion: 2,
  async handle(request, context) {
    const { broker } = context;
    const allowed = context.authorize(AclOperation.CLUSTER_ACTION, CLUSTER_RESOURCE);
    const markers = await Promise.all(
      request.markers.map(async (marker) => ({
        producerId: marker.producerId,
        topics: await Promise.all(
          marker.topics.map(async (topic) => ({
            name: topic.name,
            partitions: await Promise.all(
              topic.partitionIndexes.map(async (partitionIndex) => {
                if (!allowed) return { partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED };
                if (!broker.markers.partitionExists(topic.name, partitionIndex)) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
                const errorCode = await broker.markers.writeLocal(
                  {
                    transactionalId: '',
                    producerId: marker.producerId,
                    producerEpoch: marker.producerEpoch,
                    commit: marker.transactionResult,
                    coordinatorEpoch: marker.coordinatorEpoch,
                    partitions: [],
                  },
                  { topic: topic.name, partition: partitionIndex },
                );
                return { partitionIndex, errorCode };
              }),
            ),
          })),
        ),
      })),
    );
    return { markers };
  },
});
