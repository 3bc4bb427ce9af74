// Everything a handler may reach: configuration, the logs, fetch sessions, producer IDs, the
// group and transaction coordinators, and the logger. One instance per broker; nothing here is process-global.

import { type BrokerConfig } from '../config/broker-config.js';
import { type Logger } from '../logger.js';
import { type LogManager } from '../log/log-manager.js';
import { GroupCoordinator } from '../group/group-coordinator.js';
import { OFFSETS_TOPIC } from '../group/offsets-log.js';
import { TransactionCoordinator } from '../txn/transaction-coordinator.js';
import { TransactionLog } from '../txn/transaction-log.js';
import { TransactionMarkerChannel } from '../txn/transaction-marker-channel.js';
import { TransactionVerifier } from '../txn/transaction-verifier.js';
import { InterBrokerClient } from '../cluster/inter-broker-client.js';
import { Features } from './features.js';
import { GroupConfigs } from '../group/group-configs.js';
import { BrokerLoggers } from './broker-loggers.js';
import { ShareCoordinator } from '../share/share-coordinator.js';
import { ShareGroupCoordinator } from '../share/share-group-coordinator.js';
import { SharePartitionManager } from '../share/share-partition-manager.js';
import { SharePersister } from '../share/share-persister.js';
import { type ShareAdmin } from '../share/share-admin.js';
import { SecurityManager } from '../security/security-manager.js';
import { FetchSessionCache } from './fetch-sessions.js';
import { ProducerIdManager } from './producer-ids.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { InProcessMetadataStore } from '../cluster/metadata-store.js';
import { ClientMetricsConfigs } from '../telemetry/client-metrics-configs.js';
import { ClientTelemetry } from '../telemetry/client-telemetry.js';
import { createTopic } from './topic-creation.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';

export interface Endpoint {
  readonly listener: string;
  readonly host: string;
  readonly port: number;
}

export class BrokerState {
  readonly fetchSessions: FetchSessionCache;
  readonly producerIds: ProducerIdManager;
  readonly groups: GroupCoordinator;
  readonly transactions: TransactionCoordinator;
  /** Transaction markers to the partitions' leaders (local appends, or WriteTxnMarkers). */
  readonly markers: TransactionMarkerChannel;
  /** KIP-890 verification of transactional writes with their coordinator, wherever it is. */
  readonly transactionVerifier: TransactionVerifier;
  /** Requests to the other brokers of the cluster (WriteTxnMarkers, AddPartitionsToTxn). */
  readonly interBroker = new InterBrokerClient();
  /** Supported and finalised feature levels (KIP-584). */
  readonly features: Features;
  /** Per-group config overrides (the GROUP config resource). */
  readonly groupConfigs: GroupConfigs;
  /** The BROKER_LOGGER config resource: the log level, changed at run time. */
  readonly loggers: BrokerLoggers;
  /** Share groups' membership, kept with the group coordinator of their ID (KIP-932). */
  readonly shares: ShareGroupCoordinator;
  /** The share-partitions of the partitions this broker leads, and their share sessions. */
  readonly sharePartitions: SharePartitionManager;
  /** The share coordinator: share-partition state in the __share_group_state partitions this broker leads. */
  readonly shareCoordinator: ShareCoordinator;
  /** The way to the share coordinator of a share-partition, here or on another broker. */
  readonly sharePersister: SharePersister;
  /** What the share-group admin APIs need. */
  readonly shareAdmin: ShareAdmin;
  /** Client-metrics subscriptions (the CLIENT_METRICS config resource, KIP-714). */
  readonly clientMetrics: ClientMetricsConfigs;
  /** What clients push (GetTelemetrySubscriptions, PushTelemetry). */
  readonly telemetry: ClientTelemetry;
  /** Listeners' security, SCRAM users and the authorizer (src/security/). */
  readonly security: SecurityManager;
  /** Filled in once the listeners are bound (port 0 resolves to the real port then). */
  advertised: Endpoint[] = [];
  /** The served version ranges, set by the dispatcher from its handler table. */
  supportedApis: ReadonlyArray<{ apiKey: number; minVersion: number; maxVersion: number }> = [];

