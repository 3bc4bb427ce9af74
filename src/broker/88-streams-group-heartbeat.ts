// StreamsGroupHeartbeat, v0 (KIP-1071): the streams group protocol of Kafka Streams with
// `group.protocol=streams` (see streams/streams-coordinator.ts). A member joins with epoch 0,
// its topology, process ID and (optionally) its interactive-query endpoint; heartbeats with
// its epoch and, when they change, the tasks it owns; leaves with -1. The broker configures
// the topology, creates the missing changelog and repartition topics, assigns the tasks and
// answers the member's active and standby tasks whenever they change, with the group's
// status (missing source topics, incorrectly partitioned topics, a stale topology, a
// requested shutdown). Needs READ on the group; internal topics are created as the broker.
// With the streams.version feature finalised below 1 the protocol is off: UNSUPPORTED_VERSION.

import { ErrorCode } from '../protocol/errors.js';
import { type StreamsGroupHeartbeatRequest, type StreamsGroupHeartbeatResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const streamsGroupHeartbeatHandler = defineHandler<StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse>({
  apiKey: 88,
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const refuse = (errorCode: number, errorMessage: string | null): StreamsGroupHeartbeatResponse => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      memberId: request.memberId,
      memberEpoch: -1,
      heartbeatIntervalMs: 0,
      acceptableRecoveryLag: 0,
      taskOffsetIntervalMs: 0,
      status: null,
      activeTasks: null,
      standbyTasks: null,
      warmupTasks: null,
      endpointInformationEpoch: 0,
      partitionsByUserEndpoint: null,
    });
    if (!context.authorize(AclOperation.READ, groupResource(request.groupId))) return refuse(ErrorCode.GROUP_AUTHORIZATION_FAILED, null);
    if (context.broker.features.level('streams.version') < 1) return refuse(ErrorCode.UNSUPPORTED_VERSION, 'The streams group protocol is disabled (streams.version < 1)');
    // Only the group's coordinator answers (NOT_COORDINATOR elsewhere, COORDINATOR_LOAD_IN_PROGRESS while it loads).
    const coordinator = request.groupId === '' ? ErrorCode.NONE : context.broker.groups.coordinatorError(request.groupId);
    if (coordinator !== ErrorCode.NONE) return refuse(coordinator, null);
    return context.broker.groups.streams.heartbeat({
      ...request,
      clientId: context.clientId ?? '',
      clientHost: `/${context.connection.remoteAddress.replace(/:\d+$/, '')}`,
    });
  },
});
