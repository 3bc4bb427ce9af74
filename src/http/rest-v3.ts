// The REST API in the shapes of Confluent REST Proxy v3 (kafka-rest's /v3 resources), so
// tools written against the proxy work unchanged: clusters, topics (list, get, create,
// delete), partitions, topic configs, consumer groups, their consumers and lags, and
// produce (POST .../records with JSON, STRING and BINARY keys and values, headers, and
// several records in one streamed body, answered one JSON object per record).
// Everything goes through the broker's own handlers (CreateTopics, DeleteTopics, Produce)
// or its state, never through a Kafka client on loopback.
// Who asks is the HTTP Basic user (http-auth.ts) when authentication is on, else
// User:ANONYMOUS; the ACLs apply as Kafka applies them to the same requests (DESCRIBE to
// see a topic or group, DESCRIBE_CONFIGS for configs, READ to read records; creating,
// deleting and producing go through the handlers, which check their own).
// Differences from the proxy: no schema-registry types (AVRO, PROTOBUF, JSONSCHEMA).

import { type TemplatedApp } from 'uWebSockets.js';
import { describeTopicConfigs, ConfigSource } from '../config/topic-config.js';
import { consumerGroupLags } from '../metrics/broker-metrics.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import {
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../protocol/generated/index.js';
import { encodeRecordBatch, type RecordInput } from '../protocol/record-batch.js';
import { type Topic } from '../log/log-manager.js';
import { type BrokerRegistration } from '../cluster/metadata.js';
import { exchange, parseJson, readBody, RestError, RestErrorCode, sendError, sendJson, send, type Exchange } from './http-support.js';
import { type GatewayContext } from './gateway-context.js';
import { type Caller } from './http-auth.js';
import { AclOperation } from '../security/acls.js';
import { groupResource, topicResource } from '../security/security-manager.js';
import { partitionForKey } from './partitioner.js';
import { streamRecords } from './record-stream.js';
import { readRecords } from './rest-records.js';

const CONFIG_SOURCE_NAMES = new Map<number, string>(Object.entries(ConfigSource).map(([name, code]) => [code, name === 'UNKNOWN' ? 'UNKNOWN' : name]));

const AUTHORIZATION_ERRORS = new Set<number>([
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
]);

/** Kafka error codes the proxy maps to 4xx; everything else is a 500 with 50002. */
function kafkaError(code: number, message: string | null): RestError {
  const text = message ?? errorName(code);
  if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return new RestError(404, RestErrorCode.KAFKA_UNKNOWN_TOPIC_PARTITION, text);
  if (AUTHORIZATION_ERRORS.has(code)) return new RestError(403, RestErrorCode.KAFKA_AUTHORIZATION_ERROR, `${errorName(code)}: ${text}`);
  if (
    [
      ErrorCode.TOPIC_ALREADY_EXISTS,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      ErrorCode.INVALID_PARTITIONS,
      ErrorCode.INVALID_REPLICATION_FACTOR,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.MESSAGE_TOO_LARGE,
      ErrorCode.RECORD_LIST_TOO_LARGE,
      ErrorCode.INVALID_RECORD,
      ErrorCode.POLICY_VIOLATION,
      ErrorCode.TOPIC_DELETION_DISABLED,
    ].includes(code as never)
  ) {
    return new RestError(400, RestErrorCode.KAFKA_BAD_REQUEST, text);
  }
  return new RestError(500, RestErrorCode.KAFKA_ERROR, `${errorName(code)}: ${text}`);
}

