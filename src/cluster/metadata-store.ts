// Where the cluster's agreement lives: broker registrations (membership and liveness), the
// controller, topics with their IDs and replica assignments, each partition's leader /
// epoch / ISR updated by compare-and-swap on a version (as Kafka did with ZooKeeper), and the
// producer-ID block allocator. Every broker keeps no copy of its own: it reads the store and
// reacts to its watch events.
//
// Two implementations sit behind this interface: the in-process one below (a single node,
// and the one-process cluster whose brokers share one instance), and EtcdMetadataStore in
// etcd-metadata-store.ts (registrations under leases, the controller recorded with its
// epoch, CAS through transactions on mod revisions, a watch on the cluster's prefix). The interface is synchronous where
// the in-process store can be and returns promises where etcd needs a round trip.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type BrokerRegistration, type ClusterSnapshotSource, type PartitionState, type TopicAssignment } from './metadata.js';

export type MetadataEvent =
  | { readonly kind: 'brokers' }
  | { readonly kind: 'topic-created'; readonly topic: string }
  | { readonly kind: 'topic-deleted'; readonly topic: string; readonly id: Buffer }
  | { readonly kind: 'partitions-added'; readonly topic: string }
  | { readonly kind: 'partition-state'; readonly topic: string; readonly partition: number }
  /** A topic's config overrides changed (AlterConfigs on any broker): every broker applies them. */
  | { readonly kind: 'topic-configs'; readonly topic: string }
  /** The cluster-wide dynamic broker configs (`kafka-configs --entity-default`) changed. */
  | { readonly kind: 'broker-configs' };

export type MetadataListener = (event: MetadataEvent) => void;

// ---- Users, ACLs and client quotas (src/security/) ----
// Kept in the same store so that every broker of a cluster enforces the same ones: SCRAM
// credentials, ACL bindings and client quota values as records of three areas, each record a
// key and a JSON text (etcd: keys scram/<key>, acls/<key>, quotas/<key>). src/security/
// security-records.ts turns them into the broker's views and, on a single node and in the
// one-process cluster, mirrors them to the data directory's files.

export type SecurityArea = 'acls' | 'scram' | 'quotas';

export interface SecurityRecordChange {
  readonly key: string;
  /** The record's JSON text; null removes it. */
  readonly value: string | null;
}

export interface SecurityMetadata {
  /** Every record of an area, key -> JSON text (the store's current copy). */
  securityRecords(area: SecurityArea): ReadonlyMap<string, string>;
  /** Sets and removes records; settles once this store's copy shows the change (in process: at once). */
  writeSecurityRecords(area: SecurityArea, changes: readonly SecurityRecordChange[]): void | Promise<void>;
  /** Calls `listener` after records of an area changed, whichever broker changed them; returns the unsubscribe function. */
  watchSecurity(listener: (area: SecurityArea) => void): () => void;
}

/** A change of config overrides: the new set from the current one (validated inside; may throw). */
export type ConfigUpdate = (current: Readonly<Record<string, string>>) => Record<string, string>;

