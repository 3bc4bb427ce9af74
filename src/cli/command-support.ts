// What the client commands share: their options, argument helpers, Kafka's table layout,
// and the lookups several commands make (partitions and leaders, offsets, group coordinators).

import { type FindCoordinatorResponse, type ListOffsetsResponse, type MetadataResponse, type OffsetFetchResponse } from '../protocol/generated/index.js';
import { type KafkaClient, KafkaCommandError } from './kafka-client.js';
import { type ProgressStream } from './progress.js';

export interface CommandOptions {
  readonly bootstrap: string;
  readonly json: boolean;
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly out: (line: string) => void;
  readonly input: NodeJS.ReadableStream;
  /** Where progress bars go (stderr; drawn only on a terminal). */
  readonly progress?: ProgressStream;
}

export const text = (options: CommandOptions, name: string): string | undefined => {
  const value = options.values[name];
  return typeof value === 'string' ? value : undefined;
};
export const required = (options: CommandOptions, name: string): string => {
  const value = text(options, name);
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
};
export const integer = (options: CommandOptions, name: string, fallback: number): number => {
  const value = text(options, name);
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number)) throw new Error(`--${name} must be an integer, got '${value}'`);
  return number;
};
export const check = (errorCode: number, message: string | null | undefined, what: string) => {
  if (errorCode !== 0) throw new KafkaCommandError(errorCode, message ?? what);
};
export const toJsonLine = (value: unknown) => JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? Number(item) : item));

/** Left-aligned columns, as Kafka's tools print them. */
export function table(rows: Array<Record<string, unknown>>, columns: string[]): string[] {
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column] ?? '-').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => cell.padEnd(widths[index]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.toUpperCase())), ...rows.map((row) => line(columns.map((column) => String(row[column] ?? '-'))))];
}

/** Repeated K=V options (--config, --header). */
export function keyValues(options: CommandOptions, name: string): Array<{ key: string; value: string }> {
  return ((options.values[name] as string[] | undefined) ?? []).map((item) => {
    const equals = item.indexOf('=');
    if (equals <= 0) throw new Error(`--${name} expects key=value, got '${item}'`);
    return { key: item.slice(0, equals), value: item.slice(equals + 1) };
  });
}

export async function partitionsOf(client: KafkaClient, topic: string): Promise<MetadataResponse['topics'][number]['partitions']> {
  const metadata = await client.metadata([topic]);
  const found = metadata.topics[0];
  if (found === undefined) throw new Error(`No metadata for ${topic}`);
  check(found.errorCode, null, `topic ${topic}`);
  return [...found.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
}

export async function listOffset(client: KafkaClient, leader: number, topic: string, partition: number, timestamp: bigint): Promise<bigint> {
  const response = await client.requestTo<ListOffsetsResponse>(leader, 2, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
  });
  const result = response.topics[0]!.partitions[0]!;
  check(result.errorCode, null, `ListOffsets ${topic}-${partition}`);
  return result.offset;
}

/** Kafka's retriable coordinator errors: the group's coordinator is (re)loading or moved. */
const COORDINATOR_RETRIABLE = new Set([14, 15, 16]); // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR

/**
 * The group's coordinator (FindCoordinator), retried for up to `timeoutMs` while Kafka says
 * it is not ready yet, as its clients do (a fresh broker creates __consumer_offsets first).
 */
export async function coordinator(client: KafkaClient, group: string, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await client.request<FindCoordinatorResponse>(10, 4, { key: group, keyType: 0, coordinatorKeys: [group] });
    const found = response.coordinators?.[0];
    const errorCode = found !== undefined ? found.errorCode : (response.errorCode ?? 0);
    const message = found !== undefined ? found.errorMessage : response.errorMessage;
    if (errorCode === 0) return found !== undefined ? found.nodeId : (response.nodeId ?? -1);
    if (!COORDINATOR_RETRIABLE.has(errorCode) || Date.now() > deadline) check(errorCode, message, `coordinator of ${group}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs `request` at the group's coordinator, finding it again while it answers a retriable coordinator error. */
export async function atCoordinator<Response>(
  client: KafkaClient,
  group: string,
  request: (node: number) => Promise<Response>,
  errorOf: (response: Response) => number,
  timeoutMs = 15_000,
): Promise<{ node: number; response: Response }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const node = await coordinator(client, group, timeoutMs);
    const response = await request(node);
    if (!COORDINATOR_RETRIABLE.has(errorOf(response)) || Date.now() > deadline) return { node, response };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function committedOffsets(client: KafkaClient, node: number, group: string): Promise<Map<string, bigint>> {
  const response = await client.requestTo<OffsetFetchResponse>(node, 9, 8, { groups: [{ groupId: group, topics: null }], requireStable: false });
  const answer = response.groups?.[0];
  if (answer === undefined) throw new Error(`No OffsetFetch answer for ${group}`);
  check(answer.errorCode, null, `offsets of ${group}`);
  const offsets = new Map<string, bigint>();
  for (const topic of answer.topics)
    for (const partition of topic.partitions) if (partition.committedOffset >= 0n) offsets.set(`${topic.name}\u0000${partition.partitionIndex}`, partition.committedOffset);
  return offsets;
}
