// ElectLeaders, v0-2 (KIP-183, KIP-460): PREFERRED (v0's only kind) makes the first replica
// leader when it is live and in the ISR (ELECTION_NOT_NEEDED when it leads already,
// PREFERRED_LEADER_NOT_AVAILABLE when it cannot); UNCLEAN (v1+) elects a leader for a
// partition that has none: the first live ISR member, else the first live replica with an
// ISR of itself (ELECTION_NOT_NEEDED when the leader is live, ELIGIBLE_LEADERS_NOT_AVAILABLE
// with no live replica). Each election bumps the leader epoch by compare-and-swap in the store
// (src/cluster/controller.ts). Unknown partitions are UNKNOWN_TOPIC_OR_PARTITION; with no
// partitions named (topicPartitions null) every partition is tried and, as in Kafka, those
// that needed no election are left out. Differs from Kafka: the receiving broker runs the
// election itself rather than forwarding it to the controller.

import { ElectionType, electLeader, type ElectionOutcome } from '../cluster/controller.js';
import { ErrorCode } from '../protocol/errors.js';
import { type ElectLeadersRequest, type ElectLeadersResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const electLeadersHandler = defineHandler<ElectLeadersRequest, ElectLeadersResponse>({
  apiKey: 43,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const { broker } = context;
    if (!context.authorize(AclOperation.ALTER, CLUSTER_RESOURCE)) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        replicaElectionResults: (request.topicPartitions ?? []).map((wanted) => ({
          topic: wanted.topic,
          partitionResult: wanted.partitions.map((partitionId) => ({
            partitionId,
            errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: 'Cluster authorization failed.',
          })),
        })),
      };
    }
    const type = request.electionType ?? ElectionType.PREFERRED;
    if (type !== ElectionType.PREFERRED && type !== ElectionType.UNCLEAN) {
      broker.logger.info(`ElectLeaders from ${context.clientId ?? 'a client'} refused: unknown election type ${type}`);
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] };
    }
    const store = broker.replicas.store;
    const all = request.topicPartitions === null;
    const wanted = all ? store.topics().map((topic) => ({ topic: topic.name, partitions: topic.replicas.map((_, index) => index) })) : request.topicPartitions!;
    const replicaElectionResults: ElectLeadersResponse['replicaElectionResults'] = [];
    for (const entry of wanted) {
      const partitionResult: Array<{ partitionId: number } & ElectionOutcome> = [];
      for (const partitionId of entry.partitions) {
        // A single node's lazily created internal topics enter the store on first use.
        broker.replicas.partition(entry.topic, partitionId);
        const outcome = await electLeader(store, entry.topic, partitionId, type, broker.logger);
        if (all && outcome.errorCode === ErrorCode.ELECTION_NOT_NEEDED) continue;
        partitionResult.push({ partitionId, ...outcome });
      }
      if (partitionResult.length > 0 || !all) replicaElectionResults.push({ topic: entry.topic, partitionResult });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults };
  },
});