export interface MetadataStore extends ClusterSnapshotSource, SecurityMetadata {
  /** Registers (or refreshes) a live broker; the controller is re-elected. */
  registerBroker(registration: BrokerRegistration): Promise<void>;
  /** The broker left (stopped, or its lease expired). */
  unregisterBroker(nodeId: number): Promise<void>;
  /** Creates a topic with its assignment and initial partition states; false if it exists. */
  createTopic(assignment: TopicAssignment, states: readonly PartitionState[]): Promise<boolean>;
  /** Appends partitions to a topic. */
  addPartitions(topic: string, replicas: ReadonlyArray<readonly number[]>, states: readonly PartitionState[]): Promise<void>;
  deleteTopic(topic: string): Promise<boolean>;
  /**
   * Replaces a partition's state if its version is still `expectedVersion`; the new version is
   * returned, or undefined when the CAS lost. The in-process store answers at once (its event
   * already delivered); etcd answers with a promise, settled once the store's own copy shows
   * the outcome. Callers await only a promise, so the in-process path stays synchronous.
   */
  compareAndSetPartition(topic: string, partition: number, expectedVersion: number, next: Omit<PartitionState, 'version'>): number | undefined | Promise<number | undefined>;
  /**
   * Replaces a topic's config overrides with what `update` makes of the current ones, as one
   * compare-and-set: `update` runs again on a fresher copy when another write won, so an
   * incremental change is never applied to a stale set. Throws what `update` throws, and
   * UNKNOWN_TOPIC_OR_PARTITION when the topic does not exist.
   */
  alterTopicConfigs(topic: string, update: ConfigUpdate): Promise<void>;
  /** The cluster-wide dynamic broker configs (the `--entity-default` layer); undefined until first set. */
  clusterBrokerConfigs(): Readonly<Record<string, string>> | undefined;
  /** Replaces the cluster-wide dynamic broker configs with what `update` makes of them (a compare-and-set, as alterTopicConfigs). */
  alterClusterBrokerConfigs(update: ConfigUpdate): Promise<void>;
  /** Reserves `count` producer IDs unique across the cluster; returns the first (etcd: a promise). */
  allocateProducerIds(count: bigint): bigint | Promise<bigint>;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  watch(listener: MetadataListener): () => void;
  /**
   * Where the metadata stands, for DescribeQuorum: how many controllers have been elected
   * (the epoch) and how many changes were made (the offset; etcd: its revision).
   */
  metadataPosition(): Promise<{ readonly controllerEpoch: number; readonly offset: bigint }>;
}

/** Two sets of config overrides hold the same keys and values. */
export function sameConfigs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

/** The store of a single node and of the one-process cluster: plain maps, events delivered synchronously. */
export class InProcessMetadataStore implements MetadataStore {
  private readonly registered = new Map<number, BrokerRegistration>();
  private readonly assignments = new Map<string, TopicAssignment>();
  private readonly states = new Map<string, PartitionState[]>();
  private readonly listeners = new Set<MetadataListener>();
  private controller = -1;
  private controllerEpoch = 0;
  private brokerConfigs: Record<string, string> | undefined;
  private changes = 0n;
  private nextProducerId: bigint;

  constructor(options: { firstProducerId?: bigint } = {}) {
    this.nextProducerId = options.firstProducerId ?? 0n;
  }

  brokers(): BrokerRegistration[] {
    return [...this.registered.values()];
  }

  controllerId(): number {
    return this.controller;
  }

  topic(name: string): TopicAssignment | undefined {
    return this.assignments.get(name);
  }

  topics(): TopicAssignment[] {
    return [...this.assignments.values()];
  }

  partitionState(topic: string, partition: number): PartitionState | undefined {
    return this.states.get(topic)?.[partition];
  }

  async registerBroker(registration: BrokerRegistration): Promise<void> {
    this.registered.set(registration.nodeId, registration);
    this.electController();
    this.emit({ kind: 'brokers' });
  }

  async unregisterBroker(nodeId: number): Promise<void> {
    if (!this.registered.delete(nodeId)) return;
    this.electController();
    this.emit({ kind: 'brokers' });
  }

  async createTopic(assignment: TopicAssignment, states: readonly PartitionState[]): Promise<boolean> {
    if (this.assignments.has(assignment.name)) return false;
    this.assignments.set(assignment.name, assignment);
    this.states.set(assignment.name, [...states]);
    this.emit({ kind: 'topic-created', topic: assignment.name });
    return true;
  }

  async addPartitions(topic: string, replicas: ReadonlyArray<readonly number[]>, states: readonly PartitionState[]): Promise<void> {
    const assignment = this.assignments.get(topic);
    if (assignment === undefined) throw new Error(`Topic ${topic} does not exist`);
    this.assignments.set(topic, { ...assignment, replicas: [...assignment.replicas, ...replicas] });
    this.states.get(topic)!.push(...states);
    this.emit({ kind: 'partitions-added', topic });
  }

