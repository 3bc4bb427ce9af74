// `spate topics|produce|consume|groups`: Kafka's command-line tools (kafka-topics.sh,
// kafka-console-producer.sh, kafka-console-consumer.sh, kafka-consumer-groups.sh) in one
// command, over the project's own protocol layer, against Spate or any Kafka broker.
// `--json` prints machine-readable output (consume: one JSON object per line).

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { partitionForKey } from '../http/partitioner.js';
import {
  type CreateTopicsResponse,
  type DeleteGroupsResponse,
  type DeleteTopicsResponse,
  type DescribeConfigsResponse,
  type DescribeGroupsResponse,
  type FetchResponse,
  type FindCoordinatorResponse,
  type ListGroupsResponse,
  type ListOffsetsResponse,
  type MetadataResponse,
  type OffsetCommitResponse,
  type OffsetFetchResponse,
  type ProduceResponse,
} from '../protocol/generated/index.js';
import { encodeRecordBatch, type RecordInput } from '../protocol/record-batch.js';
import { KafkaClient, KafkaCommandError } from './kafka-client.js';

export interface CommandOptions {
  readonly bootstrap: string;
  readonly json: boolean;
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly out: (line: string) => void;
  readonly input: NodeJS.ReadableStream;
}

const text = (options: CommandOptions, name: string): string | undefined => {
  const value = options.values[name];
  return typeof value === 'string' ? value : undefined;
};
const required = (options: CommandOptions, name: string): string => {
  const value = text(options, name);
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
};
const integer = (options: CommandOptions, name: string, fallback: number): number => {
  const value = text(options, name);
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number)) throw new Error(`--${name} must be an integer, got '${value}'`);
  return number;
};
const check = (errorCode: number, message: string | null | undefined, what: string) => {
  if (errorCode !== 0) throw new KafkaCommandError(errorCode, message ?? what);
};
const toJsonLine = (value: unknown) => JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? Number(item) : item));

/** Left-aligned columns, as Kafka's tools print them. */
function table(rows: Array<Record<string, unknown>>, columns: string[]): string[] {
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column] ?? '-').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => cell.padEnd(widths[index]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.toUpperCase())), ...rows.map((row) => line(columns.map((column) => String(row[column] ?? '-'))))];
}

