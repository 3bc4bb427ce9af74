// A share group's membership (KIP-932): members join with epoch 0 and their subscription,
// heartbeat with their epoch, leave with -1. Any change of the members, of their
// subscriptions or of the subscribed topics' partition counts bumps the group epoch and
// recomputes the target assignment at once; share groups have no revocation step, so a
// member takes its new assignment (and the new epoch) on its next heartbeat.
//
// The assignment follows Kafka's simple assignor: every subscribed partition goes to at
// least one subscriber; with more subscribers than partitions, partitions are shared by
// several members (they then read the same partition, each getting disjoint records); with
// fewer, partitions are spread round-robin. Members are ordered by ID so that the result
// depends only on the membership.

export interface ShareMember {
  readonly memberId: string;
  memberEpoch: number;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  /** topic ID (hex) -> partitions */
  assignment: Map<string, number[]>;
  /** The epoch whose assignment the member was last sent. */
  sentEpoch: number;
  sessionTimer?: NodeJS.Timeout;
}

export interface TopicInfo {
  readonly name: string;
  readonly id: Buffer;
  readonly partitions: number;
}

export class ShareGroup {
  readonly members = new Map<string, ShareMember>();
  groupEpoch = 0;
  assignmentEpoch = 0;
  /** Every topic the group subscribed to (where its share-partition state may be), kept in __consumer_offsets. */
  readonly knownTopics = new Set<string>();
  /** What __consumer_offsets has of the group: its epoch and known topics' signature. */
  persistedEpoch = -1;
  persistedTopics = '';
  /** The subscribed topics' names and partition counts when the assignment was computed. */
  private metadataSignature = '';

  constructor(readonly groupId: string) {}

  get state(): 'Empty' | 'Stable' {
    return this.members.size === 0 ? 'Empty' : 'Stable';
  }

  subscribedTopics(): Set<string> {
    const names = new Set<string>();
    for (const member of this.members.values()) for (const name of member.subscribedTopicNames) names.add(name);
    return names;
  }

  /** Recomputes the assignment when membership or topic metadata changed; bumps the epoch then. */
  refresh(lookup: (name: string) => TopicInfo | undefined, membershipChanged: boolean): void {
    const topics = [...this.subscribedTopics()]
      .sort()
      .map((name) => lookup(name))
      .filter((topic): topic is TopicInfo => topic !== undefined);
    for (const topic of topics) this.knownTopics.add(topic.name);
    const signature = topics.map((topic) => `${topic.name}:${topic.id.toString('hex')}:${topic.partitions}`).join(',');
    if (!membershipChanged && signature === this.metadataSignature) return;
    this.metadataSignature = signature;
    this.groupEpoch++;
    this.assign(topics);
    this.assignmentEpoch = this.groupEpoch;
  }

  private assign(topics: readonly TopicInfo[]): void {
    const members = [...this.members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
    for (const member of members) member.assignment = new Map();
    let rotation = 0;
    for (const topic of topics) {
      const subscribers = members.filter((member) => member.subscribedTopicNames.includes(topic.name));
      if (subscribers.length === 0 || topic.partitions === 0) continue;
      const id = topic.id.toString('hex');
      const give = (member: ShareMember, partition: number) => {
        const list = member.assignment.get(id) ?? [];
        list.push(partition);
        member.assignment.set(id, list);
      };
      if (subscribers.length >= topic.partitions) {
        subscribers.forEach((member, index) => give(member, (index + rotation) % topic.partitions));
      } else {
        for (let partition = 0; partition < topic.partitions; partition++) give(subscribers[(partition + rotation) % subscribers.length]!, partition);
      }
      rotation += topic.partitions;
    }
  }
}
