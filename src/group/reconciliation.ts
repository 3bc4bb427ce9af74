// KIP-848 reconciliation of one member towards its target assignment, the state machine
// Kafka's CurrentAssignmentBuilder runs on every heartbeat:
//  - a member first keeps only the partitions it still owns in the target and is asked to
//    revoke the rest; it stays at its epoch (UNREVOKED_PARTITIONS) until a heartbeat no
//    longer reports them as owned;
//  - then it moves to the target epoch and gets the target partitions that are free;
//    partitions another member still owns (or is still revoking) are withheld until that
//    member lets go (UNRELEASED_PARTITIONS), so no partition ever has two owners.

import { type ConsumerGroupMember, type MemberStateName, NO_PARTITIONS, type TopicPartitions } from './consumer-group.js';

export interface ReconcileInput {
  readonly member: ConsumerGroupMember;
  readonly targetEpoch: number;
  readonly target: TopicPartitions;
  /** The topics the member subscribes to now (by name or regex), as IDs. */
  readonly subscribedTopicIds: ReadonlySet<string>;
  /** The partitions the member reported owning in this heartbeat; null when not reported. */
  readonly owned: TopicPartitions | null;
  /** The member changed its subscription in this heartbeat: drop unsubscribed topics at once. */
  readonly subscriptionChanged: boolean;
  /** The member owning a partition (assigned or revoking), if any. */
  readonly ownerOf: (topicId: string, partition: number) => string | undefined;
}

/** The member's next state; the same object when nothing changes. */
export function reconcile(input: ReconcileInput): ConsumerGroupMember {
  const { member, targetEpoch } = input;
  switch (member.state) {
    case 'Stable':
      if (member.memberEpoch !== targetEpoch) return computeNextAssignment(input);
      return input.subscriptionChanged ? dropUnsubscribed(input) : member;
    case 'UnrevokedPartitions':
      if (ownsAny(input.owned, member.pendingRevocation)) {
        return input.subscriptionChanged ? dropUnsubscribed(input) : member;
      }
      return computeNextAssignment(input);
    case 'UnreleasedPartitions':
      return computeNextAssignment(input);
  }
}

/** Does the member still report one of these partitions? Not knowing counts as yes. */
function ownsAny(owned: TopicPartitions | null, partitions: TopicPartitions): boolean {
  if (owned === null) return true;
  for (const [topicId, set] of owned) {
    const wanted = partitions.get(topicId);
    if (wanted === undefined) continue;
    for (const partition of set) if (wanted.has(partition)) return true;
  }
  return false;
}

function withState(member: ConsumerGroupMember, state: MemberStateName, epoch: number, assigned: TopicPartitions, pendingRevocation: TopicPartitions): ConsumerGroupMember {
  const previousMemberEpoch = epoch !== member.memberEpoch ? member.memberEpoch : member.previousMemberEpoch;
  return { ...member, state, memberEpoch: epoch, previousMemberEpoch, assigned, pendingRevocation };
}

/** A subscription change: partitions of topics no longer subscribed go to revocation at once. */
function dropUnsubscribed(input: ReconcileInput): ConsumerGroupMember {
  const { member } = input;
  const assigned = new Map<string, ReadonlySet<number>>();
  const pending = new Map<string, Set<number>>();
  for (const [topicId, set] of member.pendingRevocation) pending.set(topicId, new Set(set));
  let removed = false;
  for (const [topicId, set] of member.assigned) {
    if (input.subscribedTopicIds.has(topicId)) {
      assigned.set(topicId, set);
      continue;
    }
    removed = true;
    const revoking = pending.get(topicId) ?? new Set<number>();
    for (const partition of set) revoking.add(partition);
    pending.set(topicId, revoking);
  }
  if (!removed) return member;
  if (pending.size > 0 && ownsAny(input.owned, pending)) {
    return withState(member, 'UnrevokedPartitions', member.memberEpoch, assigned, pending);
  }
  return withState(member, member.state, member.memberEpoch, assigned, member.pendingRevocation);
}

function computeNextAssignment(input: ReconcileInput): ConsumerGroupMember {
  const { member, target, targetEpoch } = input;
  const assigned = new Map<string, Set<number>>();
  const revoke = new Map<string, Set<number>>();
  const toAssign = new Map<string, Set<number>>();
  let unreleased = false;
  for (const topicId of new Set([...target.keys(), ...member.assigned.keys()])) {
    const wanted = input.subscribedTopicIds.has(topicId) ? (target.get(topicId) ?? new Set<number>()) : new Set<number>();
    const current = member.assigned.get(topicId) ?? new Set<number>();
    const keep = new Set([...current].filter((partition) => wanted.has(partition)));
    const give = new Set([...current].filter((partition) => !keep.has(partition)));
    const take = new Set<number>();
    for (const partition of wanted) {
      if (keep.has(partition)) continue;
      const owner = input.ownerOf(topicId, partition);
      // A partition this member is itself still revoking counts as released.
      if (owner !== undefined && owner !== member.memberId) unreleased = true;
      else take.add(partition);
    }
    if (keep.size > 0) assigned.set(topicId, keep);
    if (give.size > 0) revoke.set(topicId, give);
    if (take.size > 0) toAssign.set(topicId, take);
  }

  if (revoke.size > 0 && ownsAny(input.owned, revoke)) {
    return withState(member, 'UnrevokedPartitions', member.memberEpoch, assigned, revoke);
  }
  for (const [topicId, take] of toAssign) {
    const set = assigned.get(topicId) ?? new Set<number>();
    for (const partition of take) set.add(partition);
    assigned.set(topicId, set);
  }
  return withState(member, unreleased ? 'UnreleasedPartitions' : 'Stable', targetEpoch, assigned, NO_PARTITIONS);
}