  async deleteTopic(topic: string): Promise<boolean> {
    const assignment = this.assignments.get(topic);
    if (assignment === undefined) return false;
    this.assignments.delete(topic);
    this.states.delete(topic);
    this.emit({ kind: 'topic-deleted', topic, id: assignment.id });
    return true;
  }

  compareAndSetPartition(topic: string, partition: number, expectedVersion: number, next: Omit<PartitionState, 'version'>): number | undefined {
    const states = this.states.get(topic);
    const current = states?.[partition];
    if (states === undefined || current === undefined || current.version !== expectedVersion) return undefined;
    const version = current.version + 1;
    states[partition] = { leader: next.leader, leaderEpoch: next.leaderEpoch, replicas: [...next.replicas], isr: [...next.isr], version };
    // An ongoing reassignment travels with the state (KIP-455); a state without it ends it.
    if (next.addingReplicas !== undefined || next.removingReplicas !== undefined) {
      states[partition] = { ...states[partition]!, addingReplicas: [...(next.addingReplicas ?? [])], removingReplicas: [...(next.removingReplicas ?? [])] };
    }
    this.emit({ kind: 'partition-state', topic, partition });
    return version;
  }

  async alterTopicConfigs(topic: string, update: ConfigUpdate): Promise<void> {
    const assignment = this.assignments.get(topic);
    if (assignment === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${topic} does not exist`);
    this.assignments.set(topic, { ...assignment, configs: { ...update(assignment.configs) } });
    this.emit({ kind: 'topic-configs', topic });
  }

  clusterBrokerConfigs(): Readonly<Record<string, string>> | undefined {
    return this.brokerConfigs;
  }

  async alterClusterBrokerConfigs(update: ConfigUpdate): Promise<void> {
    this.brokerConfigs = { ...update(this.brokerConfigs ?? {}) };
    this.emit({ kind: 'broker-configs' });
  }

  allocateProducerIds(count: bigint): bigint {
    const first = this.nextProducerId;
    this.nextProducerId += count;
    return first;
  }

  watch(listener: MetadataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async metadataPosition(): Promise<{ controllerEpoch: number; offset: bigint }> {
    return { controllerEpoch: this.controllerEpoch, offset: this.changes };
  }

  // ---- users, ACLs and client quotas ----

  private readonly security = new Map<SecurityArea, Map<string, string>>();
  private readonly securityListeners = new Set<(area: SecurityArea) => void>();

  securityRecords(area: SecurityArea): ReadonlyMap<string, string> {
    return this.security.get(area) ?? new Map();
  }

  writeSecurityRecords(area: SecurityArea, changes: readonly SecurityRecordChange[]): void {
    if (changes.length === 0) return;
    let records = this.security.get(area);
    if (records === undefined) this.security.set(area, (records = new Map()));
    for (const { key, value } of changes) {
      if (value === null) records.delete(key);
      else records.set(key, value);
    }
    this.changes++;
    for (const listener of [...this.securityListeners]) listener(area);
  }

  watchSecurity(listener: (area: SecurityArea) => void): () => void {
    this.securityListeners.add(listener);
    return () => this.securityListeners.delete(listener);
  }

  /** The controller is the lowest live node id, recorded here so that every broker agrees. */
  private electController(): void {
    let lowest = -1;
    for (const nodeId of this.registered.keys()) if (lowest === -1 || nodeId < lowest) lowest = nodeId;
    if (lowest !== this.controller && lowest !== -1) this.controllerEpoch++;
    this.controller = lowest;
  }

  private emit(event: MetadataEvent): void {
    this.changes++;
    for (const listener of [...this.listeners]) listener(event);
  }
}
