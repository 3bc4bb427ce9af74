// The share-partition leaders' and group coordinators' way to the share coordinator (Kafka's
// DefaultStatePersister): each operation goes to the leader of the key's __share_group_state
// partition, as a local call when that is this broker (always on a single node, where the
// call stays synchronous) or as InitializeShareGroupState / ReadShareGroupState /
// WriteShareGroupState / DeleteShareGroupState / ReadShareGroupStateSummary over the
// inter-broker connection otherwise. NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
// COORDINATOR_NOT_AVAILABLE, REQUEST_TIMED_OUT and connection failures are retried with a
// growing backoff at whichever broker leads the partition by then (a coordinator stopping
// or moving), until PERSISTER_TIMEOUT_MS has passed; then the last error is answered.

import { then, type MaybePromise } from '../cluster/maybe-async.js';
import { type InterBrokerClient } from '../cluster/inter-broker-client.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { type Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  ApiKey,
  type DeleteShareGroupStateResponse,
  type InitializeShareGroupStateResponse,
  type ReadShareGroupStateResponse,
  type ReadShareGroupStateSummaryResponse,
  type WriteShareGroupStateResponse,
} from '../protocol/generated/index.js';
import { type ReadStateResult, type ShareCoordinator, type SharePartitionId, type ShareStateResult, type StateSummary, type WriteStateRequest } from './share-coordinator.js';
import { SHARE_STATE_TOPIC } from './share-state-log.js';

/**
 * How long an operation keeps retrying a coordinator that is moving or loading. Below the
 * clients' 30 s request.timeout.ms, so that an acknowledgement waiting on it is still
 * answered (with the error) before the share consumer gives up on the request.
 */
export const PERSISTER_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 5_000;
const FIRST_BACKOFF_MS = 25;
const MAX_BACKOFF_MS = 1_000;

const RETRIABLE = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.REQUEST_TIMED_OUT]);

/** The partition result of a response to one share-partition, or a stand-in error. */
function only<T extends { errorCode: number; errorMessage: string | null }>(results: ReadonlyArray<{ partitions: readonly T[] }>, fallback: T): T {
  return results[0]?.partitions[0] ?? fallback;
}

type Operation<T> = {
  /** The call at this broker's own coordinator. */
  readonly local: () => MaybePromise<T>;
  /** The request to another broker; the answer is the one partition's result. */
  readonly remote: (send: <R>(apiKey: number, version: number, body: unknown) => Promise<R>) => Promise<T>;
  /** The result standing for an error (not reached the coordinator, timed out). */
  readonly error: (errorCode: number, errorMessage: string) => T;
};

export class SharePersister {
  constructor(
    private readonly coordinator: ShareCoordinator,
    private readonly replicas: ReplicaManager,
    private readonly interBroker: InterBrokerClient,
    private readonly logger: Logger,
  ) {}

  initialize(id: SharePartitionId, stateEpoch: number, startOffset: bigint): MaybePromise<ShareStateResult> {
    return this.run<ShareStateResult>(id, {
      local: () => this.coordinator.initialize(id, stateEpoch, startOffset, Date.now()),
      remote: async (send) => {
        const response = await send<InitializeShareGroupStateResponse>(ApiKey.InitializeShareGroupState, 0, {
          groupId: id.groupId,
          topics: [{ topicId: id.topicId, partitions: [{ partition: id.partition, stateEpoch, startOffset }] }],
        });
        return only(response.results, { partition: id.partition, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'No result for the share-partition' });
      },
      error: (errorCode, errorMessage) => ({ errorCode, errorMessage }),
    });
  }

  read(id: SharePartitionId, leaderEpoch: number): MaybePromise<ReadStateResult> {
    return this.run<ReadStateResult>(id, {
      local: () => this.coordinator.read(id, leaderEpoch, Date.now()),
      remote: async (send) => {
        const response = await send<ReadShareGroupStateResponse>(ApiKey.ReadShareGroupState, 0, {
          groupId: id.groupId,
          topics: [{ topicId: id.topicId, partitions: [{ partition: id.partition, leaderEpoch }] }],
        });
        return only(response.results, {
          partition: id.partition,
          errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
          errorMessage: 'No result for the share-partition',
          stateEpoch: 0,
          startOffset: -1n,
          stateBatches: [],
        });
      },
      error: (errorCode, errorMessage) => ({ errorCode, errorMessage, stateEpoch: 0, startOffset: -1n, stateBatches: [] }),
    });
  }

