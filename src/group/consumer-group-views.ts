// Read-only views of KIP-848 consumer groups: the ConsumerGroupDescribe shape (topic IDs
// with their names) and partitions as ConsumerGroupHeartbeat carries them.

import { type TopicCatalog } from '../cluster/metadata.js';
import { type ConsumerGroup, type TopicPartitions } from './consumer-group.js';

export interface DescribedPartitions {
  readonly topicId: Buffer;
  readonly topicName: string;
  readonly partitions: number[];
}

export interface DescribedMember {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly memberEpoch: number;
  readonly clientId: string;
  readonly clientHost: string;
  readonly subscribedTopicNames: string[];
  readonly subscribedTopicRegex: string | null;
  readonly assignment: DescribedPartitions[];
  readonly targetAssignment: DescribedPartitions[];
}

export interface ConsumerGroupDescription {
  readonly groupId: string;
  readonly groupState: string;
  readonly groupEpoch: number;
  readonly assignmentEpoch: number;
  readonly assignorName: string;
  readonly members: DescribedMember[];
}

const sortedPartitions = (set: ReadonlySet<number>) => [...set].sort((a, b) => a - b);

/** Partitions by topic ID, as ConsumerGroupHeartbeat's TopicPartitions. */
export function wirePartitions(partitions: TopicPartitions): Array<{ topicId: Buffer; partitions: number[] }> {
  return [...partitions].filter(([, set]) => set.size > 0).map(([topicId, set]) => ({ topicId: Buffer.from(topicId, 'hex'), partitions: sortedPartitions(set) }));
}

/** Partitions with topic names; topics that no longer exist are left out. */
function describedPartitions(partitions: TopicPartitions, catalog: TopicCatalog): DescribedPartitions[] {
  const described: DescribedPartitions[] = [];
  for (const [topicId, set] of partitions) {
    const id = Buffer.from(topicId, 'hex');
    const topic = catalog.topicInfoById(id);
    if (topic !== undefined && set.size > 0) described.push({ topicId: id, topicName: topic.name, partitions: sortedPartitions(set) });
  }
  return described.sort((a, b) => (a.topicName < b.topicName ? -1 : a.topicName > b.topicName ? 1 : 0));
}

export function consumerGroupDescription(group: ConsumerGroup, catalog: TopicCatalog, defaultAssignor: string): ConsumerGroupDescription {
  return {
    groupId: group.groupId,
    groupState: group.state,
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    assignorName: group.preferredAssignor() ?? defaultAssignor,
    members: [...group.members.values()].map((member) => ({
      memberId: member.memberId,
      instanceId: member.instanceId,
      rackId: member.rackId,
      memberEpoch: member.memberEpoch,
      clientId: member.clientId,
      clientHost: member.clientHost,
      subscribedTopicNames: [...member.subscribedTopicNames],
      subscribedTopicRegex: member.subscribedTopicRegex,
      assignment: describedPartitions(member.assigned, catalog),
      targetAssignment: describedPartitions(group.targetAssignment.get(member.memberId) ?? new Map(), catalog),
    })),
  };
}