  constructor(
    readonly config: BrokerConfig,
    readonly logs: LogManager,
    readonly logger: Logger,
    /** The replica layer: every append and read of a partition goes through it. */
    readonly replicas: ReplicaManager,
  ) {
    this.fetchSessions = new FetchSessionCache(config.fetchSessionCacheSlots);
    this.features = new Features(config.dataDir, logger);
    const store = replicas.store;
    // Users, ACLs and quotas live in the metadata store; an in-process one (a single node, the one-process cluster) is mirrored to the data dir's files.
    this.security = new SecurityManager(config, logger, { store, mirror: store instanceof InProcessMetadataStore });
    this.producerIds = new ProducerIdManager(config.dataDir, logger, replicas.clustered ? (count) => store.allocateProducerIds(count) : undefined);
    if (replicas.clustered && !(store instanceof InProcessMetadataStore)) this.producerIds.reserveAhead();
    this.groupConfigs = new GroupConfigs(config.dataDir, config, logger);
    this.loggers = new BrokerLoggers(logger);
    this.clientMetrics = new ClientMetricsConfigs(config.dataDir, logger);
    this.telemetry = new ClientTelemetry(this.clientMetrics, logger);
    this.groups = new GroupCoordinator(logs, replicas, config, logger);
    this.groups.consumer.groupConfigs = this.groupConfigs;
    this.groups.streams.groupConfigs = this.groupConfigs;
    // Streams groups create their changelog and repartition topics as CreateTopics would.
    this.groups.streams.createTopics = async (topics) => {
      for (const topic of topics) {
        try {
          await createTopic(this, { name: topic.name, numPartitions: topic.partitions, replicationFactor: topic.replicationFactor, configs: topic.configs });
        } catch (error) {
          // Another member's heartbeat created it meanwhile.
          if (!(error instanceof KafkaError && error.kafkaCode === ErrorCode.TOPIC_ALREADY_EXISTS)) throw error;
        }
      }
    };
    this.shareCoordinator = new ShareCoordinator(replicas, logs, replicas.metadata, config, logger);
    this.sharePersister = new SharePersister(this.shareCoordinator, replicas, this.interBroker, logger);
    this.sharePartitions = new SharePartitionManager(replicas, this.sharePersister, config, logger);
    this.sharePartitions.groupConfigs = (groupId) => this.groupConfigs.get(groupId);
    this.shares = new ShareGroupCoordinator(replicas.metadata, this.sharePartitions, config, logger);
    this.shares.localSharePartitions = (groupId) => this.shareCoordinator.sharePartitionsOf(groupId);
    // Share groups share the group ID space with classic and consumer groups.
    this.shares.otherGroupExists = (groupId) => this.groups.listGroups().some((group) => group.groupId === groupId);
    this.groups.isShareGroup = (groupId) => this.shares.group(groupId) !== undefined;
    this.groups.unloadShareGroups = (inShard) => this.shares.unloadGroups(inShard);
    this.groups.replayShareGroup = (record) => this.shares.replay(record);
    this.shares.appendRecords = (groupId, records) => this.groups.appendShareGroupRecords(groupId, records);
    this.shareAdmin = { groups: this.shares, partitions: this.sharePartitions, persister: this.sharePersister, replicas, interBroker: this.interBroker, logger };
    this.markers = new TransactionMarkerChannel(replicas, this.interBroker, config, logger, (topic, partition, producerId, commit) => {
      // Offsets committed in the transaction follow its outcome.
      if (topic === OFFSETS_TOPIC) this.groups.completeTransaction(producerId, commit);
      this.transactionVerifier.markerWritten(topic, partition, producerId);
    });
    this.transactions = new TransactionCoordinator(new TransactionLog(replicas, logs, config), this.markers, this.producerIds, replicas, config, logger);
    this.transactionVerifier = new TransactionVerifier(this.transactions, replicas, this.interBroker, config, logger);
  }

  get nodeId(): number {
    return this.config.nodeId;
  }

  get clusterId(): string {
    return this.logs.clusterId;
  }

  now(): number {
    return Date.now();
  }
}
