// Replica placement for new topics and partitions, and the checks of explicit assignments,
// with Kafka's error codes and messages. Brokers are taken round-robin from a start that
// depends on the topic name, so leaders spread over the cluster (Kafka starts at a random
// broker; a stable start keeps tests reproducible).
//
// Rack awareness (broker.rack, KIP-36): when every broker has a rack, the brokers are first
// ordered so that consecutive ones sit on different racks (the first of each rack, then the
// second of each, ...), leaders go round-robin over that order, and each further replica is
// the next broker on a rack the partition has no replica on yet, until every rack has one
// (then any broker not already chosen). So a partition spans min(replication factor, racks)
// racks. With some brokers rackless, placement ignores racks (Kafka refuses such a cluster
// unless told to disable rack awareness; Spate places anyway and says so in the README).

import { javaStringHash } from '../log/internal-topic.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';

/** Brokers ordered so that neighbours sit on different racks: the first of each rack (racks by name), then the second of each, ... */
function rackAlternated(sorted: readonly number[], racks: ReadonlyMap<number, string | null>): number[] {
  const byRack = new Map<string, number[]>();
  for (const id of sorted) {
    const rack = racks.get(id)!;
    byRack.set(rack, [...(byRack.get(rack) ?? []), id]);
  }
  const groups = [...byRack.keys()].sort().map((rack) => byRack.get(rack)!);
  const result: number[] = [];
  for (let round = 0; result.length < sorted.length; round++) for (const group of groups) if (round < group.length) result.push(group[round]!);
  return result;
}

export function placeReplicas(
  topic: string,
  firstPartition: number,
  count: number,
  replicationFactor: number,
  brokers: readonly number[],
  racks: ReadonlyMap<number, string | null> = new Map(),
): number[][] {
  let sorted = [...brokers].sort((a, b) => a - b);
  const rackAware = sorted.length > 0 && sorted.every((id) => (racks.get(id) ?? null) !== null);
  if (rackAware) sorted = rackAlternated(sorted, racks);
  const rackCount = new Set(sorted.map((id) => racks.get(id))).size;
  if (replicationFactor > sorted.length) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${sorted.length} broker(s) are registered.`,
    );
  }
  const start = (javaStringHash(topic) & 0x7fffffff) % sorted.length;
  const result: number[][] = [];
  for (let partition = firstPartition; partition < firstPartition + count; partition++) {
    const first = (start + partition) % sorted.length;
    if (!rackAware) {
      const replicas: number[] = [];
      for (let i = 0; i < replicationFactor; i++) replicas.push(sorted[(first + i) % sorted.length]!);
      result.push(replicas);
      continue;
    }
    const replicas = [sorted[first]!];
    const racksUsed = new Set([racks.get(sorted[first]!)]);
    for (let step = 1; replicas.length < replicationFactor && step < sorted.length * 2; step++) {
      const candidate = sorted[(first + step) % sorted.length]!;
      if (replicas.includes(candidate)) continue;
      // A rack already holding a replica is skipped until every rack holds one.
      if (racksUsed.has(racks.get(candidate)) && racksUsed.size < rackCount) continue;
      replicas.push(candidate);
      racksUsed.add(racks.get(candidate));
    }
    result.push(replicas);
  }
  return result;
}

/** Kafka's checks of a manual assignment: known brokers, no broker twice, one replica count. */
export function checkAssignment(assignments: ReadonlyArray<readonly number[]>, brokers: readonly number[]): void {
  const known = new Set(brokers);
  const size = assignments[0]?.length ?? 0;
  for (const replicas of assignments) {
    if (replicas.length === 0) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.');
    if (replicas.length !== size) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'All partitions in the manual partition assignment must have the same number of replicas.');
    }
    const seen = new Set<number>();
    for (const id of replicas) {
      if (!known.has(id)) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${id}, but no such broker is registered.`);
      if (seen.has(id)) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes the broker ${id} more than once.`);
      seen.add(id);
    }
  }
}
