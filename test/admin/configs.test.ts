// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs at the protocol level: Kafka
// 4.3's topic configs with their defaults, sources and synonyms; validation with Kafka's
// codes (the key named, the whole resource or nothing); live and durable changes, for
// topics and for the dynamic broker defaults they fall back to.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { KAFKA_TOPIC_CONFIG_DEFAULTS } from './kafka-topic-configs.js';

const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

async function setup(t: Test, options: Parameters<typeof startTestBroker>[1] = {}) {
  const broker = await startTestBroker(t, options);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const createTopic = async (name: string, configs: Array<{ name: string; value: string }> = []) =>
    (await client.request(19, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs }], timeoutMs: 1000, validateOnly: false })).body.topics[0];
  const describe = async (resourceType: number, resourceName: string, keys: string[] | null = null, version = 4) =>
    (await client.request(32, version, { resources: [{ resourceType, resourceName, configurationKeys: keys }], includeSynonyms: true, includeDocumentation: true })).body
      .results[0];
  const incremental = async (resources: unknown[], validateOnly = false) => (await client.request(44, 1, { resources, validateOnly })).body.responses;
  const alter = async (resources: unknown[], validateOnly = false) => (await client.request(33, 2, { resources, validateOnly })).body.responses;
  const configMap = async (type: number, name: string) => Object.fromEntries(((await describe(type, name)).configs as any[]).map((c) => [c.name, c.value]));
  return { broker, client, createTopic, describe, incremental, alter, configMap };
}

t.test("a new topic describes exactly Kafka 4.3's topic configs with their defaults", async (t) => {
  const { createTopic, describe } = await setup(t);
  await createTopic('plain');
  const result = await describe(TOPIC, 'plain');
  t.equal(result.errorCode, 0);
  const described = Object.fromEntries((result.configs as any[]).map((c) => [c.name, c.value]));
  t.same(Object.keys(described).sort(), Object.keys(KAFKA_TOPIC_CONFIG_DEFAULTS).sort(), 'the same keys');
  for (const [name, value] of Object.entries(KAFKA_TOPIC_CONFIG_DEFAULTS)) t.equal(described[name], value, `${name} defaults to ${value}`);
  for (const config of result.configs as any[]) {
    t.equal(config.readOnly, false);
    t.equal(config.configSource, 5, `${config.name} comes from the default`);
    t.ok(config.documentation.length > 10, `${config.name} is documented`);
  }
  const retention = (result.configs as any[]).find((c) => c.name === 'retention.ms');
  t.same(retention.synonyms, [], 'retention.ms has no synonym until log.retention.ms is set (as in Kafka)');
  const compression = (result.configs as any[]).find((c) => c.name === 'compression.type');
  t.same(compression.synonyms, [{ name: 'compression.type', value: 'producer', source: 5 }]);
  t.equal(compression.configType, 2);

  const filtered = await describe(TOPIC, 'plain', ['cleanup.policy', 'segment.ms'], 1);
  t.same((filtered.configs as any[]).map((c) => c.name).sort(), ['cleanup.policy', 'segment.ms']);
  const missing = await describe(TOPIC, 'absent');
  t.equal(missing.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

t.test('IncrementalAlterConfigs: SET, DELETE, APPEND, SUBTRACT, live and durable', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-configs-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const { broker, client, createTopic, describe, incremental, configMap } = await setup(t, { dataDir });
  await createTopic('live', [{ name: 'retention.ms', value: '100000' }]);
  const resource = (configs: unknown[]) => [{ resourceType: TOPIC, resourceName: 'live', configs }];

  let answer = await incremental(
    resource([
      { name: 'retention.ms', configOperation: SET, value: '3600000' },
      { name: 'max.message.bytes', configOperation: SET, value: '200' },
      { name: 'cleanup.policy', configOperation: APPEND, value: 'compact' },
    ]),
  );
  t.same(
    answer.map((r: any) => r.errorCode),
    [0],
  );
  let configs = await configMap(TOPIC, 'live');
  t.equal(configs['retention.ms'], '3600000');
  t.equal(configs['cleanup.policy'], 'delete,compact', 'APPEND adds to the default list');
  const log = broker.logs.partition('live', 0)!;
  t.equal(log.logConfig.retentionMs, 3600000, 'applied to the running log');
  t.same(log.logConfig.cleanupPolicy, ['delete', 'compact']);

  const big = encodeRecordBatch({ records: [{ key: 'k', value: 'v'.repeat(300) }] });
  const produced = await client.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'live', partitionData: [{ index: 0, records: big }] }] });
  t.equal(produced.body.responses[0].partitionResponses[0].errorCode, ErrorCode.MESSAGE_TOO_LARGE, 'max.message.bytes applies at once');

  answer = await incremental(
    resource([
      { name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' },
      { name: 'max.message.bytes', configOperation: DELETE, value: null },
    ]),
  );
  t.equal(answer[0].errorCode, 0);
  configs = await configMap(TOPIC, 'live');
  t.equal(configs['cleanup.policy'], 'compact');
  t.equal(configs['max.message.bytes'], '1048588', 'DELETE falls back to the default');
  const cleanup = ((await describe(TOPIC, 'live', ['cleanup.policy'])).configs as any[])[0];
  t.match(cleanup, {
    configSource: 1,
    synonyms: [
      { name: 'cleanup.policy', value: 'compact', source: 1 },
      { name: 'log.cleanup.policy', value: 'delete', source: 5 },
    ],
  });

  client.close();
  await broker.stop();
  const reopened = await startTestBroker(t, { dataDir });
  t.same(reopened.logs.topic('live')!.configs, { 'retention.ms': '3600000', 'cleanup.policy': 'compact' }, 'the overrides survive a restart');
  t.same(reopened.logs.partition('live', 0)!.logConfig.cleanupPolicy, ['compact']);
});

