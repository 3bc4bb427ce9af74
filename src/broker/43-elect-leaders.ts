// ElectLeaders, v0-2: partitions whose leader is live need no election (the controller
// elects a new leader from the ISR as soon as one leaves): ELECTION_NOT_NEEDED for each named
// partition, ELIGIBLE_LEADERS_NOT_AVAILABLE for one without a live ISR member, UNKNOWN_TOPIC_OR_PARTITION for
// unknown ones, and with no partitions named (all) an empty result, as Kafka leaves out
// partitions that needed no election.

import { ErrorCode } from '../protocol/errors.js';
import { type ElectLeadersRequest, type ElectLeadersResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const electLeadersHandler = defineHandler<ElectLeadersRequest, ElectLeadersResponse>({
  apiKey: 43,
  minVersion: 0,
  maxVersion: 2,
  handle(request, context) {
    const { broker } = context;
    if (!context.authorize(AclOperation.ALTER, CLUSTER_RESOURCE)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, replicaElectionResults: [] };
    const replicaElectionResults = (request.topicPartitions ?? []).map((wanted) => {
      return {
        topic: wanted.topic,
        partitionResult: wanted.partitions.map((partitionId) => {
          const view = broker.replicas.describePartition(wanted.topic, partitionId);
          if (view === undefined) return { partitionId, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' };
          if (view.leader < 0) return { partitionId, errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, errorMessage: `No live replica of the ISR [${view.isr.join(',')}] can lead.` };
          return { partitionId, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition.' };
        }),
      };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults };
  },
});