export async function runCommand(command: string, sub: string | undefined, options: CommandOptions): Promise<number> {
  const client = await KafkaClient.connect(options.bootstrap);
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

async function topics(client: KafkaClient, sub: string | undefined, options: CommandOptions): Promise<number> {
  switch (sub) {
    case 'list': {
      const metadata = await client.metadata(null);
      const names = metadata.topics
        .map((topic) => topic.name ?? '')
        .filter((name) => name !== '')
        .sort();
      if (options.json) options.out(toJsonLine(names));
      else for (const name of names) options.out(name);
      return 0;
    }
    case 'describe': {
      const wanted = text(options, 'topic');
      const metadata = await client.metadata(wanted === undefined ? null : [wanted]);
      const described = metadata.topics.map((topic) => {
        check(topic.errorCode, null, `topic ${topic.name ?? ''}`);
        return {
          topic: topic.name,
          topicId: topic.topicId === undefined ? null : topic.topicId.toString('base64url'),
          internal: topic.isInternal ?? false,
          partitions: topic.partitions.map((partition) => ({
            partition: partition.partitionIndex,
            leader: partition.leaderId,
            replicas: partition.replicaNodes,
            isr: partition.isrNodes,
          })),
        };
      });
      if (options.json) options.out(toJsonLine(described));
      else {
        for (const topic of described) {
          options.out(`Topic: ${topic.topic}\tTopicId: ${topic.topicId}\tPartitionCount: ${topic.partitions.length}`);
          for (const partition of topic.partitions) {
            options.out(
              `\tTopic: ${topic.topic}\tPartition: ${partition.partition}\tLeader: ${partition.leader}\tReplicas: ${partition.replicas.join(',')}\tIsr: ${partition.isr.join(',')}`,
            );
          }
        }
      }
      return 0;
    }
    case 'create': {
      const name = required(options, 'topic');
      const configs = ((options.values['config'] as string[] | undefined) ?? []).map((item) => {
        const equals = item.indexOf('=');
        if (equals <= 0) throw new Error(`--config expects key=value, got '${item}'`);
        return { name: item.slice(0, equals), value: item.slice(equals + 1) };
      });
      const response = await client.request<CreateTopicsResponse>(19, 7, {
        topics: [{ name, numPartitions: integer(options, 'partitions', -1), replicationFactor: integer(options, 'replication-factor', -1), assignments: [], configs }],
        timeoutMs: 30_000,
        validateOnly: false,
      });
      const result = response.topics[0]!;
      check(result.errorCode, result.errorMessage, `create ${name}`);
      if (options.json) options.out(toJsonLine({ topic: name, partitions: result.numPartitions, replicationFactor: result.replicationFactor }));
      else options.out(`Created topic ${name}.`);
      return 0;
    }
    case 'delete': {
      const name = required(options, 'topic');
      const response = await client.request<DeleteTopicsResponse>(20, 6, { topics: [{ name, topicId: Buffer.alloc(16) }], topicNames: [name], timeoutMs: 30_000 });
      const result = response.responses[0]!;
      check(result.errorCode, result.errorMessage, `delete ${name}`);
      if (options.json) options.out(toJsonLine({ topic: name, deleted: true }));
      else options.out(`Deleted topic ${name}.`);
      return 0;
    }
    default:
      throw new Error(`spate topics: expected list, describe, create or delete, got '${sub ?? ''}'`);
  }
}

async function partitionsOf(client: KafkaClient, topic: string): Promise<MetadataResponse['topics'][number]['partitions']> {
  const metadata = await client.metadata([topic]);
  const found = metadata.topics[0];
  if (found === undefined) throw new Error(`No metadata for ${topic}`);
  check(found.errorCode, null, `topic ${topic}`);
  return [...found.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
}

/** Lines from stdin or --file: `value`, or `key<sep>value` with --key-separator. */
async function produce(client: KafkaClient, options: CommandOptions): Promise<number> {
  const topic = required(options, 'topic');
  const separator = text(options, 'key-separator');
  const file = text(options, 'file');
  const headers = ((options.values['header'] as string[] | undefined) ?? []).map((item) => {
    const equals = item.indexOf('=');
    if (equals <= 0) throw new Error(`--header expects key=value, got '${item}'`);
    return { key: item.slice(0, equals), value: item.slice(equals + 1) };
  });
  const acks = integer(options, 'acks', -1);
  const fixedPartition = text(options, 'partition') === undefined ? undefined : integer(options, 'partition', 0);
  const partitions = await partitionsOf(client, topic);
  const lines = createInterface({ input: file === undefined ? options.input : createReadStream(file), crlfDelay: Infinity });
  let roundRobin = 0;
  let count = 0;
  const pending = new Map<number, RecordInput[]>();
  const flush = async () => {
    for (const [partition, records] of pending) {
      const leader = partitions[partition]!.leaderId;
      const response = await client.requestTo<ProduceResponse>(leader, 0, 9, {
        transactionalId: null,
        acks,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records: encodeRecordBatch({ records }) }] }],
      });
      if (acks !== 0) {
        const result = response.responses[0]!.partitionResponses[0]!;
        check(result.errorCode, result.errorMessage ?? null, `produce to ${topic}-${partition}`);
      }
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
    if (count % 500 === 0) await flush();
  }
  await flush();
  if (options.json) options.out(toJsonLine({ topic, records: count }));
  else options.out(`Produced ${count} record${count === 1 ? '' : 's'} to ${topic}.`);
  return 0;
}

async function listOffset(client: KafkaClient, leader: number, topic: string, partition: number, timestamp: bigint): Promise<bigint> {
  const response = await client.requestTo<ListOffsetsResponse>(leader, 2, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
  });
  const result = response.topics[0]!.partitions[0]!;
  check(result.errorCode, null, `ListOffsets ${topic}-${partition}`);
  return result.offset;
}

async function coordinator(client: KafkaClient, group: string): Promise<number> {
  const response = await client.request<FindCoordinatorResponse>(10, 4, { key: group, keyType: 0, coordinatorKeys: [group] });
  const found = response.coordinators?.[0];
  if (found !== undefined) {
    check(found.errorCode, found.errorMessage, `coordinator of ${group}`);
    return found.nodeId;
  }
  check(response.errorCode ?? 0, response.errorMessage, `coordinator of ${group}`);
  return response.nodeId ?? -1;
}

