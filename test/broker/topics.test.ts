// CreateTopics and Metadata at the protocol level: Kafka's validation codes, validateOnly,
// defaults, configs in the answer, topic IDs, durability of topic metadata, auto-creation.

import t from 'tap';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const topic = (name: string, numPartitions = 1, replicationFactor = 1, configs: Array<{ name: string; value: string | null }> = []) => ({
  name,
  numPartitions,
  replicationFactor,
  assignments: [],
  configs,
});

t.test('CreateTopics validation', async (t) => {
  const broker = await startTestBroker(t, { config: { 'num.partitions': 3 } });
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const create = async (topics: unknown[], validateOnly = false, version = 7) =>
    (await client.request(19, version, { topics, timeoutMs: 1000, validateOnly })).body.topics as any[];

  const [ok] = await create([topic('good', 2, 1, [{ name: 'segment.bytes', value: '1048576' }])]);
  t.match(ok, { name: 'good', errorCode: 0, numPartitions: 2, replicationFactor: 1 });
  t.notSame(ok.topicId, Buffer.alloc(16), 'v7 answers the topic ID');
  t.same(ok.topicId, broker.logs.topic('good')!.id);
  const segmentBytes = ok.configs.find((c: any) => c.name === 'segment.bytes');
  t.match(segmentBytes, { value: '1048576', configSource: 1 }, 'the override is listed as a topic config');
  t.match(
    ok.configs.find((c: any) => c.name === 'retention.ms'),
    { value: '604800000', configSource: 5 },
  );

  const [defaults] = await create([topic('defaults', -1, -1)]);
  t.match(defaults, { errorCode: 0, numPartitions: 3, replicationFactor: 1 }, '-1 takes num.partitions and default.replication.factor');

  const results = await create([
    topic('good'),
    topic('bad/name'),
    topic('x'.repeat(250)),
    topic('zero', 0),
    topic('rf3', 1, 3),
    topic('badconfig', 1, 1, [{ name: 'cleanup.policy', value: 'shred' }]),
    topic('unknownconfig', 1, 1, [{ name: 'no.such.thing', value: '1' }]),
    topic('twice'),
    topic('twice'),
  ]);
  t.same(
    results.map((r) => [r.name.slice(0, 12), r.errorCode]),
    [
      ['good', ErrorCode.TOPIC_ALREADY_EXISTS],
      ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION],
      ['xxxxxxxxxxxx', ErrorCode.INVALID_TOPIC_EXCEPTION],
      ['zero', ErrorCode.INVALID_PARTITIONS],
      ['rf3', ErrorCode.INVALID_REPLICATION_FACTOR],
      ['badconfig', ErrorCode.INVALID_CONFIG],
      ['unknownconfi', ErrorCode.INVALID_CONFIG],
      ['twice', ErrorCode.INVALID_REQUEST],
      ['twice', ErrorCode.INVALID_REQUEST],
    ],
  );
  t.match(results[5].errorMessage, /cleanup\.policy/, 'the message names the key');

  await create([topic('col.lide')]);
  const [collision] = await create([topic('col_lide')]);
  t.equal(collision.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, "'.' and '_' collide");
  const [checked] = await create([topic('validated', 5)], true);
  t.match(checked, { errorCode: 0, numPartitions: 5 });
  t.equal(broker.logs.topic('validated'), undefined, 'validateOnly creates nothing');
  const [v2] = await create([topic('old-client', 1)], false, 2);
  t.equal(v2.errorCode, 0, 'v2 still served');
});

t.test('Metadata: all topics, by name, by ID; auto-creation on and off', async (t) => {
  const broker = await startTestBroker(t);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  await client.request(19, 7, { topics: [topic('m1', 2), topic('m2', 1)], timeoutMs: 1000, validateOnly: false });

  const v0 = (await client.request(3, 0, { topics: [] })).body;
  t.same(v0.topics.map((x: any) => x.name).sort(), ['m1', 'm2'], 'v0: empty list means all');
  const v1 = (await client.request(3, 1, { topics: null })).body;
  t.equal(v1.controllerId, broker.config.nodeId);
  t.same(v1.brokers, [{ nodeId: broker.config.nodeId, host: '127.0.0.1', port: broker.port, rack: null }]);
  t.equal(v1.topics.length, 2, 'v1: null means all');
  const v12 = (
    await client.request(3, 12, { topics: [{ topicId: broker.logs.topic('m1')!.id, name: null }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })
  ).body;
  t.equal(v12.topics[0].name, 'm1', 'lookup by topic ID');
  t.equal(v12.clusterId, broker.logs.clusterId);
  const unknownId = (
    await client.request(3, 12, { topics: [{ topicId: Buffer.alloc(16, 3), name: null }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })
  ).body;
  t.equal(unknownId.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID);

  const noCreate = (await client.request(3, 9, { topics: [{ name: 'not-asked' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).body;
  t.equal(noCreate.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const created = (await client.request(3, 9, { topics: [{ name: 'asked' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false })).body;
  t.equal(created.topics[0].errorCode, 0);
  t.equal(created.topics[0].partitions.length, 1);
  const invalid = (await client.request(3, 9, { topics: [{ name: 'in valid' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false })).body;
  t.equal(invalid.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
});

t.test('auto.create.topics.enable=false', async (t) => {
  const broker = await startTestBroker(t, { config: { 'auto.create.topics.enable': false } });
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const answer = (await client.request(3, 4, { topics: [{ name: 'nope' }], allowAutoTopicCreation: true })).body;
  t.equal(answer.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  t.equal(broker.logs.topic('nope'), undefined);
});

t.test('topic metadata survives a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-topics-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startTestBroker(t, { dataDir });
  const client = await RawClient.connect(first.bootstrap);
  await client.request(19, 7, { topics: [topic('kept', 3, 1, [{ name: 'retention.ms', value: '1000000' }])], timeoutMs: 1000, validateOnly: false });
  client.close();
  const id = first.logs.topic('kept')!.id;
  const clusterId = first.logs.clusterId;
  await first.stop();
  t.match(readFileSync(join(dataDir, 'meta.properties'), 'utf8'), new RegExp(`cluster\\.id=${clusterId}`));
  const second = await startTestBroker(t, { dataDir });
  const kept = second.logs.topic('kept')!;
  t.same(kept.id, id, 'same topic ID');
  t.equal(kept.partitions.length, 3);
  t.same(kept.configs, { 'retention.ms': '1000000' });
  t.equal(second.logs.clusterId, clusterId, 'same cluster ID');
});
