// KIP-890 transaction verification: a transactional write (a Produce at the partition's
// leader, a TxnOffsetCommit at the group's coordinator) must belong to the producer's ongoing
// transaction, which only the transaction coordinator knows. When this broker coordinates
// the transactional ID it answers itself, in the same turn; otherwise it asks the
// coordinator with AddPartitionsToTxn v5 (verifyOnly, or adding the partition for
// transactions v2), as Kafka's AddPartitionsToTxnManager does. A partition verified for a
// producer epoch stays verified until a marker ends that producer's transaction on it (Kafka
// keeps this in the producer state as the verification guard).

import { type BrokerConfig } from '../config/broker-config.js';
import { type InterBrokerClient } from '../cluster/inter-broker-client.js';
import { then, type MaybePromise } from '../cluster/maybe-async.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { partitionForKey } from '../log/internal-topic.js';
import { type Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey, type AddPartitionsToTxnRequest, type AddPartitionsToTxnResponse } from '../protocol/generated/index.js';
import { type TransactionCoordinator } from './transaction-coordinator.js';
import { TRANSACTION_STATE_TOPIC } from './transaction-log.js';

const ADD_PARTITIONS_VERSION = 5;
/** Verified partitions remembered; past this the memory starts afresh (verifying again is only slower). */
const MAX_VERIFIED = 100_000;

const verifiedKey = (topic: string, partition: number, producerId: bigint) => `${topic}\u0000${partition}\u0000${producerId}`;

export class TransactionVerifier {
  /** topic/partition/producer -> the producer epoch verified for its ongoing transaction there. */
  private readonly verified = new Map<string, number>();
  private readonly timeoutMs: number;

  constructor(
    private readonly transactions: TransactionCoordinator,
    private readonly replicas: ReplicaManager,
    private readonly client: InterBrokerClient,
    config: BrokerConfig,
    private readonly logger: Logger,
  ) {
    this.timeoutMs = config.values.get('request.timeout.ms') as number;
  }

  /**
   * NONE when the partition is part of the producer's ongoing transaction (with `add`, once
   * it was added), else the coordinator's error: INVALID_TXN_STATE, PRODUCER_FENCED,
   * INVALID_PRODUCER_ID_MAPPING, or a retriable NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
   * COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS, NETWORK_EXCEPTION.
   */
  verify(transactionalId: string, producerId: bigint, producerEpoch: number, topic: string, partition: number, add: boolean): MaybePromise<number> {
    if (this.transactions.coordinatorError(transactionalId) !== ErrorCode.NOT_COORDINATOR)
      return this.verifyHere(transactionalId, producerId, producerEpoch, topic, partition, add);
    const key = verifiedKey(topic, partition, producerId);
    if (this.verified.get(key) === producerEpoch) return ErrorCode.NONE;
    return this.askCoordinator(transactionalId, producerId, producerEpoch, topic, partition, add).then((code) => {
      if (code === ErrorCode.NONE) {
        if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
        this.verified.set(key, producerEpoch);
      }
      return code;
    });
  }

  /** A marker ended the producer's transaction on the partition: its next transaction is verified again. */
  markerWritten(topic: string, partition: number, producerId: bigint): void {
    this.verified.delete(verifiedKey(topic, partition, producerId));
  }

  private verifyHere(transactionalId: string, producerId: bigint, producerEpoch: number, topic: string, partition: number, add: boolean): MaybePromise<number> {
    const code = this.transactions.checkProduce(transactionalId, producerId, producerEpoch, topic, partition);
    if (code !== ErrorCode.INVALID_TXN_STATE || !add) return code;
    return then(this.transactions.addPartitions(transactionalId, producerId, producerEpoch, [{ topic, partition }]), (codes) => codes.values().next().value ?? ErrorCode.NONE);
  }

  private async askCoordinator(transactionalId: string, producerId: bigint, producerEpoch: number, topic: string, partition: number, add: boolean): Promise<number> {
    const state = this.replicas.metadata.topic(TRANSACTION_STATE_TOPIC);
    if (state === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const leader = this.replicas.metadata.partition(TRANSACTION_STATE_TOPIC, partitionForKey(transactionalId, state.replicas.length))?.leader ?? -1;
    const endpoint = leader < 0 ? undefined : this.replicas.metadata.endpoint(leader);
    if (endpoint === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const request: AddPartitionsToTxnRequest = {
      transactions: [{ transactionalId, producerId, producerEpoch, verifyOnly: !add, topics: [{ name: topic, partitions: [partition] }] }],
    };
    try {
      const response = await this.client.request<AddPartitionsToTxnResponse>(leader, endpoint, ApiKey.AddPartitionsToTxn, ADD_PARTITIONS_VERSION, request, this.timeoutMs);
      const topLevel = response.errorCode ?? ErrorCode.NONE;
      // Kafka hides the coordinator's refusal of this broker from the client: the write is not verified.
      if (topLevel === ErrorCode.CLUSTER_AUTHORIZATION_FAILED) return ErrorCode.INVALID_TXN_STATE;
      if (topLevel !== ErrorCode.NONE) return topLevel;
      const result = response.resultsByTransaction?.[0]?.topicResults[0]?.resultsByPartition[0];
      return result?.partitionErrorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    } catch (error) {
      this.logger.debug(`Verifying ${topic}-${partition} in transaction ${transactionalId} with broker ${leader} failed: ${(error as Error).message}`);
      return ErrorCode.NETWORK_EXCEPTION;
    }
  }
}

/**
 * What a Produce answers for a failed verification (Kafka's ReplicaManager): the retriable
 * coordinator errors become NOT_ENOUGH_REPLICAS, which every producer retries without a
 * metadata refresh; PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before Produce v9.
 */
export function produceVerificationError(code: number, produceVersion: number): number {
  switch (code) {
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.NETWORK_EXCEPTION:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    case ErrorCode.PRODUCER_FENCED:
      return produceVersion < 9 ? ErrorCode.INVALID_PRODUCER_EPOCH : code;
    default:
      return code;
  }
}