async function committedOffsets(client: KafkaClient, node: number, group: string): Promise<Map<string, bigint>> {
  const response = await client.requestTo<OffsetFetchResponse>(node, 9, 8, { groups: [{ groupId: group, topics: null }], requireStable: false });
  const answer = response.groups?.[0];
  if (answer === undefined) throw new Error(`No OffsetFetch answer for ${group}`);
  check(answer.errorCode, null, `offsets of ${group}`);
  const offsets = new Map<string, bigint>();
  for (const topic of answer.topics)
    for (const partition of topic.partitions) if (partition.committedOffset >= 0n) offsets.set(`${topic.name}\u0000${partition.partitionIndex}`, partition.committedOffset);
  return offsets;
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

/** DescribeConfigs of a topic (--topic) or a broker (--broker N), as `kafka-configs --describe --all` lists them. */
async function configs(client: KafkaClient, sub: string | undefined, options: CommandOptions): Promise<number> {
  if (sub !== 'get') throw new Error(`spate configs: expected get, got '${sub ?? ''}'`);
  const topic = text(options, 'topic');
  const broker = text(options, 'broker');
  if ((topic === undefined) === (broker === undefined)) throw new Error('spate configs get needs --topic T or --broker N');
  const response = await client.request<DescribeConfigsResponse>(32, 4, {
    resources: [{ resourceType: topic !== undefined ? 2 : 4, resourceName: topic ?? broker!, configurationKeys: null }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const result = response.results[0]!;
  check(result.errorCode, result.errorMessage, `configs of ${topic ?? `broker ${broker}`}`);
  const SOURCES = [
    'UNKNOWN',
    'TOPIC_CONFIG',
    'DYNAMIC_BROKER_CONFIG',
    'DYNAMIC_DEFAULT_BROKER_CONFIG',
    'STATIC_BROKER_CONFIG',
    'DEFAULT_CONFIG',
    'DYNAMIC_BROKER_LOGGER_CONFIG',
    'CLIENT_METRICS_CONFIG',
    'GROUP_CONFIG',
  ];
  const rows = result.configs
    .map((config) => ({
      name: config.name,
      value: config.isSensitive ? null : config.value,
      source: SOURCES[config.configSource] ?? String(config.configSource),
      readOnly: config.readOnly,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  if (options.json) options.out(toJsonLine(rows));
  else for (const row of rows) options.out(`${row.name}=${row.value ?? '(sensitive)'}\t${row.source}`);
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

async function groups(client: KafkaClient, sub: string | undefined, options: CommandOptions): Promise<number> {
  switch (sub) {
    case 'list': {
      const response = await client.request<ListGroupsResponse>(16, 4, { statesFilter: [], typesFilter: [] });
      check(response.errorCode, null, 'ListGroups');
      const rows = response.groups
        .map((group) => ({ group: group.groupId, state: group.groupState ?? '', protocolType: group.protocolType }))
        .sort((a, b) => (a.group < b.group ? -1 : 1));
      if (options.json) options.out(toJsonLine(rows));
      else for (const row of rows) options.out(row.group);
      return 0;
    }
    case 'describe': {
      const group = required(options, 'group');
      const node = await coordinator(client, group);
      const described = await client.requestTo<DescribeGroupsResponse>(node, 15, 5, { groups: [group], includeAuthorizedOperations: false });
      const info = described.groups[0]!;
      check(info.errorCode, null, `describe ${group}`);
      const offsets = await committedOffsets(client, node, group);
      const rows = [];
      const leaders = new Map<string, number>();
      for (const key of offsets.keys()) {
        const [topic] = key.split('\u0000') as [string];
        if (!leaders.has(topic)) for (const partition of await partitionsOf(client, topic)) leaders.set(`${topic}\u0000${partition.partitionIndex}`, partition.leaderId);
      }
      for (const [key, offset] of [...offsets].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const [topic, partition] = key.split('\u0000') as [string, string];
        const leader = leaders.get(key);
        const end = leader === undefined ? undefined : await listOffset(client, leader, topic, Number(partition), -1n);
        rows.push({ group, topic, partition: Number(partition), currentOffset: offset, logEndOffset: end ?? null, lag: end === undefined ? null : end - offset });
      }
      if (options.json)
        options.out(
          toJsonLine({
            group,
            state: info.groupState,
            members: info.members.map((member) => ({ memberId: member.memberId, clientId: member.clientId, host: member.clientHost })),
            offsets: rows,
          }),
        );
      else {
        options.out(`Group ${group} is ${info.groupState} with ${info.members.length} member${info.members.length === 1 ? '' : 's'}.`);
        for (const line of table(rows, ['group', 'topic', 'partition', 'currentOffset', 'logEndOffset', 'lag'])) options.out(line);
      }
      return 0;
    }
    case 'delete': {
      const group = required(options, 'group');
      const node = await coordinator(client, group);
      const response = await client.requestTo<DeleteGroupsResponse>(node, 42, 2, { groupsNames: [group] });
      const result = response.results[0]!;
      check(result.errorCode, null, `delete group ${group}`);
      if (options.json) options.out(toJsonLine({ group, deleted: true }));
      else options.out(`Deleted group ${group}.`);
      return 0;
    }
    default:
      throw new Error(`spate groups: expected list, describe or delete, got '${sub ?? ''}'`);
  }
}
