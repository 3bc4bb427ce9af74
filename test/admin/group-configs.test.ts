// Group configs (the GROUP config resource, Kafka 4.x): kafka-configs --entity-type groups
// describes, alters and deletes them; they are validated, durable, listed by
// ListConfigResources, and applied: a KIP-848 member gets the group's heartbeat interval,
// and a share group starts where its share.auto.offset.reset says.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

const GROUP = 32;
const SET = 0;
const DELETE = 1;

t.test('GROUP config resource at the wire level', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-group-configs-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  let broker = await startTestBroker(t, { dataDir });
  let client = await RawClient.connect(broker.bootstrap);
  const alter = async (groupId: string, configs: Array<{ name: string; configOperation: number; value: string | null }>, validateOnly = false) =>
    (await client.request(44, 1, { resources: [{ resourceType: GROUP, resourceName: groupId, configs }], validateOnly })).body.responses[0];
  const describe = async (groupId: string) =>
    (await client.request(32, 4, { resources: [{ resourceType: GROUP, resourceName: groupId, configurationKeys: null }], includeSynonyms: true, includeDocumentation: true })).body
      .results[0];

  const defaults = await describe('g1');
  t.equal(defaults.errorCode, 0);
  t.equal(defaults.configs.length, 17, "Kafka 4.3's 17 group configs");
  t.match(
    defaults.configs.find((c: any) => c.name === 'share.auto.offset.reset'),
    { value: 'latest', configSource: 5 },
  );

  t.match(await alter('g1', [{ name: 'nope', configOperation: SET, value: '1' }]), { errorCode: ErrorCode.INVALID_CONFIG });
  t.match(await alter('g1', [{ name: 'share.auto.offset.reset', configOperation: SET, value: 'sometimes' }]), { errorCode: ErrorCode.INVALID_CONFIG });
  t.match(await alter('g1', [{ name: 'share.record.lock.duration.ms', configOperation: SET, value: '10' }]), { errorCode: ErrorCode.INVALID_CONFIG }, 'below the minimum');
  t.match(
    await alter('g1', [{ name: 'consumer.heartbeat.interval.ms', configOperation: SET, value: '50000' }]),
    { errorCode: ErrorCode.INVALID_CONFIG },
    'heartbeat above the session timeout',
  );
  t.match(await alter('g1', [{ name: 'share.auto.offset.reset', configOperation: SET, value: 'earliest' }], true), { errorCode: 0 }, 'validate only');
  t.match(
    (await describe('g1')).configs.find((c: any) => c.name === 'share.auto.offset.reset'),
    { value: 'latest' },
    'validate only changed nothing',
  );
  t.match(
    await alter('g1', [
      { name: 'share.auto.offset.reset', configOperation: SET, value: 'earliest' },
      { name: 'consumer.heartbeat.interval.ms', configOperation: SET, value: '1234' },
    ]),
    { errorCode: 0 },
  );
  const legacy = await client.request(33, 2, {
    resources: [{ resourceType: GROUP, resourceName: 'g1', configs: [{ name: 'share.auto.offset.reset', value: 'latest' }] }],
    validateOnly: false,
  });
  t.equal(legacy.body.responses[0].errorCode, ErrorCode.INVALID_REQUEST, 'legacy AlterConfigs does not alter groups');

  // Applied: a KIP-848 member of g1 is told the group's heartbeat interval.
  const heartbeat = await client.request(68, 1, {
    groupId: 'g1',
    memberId: 'member-1',
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30000,
    subscribedTopicNames: ['none'],
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
  });
  t.equal(heartbeat.body.heartbeatIntervalMs, 1234, 'consumer.heartbeat.interval.ms of the group');

  const listed = await client.request(74, 1, { resourceTypes: [GROUP] });
  t.same(listed.body.configResources, [{ resourceName: 'g1', resourceType: GROUP }], 'ListConfigResources lists the group');
  t.equal((await client.request(74, 1, { resourceTypes: [99] })).body.errorCode, ErrorCode.INVALID_REQUEST);

  client.close();
  await broker.stop();
  broker = await startTestBroker(t, { dataDir });
  client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  t.match(
    (await describe('g1')).configs.find((c: any) => c.name === 'share.auto.offset.reset'),
    { value: 'earliest', configSource: 8 },
    'durable across a restart',
  );
  t.match(await alter('g1', [{ name: 'share.auto.offset.reset', configOperation: DELETE, value: null }]), { errorCode: 0 });
  t.match(
    (await describe('g1')).configs.find((c: any) => c.name === 'share.auto.offset.reset'),
    { value: 'latest', configSource: 5 },
    'deleted: back to the default',
  );
});

t.test('kafka-configs --entity-type groups; a share group starts at earliest', { skip: !javaToolsAvailable() && 'Kafka Java tools missing' }, async (t) => {
  const broker = await startTestBroker(t);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const tool = (args: string[]) => runKafkaTool(TOOLS.configs, ['--bootstrap-server', broker.bootstrap, ...args]);
  const altered = await tool([
    '--alter',
    '--entity-type',
    'groups',
    '--entity-name',
    'shared',
    '--add-config',
    'share.auto.offset.reset=earliest,share.record.lock.duration.ms=15000',
  ]);
  t.equal(altered.code, 0, altered.stderr.slice(-2000));
  const described = await tool(['--describe', '--entity-type', 'groups', '--entity-name', 'shared']);
  t.equal(described.code, 0, described.stderr.slice(-2000));
  t.match(described.stdout, /share\.auto\.offset\.reset=earliest/);
  t.match(described.stdout, /share\.record\.lock\.duration\.ms=15000/);
  const all = await tool(['--describe', '--entity-type', 'groups', '--entity-name', 'shared', '--all']);
  t.match(all.stdout, /consumer\.session\.timeout\.ms=45000/, '--all lists the defaults too');
  const bad = await tool(['--alter', '--entity-type', 'groups', '--entity-name', 'shared', '--add-config', 'share.isolation.level=sometimes']);
  t.not(bad.code, 0, 'an invalid value is refused');

  // The share group reads records produced before its first fetch, since it starts at earliest.
  await client.request(19, 7, { topics: [{ name: 'st', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  const records = encodeRecordBatch({ records: ['early-1', 'early-2'].map((value) => ({ key: null, value: Buffer.from(value) })) });
  await client.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'st', partitionData: [{ index: 0, records }] }] });
  const joined = await client.request(76, 1, { groupId: 'shared', memberId: 'share-member', memberEpoch: 0, rackId: null, subscribedTopicNames: ['st'] });
  t.equal(joined.body.errorCode, 0);
  const topicId = broker.logs.topic('st')!.id;
  const fetched = await client.request(78, 1, {
    groupId: 'shared',
    memberId: 'share-member',
    shareSessionEpoch: 0,
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 1 << 20,
    maxRecords: 100,
    batchSize: 100,
    topics: [{ topicId, partitions: [{ partitionIndex: 0, partitionMaxBytes: 1 << 20, acknowledgementBatches: [] }] }],
    forgottenTopicsData: [],
  });
  const partition = fetched.body.responses[0]?.partitions[0];
  t.same(
    partition?.acquiredRecords.map((r: any) => [r.firstOffset, r.lastOffset]),
    [[0n, 1n]],
    'share.auto.offset.reset=earliest from kafka-configs',
  );
});