/** The proxy's group states: Kafka's ConsumerGroupState names in upper snake case. */
function groupState(state: string): string {
  return state.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

export function registerRestV3(app: TemplatedApp, gateway: GatewayContext): void {
  const state = gateway.state;
  const base = () => `${gateway.baseUrl}/v3/clusters/${state.clusterId}`;
  const related = (path: string) => ({ related: `${base()}${path}` });
  const resource = (path: string, crn: string) => ({ self: `${base()}${path}`, resource_name: `crn:///kafka=${state.clusterId}${crn}` });

  /** Runs an async route: aborts tracked, errors answered in the proxy's form. */
  const route = (
    method: 'get' | 'post' | 'del',
    pattern: string,
    params: number,
    body: boolean,
    run: (args: string[], query: string, payload: Buffer | undefined, target: Exchange, caller: Caller) => Promise<void> | void,
  ) => {
    app[method](pattern, (res, req) => {
      const caller = gateway.caller(res, req);
      if (caller === undefined) return; // 401 answered
      const args: string[] = [];
      for (let index = 0; index < params; index++) args.push(decodeURIComponent(req.getParameter(index)));
      const query = req.getQuery() ?? '';
      const target = exchange(res);
      const go = async () => {
        try {
          const payload = body ? await readBody(target, gateway.maxBodyBytes) : undefined;
          if (args[0] !== state.clusterId) throw new RestError(404, RestErrorCode.NOT_FOUND, `Cluster ${args[0]} cannot be found.`);
          await run(args, query, payload, target, caller);
        } catch (error) {
          sendError(target, error);
        }
      };
      void go();
    });
  };

  const clusterBody = () => ({
    kind: 'KafkaCluster',
    metadata: resource('', ''),
    cluster_id: state.clusterId,
    controller: related(`/brokers/${state.replicas.metadata.controllerId}`),
    acls: related('/acls'),
    brokers: related('/brokers'),
    broker_configs: related('/broker-configs'),
    consumer_groups: related('/consumer-groups'),
    topics: related('/topics'),
    partition_reassignments: related('/topics/-/partitions/-/reassignment'),
  });

  app.get('/v3/clusters', (res, req) => {
    if (gateway.caller(res, req) === undefined) return;
    sendJson(exchange(res), 200, { kind: 'KafkaClusterList', metadata: { self: `${gateway.baseUrl}/v3/clusters`, next: null }, data: [clusterBody()] });
  });
  route('get', '/v3/clusters/:cluster', 1, false, (_args, _query, _body, target) => sendJson(target, 200, clusterBody()));

  // The live brokers of the cluster (this one alone on a single node), with their first
  // listener's address and rack; `is_controller` is Spate's addition.
  const brokerBody = (broker: BrokerRegistration) => ({
    kind: 'KafkaBroker',
    metadata: resource(`/brokers/${broker.nodeId}`, `/broker=${broker.nodeId}`),
    cluster_id: state.clusterId,
    broker_id: broker.nodeId,
    host: broker.endpoints[0]?.host ?? null,
    port: broker.endpoints[0]?.port ?? null,
    rack: broker.rack,
    is_controller: broker.nodeId === state.replicas.metadata.controllerId,
    configs: related(`/brokers/${broker.nodeId}/configs`),
    partition_replicas: related(`/brokers/${broker.nodeId}/partition-replicas`),
  });
  route('get', '/v3/clusters/:cluster/brokers', 1, false, (_args, _query, _body, target) => {
    const data = state.replicas.metadata.brokers().map(brokerBody);
    sendJson(target, 200, { kind: 'KafkaBrokerList', metadata: { self: `${base()}/brokers`, next: null }, data });
  });
  route('get', '/v3/clusters/:cluster/brokers/:broker', 2, false, (args, _query, _body, target) => {
    const broker = state.replicas.metadata.broker(Number(args[1]));
    if (broker === undefined) throw new RestError(404, RestErrorCode.NOT_FOUND, `Broker ${args[1]} cannot be found.`);
    sendJson(target, 200, brokerBody(broker));
  });

  const topicBody = (topic: Topic) => ({
    kind: 'KafkaTopic',
    metadata: resource(`/topics/${topic.name}`, `/topic=${topic.name}`),
    cluster_id: state.clusterId,
    topic_name: topic.name,
    is_internal: topic.internal,
    replication_factor: state.replicas.store.topic(topic.name)?.replicas[0]?.length ?? 1,
    partitions_count: topic.partitions.length,
    partitions: related(`/topics/${topic.name}/partitions`),
    configs: related(`/topics/${topic.name}/configs`),
    partition_reassignments: related(`/topics/${topic.name}/partitions/-/reassignment`),
    authorized_operations: [],
  });
  const findTopic = (name: string): Topic => {
    const topic = state.logs.topic(name);
    if (topic === undefined) throw new RestError(404, RestErrorCode.KAFKA_UNKNOWN_TOPIC_PARTITION, 'This server does not host this topic-partition.');
    return topic;
  };

  /** Kafka's rule for a named resource the caller may not see: *_AUTHORIZATION_FAILED, as 403 in the proxy's form. */
  const requireTopic = (caller: Caller, operation: number, name: string) => {
    if (!gateway.authorize(caller, operation, topicResource(name))) throw kafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `Not authorized to access topics: [${name}]`);
  };
  const requireGroup = (caller: Caller, operation: number, groupId: string) => {
    if (!gateway.authorize(caller, operation, groupResource(groupId))) throw kafkaError(ErrorCode.GROUP_AUTHORIZATION_FAILED, `Not authorized to access group: ${groupId}`);
  };
  const describedTopic = (caller: Caller, name: string): Topic => {
    requireTopic(caller, AclOperation.DESCRIBE, name);
    return findTopic(name);
  };

  // Listing shows what the caller may describe, as Metadata does.
  route('get', '/v3/clusters/:cluster/topics', 1, false, (_args, _query, _body, target, caller) => {
    const data = [...state.logs.allTopics()]
      .filter((topic) => gateway.authorize(caller, AclOperation.DESCRIBE, topicResource(topic.name)))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map(topicBody);
    sendJson(target, 200, { kind: 'KafkaTopicList', metadata: { self: `${base()}/topics`, next: null }, data });
  });
  route('get', '/v3/clusters/:cluster/topics/:topic', 2, false, (args, _query, _body, target, caller) => sendJson(target, 200, topicBody(describedTopic(caller, args[1]!))));

  route('post', '/v3/clusters/:cluster/topics', 1, true, async (_args, _query, payload, target, caller) => {
    const wanted = parseJson(payload!) as Record<string, unknown>;
    if (typeof wanted !== 'object' || wanted === null || typeof wanted['topic_name'] !== 'string') {
      throw new RestError(400, RestErrorCode.BAD_REQUEST, 'topic_name is required');
    }
    const name = wanted['topic_name'];
    const configs = Array.isArray(wanted['configs']) ? (wanted['configs'] as Array<{ name: string; value: string | null }>) : [];
    const request: CreateTopicsRequest = {
      topics: [
        {
          name,
          numPartitions: typeof wanted['partitions_count'] === 'number' ? wanted['partitions_count'] : -1,
          replicationFactor: typeof wanted['replication_factor'] === 'number' ? wanted['replication_factor'] : -1,
          assignments: [],
          configs: configs.map((config) => ({ name: String(config.name), value: config.value === null ? null : String(config.value) })),
        },
      ],
      timeoutMs: 30000,
      validateOnly: wanted['validate_only'] === true,
    };
    const response = await gateway.invoke<CreateTopicsResponse>(19, 7, request, caller);
    const result = response.topics[0]!;
    if (result.errorCode !== ErrorCode.NONE) throw kafkaError(result.errorCode, result.errorMessage);
    const topic = state.logs.topic(name);
    sendJson(
      target,
      201,
      topic === undefined
        ? { ...topicBody({ name, id: Buffer.alloc(16), partitions: [], configs: {}, internal: false }), partitions_count: result.numPartitions }
        : topicBody(topic),
    );
  });

  route('del', '/v3/clusters/:cluster/topics/:topic', 2, false, async (args, _query, _body, target, caller) => {
    const request: DeleteTopicsRequest = { topics: [{ name: args[1]!, topicId: Buffer.alloc(16) }], timeoutMs: 30000 };
    const response = await gateway.invoke<DeleteTopicsResponse>(20, 6, request, caller);
    const result = response.responses[0]!;
    if (result.errorCode !== ErrorCode.NONE) throw kafkaError(result.errorCode, result.errorMessage ?? null);
    send(target, 204, '');
  });

  // The proxy's KafkaPartition, and Spate's additions: leader, replicas, ISR and offline
  // replicas by broker ID, and `log` (offsets, size, segments) when this broker holds a replica.
  const partitionBody = (topic: string, partition: number) => {
    const view = state.replicas.describePartition(topic, partition);
    // Every broker of a cluster keeps a (empty) log for each partition; only a replica's counts.
    const log = view === undefined || view.replicas.includes(state.nodeId) ? state.logs.partition(topic, partition) : undefined;
    return {
      kind: 'KafkaPartition',
      metadata: resource(`/topics/${topic}/partitions/${partition}`, `/topic=${topic}/partition=${partition}`),
      cluster_id: state.clusterId,
      topic_name: topic,
      partition_id: partition,
      leader: related(`/topics/${topic}/partitions/${partition}/replicas/${view?.leader ?? state.nodeId}`),
      replicas: related(`/topics/${topic}/partitions/${partition}/replicas`),
      reassignment: related(`/topics/${topic}/partitions/${partition}/reassignment`),
      leader_id: view?.leader ?? state.nodeId,
      leader_epoch: view?.leaderEpoch ?? 0,
      replica_ids: view?.replicas ?? [state.nodeId],
      isr_ids: view?.isr ?? [state.nodeId],
      offline_replica_ids: view?.offlineReplicas ?? [],
      log:
        log === undefined || log.isDeleted
          ? null
          : {
              broker_id: state.nodeId,
              log_start_offset: log.logStartOffset,
              log_end_offset: log.logEndOffset,
              high_watermark: log.highWatermark,
              size_bytes: log.sizeInBytes,
              segments: log.segmentInfo().length,
            },
    };
  };
  const findPartition = (topic: Topic, index: string): number => {
    const partition = Number(index);
    if (!Number.isInteger(partition) || topic.partitions[partition] === undefined) {
      throw new RestError(404, RestErrorCode.KAFKA_UNKNOWN_TOPIC_PARTITION, 'This server does not host this topic-partition.');
    }
    return partition;
  };
  route('get', '/v3/clusters/:cluster/topics/:topic/partitions/:partition/replicas', 3, false, (args, _query, _body, target, caller) => {
    const topic = describedTopic(caller, args[1]!);
    const partition = findPartition(topic, args[2]!);
    const view = state.replicas.describePartition(topic.name, partition);
    const replicas = view?.replicas ?? [state.nodeId];
    const data = replicas.map((brokerId) => ({
      kind: 'KafkaReplica',
      metadata: resource(`/topics/${topic.name}/partitions/${partition}/replicas/${brokerId}`, `/topic=${topic.name}/partition=${partition}/replica=${brokerId}`),
      cluster_id: state.clusterId,
      topic_name: topic.name,
      partition_id: partition,
      broker_id: brokerId,
      is_leader: (view?.leader ?? state.nodeId) === brokerId,
      is_in_sync: (view?.isr ?? [state.nodeId]).includes(brokerId),
      broker: related(`/brokers/${brokerId}`),
    }));
    sendJson(target, 200, { kind: 'KafkaReplicaList', metadata: { self: `${base()}/topics/${topic.name}/partitions/${partition}/replicas`, next: null }, data });
  });
  route('get', '/v3/clusters/:cluster/topics/:topic/partitions/:partition/records', 3, false, async (args, query, _body, target, caller) => {
    // Reading records is what a consumer's Fetch does: READ on the topic.
    requireTopic(caller, AclOperation.READ, args[1]!);
    const topic = findTopic(args[1]!);
    sendJson(target, 200, await readRecords(gateway, topic.name, findPartition(topic, args[2]!), query));
  });
  route('get', '/v3/clusters/:cluster/topics/:topic/partitions', 2, false, (args, _query, _body, target, caller) => {
    const topic = describedTopic(caller, args[1]!);
    const data = topic.partitions.map((log) => partitionBody(topic.name, log.partition));
    sendJson(target, 200, { kind: 'KafkaPartitionList', metadata: { self: `${base()}/topics/${topic.name}/partitions`, next: null }, data });
  });
  route('get', '/v3/clusters/:cluster/topics/:topic/partitions/:partition', 3, false, (args, _query, _body, target, caller) => {
    const topic = describedTopic(caller, args[1]!);
    sendJson(target, 200, partitionBody(topic.name, findPartition(topic, args[2]!)));
  });

  route('get', '/v3/clusters/:cluster/topics/:topic/configs', 2, false, (args, _query, _body, target, caller) => {
    requireTopic(caller, AclOperation.DESCRIBE_CONFIGS, args[1]!);
    const topic = findTopic(args[1]!);
    const data = describeTopicConfigs(topic.configs, state.config).map((config) => ({
      kind: 'KafkaTopicConfig',
      metadata: resource(`/topics/${topic.name}/configs/${config.name}`, `/topic=${topic.name}/config=${config.name}`),
      cluster_id: state.clusterId,
      topic_name: topic.name,
      name: config.name,
      value: config.value,
      is_default: config.source === ConfigSource.DEFAULT_CONFIG,
      is_read_only: config.readOnly,
      is_sensitive: config.isSensitive,
      source: CONFIG_SOURCE_NAMES.get(config.source) ?? 'UNKNOWN',
      synonyms: config.synonyms.map((synonym) => ({ name: synonym.name, value: synonym.value, source: CONFIG_SOURCE_NAMES.get(synonym.source) ?? 'UNKNOWN' })),
    }));
    sendJson(target, 200, { kind: 'KafkaTopicConfigList', metadata: { self: `${base()}/topics/${topic.name}/configs`, next: null }, data });
  });

  const groupBody = (groupId: string) => {
    const listed = state.groups.listGroups().find((group) => group.groupId === groupId);
    const described = state.groups.describeGroup(groupId);
    if (listed === undefined && described === undefined) throw new RestError(404, RestErrorCode.NOT_FOUND, `Consumer group ${groupId} cannot be found.`);
    return {
      kind: 'KafkaConsumerGroup',
      metadata: resource(`/consumer-groups/${groupId}`, `/consumer-group=${groupId}`),
      cluster_id: state.clusterId,
      consumer_group_id: groupId,
      is_simple: (described?.protocolType ?? listed?.protocolType ?? '') === '',
      partition_assignor: described?.protocolName ?? '',
      state: groupState(described?.state ?? listed?.state ?? 'Unknown'),
      type: (described?.groupType ?? listed?.groupType ?? 'classic').toUpperCase(),
      coordinator: related(`/brokers/${state.nodeId}`),
      // Spate's addition: the members, so a console needs one request per group.
      members_count: described?.members.length ?? 0,
      consumers: related(`/consumer-groups/${groupId}/consumers`),
      lag_summary: related(`/consumer-groups/${groupId}/lag-summary`),
    };
  };
  route('get', '/v3/clusters/:cluster/consumer-groups', 1, false, (_args, _query, _body, target, caller) => {
    // As ListGroups: the groups the caller may describe.
    const data = state.groups
      .listGroups()
      .filter((group) => gateway.authorize(caller, AclOperation.DESCRIBE, groupResource(group.groupId)))
      .map((group) => groupBody(group.groupId));
    sendJson(target, 200, { kind: 'KafkaConsumerGroupList', metadata: { self: `${base()}/consumer-groups`, next: null }, data });
  });
  route('get', '/v3/clusters/:cluster/consumer-groups/:group', 2, false, (args, _query, _body, target, caller) => {
    requireGroup(caller, AclOperation.DESCRIBE, args[1]!);
    sendJson(target, 200, groupBody(args[1]!));
  });

  /** Members of a classic group with their assigned partitions (decoded from the consumer protocol). */
  const members = (groupId: string) => {
    const described = state.groups.describeGroup(groupId);
    if (described === undefined) throw new RestError(404, RestErrorCode.NOT_FOUND, `Consumer group ${groupId} cannot be found.`);
    return described.members.map((member) => ({ ...member, partitions: decodeAssignment(member.assignment) }));
  };
  route('get', '/v3/clusters/:cluster/consumer-groups/:group/consumers', 2, false, (args, _query, _body, target, caller) => {
    const groupId = args[1]!;
    requireGroup(caller, AclOperation.DESCRIBE, groupId);
    const data = members(groupId).map((member) => ({
      kind: 'KafkaConsumer',
      metadata: resource(`/consumer-groups/${groupId}/consumers/${member.memberId}`, `/consumer-group=${groupId}/consumer=${member.memberId}`),
      cluster_id: state.clusterId,
      consumer_group_id: groupId,
      consumer_id: member.memberId,
      instance_id: member.groupInstanceId,
      client_id: member.clientId,
      assignments: related(`/consumer-groups/${groupId}/consumers/${member.memberId}/assignments`),
    }));
    sendJson(target, 200, { kind: 'KafkaConsumerList', metadata: { self: `${base()}/consumer-groups/${groupId}/consumers`, next: null }, data });
  });
  route('get', '/v3/clusters/:cluster/consumer-groups/:group/consumers/:consumer/assignments', 3, false, (args, _query, _body, target, caller) => {
    const [, groupId, consumerId] = args as [string, string, string];
    requireGroup(caller, AclOperation.DESCRIBE, groupId);
    const member = members(groupId).find((candidate) => candidate.memberId === consumerId);
    if (member === undefined) throw new RestError(404, RestErrorCode.NOT_FOUND, `Consumer ${consumerId} cannot be found.`);
    const data = member.partitions.map((key) => {
      const at = key.lastIndexOf(':');
      const [topic, partition] = [key.slice(0, at), Number(key.slice(at + 1))];
      return {
        kind: 'KafkaConsumerAssignment',
        metadata: resource(
          `/consumer-groups/${groupId}/consumers/${consumerId}/assignments/${topic}/partitions/${partition}`,
          `/consumer-group=${groupId}/consumer=${consumerId}/assignment=${topic}/partition=${partition}`,
        ),
        cluster_id: state.clusterId,
        consumer_group_id: groupId,
        consumer_id: consumerId,
        topic_name: topic,
        partition_id: partition,
        partition: related(`/topics/${topic}/partitions/${partition}`),
        lag: related(`/consumer-groups/${groupId}/lags/${topic}/partitions/${partition}`),
      };
    });
    sendJson(target, 200, {
      kind: 'KafkaConsumerAssignmentList',
      metadata: { self: `${base()}/consumer-groups/${groupId}/consumers/${consumerId}/assignments`, next: null },
      data,
    });
  });
  route('get', '/v3/clusters/:cluster/consumer-groups/:group/lags', 2, false, (args, _query, _body, target, caller) => {
    const groupId = args[1]!;
    requireGroup(caller, AclOperation.DESCRIBE, groupId);
    const owners = new Map<string, { memberId: string; groupInstanceId: string | null; clientId: string }>();
    if (state.groups.describeGroup(groupId) === undefined && state.groups.allCommittedOffsets(groupId).size === 0) {
      throw new RestError(404, RestErrorCode.NOT_FOUND, `Consumer group ${groupId} cannot be found.`);
    }
    for (const member of members(groupId)) for (const key of member.partitions) owners.set(key, member);
    // As OffsetFetch: the offsets of topics the caller may describe.
    const rows = consumerGroupLags(state, groupId)
      .filter((row) => gateway.authorize(caller, AclOperation.DESCRIBE, topicResource(row.topic)))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    const data = rows.map((row) => {
      const owner = owners.get(`${row.topic}:${row.partition}`);
      return {
        kind: 'KafkaConsumerLag',
        metadata: resource(`/consumer-groups/${groupId}/lags/${row.topic}/partitions/${row.partition}`, `/consumer-group=${groupId}/lag=${row.topic}/partition=${row.partition}`),
        cluster_id: state.clusterId,
        consumer_group_id: groupId,
        topic_name: row.topic,
        partition_id: row.partition,
        current_offset: row.committed,
        log_end_offset: row.end,
        lag: row.lag,
        consumer_id: owner?.memberId ?? '',
        instance_id: owner?.groupInstanceId ?? null,
        client_id: owner?.clientId ?? '',
      };
    });
    sendJson(target, 200, { kind: 'KafkaConsumerLagList', metadata: { self: `${base()}/consumer-groups/${groupId}/lags`, next: null }, data });
  });

  const produceOne = createRecordProducer(gateway);
  route('post', '/v3/clusters/:cluster/topics/:topic/records', 2, false, async (args, _query, _body, target, caller) => {
    const topic = findTopic(args[1]!);
    await streamRecords(target, gateway.maxBodyBytes, (record) => produceOne(topic, record, caller));
  });
}

