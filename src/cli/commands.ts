// `spate topics|produce|consume|groups|configs|cluster`: Kafka's command-line tools
// (kafka-topics.sh, kafka-console-producer.sh, kafka-console-consumer.sh,
// kafka-consumer-groups.sh, kafka-configs.sh) in one command, over the project's own protocol
// layer, against Spate or any Kafka broker. `--json` prints machine-readable output (consume:
// one JSON object per line); `--command-config FILE` reads a Kafka client properties file
// (TLS, SASL). This file: the dispatch, produce, consume and cluster; topics and configs are in
// topic-commands.ts, groups in group-commands.ts.

import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { partitionForKey } from '../http/partitioner.js';
import { type FetchResponse, type OffsetCommitResponse, type ProduceResponse } from '../protocol/generated/index.js';
import { encodeRecordBatch, type RecordInput } from '../protocol/record-batch.js';
import { readCommandConfig } from './command-config.js';
import { check, type CommandOptions, committedOffsets, coordinator, integer, keyValues, listOffset, partitionsOf, required, table, text, toJsonLine } from './command-support.js';
import { groups } from './group-commands.js';
import { KafkaClient } from './kafka-client.js';
import { ProgressBar } from './progress.js';
import { configs, topics } from './topic-commands.js';

export { type CommandOptions } from './command-support.js';

export async function runCommand(command: string, sub: string | undefined, options: CommandOptions): Promise<number> {
  const commandConfig = text(options, 'command-config');
  const security = commandConfig === undefined ? {} : readCommandConfig(commandConfig);
  const client = await KafkaClient.connect(options.bootstrap, 10_000, security);
  try {
    switch (command) {
      case 'topics':
        return await topics(client, sub, options);
      case 'produce':
        return await produce(client, options);
      case 'consume':
        return await consume(client, options);
      case 'groups':
        return await groups(client, sub, options);
      case 'cluster':
        return await cluster(client, options);
      case 'configs':
        return await configs(client, sub, options);
      default:
        throw new Error(`unknown command '${command}'`);
    }
  } finally {
    client.close();
  }
}

/**
 * Lines from stdin or --file: `value`, or `key<sep>value` with --key-separator; at most
 * --rate records a second; a progress bar (bytes of the file) on a terminal.
 */
