// `spate topics` (kafka-topics.sh: list, describe, create, alter, delete) and `spate configs`
// (kafka-configs.sh: get and set on topics, brokers and groups).

import {
  type CreatePartitionsResponse,
  type CreateTopicsResponse,
  type DeleteTopicsResponse,
  type DescribeConfigsResponse,
  type IncrementalAlterConfigsResponse,
} from '../protocol/generated/index.js';
import { check, type CommandOptions, integer, keyValues, required, text, toJsonLine } from './command-support.js';
import { type KafkaClient } from './kafka-client.js';

export async function topics(client: KafkaClient, sub: string | undefined, options: CommandOptions): Promise<number> {
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
      const configs = keyValues(options, 'config').map(({ key, value }) => ({ name: key, value }));
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
    case 'alter': {
      // kafka-topics --alter --partitions N, and kafka-configs --alter --add-config / --delete-config for the topic.
      const name = required(options, 'topic');
      const partitions = text(options, 'partitions') === undefined ? undefined : integer(options, 'partitions', 0);
      const changes = configChanges(options);
      if (partitions === undefined && changes.length === 0) throw new Error('spate topics alter needs --partitions N or --config K=V / --delete-config K');
      const done: Record<string, unknown> = { topic: name };
      if (partitions !== undefined) {
        const response = await client.request<CreatePartitionsResponse>(37, 3, {
          topics: [{ name, count: partitions, assignments: null }],
          timeoutMs: 30_000,
          validateOnly: false,
        });
        const result = response.results[0]!;
        check(result.errorCode, result.errorMessage, `partitions of ${name}`);
        done['partitions'] = partitions;
      }
      if (changes.length > 0) {
        await alterConfigs(client, TOPIC, name, changes);
        done['configs'] = Object.fromEntries(changes.map((change) => [change.name, change.value]));
      }
      if (options.json) options.out(toJsonLine(done));
      else {
        if (partitions !== undefined) options.out(`Topic ${name} has ${partitions} partitions now.`);
        if (changes.length > 0) options.out(`Altered the configs of topic ${name}: ${describeChanges(changes)}.`);
      }
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
      throw new Error(`spate topics: expected list, describe, create, alter or delete, got '${sub ?? ''}'`);
  }
}

/**
 * `configs get`: DescribeConfigs of a topic, a broker or a group, as `kafka-configs --describe
 * --all` lists them. `configs set`: IncrementalAlterConfigs SET (--config K=V) and DELETE
 * (--delete-config K), as `kafka-configs --alter --add-config / --delete-config`.
 */
export async function configs(client: KafkaClient, sub: string | undefined, options: CommandOptions): Promise<number> {
  if (sub !== 'get' && sub !== 'set') throw new Error(`spate configs: expected get or set, got '${sub ?? ''}'`);
  const { type, name, what } = configResource(options, sub);
  if (sub === 'set') {
    const changes = configChanges(options);
    if (changes.length === 0) throw new Error('spate configs set needs --config K=V or --delete-config K');
    await alterConfigs(client, type, name, changes);
    if (options.json) options.out(toJsonLine({ resource: what, altered: Object.fromEntries(changes.map((change) => [change.name, change.value])) }));
    else options.out(`Altered the configs of ${what}: ${describeChanges(changes)}.`);
    return 0;
  }
  const response = await client.request<DescribeConfigsResponse>(32, 4, {
    resources: [{ resourceType: type, resourceName: name, configurationKeys: null }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const result = response.results[0]!;
  check(result.errorCode, result.errorMessage, `configs of ${what}`);
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

const TOPIC = 2;
const BROKER = 4;
const GROUP = 32;

/** The one resource of --topic T, --broker N (--broker-defaults: the cluster-wide default) or --group G. */
function configResource(options: CommandOptions, sub: string): { type: number; name: string; what: string } {
  const topic = text(options, 'topic');
  const broker = text(options, 'broker');
  const group = text(options, 'group');
  const defaults = options.values['broker-defaults'] === true;
  const given = [topic, broker, group].filter((value) => value !== undefined).length + (defaults ? 1 : 0);
  if (given !== 1) throw new Error(`spate configs ${sub} needs one of --topic T, --broker N, --broker-defaults or --group G`);
  if (topic !== undefined) return { type: TOPIC, name: topic, what: `topic ${topic}` };
  if (group !== undefined) return { type: GROUP, name: group, what: `group ${group}` };
  if (defaults) return { type: BROKER, name: '', what: 'the broker defaults' };
  return { type: BROKER, name: broker!, what: `broker ${broker}` };
}

interface ConfigChange {
  readonly name: string;
  /** null: DELETE (back to the default). */
  readonly value: string | null;
}

function configChanges(options: CommandOptions): ConfigChange[] {
  const set = keyValues(options, 'config').map(({ key, value }) => ({ name: key, value }));
  const deleted = ((options.values['delete-config'] as string[] | undefined) ?? []).map((name) => ({ name, value: null }));
  return [...set, ...deleted];
}

function describeChanges(changes: readonly ConfigChange[]): string {
  return changes.map((change) => (change.value === null ? `${change.name} deleted` : `${change.name}=${change.value}`)).join(', ');
}

/** IncrementalAlterConfigs (KIP-339): SET (0) and DELETE (1). */
async function alterConfigs(client: KafkaClient, resourceType: number, resourceName: string, changes: readonly ConfigChange[]): Promise<void> {
  const response = await client.request<IncrementalAlterConfigsResponse>(44, 1, {
    resources: [{ resourceType, resourceName, configs: changes.map((change) => ({ name: change.name, configOperation: change.value === null ? 1 : 0, value: change.value })) }],
    validateOnly: false,
  });
  const result = response.responses[0]!;
  check(result.errorCode, result.errorMessage, `alter configs of ${resourceName || 'the broker defaults'}`);
}
