// Replica placement for new topics and partitions, and the checks of explicit assignments,
// with Kafka's error codes and messages. Brokers are taken round-robin from a start that
// depends on the topic name, so leaders spread over the cluster (Kafka starts at a random
// broker; a stable start keeps tests reproducible).

import { javaStringHash } from '../log/internal-topic.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';

export function placeReplicas(topic: string, firstPartition: number, count: number, replicationFactor: number, brokers: readonly number[]): number[][] {
  const sorted = [...brokers].sort((a, b) => a - b);
  if (replicationFactor > sorted.length) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${sorted.length} broker(s) are registered.`,
    );
  }
  const start = (javaStringHash(topic) & 0x7fffffff) % sorted.length;
  const result: number[][] = [];
  for (let partition = firstPartition; partition < firstPartition + count; partition++) {
    const replicas: number[] = [];
    for (let i = 0; i < replicationFactor; i++) replicas.push(sorted[(start + partition + i) % sorted.length]!);
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
