// The topic administration APIs at the protocol level, with Kafka's error codes: topic
// deletion by name and ID, partition creation, record deletion, the cluster and log dir
// descriptions, leader epochs, elections and producers, and durability of it all.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const batch = (values: string[], producer?: { producerId: bigint; producerEpoch: number; baseSequence: number }) =>
  encodeRecordBatch({ ...(producer ?? {}), records: values.map((value, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(value) })) });

async function setup(t: Test, options: Parameters<typeof startTestBroker>[1] = {}) {
  const broker = await startTestBroker(t, options);
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const createTopic = async (name: string, numPartitions = 1, configs: Array<{ name: string; value: string }> = []) => {
    const answer = await client.request(19, 7, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs }], timeoutMs: 1000, validateOnly: false });
    return answer.body.topics[0];
  };
  const produce = async (topic: string, partition: number, records: Buffer) => {
    const answer = await client.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
    return answer.body.responses[0].partitionResponses[0];
  };
  return { broker, client, createTopic, produce };
}

t.test('DeleteTopics by name (v1-5) and by ID (v6)', async (t) => {
  const { broker, client, createTopic, produce } = await setup(t);
  await createTopic('gone', 2);
  await produce('gone', 0, batch(['a', 'b']));
  const dir = broker.logs.partition('gone', 0)!.dir;
  t.ok(existsSync(dir));

  const v1 = await client.request(20, 1, { topicNames: ['gone', 'never-was'], timeoutMs: 1000 });
  t.same(
    v1.body.responses.map((r: any) => [r.name, r.errorCode]),
    [
      ['gone', 0],
      ['never-was', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ],
  );
  t.equal(broker.logs.topic('gone'), undefined);
  t.notOk(existsSync(dir), 'the partition directory is renamed away at once');

  const metadata = await client.request(3, 12, { topics: [{ topicId: Buffer.alloc(16), name: 'gone' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  t.equal(metadata.body.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Metadata no longer knows it');

  const created = await createTopic('by-id');
  const v6 = await client.request(20, 6, {
    topics: [
      { name: null, topicId: created.topicId },
      { name: null, topicId: Buffer.alloc(16, 7) },
      { name: 'by-id', topicId: Buffer.alloc(16, 7) },
    ],
    timeoutMs: 1000,
  });
  t.same(
    v6.body.responses.map((r: any) => r.errorCode),
    [0, ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.INVALID_REQUEST],
  );
  t.equal(v6.body.responses[0].name, 'by-id', 'the answer names the deleted topic');
  t.equal(broker.logs.topic('by-id'), undefined);

  await createTopic('again');
  t.equal((await produce('again', 0, batch(['x']))).baseOffset, 0n, 'a topic recreated under a deleted name starts empty');
});

t.test('DeleteTopics refuses internal topics and honours delete.topic.enable', async (t) => {
  const { client, createTopic } = await setup(t, { config: { 'delete.topic.enable': false } });
  await createTopic('kept');
  const refused = await client.request(20, 4, { topicNames: ['kept'], timeoutMs: 1000 });
  t.equal(refused.body.responses[0].errorCode, ErrorCode.TOPIC_DELETION_DISABLED);
});

t.test('CreatePartitions grows a topic durably, with Kafka checks', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-admin-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const { broker, client, createTopic, produce } = await setup(t, { dataDir });
  await createTopic('grow', 2);
  const request = (topics: unknown[], validateOnly = false) => client.request(37, 3, { topics, timeoutMs: 1000, validateOnly });

  const validate = await request([{ name: 'grow', count: 5, assignments: null }], true);
  t.equal(validate.body.results[0].errorCode, 0);
  t.equal(broker.logs.topic('grow')!.partitions.length, 2, 'validateOnly changes nothing');

  const answer = await request([
    { name: 'grow', count: 4, assignments: [{ brokerIds: [broker.config.nodeId] }, { brokerIds: [broker.config.nodeId] }] },
    { name: 'missing', count: 3, assignments: null },
  ]);
  t.same(
    answer.body.results.map((r: any) => r.errorCode),
    [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  );
  t.equal(broker.logs.topic('grow')!.partitions.length, 4);
  t.equal((await produce('grow', 3, batch(['new partition']))).errorCode, 0);

  const refused = await request([{ name: 'grow', count: 4, assignments: null }]);
  t.equal(refused.body.results[0].errorCode, ErrorCode.INVALID_PARTITIONS);
  t.match(refused.body.results[0].errorMessage, /already has 4 partition/);
  const shrink = await request([{ name: 'grow', count: 2, assignments: null }]);
  t.equal(shrink.body.results[0].errorCode, ErrorCode.INVALID_PARTITIONS);
  const badAssignment = await request([{ name: 'grow', count: 5, assignments: [{ brokerIds: [99] }] }]);
  t.equal(badAssignment.body.results[0].errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  const wrongCount = await request([{ name: 'grow', count: 6, assignments: [{ brokerIds: [broker.config.nodeId] }] }]);
  t.equal(wrongCount.body.results[0].errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  const duplicate = await request([
    { name: 'grow', count: 6, assignments: null },
    { name: 'grow', count: 7, assignments: null },
  ]);
  t.same(
    duplicate.body.results.map((r: any) => r.errorCode),
    [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
  );

  client.close();
  await broker.stop();
  const reopened = await startTestBroker(t, { dataDir });
  t.equal(reopened.logs.topic('grow')!.partitions.length, 4, 'the new partition count survives a restart');
  t.equal(reopened.logs.partition('grow', 3)!.logEndOffset, 1n);
});

t.test('DeleteRecords moves the log start offset and deletes whole segments below it', async (t) => {
  const { broker, client, createTopic, produce } = await setup(t);
  await createTopic('trim', 1, [{ name: 'internal.segment.bytes', value: '400' }]);
  for (let i = 0; i < 20; i++) await produce('trim', 0, batch([`record ${i} ${'x'.repeat(100)}`]));
  const log = broker.logs.partition('trim', 0)!;
  const segmentsBefore = log.segmentInfo().length;
  t.ok(segmentsBefore > 5, `${segmentsBefore} segments`);
  const request = (partitions: unknown[], topic = 'trim') => client.request(21, 2, { topics: [{ name: topic, partitions }], timeoutMs: 1000 });

  const answer = await request([
    { partitionIndex: 0, offset: 12n },
    { partitionIndex: 3, offset: 1n },
  ]);
  t.same(
    answer.body.topics[0].partitions.map((p: any) => [p.errorCode, p.lowWatermark]),
    [
      [0, 12n],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
    ],
  );
  t.equal(log.logStartOffset, 12n);
  t.ok(log.segmentInfo().length < segmentsBefore, 'segments below the new start are gone');

  const fetch = await client.request(1, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: 'trim', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 3n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  t.equal(fetch.body.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'a fetch below the low watermark is out of range');

  const beyond = await request([{ partitionIndex: 0, offset: 99n }]);
  t.equal(beyond.body.topics[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  const toEnd = await request([{ partitionIndex: 0, offset: -1n }]);
  t.same([toEnd.body.topics[0].partitions[0].errorCode, toEnd.body.topics[0].partitions[0].lowWatermark], [0, 20n], '-1 means the high watermark');

  await createTopic('compacted', 1, [{ name: 'cleanup.policy', value: 'compact' }]);
  const compacted = await request([{ partitionIndex: 0, offset: 0n }], 'compacted');
  t.equal(compacted.body.topics[0].partitions[0].errorCode, ErrorCode.POLICY_VIOLATION);
  const unknown = await request([{ partitionIndex: 0, offset: 0n }], 'nope');
  t.equal(unknown.body.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

t.test('DescribeCluster, DescribeLogDirs, OffsetForLeaderEpoch, ElectLeaders, DescribeProducers', async (t) => {
  const { broker, client, createTopic, produce } = await setup(t);
  await createTopic('described', 2);
  await produce('described', 1, batch(['a', 'b', 'c'], { producerId: 42n, producerEpoch: 3, baseSequence: 0 }));

  for (const version of [0, 1, 2]) {
    const cluster = await client.request(60, version, { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers: false });
    t.match(cluster.body, { errorCode: 0, clusterId: broker.logs.clusterId, controllerId: broker.config.nodeId }, `DescribeCluster v${version}`);
    t.same(
      cluster.body.brokers.map((b: any) => `${b.host}:${b.port}`),
      [broker.bootstrap],
    );
  }
  const controllers = await client.request(60, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 });
  t.equal(controllers.body.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);

  for (const version of [1, 4, 5]) {
    const dirs = await client.request(35, version, { topics: [{ topic: 'described', partitions: [0, 1, 9] }] });
    const [result] = dirs.body.results;
    t.equal(result.errorCode, 0);
    t.same(
      result.topics[0].partitions.map((p: any) => p.partitionIndex),
      [0, 1],
      `DescribeLogDirs v${version} lists hosted partitions`,
    );
    t.ok(result.topics[0].partitions[1].partitionSize > 0n);
    if (version >= 4) t.ok(result.totalBytes > 0n && result.usableBytes > 0n, 'file system sizes');
  }
  const all = await client.request(35, 2, { topics: null });
  t.ok(all.body.results[0].topics.some((topic: any) => topic.name === 'described'));

  const epochs = await client.request(23, 4, {
    replicaId: -1,
    topics: [
      {
        topic: 'described',
        partitions: [
          { partition: 1, currentLeaderEpoch: -1, leaderEpoch: 0 },
          { partition: 1, currentLeaderEpoch: 0, leaderEpoch: 5 },
          { partition: 1, currentLeaderEpoch: 3, leaderEpoch: 0 },
          { partition: 7, currentLeaderEpoch: -1, leaderEpoch: 0 },
        ],
      },
    ],
  });
  t.same(
    epochs.body.topics[0].partitions.map((p: any) => [p.errorCode, p.leaderEpoch, p.endOffset]),
    [
      [0, 0, 3n],
      [0, -1, -1n],
      [ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1n],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1n],
    ],
  );

  const elect = await client.request(43, 2, { electionType: 0, topicPartitions: [{ topic: 'described', partitions: [0, 5] }], timeoutMs: 1000 });
  t.same(
    elect.body.replicaElectionResults[0].partitionResult.map((p: any) => p.errorCode),
    [ErrorCode.ELECTION_NOT_NEEDED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  );
  const electAll = await client.request(43, 0, { topicPartitions: null, timeoutMs: 1000 });
  t.same(electAll.body.replicaElectionResults, [], 'all partitions: none needed an election');

  const producers = await client.request(61, 0, { topics: [{ name: 'described', partitionIndexes: [1, 0, 4] }] });
  const [one, zero, four] = producers.body.topics[0].partitions;
  t.match(one.activeProducers, [{ producerId: 42n, producerEpoch: 3, lastSequence: 2, coordinatorEpoch: -1, currentTxnStartOffset: -1n }]);
  t.same(zero.activeProducers, []);
  t.equal(four.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

t.test('ApiVersions advertises the administration APIs', async (t) => {
  const { client } = await setup(t);
  const versions = await client.request(18, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  const ranges = new Map(versions.body.apiKeys.map((k: any) => [k.apiKey, [k.minVersion, k.maxVersion]]));
  t.same(ranges.get(20), [1, 6]);
  t.same(ranges.get(21), [0, 2]);
  t.same(ranges.get(23), [2, 4]);
  t.same(ranges.get(32), [1, 4]);
  t.same(ranges.get(33), [0, 2]);
  t.same(ranges.get(35), [1, 5]);
  t.same(ranges.get(37), [0, 3]);
  t.same(ranges.get(43), [0, 2]);
  t.same(ranges.get(44), [0, 1]);
  t.same(ranges.get(60), [0, 2]);
  t.same(ranges.get(61), [0, 0]);
});

t.test("a deleted topic's directories are gone after a restart", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-admin-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const { broker, client, createTopic, produce } = await setup(t, { dataDir });
  await createTopic('short-lived', 3);
  await produce('short-lived', 0, batch(['x']));
  await client.request(20, 5, { topicNames: ['short-lived'], timeoutMs: 1000 });
  client.close();
  await broker.stop();
  const reopened = await startTestBroker(t, { dataDir });
  t.equal(reopened.logs.topic('short-lived'), undefined, 'the deletion is durable');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(
    readdirSync(dataDir).filter((name) => name.startsWith('short-lived')),
    [],
  );
});