t.test('invalid changes are refused whole, with the key named', async (t) => {
  const { broker, createTopic, incremental, alter, configMap } = await setup(t);
  await createTopic('strict', [{ name: 'retention.ms', value: '5000' }]);
  const resource = (configs: unknown[], name = 'strict') => [{ resourceType: TOPIC, resourceName: name, configs }];
  const before = await configMap(TOPIC, 'strict');

  const cases: Array<[string, unknown[], number, RegExp]> = [
    [
      'an unknown key',
      [
        { name: 'retention.ms', configOperation: SET, value: '1' },
        { name: 'no.such.config', configOperation: SET, value: '1' },
      ],
      ErrorCode.INVALID_CONFIG,
      /no\.such\.config/,
    ],
    ['a value below the minimum', [{ name: 'segment.bytes', configOperation: SET, value: '1000' }], ErrorCode.INVALID_CONFIG, /segment\.bytes/],
    ['a value of the wrong type', [{ name: 'retention.ms', configOperation: SET, value: 'forever' }], ErrorCode.INVALID_CONFIG, /retention\.ms/],
    ['a value not in the list', [{ name: 'compression.type', configOperation: SET, value: 'brotli' }], ErrorCode.INVALID_CONFIG, /compression\.type/],
    ['a ratio above 1', [{ name: 'min.cleanable.dirty.ratio', configOperation: SET, value: '1.5' }], ErrorCode.INVALID_CONFIG, /min\.cleanable\.dirty\.ratio/],
    [
      'crossed compaction lags',
      [
        { name: 'min.compaction.lag.ms', configOperation: SET, value: '100' },
        { name: 'max.compaction.lag.ms', configOperation: SET, value: '10' },
      ],
      ErrorCode.INVALID_CONFIG,
      /min\.compaction\.lag\.ms/,
    ],
    ['APPEND on a non-list config', [{ name: 'retention.ms', configOperation: APPEND, value: '1' }], ErrorCode.INVALID_CONFIG, /retention\.ms/],
    [
      'a duplicate key',
      [
        { name: 'retention.ms', configOperation: SET, value: '1' },
        { name: 'retention.ms', configOperation: DELETE, value: null },
      ],
      ErrorCode.INVALID_REQUEST,
      /duplicate/,
    ],
    ['SET without a value', [{ name: 'retention.ms', configOperation: SET, value: null }], ErrorCode.INVALID_REQUEST, /retention\.ms/],
    ['tiered storage', [{ name: 'remote.storage.enable', configOperation: SET, value: 'true' }], ErrorCode.INVALID_CONFIG, /remote\.storage\.enable/],
  ];
  for (const [label, configs, code, message] of cases) {
    const [answer] = await incremental(resource(configs));
    t.equal(answer.errorCode, code, label);
    t.match(answer.errorMessage, message, `${label}: the message names it`);
  }
  t.same(await configMap(TOPIC, 'strict'), before, 'nothing of a refused change was applied');
  t.equal(broker.logs.partition('strict', 0)!.logConfig.retentionMs, 5000);

  const [unknown] = await incremental(resource([{ name: 'retention.ms', configOperation: SET, value: '1' }], 'no-topic'));
  t.equal(unknown.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const [validateOnly] = await incremental(resource([{ name: 'retention.ms', configOperation: SET, value: '7' }]), true);
  t.equal(validateOnly.errorCode, 0);
  t.equal((await configMap(TOPIC, 'strict'))['retention.ms'], '5000', 'validateOnly changes nothing');
  const duplicated = await incremental([...resource([]), ...resource([])]);
  t.same(
    duplicated.map((r: any) => r.errorCode),
    [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
  );

  // Legacy AlterConfigs replaces the whole set: what is not named goes back to its default.
  const [replaced] = await alter(resource([{ name: 'segment.ms', value: '60000' }]));
  t.equal(replaced.errorCode, 0);
  t.same(broker.logs.topic('strict')!.configs, { 'segment.ms': '60000' });
  const [badAlter] = await alter(resource([{ name: 'segment.ms', value: '0' }]));
  t.equal(badAlter.errorCode, ErrorCode.INVALID_CONFIG);
  t.same(broker.logs.topic('strict')!.configs, { 'segment.ms': '60000' });
});

t.test("dynamic broker configs: topic defaults change live, durably, with Kafka's sources", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-configs-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const { broker, client, createTopic, describe, incremental, alter } = await setup(t, { dataDir, config: { 'log.retention.hours': 2 } });
  await createTopic('inherits');
  const nodeId = String(broker.config.nodeId);
  let retention = ((await describe(TOPIC, 'inherits', ['retention.ms'])).configs as any[])[0];
  t.equal(retention.value, '7200000', 'log.retention.hours from the static config');

  const [perBroker] = await incremental([{ resourceType: BROKER, resourceName: nodeId, configs: [{ name: 'log.retention.ms', configOperation: SET, value: '60000' }] }]);
  t.equal(perBroker.errorCode, 0);
  retention = ((await describe(TOPIC, 'inherits', ['retention.ms'])).configs as any[])[0];
  t.match(retention, { value: '60000', configSource: 2, synonyms: [{ name: 'log.retention.ms', value: '60000', source: 2 }] });
  t.equal(broker.logs.partition('inherits', 0)!.logConfig.retentionMs, 60000, 'the running log follows the broker default');

  const [clusterDefault] = await alter([{ resourceType: BROKER, resourceName: '', configs: [{ name: 'log.cleaner.min.cleanable.ratio', value: '0.1' }] }]);
  t.equal(clusterDefault.errorCode, 0);
  const ratio = ((await describe(TOPIC, 'inherits', ['min.cleanable.dirty.ratio'])).configs as any[])[0];
  t.match(ratio, { value: '0.1', configSource: 3 });
  const defaults = await describe(BROKER, '');
  t.same(
    (defaults.configs as any[]).map((c) => [c.name, c.value, c.configSource]),
    [['log.cleaner.min.cleanable.ratio', '0.1', 3]],
  );
  const brokerConfigs = await describe(BROKER, nodeId);
  const retentionMs = (brokerConfigs.configs as any[]).find((c) => c.name === 'log.retention.ms');
  t.match(retentionMs, { value: '60000', configSource: 2, readOnly: false });
  t.match(
    (brokerConfigs.configs as any[]).find((c) => c.name === 'node.id'),
    { readOnly: true },
  );

  const [staticOnly] = await incremental([{ resourceType: BROKER, resourceName: nodeId, configs: [{ name: 'num.partitions', configOperation: SET, value: '3' }] }]);
  t.equal(staticOnly.errorCode, ErrorCode.INVALID_REQUEST, 'static broker configs cannot change at run time');
  const [badValue] = await incremental([{ resourceType: BROKER, resourceName: nodeId, configs: [{ name: 'log.retention.bytes', configOperation: SET, value: 'lots' }] }]);
  t.equal(badValue.errorCode, ErrorCode.INVALID_CONFIG);
  const [otherBroker] = await incremental([{ resourceType: BROKER, resourceName: '77', configs: [] }]);
  t.equal(otherBroker.errorCode, ErrorCode.INVALID_REQUEST);

  client.close();
  await broker.stop();
  const reopened = await startTestBroker(t, { dataDir, config: { 'log.retention.hours': 2 } });
  t.equal(reopened.logs.partition('inherits', 0)!.logConfig.retentionMs, 60000, 'dynamic broker configs survive a restart');
  t.equal(reopened.logs.partition('inherits', 0)!.logConfig.minCleanableDirtyRatio, 0.1);
});
