// OffsetDelete, v0: removes committed offsets of a group, except for topics its active
// members are subscribed to (GROUP_SUBSCRIBED_TO_TOPIC), as Kafka does.

import { ErrorCode } from '../protocol/errors.js';
import { readConsumerProtocolSubscription } from '../protocol/generated/index.js';
import { Reader } from '../protocol/primitives.js';
import { type OffsetDeleteRequest, type OffsetDeleteResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { groupResource } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const offsetDeleteHandler = defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  apiKey: 47,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, context) {
    const { groups } = context.broker;
    if (!context.authorize(AclOperation.DELETE, groupResource(request.groupId))) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
    const coordinator = groups.coordinatorError(request.groupId);
    if (coordinator !== ErrorCode.NONE) return { errorCode: coordinator, throttleTimeMs: 0, topics: [] };
    const group = groups.describeGroup(request.groupId);
    if (group === undefined && groups.allCommittedOffsets(request.groupId).size === 0) {
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, throttleTimeMs: 0, topics: [] };
    }
    const subscribed = new Set<string>();
    const live = groups.group(request.groupId);
    if (live !== undefined && live.protocolType === 'consumer' && live.state !== 'Empty') {
      for (const member of live.members.values()) {
        for (const protocol of member.protocols) {
          try {
            const reader = new Reader(protocol.metadata);
            const version = reader.int16();
            for (const topic of readConsumerProtocolSubscription(reader, Math.min(version, 3)).topics) subscribed.add(topic);
          } catch {
            // Metadata a consumer did not write in the consumer protocol: nothing subscribed.
          }
        }
      }
    }
    const wanted = request.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })));
    const codes = groups.deleteOffsets(request.groupId, wanted, subscribed);
    const written = await groups.committed(request.groupId);
    if (written !== ErrorCode.NONE) return { errorCode: written, throttleTimeMs: 0, topics: [] };
    let next = 0;
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codes[next++]! })),
      })),
    };
  },
});
