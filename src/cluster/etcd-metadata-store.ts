// The metadata store of a multi-process cluster, kept in etcd v3. Every broker process holds
// one of these: the keys below one prefix (`/spate/<cluster>/`) are loaded once, then a watch
// on the prefix keeps a local copy current, so the snapshot reads (brokers(), topic(),
// partitionState()...) stay synchronous, and the changes are turned into the same events the
// in-process store emits. Writes are etcd transactions; each resolves only once the watch has
// brought the local copy to the write's revision, so a caller reads its own writes, as it
// does with the in-process store.
//
// Keys (relative to the prefix):
//   brokers/<id>             a registration, put under a lease of broker.session.timeout.ms
//                            (KIP-631's name; Kafka's KRaft default 9 s). A broker whose
//                            lease expires disappears, and every broker sees 'brokers'.
//   controller               {"nodeId","epoch"}: the controller is the lowest live node id,
//                            computed alike everywhere from the registrations; that broker
//                            records itself here with the epoch bumped, by a transaction on
//                            the key's mod revision, so the epoch counts elections.
//   topics/<name>            the assignment as JSON, the topic ID in base64, and the topic's
//                            config overrides (AlterConfigs writes them here by CAS on the
//                            key's mod revision; every broker applies them from its watch).
//   partitions/<topic>/<n>   leader, leader epoch, ISR... as JSON with its `version`; a
//                            compare-and-set is a transaction on the key's mod revision
//                            (ZooKeeper's versioned setData, which Kafka used).
//   broker-configs           the cluster-wide dynamic broker configs (kafka-configs
//                            --entity-default), as JSON; changed by CAS like a topic's configs.
//   producer-ids             the next unreserved producer ID; blocks are taken by CAS.
//   cluster-id               the cluster ID every broker answers with (written once).
//   scram/, acls/, quotas/   users, ACLs and client quotas (etcd-security-records.ts).

// etcd unreachable (restarting, electing a leader, a member down): the brokers keep serving
// from their copies; a write is tried again every quarter second for at most
// controller.socket.timeout.ms (30 s; Kafka's timeout of a broker's requests to its
// controller), then fails with REQUEST_TIMED_OUT naming the endpoints; the watch
// reconnects within a second of etcd's return and resumes from the copy's revision. A
// registration whose lease was lost meanwhile (etcd away for more than twice the session
// timeout, as the client counts) is made again, every second until etcd answers.
//
// Types only: the client (with gRPC, about 30 MB and a quarter of a second to load) is
// imported by connect(), so a broker without --cluster never loads it.
import type { Etcd3, IOptions, Lease, Namespace, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { type Logger } from '../logger.js';
import { type BrokerRegistration, type PartitionState, type TopicAssignment } from './metadata.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { sameConfigs, type ConfigUpdate, type MetadataEvent, type MetadataListener, type MetadataStore, type SecurityArea, type SecurityRecordChange } from './metadata-store.js';
import { EtcdSecurityRecords } from './etcd-security-records.js';

export interface EtcdMetadataStoreOptions {
  /** etcd client URLs, e.g. ['http://127.0.0.1:2379']. */
  readonly endpoints: readonly string[];
  /** The cluster's name in etcd: its keys live under /spate/<cluster>/. */
  readonly cluster: string;
  /** The lease TTL of a registration (broker.session.timeout.ms), rounded up to seconds. */
  readonly sessionTimeoutMs?: number;
  /** Where producer IDs start when etcd has none reserved yet. */
  readonly firstProducerId?: bigint;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** How long a write waits for an unreachable etcd before it fails with REQUEST_TIMED_OUT (controller.socket.timeout.ms, 30 s). */
  readonly writeTimeoutMs?: number;
}

/** etcd addresses from `etcd://host:port[,host:port...][/cluster]`. */
export function parseEtcdUrl(url: string): { endpoints: string[]; cluster: string } {
  const match = /^etcd:\/\/([^/]+)(?:\/([A-Za-z0-9._-]+))?\/?$/.exec(url);
  if (match === null) throw new Error(`--cluster expects etcd://host:port[,host:port...][/name], got '${url}'`);
  const endpoints = match[1]!.split(',').map((hostPort) => {
    if (!/^[^:,]+:\d+$/.test(hostPort) && !/^\[[0-9a-fA-F:]+\]:\d+$/.test(hostPort)) throw new Error(`'${hostPort}' in ${url} is not host:port`);
    return `http://${hostPort}`;
  });
  return { endpoints, cluster: match[2] ?? 'spate' };
}

interface StoredPartition {
  readonly state: PartitionState;
  /** The key's mod revision, what a compare-and-set compares. */
  readonly modRevision: string;
}

interface StoredTopic {
  readonly assignment: TopicAssignment;
  readonly modRevision: string;
}

interface ControllerRecord {
  readonly nodeId: number;
  readonly epoch: number;
}

/** A CAS that loses against a concurrent writer reads the fresher copy and tries again, this many times. */
const WRITE_ATTEMPTS = 10;
/** etcd's default --max-txn-ops is 128: larger creations are written in transactions of this many keys. */
const KEYS_PER_TRANSACTION = 100;
/** A write waits this long at most for the watch to bring it back (a watch that is reconnecting). */
const CATCH_UP_TIMEOUT_MS = 10_000;
/** Each etcd call gives up after this long (a member that is frozen or unreachable), and is tried again while the write's time lasts. */
const CALL_TIMEOUT_MS = 5000;
/** Between two tries of a write while etcd is unreachable. */
const RETRY_MS = 250;

/** Errors that mean "etcd did not answer now" (down, restarting, electing a leader), not "etcd refused". */
function transient(error: unknown, recoverable: (error: Error) => boolean): boolean {
  if (!(error instanceof Error)) return false;
  if (recoverable(error) || (error as { isBrokenCircuitError?: boolean }).isBrokenCircuitError === true) return true;
  return /unavailable|deadline|no leader|leader changed|timed out|ECONNREFUSED|ECONNRESET|No connection established|too many requests/i.test(error.message);
}

/** The useful part of a gRPC connection error ("connect ECONNREFUSED 127.0.0.1:2379"). */
export function etcdReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /Last error: (?:Error: )?([^\n]*?)\.?\s*(?:Resolution note:|$)/.exec(message)?.[1]?.trim() || message.trim();
}

