// The server-side assignors of KIP-848 consumer groups, chosen by the ServerAssignor field
// of ConsumerGroupHeartbeat (Kafka's group.consumer.assignors: uniform first, then range).
// Both are sticky: they start from the current target assignment, so a rebalance moves as
// few partitions as it can.
//  - uniform: every partition of the subscribed topics goes to one subscribed member, and the
//    members' partition counts differ by at most one wherever subscriptions allow it.
//  - range: per topic, the subscribed members (ordered by instance ID, else member ID) get
//    contiguous ranges of equal size, the first ones one partition more; with equal
//    subscriptions and partition counts, the same partition numbers of every topic go to
//    the same member (co-partitioning, for joins).

import { type TopicPartitions } from './consumer-group.js';

export interface AssignmentMember {
  readonly memberId: string;
  readonly instanceId: string | null;
  /** IDs of the existing topics the member subscribes to. */
  readonly subscribedTopicIds: ReadonlySet<string>;
}

export interface AssignmentTopic {
  readonly id: string;
  readonly name: string;
  readonly partitions: number;
}

export interface AssignmentSpec {
  readonly members: readonly AssignmentMember[];
  /** Every topic some member subscribes to, by ID. */
  readonly topics: ReadonlyMap<string, AssignmentTopic>;
  /** The current target assignment, by member ID. */
  readonly current: ReadonlyMap<string, TopicPartitions>;
}

export interface PartitionAssignor {
  readonly name: string;
  assign(spec: AssignmentSpec): Map<string, TopicPartitions>;
}

type MutableAssignment = Map<string, Map<string, Set<number>>>;

function emptyAssignment(members: readonly AssignmentMember[]): MutableAssignment {
  return new Map(members.map((member) => [member.memberId, new Map<string, Set<number>>()]));
}

function add(assignment: MutableAssignment, memberId: string, topicId: string, partition: number): void {
  const topics = assignment.get(memberId)!;
  let set = topics.get(topicId);
  if (set === undefined) topics.set(topicId, (set = new Set()));
  set.add(partition);
}

function remove(assignment: MutableAssignment, memberId: string, topicId: string, partition: number): void {
  const set = assignment.get(memberId)!.get(topicId)!;
  set.delete(partition);
  if (set.size === 0) assignment.get(memberId)!.delete(topicId);
}

const byName = (a: AssignmentTopic, b: AssignmentTopic) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const byMemberId = (a: AssignmentMember, b: AssignmentMember) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0);

export const uniformAssignor: PartitionAssignor = {
  name: 'uniform',
  assign({ members, topics, current }) {
    const sorted = [...members].sort(byMemberId);
    const assignment = emptyAssignment(sorted);
    const counts = new Map(sorted.map((member) => [member.memberId, 0]));
    const claimed = new Set<string>();
    const eligible = (topicId: string) => sorted.filter((member) => member.subscribedTopicIds.has(topicId));

    // 1. Stickiness: every member keeps what it had, where it still subscribes.
    for (const member of sorted) {
      for (const [topicId, set] of current.get(member.memberId) ?? []) {
        const topic = topics.get(topicId);
        if (topic === undefined || !member.subscribedTopicIds.has(topicId)) continue;
        for (const partition of [...set].sort((a, b) => a - b)) {
          const key = `${topicId}:${partition}`;
          if (partition >= topic.partitions || claimed.has(key)) continue;
          claimed.add(key);
          add(assignment, member.memberId, topicId, partition);
          counts.set(member.memberId, counts.get(member.memberId)! + 1);
        }
      }
    }

    // 2. Every free partition goes to the least loaded subscribed member.
    const least = (candidates: readonly AssignmentMember[]) => candidates.reduce((best, member) => (counts.get(member.memberId)! < counts.get(best.memberId)! ? member : best));
    for (const topic of [...topics.values()].sort(byName)) {
      const candidates = eligible(topic.id);
      if (candidates.length === 0) continue;
      for (let partition = 0; partition < topic.partitions; partition++) {
        if (claimed.has(`${topic.id}:${partition}`)) continue;
        const target = least(candidates);
        add(assignment, target.memberId, topic.id, partition);
        counts.set(target.memberId, counts.get(target.memberId)! + 1);
      }
    }

    // 3. Balance: move single partitions from the most to the least loaded member that may
    //    take them, until no move narrows a gap of more than one.
    const candidatesByTopic = new Map([...topics.keys()].map((topicId) => [topicId, eligible(topicId)]));
    for (let moved = true; moved;) {
      moved = false;
      const heaviestFirst = [...sorted].sort((a, b) => counts.get(b.memberId)! - counts.get(a.memberId)! || byMemberId(a, b));
      for (const from of heaviestFirst) {
        const load = counts.get(from.memberId)!;
        for (const [topicId, set] of assignment.get(from.memberId)!) {
          const to = least(candidatesByTopic.get(topicId)!);
          if (counts.get(to.memberId)! >= load - 1) continue;
          const partition = Math.max(...set);
          remove(assignment, from.memberId, topicId, partition);
          add(assignment, to.memberId, topicId, partition);
          counts.set(from.memberId, load - 1);
          counts.set(to.memberId, counts.get(to.memberId)! + 1);
          moved = true;
          break;
        }
        if (moved) break;
      }
    }
    return assignment;
  },
};

export const rangeAssignor: PartitionAssignor = {
  name: 'range',
  assign({ members, topics, current }) {
    const order = (member: AssignmentMember) => member.instanceId ?? member.memberId;
    const sorted = [...members].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : byMemberId(a, b)));
    const assignment = emptyAssignment(sorted);
    for (const topic of [...topics.values()].sort(byName)) {
      const subscribed = sorted.filter((member) => member.subscribedTopicIds.has(topic.id));
      if (subscribed.length === 0) continue;
      const quota = Math.floor(topic.partitions / subscribed.length);
      let extras = topic.partitions % subscribed.length;
      const taken = new Set<number>();
      // Sticky: a member keeps its lowest previous partitions up to its quota (one more while
      // extra partitions are left).
      const shares = subscribed.map((member) => {
        const previous = [...(current.get(member.memberId)?.get(topic.id) ?? [])]
          .filter((partition) => partition < topic.partitions && !taken.has(partition))
          .sort((a, b) => a - b);
        let keep = Math.min(previous.length, quota);
        let extra = false;
        if (previous.length > quota && extras > 0) {
          keep++;
          extras--;
          extra = true;
        }
        for (const partition of previous.slice(0, keep)) {
          taken.add(partition);
          add(assignment, member.memberId, topic.id, partition);
        }
        return { member, kept: keep, extra };
      });
      const free = Array.from({ length: topic.partitions }, (_, partition) => partition).filter((partition) => !taken.has(partition));
      let next = 0;
      for (const share of shares) {
        if (!share.extra && extras > 0) {
          share.extra = true;
          extras--;
        }
        for (let owed = quota + (share.extra ? 1 : 0) - share.kept; owed > 0 && next < free.length; owed--) {
          add(assignment, share.member.memberId, topic.id, free[next++]!);
        }
      }
    }
    return assignment;
  },
};

export const ASSIGNORS: ReadonlyMap<string, PartitionAssignor> = new Map([
  [uniformAssignor.name, uniformAssignor],
  [rangeAssignor.name, rangeAssignor],
]);

export const DEFAULT_ASSIGNOR = uniformAssignor.name;
