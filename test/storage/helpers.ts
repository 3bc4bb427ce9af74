// Fault injection on a stopped broker's files: start an in-process broker on a data dir
// with a logger that keeps every WARN and ERROR line, write through a raw client, stop,
// damage, start again.

import { type Test } from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type SpateBroker } from '../../src/index.js';
import { type Logger } from '../../src/logger.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { RawClient } from '../helpers/raw-client.js';

export interface Started {
  readonly broker: SpateBroker;
  readonly client: RawClient;
  /** WARN and ERROR lines logged so far, "WARN message". */
  readonly lines: string[];
  stop(): Promise<void>;
}

export function dataDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'spate-faults-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function capturingLogger(lines: string[]): Logger {
  return {
    debug() {},
    info() {},
    warn: (message) => void lines.push(`WARN ${message}`),
    error: (message) => void lines.push(`ERROR ${message}`),
  };
}

export async function start(t: Test, dir: string, config: Record<string, string | number> = {}): Promise<Started> {
  const lines: string[] = [];
  const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logger: capturingLogger(lines), config });
  const client = await RawClient.connect(broker.bootstrap);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    client.close();
    await broker.stop();
  };
  t.teardown(stop);
  return { broker, client, lines, stop };
}

export async function createTopic(client: RawClient, name: string, partitions = 1): Promise<number> {
  const answer = await client.request(19, 5, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  return answer.body.topics[0].errorCode as number;
}

/** One batch per call; returns the partition response. */
export async function produce(client: RawClient, topic: string, values: string[], partition = 0): Promise<{ errorCode: number; baseOffset: bigint }> {
  const records = encodeRecordBatch({ records: values.map((value) => ({ key: Buffer.from(value), value: Buffer.from(value) })) });
  const answer = await client.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  return answer.body.responses[0].partitionResponses[0];
}

export async function fetch(client: RawClient, topic: string, offset: bigint, partition = 0): Promise<{ errorCode: number; highWatermark: bigint; values: string[] }> {
  const answer = await client.request(1, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const result = answer.body.responses[0].partitions[0];
  const values = result.records === null ? [] : decodeRecordBatches(result.records).flatMap((b) => b.records.map((r) => r.value!.toString()));
  return { errorCode: result.errorCode, highWatermark: result.highWatermark, values };
}

export function segmentFile(dir: string, topicPartition: string, base = 0n, suffix = '.log'): string {
  return join(dir, topicPartition, `${String(base).padStart(20, '0')}${suffix}`);
}

/** Byte positions of the batches in a segment file. */
export function batchPositions(path: string): number[] {
  const bytes = readFileSync(path);
  const positions: number[] = [];
  for (let at = 0; at + 12 <= bytes.length; at += 12 + bytes.readInt32BE(at + 8)) positions.push(at);
  return positions;
}

/** Flips one byte (inside the CRC-covered part) of the file. */
export function flipByte(path: string, position: number): void {
  const bytes = readFileSync(path);
  bytes[position] = bytes[position]! ^ 0xff;
  writeFileSync(path, bytes);
}

/**
 * Makes the next start look like the one after a crash (no `.kafka_cleanshutdown` in the log
 * dir), with the partition's entry gone from recovery-point-offset-checkpoint so that every
 * one of its segments is recovered.
 */
export function makeUnclean(dir: string, topicPartition: string): void {
  rmSync(join(dir, '.kafka_cleanshutdown'), { force: true });
  const checkpoint = join(dir, 'recovery-point-offset-checkpoint');
  const entries = readFileSync(checkpoint, 'utf8')
    .split('\n')
    .slice(2)
    .filter((line) => line.length > 0 && line.replace(/ (\d+) -?\d+$/, '-$1') !== topicPartition);
  writeFileSync(checkpoint, `0\n${entries.length}\n${entries.map((line) => `${line}\n`).join('')}`);
}

export function partitionDirs(dir: string, prefix: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith(prefix));
}