async function produce(client: KafkaClient, options: CommandOptions): Promise<number> {
  const topic = required(options, 'topic');
  const separator = text(options, 'key-separator');
  const file = text(options, 'file');
  const headers = keyValues(options, 'header');
  const acks = integer(options, 'acks', -1);
  const rate = text(options, 'rate') === undefined ? undefined : Number(text(options, 'rate'));
  if (rate !== undefined && !(rate > 0)) throw new Error(`--rate must be a positive number of records a second, got '${text(options, 'rate')}'`);
  const fixedPartition = text(options, 'partition') === undefined ? undefined : integer(options, 'partition', 0);
  const partitions = await partitionsOf(client, topic);
  const input: NodeJS.ReadableStream = file === undefined ? options.input : createReadStream(file);
  const progress = new ProgressBar(
    `Producing ${file ?? 'stdin'}`,
    file === undefined ? 0 : statSync(file).size,
    'bytes',
    file === undefined ? { write: () => true } : options.progress,
  );
  let bytesRead = 0;
  input.on('data', (chunk: Buffer | string) => {
    bytesRead += chunk.length;
    progress.update(bytesRead);
  });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let roundRobin = 0;
  let count = 0;
  const started = performance.now();
  // Paced runs send small batches (a tenth of a second's records) so the rate holds within the second.
  const batchSize = rate === undefined ? 500 : Math.max(1, Math.min(500, Math.floor(rate / 10)));
  const pending = new Map<number, RecordInput[]>();
  const flush = async () => {
    for (const [partition, records] of pending) {
      const leader = partitions[partition]!.leaderId;
      const request = {
        transactionalId: null,
        acks,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records: encodeRecordBatch({ records }) }] }],
      };
      // acks=0: the broker sends no response.
      if (acks === 0) {
        await client.sendTo(leader, 0, 9, request);
        continue;
      }
      const response = await client.requestTo<ProduceResponse>(leader, 0, 9, request);
      const result = response.responses[0]!.partitionResponses[0]!;
      check(result.errorCode, result.errorMessage ?? null, `produce to ${topic}-${partition}`);
    }
    pending.clear();
  };
  for await (const line of lines) {
    let key: string | null = null;
    let value = line;
    if (separator !== undefined) {
      const at = line.indexOf(separator);
      if (at >= 0) {
        key = line.slice(0, at);
        value = line.slice(at + separator.length);
      }
    }
    const partition = fixedPartition ?? (key !== null ? partitionForKey(Buffer.from(key), partitions.length) : roundRobin++ % partitions.length);
    if (partitions[partition] === undefined) throw new Error(`${topic} has no partition ${partition}`);
    let batch = pending.get(partition);
    if (batch === undefined) pending.set(partition, (batch = []));
    batch.push({ key, value, headers });
    count++;
    if (count % batchSize === 0) {
      await flush();
      if (rate !== undefined) {
        const due = started + (count / rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
    }
  }
  await flush();
  progress.finish();
  const seconds = (performance.now() - started) / 1000;
  if (options.json) options.out(toJsonLine({ topic, records: count, seconds: Math.round(seconds * 1000) / 1000 }));
  else
    options.out(
      `Produced ${count} record${count === 1 ? '' : 's'} to ${topic}${rate !== undefined ? ` in ${seconds.toFixed(1)} s (${Math.round(count / Math.max(seconds, 0.001))}/s)` : ''}.`,
    );
  return 0;
}

/** Fetches from each partition's leader until --count records or --timeout-ms without records. */
async function consume(client: KafkaClient, options: CommandOptions): Promise<number> {
  // Loaded here, not at the top: websocket-streams.ts pulls in the HTTP side (uWebSockets.js,
  // prom-client), which a `spate start` without an HTTP listener must not load.
  const { decodeDataRecords, loadRecordCodecs } = await import('../http/websocket-streams.js');
  await loadRecordCodecs();
  const topic = required(options, 'topic');
  const count = integer(options, 'count', Number.MAX_SAFE_INTEGER);
  const idleTimeoutMs = integer(options, 'timeout-ms', count === Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : 30_000);
  const group = text(options, 'group');
  const wantedPartition = text(options, 'partition') === undefined ? undefined : integer(options, 'partition', 0);
  const offsetOption = text(options, 'offset');
  const partitions = (await partitionsOf(client, topic)).filter((partition) => wantedPartition === undefined || partition.partitionIndex === wantedPartition);
  if (partitions.length === 0) throw new Error(`${topic} has no partition ${wantedPartition}`);
  const groupNode = group === undefined ? undefined : await coordinator(client, group);
  const committed = group === undefined ? new Map<string, bigint>() : await committedOffsets(client, groupNode!, group);
  const cursors = [];
  for (const partition of partitions) {
    const leader = partition.leaderId;
    let offset: bigint;
    const saved = committed.get(`${topic}\u0000${partition.partitionIndex}`);
    if (offsetOption !== undefined && offsetOption !== 'earliest' && offsetOption !== 'latest') offset = BigInt(offsetOption);
    else if (saved !== undefined && offsetOption === undefined) offset = saved;
    else if (offsetOption === 'earliest' || options.values['from-beginning'] === true) offset = await listOffset(client, leader, topic, partition.partitionIndex, -2n);
    else offset = await listOffset(client, leader, topic, partition.partitionIndex, -1n);
    cursors.push({ partition: partition.partitionIndex, leader, offset });
  }
  let received = 0;
  let lastRecordAt = Date.now();
  while (received < count && Date.now() - lastRecordAt < idleTimeoutMs) {
    let any = false;
    for (const cursor of cursors) {
      if (received >= count) break;
      const response = await client.requestTo<FetchResponse>(cursor.leader, 1, 12, {
        replicaId: -1,
        maxWaitMs: Math.min(500, Math.max(1, idleTimeoutMs - (Date.now() - lastRecordAt))),
        minBytes: 1,
        maxBytes: 16 * 1024 * 1024,
        isolationLevel: 1,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            partitions: [
              { partition: cursor.partition, currentLeaderEpoch: -1, fetchOffset: cursor.offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 4 * 1024 * 1024 },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      });
      const data = response.responses[0]!.partitions[0]!;
      check(data.errorCode, null, `fetch ${topic}-${cursor.partition} at ${cursor.offset}`);
      if (data.records === null || !Buffer.isBuffer(data.records) || data.records.length === 0) continue;
      const records = decodeDataRecords(data.records, cursor.offset, data.highWatermark);
      let next = cursor.offset;
      for (const record of records) {
        if (received >= count) break;
        received++;
        any = true;
        next = record.offset + 1n;
        if (options.json) {
          options.out(
            toJsonLine({
              topic,
              partition: cursor.partition,
              offset: record.offset,
              timestamp: record.timestamp,
              key: record.key?.toString('utf8') ?? null,
              value: record.value?.toString('utf8') ?? null,
              headers: Object.fromEntries(record.headers.map((header) => [header.key, header.value?.toString('utf8') ?? null])),
            }),
          );
        } else options.out(record.value?.toString('utf8') ?? 'null');
      }
      // Batches holding only control records or skipped offsets still move the cursor on.
      const batchEnd = lastOffsetOf(data.records);
      cursor.offset = next > batchEnd ? next : received >= count ? next : batchEnd;
    }
    if (any) lastRecordAt = Date.now();
  }
  if (group !== undefined && groupNode !== undefined) {
    const response = await client.requestTo<OffsetCommitResponse>(groupNode, 8, 8, {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [
        {
          name: topic,
          partitions: cursors.map((cursor) => ({ partitionIndex: cursor.partition, committedOffset: cursor.offset, committedLeaderEpoch: -1, committedMetadata: null })),
        },
      ],
    });
    for (const partition of response.topics[0]?.partitions ?? []) check(partition.errorCode, null, `commit for ${group}`);
  }
  return 0;
}

/** The brokers and the controller, from Metadata (as `kafka-broker-api-versions`/`kafka-metadata-quorum` show them). */
async function cluster(client: KafkaClient, options: CommandOptions): Promise<number> {
  const metadata = await client.metadata([]);
  const brokers = metadata.brokers
    .map((broker) => ({ nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack ?? null }))
    .sort((a, b) => a.nodeId - b.nodeId);
  const summary = { clusterId: metadata.clusterId ?? null, controllerId: metadata.controllerId ?? -1, brokers };
  if (options.json) options.out(toJsonLine(summary));
  else {
    options.out(`Cluster ${summary.clusterId}, controller ${summary.controllerId}`);
    for (const line of table(brokers, ['nodeId', 'host', 'port', 'rack'])) options.out(line);
  }
  return 0;
}

/** The offset after the last whole batch of a records blob. */
function lastOffsetOf(records: Buffer): bigint {
  let position = 0;
  let next = -1n;
  while (position + 61 <= records.length) {
    const size = 12 + records.readInt32BE(position + 8);
    if (position + size > records.length) break;
    next = records.readBigInt64BE(position) + BigInt(records.readInt32BE(position + 23)) + 1n;
    position += size;
  }
  return next;
}
