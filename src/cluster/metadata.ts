// The cluster as every broker sees it: the registered brokers with their endpoints per
// listener and rack, the controller, and each topic's partitions with leader, leader epoch,
// replicas, ISR and offline replicas. A read-only view over a MetadataStore; handlers
// (Metadata, DescribeCluster, FindCoordinator) answer from it, never from the data directory.

export interface BrokerEndpoint {
  readonly listener: string;
  readonly host: string;
  readonly port: number;
}

export interface BrokerRegistration {
  readonly nodeId: number;
  readonly endpoints: readonly BrokerEndpoint[];
  readonly rack: string | null;
}

/** Leader, epoch and ISR of one partition; `version` guards compare-and-swap updates. */
export interface PartitionState {
  /** -1 when no replica can lead (every ISR member is down). */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly version: number;
  /**
   * An ongoing reassignment (KIP-455): `replicas` is then the target set followed by the
   * replicas being removed; the replicas being added join the ISR through the replica
   * fetcher, and the controller completes the move once they all have. Absent: none.
   */
  readonly addingReplicas?: readonly number[];
  readonly removingReplicas?: readonly number[];
}

export interface TopicAssignment {
  readonly name: string;
  /** The topic's UUID (KIP-516), 16 bytes. */
  readonly id: Buffer;
  /** Replica broker IDs per partition, the preferred leader first. */
  readonly replicas: ReadonlyArray<readonly number[]>;
  readonly configs: Readonly<Record<string, string>>;
}

export interface PartitionView extends PartitionState {
  readonly partition: number;
  readonly offlineReplicas: readonly number[];
}

/**
 * A topic as the cluster knows it, whichever brokers hold its replicas: what the group
 * coordinators need (offset commits, subscriptions, assignments) on a broker that may hold
 * none of them.
 */
export interface TopicInfo {
  readonly name: string;
  readonly id: Buffer;
  readonly partitionCount: number;
  readonly internal: boolean;
}

/** The cluster's topics, as the coordinators look them up. */
export interface TopicCatalog {
  topicInfo(name: string): TopicInfo | undefined;
  topicInfoById(id: Buffer): TopicInfo | undefined;
  topicInfos(): TopicInfo[];
}

/** Topics Kafka marks internal. */
const INTERNAL = new Set(['__consumer_offsets', '__transaction_state', '__share_group_state']);

function topicInfo(assignment: TopicAssignment): TopicInfo {
  return { name: assignment.name, id: assignment.id, partitionCount: assignment.replicas.length, internal: INTERNAL.has(assignment.name) };
}

export interface ClusterSnapshotSource {
  brokers(): BrokerRegistration[];
  controllerId(): number;
  topic(name: string): TopicAssignment | undefined;
  topics(): TopicAssignment[];
  partitionState(topic: string, partition: number): PartitionState | undefined;
}

export class ClusterMetadata implements TopicCatalog {
  /** Topic names by ID (hex), rebuilt on a miss. */
  private namesById = new Map<string, string>();

  constructor(private readonly source: ClusterSnapshotSource) {}

  /** Live brokers, by node id. */
  brokers(): BrokerRegistration[] {
    return this.source.brokers().sort((a, b) => a.nodeId - b.nodeId);
  }

  broker(nodeId: number): BrokerRegistration | undefined {
    return this.source.brokers().find((broker) => broker.nodeId === nodeId);
  }

  isLive(nodeId: number): boolean {
    return this.broker(nodeId) !== undefined;
  }

  get controllerId(): number {
    return this.source.controllerId();
  }

  /** The broker's endpoint on `listener`, or its first one. */
  endpoint(nodeId: number, listener?: string): BrokerEndpoint | undefined {
    const broker = this.broker(nodeId);
    return broker?.endpoints.find((endpoint) => endpoint.listener === listener) ?? broker?.endpoints[0];
  }

  topic(name: string): TopicAssignment | undefined {
    return this.source.topic(name);
  }

  /** A topic of the cluster by name (UNKNOWN_TOPIC_OR_PARTITION when undefined). */
  topicInfo(name: string): TopicInfo | undefined {
    const assignment = this.source.topic(name);
    return assignment === undefined ? undefined : topicInfo(assignment);
  }

  /** A topic of the cluster by its ID (KIP-516). */
  topicInfoById(id: Buffer): TopicInfo | undefined {
    const hex = id.toString('hex');
    const cached = this.namesById.get(hex);
    const assignment = cached === undefined ? undefined : this.source.topic(cached);
    if (assignment !== undefined && assignment.id.equals(id)) return topicInfo(assignment);
    this.namesById = new Map(this.source.topics().map((topic) => [topic.id.toString('hex'), topic.name]));
    const name = this.namesById.get(hex);
    const found = name === undefined ? undefined : this.source.topic(name);
    return found === undefined ? undefined : topicInfo(found);
  }

  /** Every topic of the cluster. */
  topicInfos(): TopicInfo[] {
    return this.source.topics().map(topicInfo);
  }

  partition(topic: string, partition: number): PartitionView | undefined {
    const state = this.source.partitionState(topic, partition);
    if (state === undefined) return undefined;
    const live = new Set(this.source.brokers().map((broker) => broker.nodeId));
    return { ...state, partition, offlineReplicas: state.replicas.filter((id) => !live.has(id)) };
  }

  partitions(topic: string): PartitionView[] {
    const assignment = this.source.topic(topic);
    if (assignment === undefined) return [];
    return assignment.replicas.map((_, index) => this.partition(topic, index)).filter((view): view is PartitionView => view !== undefined);
  }
}
