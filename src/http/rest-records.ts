// Reading records over REST, Spate's own resource (Confluent's REST Proxy v3 has no consume
// endpoint; its v2 consumers are stateful instances, which the WebSocket streams replace):
//
//   GET /v3/clusters/{id}/topics/{t}/partitions/{p}/records?offset=N | ?timestamp=MS [&max=20]
//
// from `offset` (clamped to the log start), from the first record at or after `timestamp` (as
// ListOffsets finds it), or without either the last `max` records; at most `max` (1-1000)
// records up to the high watermark, in the produce shapes: key and value as
// {"type": "JSON", "data": <parsed>} when the bytes are JSON, "STRING" when they are UTF-8
// text, else "BINARY" (base64); header values in base64. Records of aborted transactions are
// shown too (read_uncommitted). Only the replicas of this broker can be read (its local log):
// another partition answers 40403 naming its leader.

import { type PartitionLog } from '../log/partition-log.js';
import { type DecodedRecord } from '../protocol/record-batch.js';
import { RestError, RestErrorCode } from './http-support.js';
import { type GatewayContext } from './gateway-context.js';
import { decodeDataRecords, loadRecordCodecs } from './websocket-streams.js';

const DEFAULT_MAX = 20;
const MAX_RECORDS = 1000;
/** Bytes read from the log per step. */
const READ_BYTES = 1 << 20;

export interface RecordData {
  readonly type: 'JSON' | 'STRING' | 'BINARY';
  readonly data: unknown;
}

/** A key or value as the produce shapes write it, guessing the type from the bytes. */
export function recordDataOf(bytes: Buffer | null): RecordData | null {
  if (bytes === null) return null;
  const text = bytes.toString('utf8');
  // Invalid UTF-8 decodes with replacement characters: not text.
  if (!Buffer.from(text, 'utf8').equals(bytes)) return { type: 'BINARY', data: bytes.toString('base64') };
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[') || trimmed.startsWith('"')) {
    try {
      return { type: 'JSON', data: JSON.parse(text) };
    } catch {
      // Text that merely starts like JSON.
    }
  }
  return { type: 'STRING', data: text };
}

function query(text: string): URLSearchParams {
  return new URLSearchParams(text);
}

function integerParameter(parameters: URLSearchParams, name: string): bigint | undefined {
  const value = parameters.get(name);
  if (value === null || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw new RestError(400, RestErrorCode.BAD_REQUEST, `${name} must be an integer, got '${value}'`);
  return BigInt(value);
}

/** The records of one partition as the records resource answers them. */
export async function readRecords(gateway: GatewayContext, topic: string, partition: number, queryText: string): Promise<Record<string, unknown>> {
  const state = gateway.state;
  const view = state.replicas.describePartition(topic, partition);
  // Every broker of a cluster keeps a (empty) log for each partition; only a replica's counts.
  const log = view === undefined || view.replicas.includes(state.nodeId) ? state.logs.partition(topic, partition) : undefined;
  if (log === undefined || log.isDeleted) {
    if (view === undefined) throw new RestError(404, RestErrorCode.KAFKA_UNKNOWN_TOPIC_PARTITION, 'This server does not host this topic-partition.');
    throw new RestError(
      404,
      RestErrorCode.KAFKA_UNKNOWN_TOPIC_PARTITION,
      `Broker ${state.nodeId} holds no replica of ${topic}-${partition}: read it from its leader, broker ${view.leader}`,
    );
  }
  const parameters = query(queryText);
  const max = Number(integerParameter(parameters, 'max') ?? BigInt(DEFAULT_MAX));
  if (max < 1 || max > MAX_RECORDS) throw new RestError(400, RestErrorCode.BAD_REQUEST, `max must be 1-${MAX_RECORDS}`);
  const offset = integerParameter(parameters, 'offset');
  const timestamp = integerParameter(parameters, 'timestamp');
  if (offset !== undefined && timestamp !== undefined) throw new RestError(400, RestErrorCode.BAD_REQUEST, 'give offset or timestamp, not both');
  const end = log.highWatermark;
  let from: bigint;
  if (offset !== undefined) from = offset < log.logStartOffset ? log.logStartOffset : offset;
  else if (timestamp !== undefined) from = (await log.offsetForTimestamp(timestamp))?.offset ?? end;
  else from = end - BigInt(max) > log.logStartOffset ? end - BigInt(max) : log.logStartOffset;
  await loadRecordCodecs();
  const records = await collect(log, from, end, max);
  const next = records.length > 0 ? records.at(-1)!.offset + 1n : from;
  const self = `${gateway.baseUrl}/v3/clusters/${state.clusterId}/topics/${encodeURIComponent(topic)}/partitions/${partition}/records`;
  return {
    kind: 'SpateRecordList',
    metadata: { self: `${self}?${queryText}`, next: next < end ? `${self}?offset=${next}&max=${max}` : null },
    cluster_id: state.clusterId,
    topic_name: topic,
    partition_id: partition,
    log_start_offset: log.logStartOffset,
    high_watermark: end,
    next_offset: next,
    data: records.map((record) => ({
      partition_id: partition,
      offset: record.offset,
      timestamp: new Date(Number(record.timestamp)).toISOString(),
      timestamp_ms: record.timestamp,
      key: recordDataOf(record.key),
      value: recordDataOf(record.value),
      headers: record.headers.map((header) => ({ name: header.key, value: header.value?.toString('base64') ?? null })),
    })),
  };
}

/** Up to `max` data records from `from`, below `end`. */
async function collect(log: PartitionLog, from: bigint, end: bigint, max: number): Promise<DecodedRecord[]> {
  const records: DecodedRecord[] = [];
  let offset = from;
  while (records.length < max && offset < end) {
    const chunk = await log.read(offset, READ_BYTES, true);
    if (chunk === null) break;
    try {
      // Keys and values are views of the mapped segment: copied before release.
      for (const record of decodeDataRecords(chunk.buffer, offset, end)) {
        if (records.length >= max) break;
        records.push({ ...record, key: record.key && Buffer.from(record.key), value: record.value && Buffer.from(record.value) });
      }
    } finally {
      chunk.release();
    }
    // Batches of control records (or compacted gaps) move the offset on as well.
    offset = chunk.lastOffset + 1n;
  }
  return records;
}