export class EtcdMetadataStore implements MetadataStore {
  private readonly client: Etcd3;
  private readonly keys: Namespace;
  private readonly logger: EtcdMetadataStoreOptions['logger'];
  private readonly leaseTtlSeconds: number;
  private readonly registered = new Map<number, BrokerRegistration>();
  private readonly topicsByName = new Map<string, StoredTopic>();
  private readonly partitions = new Map<string, Map<number, StoredPartition>>();
  private readonly listeners = new Set<MetadataListener>();
  private controllerRecord: ControllerRecord | undefined;
  private controllerRevision = '0';
  private brokerConfigs: { readonly configs: Record<string, string>; readonly modRevision: string } | undefined;
  private watcher: Watcher | undefined;
  /** The etcd revision the local copy reflects. */
  private revision = 0n;
  private readonly revisionWaiters: Array<{ revision: bigint; resolve: () => void }> = [];
  private lease: Lease | undefined;
  private registration: BrokerRegistration | undefined;
  private resyncing = false;
  private closed = false;
  /** Users, ACLs and client quotas, with their own watches. */
  private readonly securityCopy: EtcdSecurityRecords;
  private reregistering = false;
  private readonly writeTimeoutMs: number;

  private constructor(
    private readonly options: EtcdMetadataStoreOptions,
    client: Etcd3,
    private readonly recoverable: (error: Error) => boolean,
  ) {
    this.writeTimeoutMs = options.writeTimeoutMs ?? 30_000;
    this.client = client;
    this.keys = this.client.namespace(`/spate/${options.cluster}/`);
    this.logger = options.logger;
    this.leaseTtlSeconds = Math.max(1, Math.ceil((options.sessionTimeoutMs ?? 9000) / 1000));
    this.securityCopy = new EtcdSecurityRecords(this.keys, options.logger);
  }

  /** Connects, loads every key of the cluster and starts watching; fails when etcd cannot be reached. */
  static async connect(options: EtcdMetadataStoreOptions): Promise<EtcdMetadataStore> {
    const { Etcd3, isRecoverableError } = await import('etcd3');
    const client = new Etcd3({
      hosts: [...options.endpoints],
      dialTimeout: CALL_TIMEOUT_MS,
      // Unary calls end after CALL_TIMEOUT_MS (a frozen member never answers); streams (watch, keepalive) live on.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
      // The watch reconnects within a second of etcd's return (the client's default backs off to 30 s).
      faultHandling: { watchBackoff: cappedBackoff(100, 1000) },
    });
    const store = new EtcdMetadataStore(options, client, isRecoverableError);
    try {
      await store.load();
    } catch (error) {
      await store.close();
      throw new Error(`Cannot reach etcd at ${options.endpoints.map((url) => url.replace(/^http:\/\//, '')).join(',')} (${etcdReason(error)}); is etcd running there?`);
    }
    return store;
  }