/**
 * Appends one record given in the proxy's JSON shape through the Produce handler (acks=all),
 * answering the proxy's ProduceResponse shape. Shared with the WebSocket produce.
 */
export function createRecordProducer(gateway: GatewayContext): (topic: Topic, body: unknown, caller: Caller) => Promise<Record<string, unknown>> {
  const state = gateway.state;
  let roundRobin = 0;
  return async function produceOne(topic: Topic, body: unknown, caller: Caller) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RestError(400, RestErrorCode.BAD_REQUEST, 'A record must be a JSON object');
    const record = body as Record<string, unknown>;
    const key = recordData(record['key'], 'key');
    const value = recordData(record['value'], 'value');
    const headers = Array.isArray(record['headers'])
      ? (record['headers'] as Array<Record<string, unknown>>).map((header) => {
          if (typeof header?.['name'] !== 'string') throw new RestError(400, RestErrorCode.BAD_REQUEST, 'A header needs a name');
          return { key: header['name'], value: typeof header['value'] === 'string' ? Buffer.from(header['value'], 'base64') : null };
        })
      : [];
    let partition: number;
    if (typeof record['partition_id'] === 'number') partition = record['partition_id'];
    else if (key.bytes !== null) partition = partitionForKey(key.bytes, topic.partitions.length);
    else partition = roundRobin++ % topic.partitions.length;
    if (!Number.isInteger(partition) || topic.partitions[partition] === undefined) {
      throw new RestError(404, RestErrorCode.KAFKA_UNKNOWN_TOPIC_PARTITION, 'This server does not host this topic-partition.');
    }
    const timestamp = typeof record['timestamp'] === 'string' ? Date.parse(record['timestamp']) : Date.now();
    if (Number.isNaN(timestamp)) throw new RestError(400, RestErrorCode.BAD_REQUEST, `Invalid timestamp ${String(record['timestamp'])}`);
    const input: RecordInput = { key: key.bytes, value: value.bytes, headers, timestamp };
    const request: ProduceRequest = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: topic.name, partitionData: [{ index: partition, records: encodeRecordBatch({ records: [input] }) }] }],
    };
    const response = await gateway.invoke<ProduceResponse>(0, 9, request, caller);
    const result = response.responses[0]!.partitionResponses[0]!;
    if (result.errorCode !== ErrorCode.NONE) throw kafkaError(result.errorCode, result.errorMessage ?? null);
    const appendTime = result.logAppendTimeMs >= 0n ? Number(result.logAppendTimeMs) : timestamp;
    return {
      error_code: 200,
      cluster_id: state.clusterId,
      topic_name: topic.name,
      partition_id: partition,
      // A number, not a bigint: the answer serializes without a replacer (offsets fit a double far beyond real logs).
      offset: Number(result.baseOffset),
      timestamp: new Date(appendTime).toISOString(),
      key: key.type === null ? null : { type: key.type, size: key.bytes?.length ?? 0 },
      value: value.type === null ? null : { type: value.type, size: value.bytes?.length ?? 0 },
    };
  };
}

