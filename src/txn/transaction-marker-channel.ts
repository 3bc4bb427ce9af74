// Transaction markers on their way to the partitions' leaders (Kafka's
// TransactionMarkerChannelManager). A partition this broker leads gets its marker appended
// here, as leader, answered once the in-sync replicas have it; the others get a
// WriteTxnMarkers request, batched per leader. NOT_LEADER_OR_FOLLOWER and the other
// retriable answers (a leader moving, too few in-sync replicas, a timeout, a broker down) are
// retried against the leader the metadata names by then, until every marker is written or
// this broker stops coordinating the transaction (the next coordinator sends them again). A
// partition whose topic was deleted is skipped, as in Kafka.

import { type BrokerConfig } from '../config/broker-config.js';
import { type InterBrokerClient } from '../cluster/inter-broker-client.js';
import { type MaybePromise } from '../cluster/maybe-async.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { type Logger } from '../logger.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey, type WriteTxnMarkersRequest, type WriteTxnMarkersResponse } from '../protocol/generated/index.js';
import { type MarkerWriter, type TransactionMarkers } from './transaction-coordinator.js';

const WRITE_TXN_MARKERS_VERSION = 1;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 1000;

type Target = { readonly topic: string; readonly partition: number };

/** Answers after which the marker is sent again (Kafka's TransactionMarkerRequestCompletionHandler). */
const RETRIABLE = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

export class TransactionMarkerChannel implements MarkerWriter {
  private readonly timeoutMs: number;
  private stopped = false;

  constructor(
    private readonly replicas: ReplicaManager,
    private readonly client: InterBrokerClient,
    config: BrokerConfig,
    private readonly logger: Logger,
    /** A marker reached a partition led here (the group coordinator applies a transaction's offsets on __consumer_offsets). */
    private readonly markerWritten: (topic: string, partition: number, producerId: bigint, commit: boolean) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.timeoutMs = config.values.get('request.timeout.ms') as number;
  }

  /** Whether the partition exists in the cluster (AddPartitionsToTxn refuses others). */
  partitionExists(topic: string, partition: number): boolean {
    const assignment = this.replicas.store.topic(topic);
    if (assignment !== undefined) return partition >= 0 && partition < assignment.replicas.length;
    // A single node's internal topics live outside the store until first used.
    return this.replicas.partition(topic, partition) !== undefined;
  }

  stop(): void {
    this.stopped = true;
  }

  writeMarkers(markers: TransactionMarkers, stillCoordinator: () => boolean): MaybePromise<boolean> {
    const remaining: Target[] = [];
    const waiting: Array<Promise<Target | undefined>> = [];
    for (const target of markers.partitions) {
      if (!this.partitionExists(target.topic, target.partition)) continue;
      if (this.replicas.metadata.partition(target.topic, target.partition)?.leader !== this.replicas.nodeId && this.replicas.clustered) {
        remaining.push(target);
        continue;
      }
      const code = this.writeLocal(markers, target);
      if (code instanceof Promise) waiting.push(code.then((result) => (result === ErrorCode.NONE ? undefined : target)));
      else if (code !== ErrorCode.NONE) remaining.push(target);
    }
    if (remaining.length === 0 && waiting.length === 0) return true;
    return this.deliver(markers, remaining, waiting, stillCoordinator);
  }

  /** Appends the marker to a partition led here; NONE once replicated, else the error. */
  writeLocal(markers: TransactionMarkers, target: Target): MaybePromise<number> {
    const { topic, partition } = target;
    let offset: bigint;
    try {
      offset = this.replicas.appendMarker(topic, partition, markers.producerId, markers.producerEpoch, markers.commit, this.now());
    } catch (error) {
      if (error instanceof KafkaError) return error.kafkaCode;
      throw error;
    }
    const done = (code: number) => {
      if (code === ErrorCode.NONE) this.markerWritten(topic, partition, markers.producerId, markers.commit);
      return code;
    };
    const committed = this.replicas.whenCommitted(topic, partition, offset, this.timeoutMs);
    return typeof committed === 'number' ? done(committed) : committed.then(done);
  }