  /**
   * Runs an etcd write, again while etcd is unreachable, for at most the write timeout; then
   * REQUEST_TIMED_OUT naming the endpoints. A write that reached etcd before the connection
   * dropped may have been made: every caller's write is a compare-and-set that a second try
   * finds already done (and reports as lost, or checks, as createTopic does).
   */
  private async reachable<T>(what: string, write: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.writeTimeoutMs;
    let warned = false;
    for (;;) {
      try {
        const result = await write();
        if (warned) this.logger.info(`etcd answers again: ${what} done`);
        return result;
      } catch (error) {
        if (this.closed || !transient(error, this.recoverable)) throw error;
        const endpoints = this.options.endpoints.map((url) => url.replace(/^http:\/\//, '')).join(',');
        if (Date.now() + RETRY_MS > deadline) {
          throw new KafkaError(
            ErrorCode.REQUEST_TIMED_OUT,
            `etcd at ${endpoints} did not answer for ${Math.round(this.writeTimeoutMs / 1000)} s (${etcdReason(error)}): ${what} may not have been made`,
          );
        }
        if (!warned) this.logger.warn(`etcd at ${endpoints} does not answer (${etcdReason(error)}): ${what} waits for it, at most ${Math.round(this.writeTimeoutMs / 1000)} s`);
        warned = true;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  // ---- snapshot reads (the local copy) ----

  brokers(): BrokerRegistration[] {
    return [...this.registered.values()];
  }

  controllerId(): number {
    let lowest = -1;
    for (const nodeId of this.registered.keys()) if (lowest === -1 || nodeId < lowest) lowest = nodeId;
    return lowest;
  }

  topic(name: string): TopicAssignment | undefined {
    return this.topicsByName.get(name)?.assignment;
  }

  topics(): TopicAssignment[] {
    return [...this.topicsByName.values()].map((stored) => stored.assignment);
  }

  partitionState(topic: string, partition: number): PartitionState | undefined {
    return this.partitions.get(topic)?.get(partition)?.state;
  }

  // ---- writes ----

  /** The cluster ID in etcd; the first broker to ask writes `proposed`. */
  async clusterId(proposed: string): Promise<string> {
    await this.reachable('writing the cluster ID', () => this.keys.if('cluster-id', 'Create', '==', 0).then(this.keys.put('cluster-id').value(proposed)).commit());
    return (await this.reachable('reading the cluster ID', () => this.keys.get('cluster-id').string())) ?? proposed;
  }

  /**
   * Before a broker starts: if an earlier run of `nodeId` is still registered (killed and
   * restarted within its session timeout, so its lease has not expired), that registration
   * is removed first and, while other brokers are live, this waits (at most twice the session
   * timeout) until the controller has moved its leaderships, as after an expiry. So a
   * restarted broker never resumes leading with a log that may lack what its followers
   * acknowledged meanwhile; it rejoins as a follower, like Kafka's broker incarnations.
   */
  async retirePreviousRun(nodeId: number): Promise<void> {
    const previous = (await this.reachable(`reading the registration of broker ${nodeId}`, () => this.keys.get(`brokers/${nodeId}`).exec())).kvs[0];
    if (previous === undefined) return;
    this.logger.info(`An earlier run of broker ${nodeId} is still registered (its lease has not expired): it leaves the cluster first`);
    const deleted = await this.reachable(`removing the registration of broker ${nodeId}`, () => this.keys.delete().key(`brokers/${nodeId}`).exec());
    await this.caughtUp(deleted.header.revision);
    if (![...this.registered.keys()].some((id) => id !== nodeId)) return;
    const deadline = Date.now() + 2000 * this.leaseTtlSeconds;
    const leads = () => [...this.partitions.values()].some((states) => [...states.values()].some((stored) => stored.state.leader === nodeId));
    while (leads() && Date.now() < deadline && !this.closed) await new Promise((resolve) => setTimeout(resolve, 100));
    if (leads()) this.logger.warn(`Broker ${nodeId} still leads some partitions after ${2 * this.leaseTtlSeconds} s; starting anyway`);
  }

  async registerBroker(registration: BrokerRegistration): Promise<void> {
    this.registration = registration;
    this.lease?.release();
    const lease = this.keys.lease(this.leaseTtlSeconds);
    this.lease = lease;
    lease.on('lost', (error) => this.leaseLost(lease, error));
    const response = await lease.put(`brokers/${registration.nodeId}`).value(JSON.stringify(registration)).exec();
    await this.caughtUp(response.header.revision);
  }

  /**
   * A broker that was paused (SIGSTOP, a long GC) past its TTL, or cut off from etcd for
   * longer than the client keeps a lease alive, registers again under a new lease, every
   * second until etcd answers. Its partitions may have moved meanwhile; the leader epochs it
   * held are fenced by the CAS on every partition state.
   */
  private leaseLost(lease: Lease, error: Error): void {
    const registration = this.registration;
    if (this.closed || this.lease !== lease || registration === undefined || this.reregistering) return;
    this.reregistering = true;
    this.logger.warn(`etcd lease of broker ${registration.nodeId} lost (${etcdReason(error)}); registering again`);
    void (async () => {
      let failures = 0;
      while (!this.closed && this.registration === registration) {
        try {
          await this.registerBroker(registration);
          this.logger.info(`Broker ${registration.nodeId} registered again`);
          break;
        } catch (again) {
          if (failures++ === 0) this.logger.warn(`Registering broker ${registration.nodeId} again failed (${etcdReason(again)}); trying every second until etcd answers`);
          await new Promise((resolve) => setTimeout(resolve, 1000).unref());
        }
      }
      this.reregistering = false;
    })();
  }

  async unregisterBroker(nodeId: number): Promise<void> {
    if (this.registration?.nodeId !== nodeId) return;
    this.registration = undefined;
    const lease = this.lease;
    this.lease = undefined;
    // Revoking the lease deletes the registration at once, rather than after its TTL.
    if (lease !== undefined) await lease.revoke().catch((error: unknown) => this.logger.warn(`Revoking the etcd lease of broker ${nodeId} failed: ${(error as Error).message}`));
  }

  /**
   * One transaction: the topic and its partition states, if the topic does not exist. A topic
   * of more partitions than one transaction may hold has its states written first, in
   * transactions that each still require the topic to be absent, and the topic key last;
   * the watch announces the topic when that key arrives.
   */
  async createTopic(assignment: TopicAssignment, states: readonly PartitionState[]): Promise<boolean> {
    const topicKey = `topics/${assignment.name}`;
    const statePuts = states.map((state, index) => this.keys.put(partitionKey(assignment.name, index)).value(JSON.stringify(state)));
    const what = `creating topic ${assignment.name}`;
    while (statePuts.length >= KEYS_PER_TRANSACTION) {
      const batch = statePuts.splice(0, KEYS_PER_TRANSACTION);
      const written = await this.reachable(what, () =>
        this.keys
          .if(topicKey, 'Create', '==', 0)
          .then(...batch)
          .commit(),
      );
      if (!written.succeeded) {
        await this.caughtUp(written.header.revision);
        return false;
      }
    }
    let tries = 0;
    const response = await this.reachable(what, () => {
      tries++;
      return this.keys
        .if(topicKey, 'Create', '==', 0)
        .then(this.keys.put(topicKey).value(encodeTopic(assignment)), ...statePuts)
        .commit();
    });
    await this.caughtUp(response.header.revision);
    // A first try that reached etcd before its connection dropped made the topic: the next one finds it there, under this ID.
    return response.succeeded || (tries > 1 && this.topicsByName.get(assignment.name)?.assignment.id.equals(assignment.id) === true);
  }

  async addPartitions(topic: string, replicas: ReadonlyArray<readonly number[]>, states: readonly PartitionState[]): Promise<void> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const stored = this.topicsByName.get(topic);
      if (stored === undefined) throw new Error(`Topic ${topic} does not exist`);
      const first = stored.assignment.replicas.length;
      const next: TopicAssignment = { ...stored.assignment, replicas: [...stored.assignment.replicas, ...replicas] };
      // As in createTopic: the new states first (unseen until the assignment names them), each batch only while the assignment is unchanged.
      const statePuts = states.map((state, index) => this.keys.put(partitionKey(topic, first + index)).value(JSON.stringify(state)));
      let unchanged = true;
      while (unchanged && statePuts.length >= KEYS_PER_TRANSACTION) {
        const batch = statePuts.splice(0, KEYS_PER_TRANSACTION);
        const written = await this.reachable(`adding partitions to ${topic}`, () =>
          this.keys
            .if(`topics/${topic}`, 'Mod', '==', stored.modRevision)
            .then(...batch)
            .commit(),
        );
        unchanged = written.succeeded;
        if (!unchanged) await this.caughtUp(written.header.revision);
      }
      if (!unchanged) continue;
      const response = await this.reachable(`adding partitions to ${topic}`, () =>
        this.keys
          .if(`topics/${topic}`, 'Mod', '==', stored.modRevision)
          .then(this.keys.put(`topics/${topic}`).value(encodeTopic(next)), ...statePuts)
          .commit(),
      );
      await this.caughtUp(response.header.revision);
      if (response.succeeded) return;
    }
    throw new Error(`The assignment of ${topic} kept changing while partitions were added`);
  }

  async deleteTopic(topic: string): Promise<boolean> {
    if (!this.topicsByName.has(topic)) return false;
    const response = await this.reachable(`deleting topic ${topic}`, () =>
      this.keys
        .if(`topics/${topic}`, 'Create', '>', 0)
        .then(this.keys.delete().key(`topics/${topic}`), this.keys.delete().prefix(`partitions/${topic}/`))
        .commit(),
    );
    await this.caughtUp(response.header.revision);
    return response.succeeded;
  }

  async compareAndSetPartition(topic: string, partition: number, expectedVersion: number, next: Omit<PartitionState, 'version'>): Promise<number | undefined> {
    const stored = this.partitions.get(topic)?.get(partition);
    if (stored === undefined || stored.state.version !== expectedVersion) return undefined;
    const version = expectedVersion + 1;
    const state: PartitionState = {
      leader: next.leader,
      leaderEpoch: next.leaderEpoch,
      replicas: [...next.replicas],
      isr: [...next.isr],
      version,
      // An ongoing reassignment travels with the state (KIP-455); a state without it ends it.
      ...(next.addingReplicas !== undefined || next.removingReplicas !== undefined
        ? { addingReplicas: [...(next.addingReplicas ?? [])], removingReplicas: [...(next.removingReplicas ?? [])] }
        : {}),
    };
    const response = await this.reachable(`the state change of ${topic}-${partition}`, () =>
      this.keys
        .if(partitionKey(topic, partition), 'Mod', '==', stored.modRevision)
        .then(this.keys.put(partitionKey(topic, partition)).value(JSON.stringify(state)))
        .commit(),
    );
    // Lost or won, the local copy is brought to etcd's revision: a caller that retries reads the winner's state.
    await this.caughtUp(response.header.revision);
    return response.succeeded ? version : undefined;
  }

  async alterTopicConfigs(topic: string, update: ConfigUpdate): Promise<void> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const stored = this.topicsByName.get(topic);
      if (stored === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${topic} does not exist`);
      const next: TopicAssignment = { ...stored.assignment, configs: { ...update(stored.assignment.configs) } };
      const response = await this.reachable(`the config change of ${topic}`, () =>
        this.keys
          .if(`topics/${topic}`, 'Mod', '==', stored.modRevision)
          .then(this.keys.put(`topics/${topic}`).value(encodeTopic(next)))
          .commit(),
      );
      await this.caughtUp(response.header.revision);
      if (response.succeeded) return;
    }
    throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `The configs of ${topic} kept changing; try again`);
  }

  clusterBrokerConfigs(): Readonly<Record<string, string>> | undefined {
    return this.brokerConfigs?.configs;
  }

  async alterClusterBrokerConfigs(update: ConfigUpdate): Promise<void> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const stored = this.brokerConfigs;
      const next = update(stored?.configs ?? {});
      const response = await this.reachable('the cluster-wide broker config change', () =>
        this.keys
          .if('broker-configs', 'Mod', '==', stored?.modRevision ?? '0')
          .then(this.keys.put('broker-configs').value(JSON.stringify(next)))
          .commit(),
      );
      await this.caughtUp(response.header.revision);
      if (response.succeeded) return;
    }
    throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'The cluster-wide broker configs kept changing; try again');
  }

  async allocateProducerIds(count: bigint): Promise<bigint> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const current = await this.reachable('reserving producer IDs', () => this.keys.get('producer-ids').exec());
      const kv = current.kvs[0];
      const first = kv !== undefined ? BigInt(kv.value.toString()) : (this.options.firstProducerId ?? 0n);
      const response = await this.reachable('reserving producer IDs', () =>
        this.keys
          .if('producer-ids', 'Mod', '==', kv?.mod_revision ?? 0)
          .then(this.keys.put('producer-ids').value((first + count).toString()))
          .commit(),
      );
      if (response.succeeded) return first;
    }
    throw new Error('Producer ID blocks are contended: no block reserved');
  }

  watch(listener: MetadataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async metadataPosition(): Promise<{ controllerEpoch: number; offset: bigint }> {
    return { controllerEpoch: this.controllerRecord?.epoch ?? 0, offset: this.revision };
  }

  /** Stops watching and closes the connection (after the broker has unregistered). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Still registered (the broker did not unregister): the lease is left to expire, as after a crash.
    this.lease?.release();
    this.lease = undefined;
    for (const waiter of this.revisionWaiters.splice(0)) waiter.resolve();
    await this.securityCopy.close();
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher !== undefined) {
      // Bounded: a watch etcd has cancelled already gets no answer to another cancellation.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([watcher.cancel().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
    }
    this.client.close();
  }

  // ---- users, ACLs and client quotas (etcd-security-records.ts) ----

  securityRecords(area: SecurityArea): ReadonlyMap<string, string> {
    return this.securityCopy.records(area);
  }

  writeSecurityRecords(area: SecurityArea, changes: readonly SecurityRecordChange[]): Promise<void> {
    return this.securityCopy.write(area, changes);
  }

  watchSecurity(listener: (area: SecurityArea) => void): () => void {
    return this.securityCopy.watch(listener);
  }

  // ---- the local copy ----

  private async load(): Promise<void> {
    const snapshot = await this.keys.getAll().exec();
    for (const kv of snapshot.kvs) this.apply('put', kv, new Map());
    this.revision = BigInt(snapshot.header.revision);
    await this.startWatch();
    this.maybeClaimController();
    await this.securityCopy.load();
  }

  /** Watches the prefix from the revision after the copy's; resolves once etcd has created the watch. */
  private startWatch(): Promise<void> {
    // The listeners go on before the watch exists: etcd's cancellation of a compacted start
    // revision can arrive in the same read as the creation.
    const watcher = this.keys
      .watch()
      .prefix('')
      .startRevision((this.revision + 1n).toString())
      .watcher();
    this.watcher = watcher;
    const created = new Promise<void>((resolve, reject) => {
      watcher.once('connected', () => resolve());
      watcher.once('error', reject);
    });
    watcher.on('data', (response) => {
      if (this.watcher === watcher) this.onWatch(response);
    });
    watcher.on('disconnected', (error) => {
      if (!this.closed) this.logger.warn(`etcd watch disconnected (${error.message}); reconnecting`);
    });
    // etcd cancels a watch whose start revision was compacted away (a broker cut off from
    // etcd while it compacted): the copy is then reloaded whole and the differences announced.
    watcher.on('error', (error) => {
      if (this.closed || this.watcher !== watcher) return;
      this.logger.warn(`etcd watch cancelled (${error.message}); reloading the cluster metadata`);
      void this.resync();
    });
    return created;
  }

  /** Reloads every key, emits the events that turn the old copy into the new one, and watches again from there. */
  private async resync(): Promise<void> {
    if (this.closed || this.resyncing) return;
    this.resyncing = true;
    // The cancelled watch is gone already (cancelling it again would wait for an answer that never comes).
    this.watcher = undefined;
    try {
      const snapshot = await this.keys.getAll().exec();
      const before = { brokers: new Map(this.registered), topics: new Map(this.topicsByName), partitions: new Map(this.partitions), brokerConfigs: this.brokerConfigs?.configs };
      this.registered.clear();
      this.brokerConfigs = undefined;
      this.topicsByName.clear();
      this.partitions.clear();
      this.controllerRecord = undefined;
      this.controllerRevision = '0';
      for (const kv of snapshot.kvs) this.apply('put', kv, new Map());
      const revision = BigInt(snapshot.header.revision);
      if (revision > this.revision) this.revision = revision;
      for (const event of this.differences(before)) this.emit(event);
      this.maybeClaimController();
      this.releaseWaiters();
      await this.startWatch();
    } catch (error) {
      this.logger.warn(`Reloading the cluster metadata from etcd failed (${(error as Error).message}); trying again in 1 s`);
      setTimeout(() => void this.resync(), 1000).unref();
    } finally {
      this.resyncing = false;
    }
  }

  /** The events between an earlier copy and the current one, as the watch would have emitted them. */
  private differences(before: {
    brokers: ReadonlyMap<number, BrokerRegistration>;
    topics: ReadonlyMap<string, StoredTopic>;
    partitions: ReadonlyMap<string, ReadonlyMap<number, StoredPartition>>;
    brokerConfigs: Readonly<Record<string, string>> | undefined;
  }): MetadataEvent[] {
    const events: MetadataEvent[] = [];
    if (!sameConfigs(before.brokerConfigs ?? {}, this.brokerConfigs?.configs ?? {})) events.push({ kind: 'broker-configs' });
    const sameBrokers =
      before.brokers.size === this.registered.size && [...this.registered].every(([id, registration]) => JSON.stringify(before.brokers.get(id)) === JSON.stringify(registration));
    if (!sameBrokers) events.push({ kind: 'brokers' });
    for (const [name, old] of before.topics) {
      const now = this.topicsByName.get(name);
      if (now === undefined || !now.assignment.id.equals(old.assignment.id)) events.push({ kind: 'topic-deleted', topic: name, id: old.assignment.id });
    }
    for (const [name, now] of this.topicsByName) {
      const old = before.topics.get(name);
      if (old === undefined || !old.assignment.id.equals(now.assignment.id)) {
        events.push({ kind: 'topic-created', topic: name });
        continue;
      }
      const oldCount = old.assignment.replicas.length;
      if (now.assignment.replicas.length > oldCount) events.push({ kind: 'partitions-added', topic: name });
      if (!sameConfigs(old.assignment.configs, now.assignment.configs)) events.push({ kind: 'topic-configs', topic: name });
      const states = this.partitions.get(name);
      for (let partition = 0; partition < oldCount; partition++) {
        const was = before.partitions.get(name)?.get(partition)?.modRevision;
        const is = states?.get(partition)?.modRevision;
        if (is !== undefined && was !== is) events.push({ kind: 'partition-state', topic: name, partition });
      }
    }
    return events;
  }

  /**
   * One watch response: every change is applied before any event is emitted, so that a
   * topic's creation (one transaction: the topic and its partition states) is seen whole and
   * announced once, as 'topic-created' (or 'partitions-added'), not partition by partition.
   */
  private onWatch(response: IWatchResponse): void {
    if (this.closed) return;
    const events: MetadataEvent[] = [];
    /** Topics created or grown in this response, with their first new partition. */
    const grown = new Map<string, number>();
    for (const change of response.events) {
      const event = this.apply(change.type === 'Put' ? 'put' : 'delete', change.kv, grown);
      if (event === undefined || (event.kind === 'brokers' && events.some((earlier) => earlier.kind === 'brokers'))) continue;
      events.push(event);
    }
    const revision = BigInt(response.header.revision);
    if (revision > this.revision) this.revision = revision;
    for (const event of events) {
      if (event.kind === 'partition-state' && event.partition >= (grown.get(event.topic) ?? Infinity)) continue;
      this.emit(event);
    }
    if (events.some((event) => event.kind === 'brokers')) this.maybeClaimController();
    this.releaseWaiters();
  }

  /** Applies one key's change to the local copy; the event it means, if any. */
  private apply(type: 'put' | 'delete', kv: IKeyValue, grown: Map<string, number>): MetadataEvent | undefined {
    const key = kv.key.toString();
    const slash = key.indexOf('/');
    const area = slash === -1 ? key : key.slice(0, slash);
    const rest = slash === -1 ? '' : key.slice(slash + 1);
    switch (area) {
      case 'brokers': {
        const nodeId = Number(rest);
        if (type === 'delete') return this.registered.delete(nodeId) ? { kind: 'brokers' } : undefined;
        this.registered.set(nodeId, JSON.parse(kv.value.toString()) as BrokerRegistration);
        return { kind: 'brokers' };
      }
      case 'controller':
        if (type === 'delete') this.controllerRecord = undefined;
        else this.controllerRecord = JSON.parse(kv.value.toString()) as ControllerRecord;
        this.controllerRevision = type === 'delete' ? '0' : kv.mod_revision;
        return undefined;
      case 'topics': {
        const known = this.topicsByName.get(rest);
        if (type === 'delete') {
          if (known === undefined) return undefined;
          this.topicsByName.delete(rest);
          this.partitions.delete(rest);
          return { kind: 'topic-deleted', topic: rest, id: known.assignment.id };
        }
        const assignment = decodeTopic(kv.value.toString());
        this.topicsByName.set(rest, { assignment, modRevision: kv.mod_revision });
        if (known === undefined) {
          grown.set(rest, 0);
          return { kind: 'topic-created', topic: rest };
        }
        if (assignment.replicas.length <= known.assignment.replicas.length) {
          return sameConfigs(assignment.configs, known.assignment.configs) ? undefined : { kind: 'topic-configs', topic: rest };
        }
        grown.set(rest, known.assignment.replicas.length);
        return { kind: 'partitions-added', topic: rest };
      }
      case 'broker-configs':
        this.brokerConfigs = type === 'delete' ? undefined : { configs: JSON.parse(kv.value.toString()) as Record<string, string>, modRevision: kv.mod_revision };
        return { kind: 'broker-configs' };
      case 'partitions': {
        const cut = rest.lastIndexOf('/');
        const topic = rest.slice(0, cut);
        const partition = Number(rest.slice(cut + 1));
        if (type === 'delete') {
          this.partitions.get(topic)?.delete(partition);
          return undefined;
        }
        let states = this.partitions.get(topic);
        if (states === undefined) this.partitions.set(topic, (states = new Map()));
        states.set(partition, { state: JSON.parse(kv.value.toString()) as PartitionState, modRevision: kv.mod_revision });
        // States written ahead of their topic (a large creation) or of their partition (a large addition) are announced with it.
        const known = this.topicsByName.get(topic);
        if (known === undefined || partition >= known.assignment.replicas.length) return undefined;
        return { kind: 'partition-state', topic, partition };
      }
      default:
        return undefined;
    }
  }

  /**
   * The lowest live broker records itself as controller with the epoch bumped. Only that
   * broker writes, and only while etcd still holds the record it read, so two brokers that
   * both believe themselves lowest (one of them paused) cannot both count an election.
   */
  private maybeClaimController(): void {
    const self = this.registration?.nodeId;
    if (self === undefined || this.closed || this.controllerId() !== self || this.controllerRecord?.nodeId === self) return;
    const epoch = (this.controllerRecord?.epoch ?? 0) + 1;
    this.keys
      .if('controller', 'Mod', '==', this.controllerRevision)
      .then(this.keys.put('controller').value(JSON.stringify({ nodeId: self, epoch })))
      .commit()
      .then((response) => {
        if (response.succeeded) this.logger.info(`Broker ${self} is the controller at epoch ${epoch}`);
      })
      .catch((error: unknown) => this.logger.warn(`Recording broker ${self} as controller failed: ${(error as Error).message}`));
  }

  /** Resolves once the watch has applied etcd revision `revision` (or after CATCH_UP_TIMEOUT_MS, with a warning). */
  private caughtUp(revision: string): Promise<void> {
    const wanted = BigInt(revision);
    if (this.revision >= wanted || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const index = this.revisionWaiters.indexOf(waiter);
        if (index !== -1) this.revisionWaiters.splice(index, 1);
        this.logger.warn(`The etcd watch is not at revision ${wanted} after ${CATCH_UP_TIMEOUT_MS} ms (at ${this.revision}); going on with an older copy`);
        resolve();
      }, CATCH_UP_TIMEOUT_MS);
      timer.unref();
      const waiter = {
        revision: wanted,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.revisionWaiters.push(waiter);
    });
  }

  private releaseWaiters(): void {
    for (let index = this.revisionWaiters.length - 1; index >= 0; index--) {
      const waiter = this.revisionWaiters[index]!;
      if (waiter.revision > this.revision) continue;
      this.revisionWaiters.splice(index, 1);
      waiter.resolve();
    }
  }

  private emit(event: MetadataEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}

type Backoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** The watch's reconnection delays: initialMs, doubling up to maxMs (reset by the client once a watch is created). */
function cappedBackoff(initialMs: number, maxMs: number): Backoff {
  const at = (duration: number): Backoff => ({ duration, next: () => at(duration === 0 ? initialMs : Math.min(maxMs, duration * 2)) });
  return at(0);
}

function partitionKey(topic: string, partition: number): string {
  return `partitions/${topic}/${partition}`;
}

function encodeTopic(assignment: TopicAssignment): string {
  return JSON.stringify({ name: assignment.name, id: assignment.id.toString('base64'), replicas: assignment.replicas, configs: assignment.configs });
}

function decodeTopic(text: string): TopicAssignment {
  const parsed = JSON.parse(text) as { name: string; id: string; replicas: number[][]; configs: Record<string, string> };
  return { name: parsed.name, id: Buffer.from(parsed.id, 'base64'), replicas: parsed.replicas, configs: parsed.configs };
}