  write(id: SharePartitionId, request: WriteStateRequest): MaybePromise<ShareStateResult> {
    return this.run<ShareStateResult>(id, {
      local: () => this.coordinator.write(id, request, Date.now()),
      remote: async (send) => {
        const response = await send<WriteShareGroupStateResponse>(ApiKey.WriteShareGroupState, 1, {
          groupId: id.groupId,
          topics: [{ topicId: id.topicId, partitions: [{ partition: id.partition, ...request }] }],
        });
        return only(response.results, { partition: id.partition, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'No result for the share-partition' });
      },
      error: (errorCode, errorMessage) => ({ errorCode, errorMessage }),
    });
  }

  delete(id: SharePartitionId): MaybePromise<ShareStateResult> {
    return this.run<ShareStateResult>(id, {
      local: () => this.coordinator.delete(id),
      remote: async (send) => {
        const response = await send<DeleteShareGroupStateResponse>(ApiKey.DeleteShareGroupState, 0, {
          groupId: id.groupId,
          topics: [{ topicId: id.topicId, partitions: [{ partition: id.partition }] }],
        });
        return only(response.results, { partition: id.partition, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'No result for the share-partition' });
      },
      error: (errorCode, errorMessage) => ({ errorCode, errorMessage }),
    });
  }

  summary(id: SharePartitionId, leaderEpoch = -1): MaybePromise<StateSummary> {
    return this.run<StateSummary>(id, {
      local: () => this.coordinator.summary(id),
      remote: async (send) => {
        const response = await send<ReadShareGroupStateSummaryResponse>(ApiKey.ReadShareGroupStateSummary, 1, {
          groupId: id.groupId,
          topics: [{ topicId: id.topicId, partitions: [{ partition: id.partition, leaderEpoch }] }],
        });
        const result = only(response.results, {
          partition: id.partition,
          errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
          errorMessage: 'No result for the share-partition',
          stateEpoch: 0,
          leaderEpoch: 0,
          startOffset: -1n,
          deliveryCompleteCount: -1,
        });
        return { ...result, deliveryCompleteCount: result.deliveryCompleteCount ?? -1 };
      },
      error: (errorCode, errorMessage) => ({ errorCode, errorMessage, stateEpoch: 0, leaderEpoch: 0, startOffset: -1n, deliveryCompleteCount: -1 }),
    });
  }

  /** One attempt now; retriable errors are tried again after a backoff until the deadline. */
  private run<T extends ShareStateResult>(id: SharePartitionId, operation: Operation<T>): MaybePromise<T> {
    // A single node is its own coordinator: the call stays synchronous.
    if (!this.replicas.clustered) return operation.local();
    const deadline = Date.now() + PERSISTER_TIMEOUT_MS;
    const attempt = (backoffMs: number): MaybePromise<T> =>
      then(this.attempt(id, operation), (result) => {
        if (!RETRIABLE.has(result.errorCode) || Date.now() + backoffMs >= deadline) return result;
        return new Promise<void>((resolve) => setTimeout(resolve, backoffMs).unref()).then(() => attempt(Math.min(MAX_BACKOFF_MS, backoffMs * 2)));
      });
    return attempt(FIRST_BACKOFF_MS);
  }

  private attempt<T extends ShareStateResult>(id: SharePartitionId, operation: Operation<T>): MaybePromise<T> {
    const shard = this.coordinator.partitionOf(id);
    const leader = this.replicas.metadata.partition(SHARE_STATE_TOPIC, shard)?.leader ?? -1;
    if (leader === this.replicas.nodeId || leader < 0) {
      // Here, or nowhere yet: the local coordinator answers NOT_COORDINATOR or
      // COORDINATOR_NOT_AVAILABLE (and has the topic created), and the call is retried.
      return operation.local();
    }
    const endpoint = this.replicas.metadata.endpoint(leader);
    if (endpoint === undefined) return operation.error(ErrorCode.COORDINATOR_NOT_AVAILABLE, `Broker ${leader} has no endpoint`);
    return operation
      .remote((apiKey, version, body) => this.interBroker.request(leader, endpoint, apiKey, version, body, REQUEST_TIMEOUT_MS))
      .catch((error: unknown) => {
        this.logger.debug(`Share persister: API ${id.groupId} to broker ${leader} failed: ${(error as Error).message}; retrying`);
        return operation.error(ErrorCode.COORDINATOR_NOT_AVAILABLE, (error as Error).message);
      });
  }
}