  /** Retries what could not be written at once until all is written or the transaction moved. */
  private async deliver(markers: TransactionMarkers, first: Target[], firstWaiting: Array<Promise<Target | undefined>>, stillCoordinator: () => boolean): Promise<boolean> {
    let pending = first;
    let waiting = firstWaiting;
    let backoffMs = FIRST_BACKOFF_MS;
    for (;;) {
      for (const failed of await Promise.all(waiting)) if (failed !== undefined) pending.push(failed);
      waiting = [];
      if (pending.length === 0) return true;
      if (this.stopped || !stillCoordinator()) return false;
      const byLeader = new Map<number, Target[]>();
      const next: Target[] = [];
      for (const target of pending) {
        if (!this.partitionExists(target.topic, target.partition)) continue; // deleted meanwhile
        const leader = this.replicas.metadata.partition(target.topic, target.partition)?.leader ?? -1;
        if (leader < 0) next.push(target);
        else if (leader === this.replicas.nodeId) {
          const code = this.writeLocal(markers, target);
          if (code instanceof Promise) waiting.push(code.then((result) => (result === ErrorCode.NONE ? undefined : target)));
          else if (code !== ErrorCode.NONE) next.push(target);
        } else {
          let targets = byLeader.get(leader);
          if (targets === undefined) byLeader.set(leader, (targets = []));
          targets.push(target);
        }
      }
      let fenced = false;
      await Promise.all(
        [...byLeader].map(async ([leader, targets]) => {
          const failed = await this.sendRemote(leader, markers, targets);
          if (failed === 'fenced') fenced = true;
          else next.push(...failed);
        }),
      );
      if (fenced) return false;
      pending = next;
      if (pending.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, backoffMs).unref());
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
      }
    }
  }

  /** One WriteTxnMarkers request to a leader: the targets to try again, or 'fenced' (stop: another coordinator took over). */
  private async sendRemote(leader: number, markers: TransactionMarkers, targets: Target[]): Promise<Target[] | 'fenced'> {
    const endpoint = this.replicas.metadata.endpoint(leader);
    if (endpoint === undefined) return targets;
    const topics = new Map<string, number[]>();
    for (const { topic, partition } of targets) {
      let partitions = topics.get(topic);
      if (partitions === undefined) topics.set(topic, (partitions = []));
      partitions.push(partition);
    }
    const request: WriteTxnMarkersRequest = {
      markers: [
        {
          producerId: markers.producerId,
          producerEpoch: markers.producerEpoch,
          transactionResult: markers.commit,
          coordinatorEpoch: markers.coordinatorEpoch,
          topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        },
      ],
    };
    let response: WriteTxnMarkersResponse;
    try {
      response = await this.client.request<WriteTxnMarkersResponse>(leader, endpoint, ApiKey.WriteTxnMarkers, WRITE_TXN_MARKERS_VERSION, request, this.timeoutMs);
    } catch (error) {
      this.logger.debug(`WriteTxnMarkers to broker ${leader} for ${markers.transactionalId} failed: ${(error as Error).message}; retrying`);
      return targets;
    }
    const retry: Target[] = [];
    for (const topic of response.markers[0]?.topics ?? []) {
      for (const { partitionIndex, errorCode } of topic.partitions) {
        if (errorCode === ErrorCode.NONE) continue;
        if (errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || errorCode === ErrorCode.TRANSACTION_COORDINATOR_FENCED) {
          this.logger.warn(`Transaction ${markers.transactionalId}: broker ${leader} refused the marker for ${topic.name}-${partitionIndex} (error ${errorCode}); stopping`);
          return 'fenced';
        }
        if (!RETRIABLE.has(errorCode)) {
          // Kafka skips a partition that cannot take markers (UNSUPPORTED_FOR_MESSAGE_FORMAT); so does Spate, saying so.
          this.logger.warn(`Transaction ${markers.transactionalId}: broker ${leader} refused the marker for ${topic.name}-${partitionIndex} (error ${errorCode}); skipping it`);
          continue;
        }
        retry.push({ topic: topic.name, partition: partitionIndex });
      }
    }
    // A partition missing from the answer is tried again.
    const answered = new Set((response.markers[0]?.topics ?? []).flatMap((topic) => topic.partitions.map((p) => `${topic.name}\u0000${p.partitionIndex}`)));
    for (const target of targets) if (!answered.has(`${target.topic}\u0000${target.partition}`)) retry.push(target);
    return retry;
  }
}
