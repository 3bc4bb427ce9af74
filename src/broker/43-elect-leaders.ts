// ElectLeaders, v0-2: this node already leads every partition, so an election is never
// needed: ELECTION_NOT_NEEDED for each named partition, UNKNOWN_TOPIC_OR_PARTITION for
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
      const topic = broker.logs.topic(wanted.topic);
      return {
        topic: wanted.topic,
        partitionResult: wanted.partitions.map((partitionId) =>
          topic?.partitions[partitionId] === undefined
            ? { partitionId, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' }
            : { partitionId, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition.' },
        ),
      };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults };
  },
});
