// A KIP-848 consumer group: its members with their subscriptions and current assignments,
// the group epoch, the target assignment and its epoch, and who owns each partition. The
// state names are Kafka's. Members are immutable values, replaced on every change, so the
// coordinator can compare the before and after of a heartbeat. Transitions live in
// consumer-group-coordinator.ts; the reconciliation of one member in reconciliation.ts.

/** Topic ID (32 hex digits) -> partition indexes. */
export type TopicPartitions = ReadonlyMap<string, ReadonlySet<number>>;

export const NO_PARTITIONS: TopicPartitions = new Map();

export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable';

/** Kafka's MemberState, with its persisted byte value. */
export const MemberState = { Stable: 0, UnrevokedPartitions: 1, UnreleasedPartitions: 2 } as const;
export type MemberStateName = keyof typeof MemberState;

/** MemberEpoch -1 in a heartbeat: the member leaves. */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
/** MemberEpoch -2 in a heartbeat: a static member leaves for now and keeps its assignment. */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

export interface ConsumerGroupMember {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly serverAssignor: string | null;
  /** Sorted, without duplicates. */
  readonly subscribedTopicNames: readonly string[];
  /** null when the member does not subscribe by regex. */
  readonly subscribedTopicRegex: string | null;
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: MemberStateName;
  /** The partitions the member may use now. */
  readonly assigned: TopicPartitions;
  /** The partitions the member must give up before it may move to the next epoch. */
  readonly pendingRevocation: TopicPartitions;
}

export function newMember(memberId: string): ConsumerGroupMember {
  return {
    memberId,
    instanceId: null,
    rackId: null,
    clientId: '',
    clientHost: '',
    rebalanceTimeoutMs: -1,
    serverAssignor: null,
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: 'Stable',
    assigned: NO_PARTITIONS,
    pendingRevocation: NO_PARTITIONS,
  };
}

export function partitionCount(partitions: TopicPartitions): number {
  let count = 0;
  for (const set of partitions.values()) count += set.size;
  return count;
}

export function samePartitions(a: TopicPartitions, b: TopicPartitions): boolean {
  if (partitionCount(a) !== partitionCount(b)) return false;
  for (const [topicId, set] of a) {
    const other = b.get(topicId);
    if (other === undefined) {
      if (set.size > 0) return false;
      continue;
    }
    for (const partition of set) if (!other.has(partition)) return false;
  }
  return true;
}

export function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** The fields a member reports about itself (persisted as ConsumerGroupMemberMetadata). */
export function sameMetadata(a: ConsumerGroupMember, b: ConsumerGroupMember): boolean {
  return (
    a.instanceId === b.instanceId &&
    a.rackId === b.rackId &&
    a.clientId === b.clientId &&
    a.clientHost === b.clientHost &&
    a.rebalanceTimeoutMs === b.rebalanceTimeoutMs &&
    a.serverAssignor === b.serverAssignor &&
    a.subscribedTopicRegex === b.subscribedTopicRegex &&
    sameStrings(a.subscribedTopicNames, b.subscribedTopicNames)
  );
}

/** The fields the coordinator decides (persisted as ConsumerGroupCurrentMemberAssignment). */
export function sameCurrentAssignment(a: ConsumerGroupMember, b: ConsumerGroupMember): boolean {
  return (
    a.memberEpoch === b.memberEpoch &&
    a.previousMemberEpoch === b.previousMemberEpoch &&
    a.state === b.state &&
    samePartitions(a.assigned, b.assigned) &&
    samePartitions(a.pendingRevocation, b.pendingRevocation)
  );
}

/** Kafka's ModernGroupMember.isReconciledTo: stable at the given epoch. */
export function isReconciledTo(member: ConsumerGroupMember, epoch: number): boolean {
  return member.state === 'Stable' && member.memberEpoch === epoch;
}

const ownerKey = (topicId: string, partition: number) => `${topicId}:${partition}`;

export class ConsumerGroup {
  /** Bumped whenever the target assignment must be recomputed (KIP-848 group epoch). */
  groupEpoch = 0;
  /** The group epoch the current target assignment was computed for. */
  assignmentEpoch = 0;
  /** A hash of the subscribed topics' names, IDs and partition counts at the last epoch bump (KIP-1101). */
  metadataHash = 0n;
  readonly members = new Map<string, ConsumerGroupMember>();
  /** group.instance.id -> member ID. */
  readonly staticMembers = new Map<string, string>();
  /** Member ID -> the partitions it should eventually own. */
  readonly targetAssignment = new Map<string, TopicPartitions>();
  /** Partition -> the member that owns it (assigned or still revoking it). */
  private readonly owners = new Map<string, string>();

  constructor(readonly groupId: string) {}

  /** Kafka's ConsumerGroup state, derived from the epochs and the members. */
  get state(): ConsumerGroupState {
    if (this.members.size === 0) return 'Empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const member of this.members.values()) {
      if (!isReconciledTo(member, this.assignmentEpoch)) return 'Reconciling';
    }
    return 'Stable';
  }

  /** The member that owns a partition, if any. */
  ownerOf(topicId: string, partition: number): string | undefined {
    return this.owners.get(ownerKey(topicId, partition));
  }

  staticMember(instanceId: string): ConsumerGroupMember | undefined {
    const memberId = this.staticMembers.get(instanceId);
    return memberId === undefined ? undefined : this.members.get(memberId);
  }

  /** Adds or replaces a member, keeping partition ownership and static IDs in step. */
  updateMember(member: ConsumerGroupMember): void {
    const old = this.members.get(member.memberId);
    if (old !== undefined) this.releaseOwnership(old);
    this.members.set(member.memberId, member);
    this.claimOwnership(member);
    if (member.instanceId !== null) this.staticMembers.set(member.instanceId, member.memberId);
  }

  removeMember(memberId: string): ConsumerGroupMember | undefined {
    const old = this.members.get(memberId);
    if (old === undefined) return undefined;
    this.releaseOwnership(old);
    this.members.delete(memberId);
    this.targetAssignment.delete(memberId);
    if (old.instanceId !== null && this.staticMembers.get(old.instanceId) === memberId) this.staticMembers.delete(old.instanceId);
    return old;
  }

  /**
   * The server assignor most members asked for (ties: the first by name), or undefined when
   * none asked, as Kafka's computePreferredServerAssignor.
   */
  preferredAssignor(): string | undefined {
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      if (member.serverAssignor !== null) votes.set(member.serverAssignor, (votes.get(member.serverAssignor) ?? 0) + 1);
    }
    let best: string | undefined;
    let bestVotes = 0;
    for (const [name, count] of [...votes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best;
  }

  private claimOwnership(member: ConsumerGroupMember): void {
    for (const partitions of [member.assigned, member.pendingRevocation]) {
      for (const [topicId, set] of partitions) for (const partition of set) this.owners.set(ownerKey(topicId, partition), member.memberId);
    }
  }

  private releaseOwnership(member: ConsumerGroupMember): void {
    for (const partitions of [member.assigned, member.pendingRevocation]) {
      for (const [topicId, set] of partitions) {
        for (const partition of set) {
          const key = ownerKey(topicId, partition);
          if (this.owners.get(key) === member.memberId) this.owners.delete(key);
        }
      }
    }
  }
}
