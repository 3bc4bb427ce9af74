// What the group coordinator does for the share-group admin APIs (DescribeShareGroupOffsets,
// AlterShareGroupOffsets, DeleteShareGroupOffsets, DeleteGroups of a share group), through
// the share coordinator as Kafka's GroupCoordinatorService does: ReadShareGroupStateSummary
// for start offsets and lag, InitializeShareGroupState with the next state epoch for a
// reset (which fences the share-partition leader's copy), DeleteShareGroupState for
// deletions. The share-partitions' log start offsets and high watermarks come from their
// leaders (a local replica when this broker leads, else ListOffsets over the inter-broker
// connection), as Kafka's group coordinator asks through its PartitionMetadataClient.

import { type InterBrokerClient } from '../cluster/inter-broker-client.js';
import { type ReplicaManager } from '../cluster/replica-manager.js';
import { type Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey, type ListOffsetsResponse } from '../protocol/generated/index.js';
import { type NamedSharePartition, type ShareGroupCoordinator } from './share-group-coordinator.js';
import { type SharePartitionManager } from './share-partition-manager.js';
import { type SharePersister } from './share-persister.js';

export interface ShareAdmin {
  readonly groups: ShareGroupCoordinator;
  readonly partitions: SharePartitionManager;
  readonly persister: SharePersister;
  readonly replicas: ReplicaManager;
  readonly interBroker: InterBrokerClient;
  readonly logger: Logger;
}

export interface DescribedOffset {
  readonly partitionIndex: number;
  readonly startOffset: bigint;
  readonly leaderEpoch: number;
  readonly lag: bigint;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

const EARLIEST = -2n;
const LATEST = -1n;
const LIST_OFFSETS_VERSION = 7;
const LIST_OFFSETS_TIMEOUT_MS = 5000;

/** A partition's log start offset and high watermark at its leader; undefined when they cannot be had. */
export async function partitionOffsets(admin: ShareAdmin, topicName: string, partition: number): Promise<{ logStartOffset: bigint; highWatermark: bigint } | undefined> {
  const local = admin.replicas.partition(topicName, partition);
  if (local !== undefined && local.isLeader) return { logStartOffset: local.log.logStartOffset, highWatermark: local.log.highWatermark };
  const leader = admin.replicas.metadata.partition(topicName, partition)?.leader ?? -1;
  const endpoint = leader < 0 ? undefined : admin.replicas.metadata.endpoint(leader);
  if (endpoint === undefined) return undefined;
  const ask = async (timestamp: bigint): Promise<bigint | undefined> => {
    const response = await admin.interBroker.request<ListOffsetsResponse>(
      leader,
      endpoint,
      ApiKey.ListOffsets,
      LIST_OFFSETS_VERSION,
      { replicaId: -1, isolationLevel: 0, topics: [{ name: topicName, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }] },
      LIST_OFFSETS_TIMEOUT_MS,
    );
    const answer = response.topics[0]?.partitions[0];
    return answer === undefined || answer.errorCode !== ErrorCode.NONE ? undefined : answer.offset;
  };
  try {
    const [logStartOffset, highWatermark] = await Promise.all([ask(EARLIEST), ask(LATEST)]);
    return logStartOffset === undefined || highWatermark === undefined ? undefined : { logStartOffset, highWatermark };
  } catch (error) {
    admin.logger.debug(`Offsets of ${topicName}-${partition} from broker ${leader}: ${(error as Error).message}`);
    return undefined;
  }
}

/** Start offset (and, with `withLag`, lag: records up to the high watermark not yet delivered to completion, KIP-1226) of each share-partition. */
export async function describeShareOffsets(
  admin: ShareAdmin,
  groupId: string,
  wanted: readonly NamedSharePartition[],
  withLag: boolean,
  onlyInitialized: boolean,
): Promise<DescribedOffset[]> {
  const described = await Promise.all(
    wanted.map(async (id): Promise<DescribedOffset | undefined> => {
      const summary = await admin.persister.summary(id);
      if (summary.errorCode !== ErrorCode.NONE) {
        return { partitionIndex: id.partition, startOffset: -1n, leaderEpoch: -1, lag: -1n, errorCode: summary.errorCode, errorMessage: summary.errorMessage };
      }
      if (summary.startOffset < 0n) {
        return onlyInitialized ? undefined : { partitionIndex: id.partition, startOffset: -1n, leaderEpoch: -1, lag: -1n, errorCode: ErrorCode.NONE, errorMessage: null };
      }
      let startOffset = summary.startOffset;
      let lag = -1n;
      // Records deleted meanwhile (retention, DeleteRecords) are not counted: the start is at least the log start.
      const offsets = await partitionOffsets(admin, id.topicName, id.partition);
      if (offsets !== undefined) {
        if (startOffset < offsets.logStartOffset) startOffset = offsets.logStartOffset;
        if (withLag && summary.deliveryCompleteCount >= 0) {
          const computed = offsets.highWatermark - startOffset - BigInt(summary.deliveryCompleteCount);
          lag = computed < 0n ? 0n : computed;
        }
      }
      return { partitionIndex: id.partition, startOffset, leaderEpoch: summary.leaderEpoch, lag, errorCode: ErrorCode.NONE, errorMessage: null };
    }),
  );
  return described.filter((entry): entry is DescribedOffset => entry !== undefined);
}

/**
 * Sets a share-partition's start offset (clamped to the log start and the high watermark),
 * forgetting what was in flight: InitializeShareGroupState at the next state epoch.
 */
export async function alterShareOffset(admin: ShareAdmin, id: NamedSharePartition, startOffset: bigint): Promise<number> {
  const offsets = await partitionOffsets(admin, id.topicName, id.partition);
  let target = startOffset;
  if (offsets !== undefined) target = target < offsets.logStartOffset ? offsets.logStartOffset : target > offsets.highWatermark ? offsets.highWatermark : target;
  const summary = await admin.persister.summary(id);
  if (summary.errorCode !== ErrorCode.NONE) return summary.errorCode;
  const stateEpoch = summary.startOffset < 0n && summary.stateEpoch === 0 ? 0 : summary.stateEpoch + 1;
  const initialized = await admin.persister.initialize(id, stateEpoch, target);
  // The leader's copy (if here) is read again on the next fetch; elsewhere the new state epoch fences it.
  admin.partitions.forget(id.groupId, id.topicId, id.partition);
  return initialized.errorCode;
}

/** Deletes the state of share-partitions (tombstones in __share_group_state); the first error, or NONE. */
export async function deleteShareState(admin: ShareAdmin, ids: readonly NamedSharePartition[]): Promise<number> {
  const results = await Promise.all(ids.map(async (id) => (await admin.persister.delete(id)).errorCode));
  for (const id of ids) admin.partitions.forget(id.groupId, id.topicId, id.partition);
  return results.find((code) => code !== ErrorCode.NONE) ?? ErrorCode.NONE;
}

/** DeleteGroups of a share group: empty only; its state is deleted first, then the group. */
export async function deleteShareGroup(admin: ShareAdmin, groupId: string): Promise<number> {
  const group = admin.groups.group(groupId);
  if (group === undefined) return ErrorCode.GROUP_ID_NOT_FOUND;
  if (group.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
  const code = await deleteShareState(admin, admin.groups.sharePartitionsOf(groupId));
  if (code !== ErrorCode.NONE) return code;
  return admin.groups.removeGroup(groupId);
}