/** A key or value of a produce request: `{"type": "JSON"|"STRING"|"BINARY", "data": ...}`. */
function recordData(field: unknown, what: string): { type: string | null; bytes: Buffer | null } {
  if (field === undefined || field === null) return { type: null, bytes: null };
  if (typeof field !== 'object') throw new RestError(400, RestErrorCode.BAD_REQUEST, `${what} must be an object with type and data`);
  const { type = 'JSON', data } = field as { type?: unknown; data?: unknown };
  if (data === undefined || data === null) return { type: String(type), bytes: null };
  switch (type) {
    case 'JSON':
      return { type, bytes: Buffer.from(JSON.stringify(data), 'utf8') };
    case 'STRING':
      if (typeof data !== 'string') throw new RestError(400, RestErrorCode.BAD_REQUEST, `${what}: STRING data must be a string`);
      return { type, bytes: Buffer.from(data, 'utf8') };
    case 'BINARY':
      if (typeof data !== 'string') throw new RestError(400, RestErrorCode.BAD_REQUEST, `${what}: BINARY data must be base64`);
      return { type, bytes: Buffer.from(data, 'base64') };
    default:
      throw new RestError(400, RestErrorCode.BAD_REQUEST, `${what}: unsupported type ${String(type)} (JSON, STRING and BINARY are served)`);
  }
}

/** "topic:partition" keys of a consumer-protocol Assignment (v0+: topics, then user data). */
function decodeAssignment(assignment: Buffer): string[] {
  const keys: string[] = [];
  try {
    let position = 2;
    const topics = assignment.readInt32BE(position);
    position += 4;
    for (let topic = 0; topic < topics; topic++) {
      const length = assignment.readInt16BE(position);
      const name = assignment.toString('utf8', position + 2, position + 2 + length);
      position += 2 + length;
      const count = assignment.readInt32BE(position);
      position += 4;
      for (let index = 0; index < count; index++) {
        keys.push(`${name}:${assignment.readInt32BE(position)}`);
        position += 4;
      }
    }
  } catch {
    // Not a consumer-protocol assignment (another protocol type): no partitions to show.
  }
  return keys;
}
