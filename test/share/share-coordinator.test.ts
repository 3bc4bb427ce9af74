// The share coordinator's records and housekeeping on a single node (its own coordinator),
// driven with the share-state APIs over the raw protocol:
// - Kafka 4.3's layout: a ShareSnapshot on InitializeShareGroupState, ShareUpdates after it,
//   a new ShareSnapshot every share.coordinator.snapshot.update.records.per.snapshot updates;
//   a restart replays snapshot and updates to the same state;
// - pruning deletes the records before the oldest last snapshot, and a share-partition left
//   with updates is snapshotted again (share.coordinator.cold.partition.snapshot.interval.ms);
// - the state of a deleted topic's share-partitions is deleted;
// - a data directory written by an older Spate (compacted topic, keys placed by
//   hash & 0x7fffffff) is converted: Kafka's configs, misplaced states moved, both logged;
// - the batch combiner on its own.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createLogger } from '../../src/logger.js';
import { partitionForKey, javaStringHash } from '../../src/log/internal-topic.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { type SpateBroker } from '../../src/index.js';
import { combineStateBatches } from '../../src/share/share-state-batches.js';
import { shareCoordinatorKey, shareStatePartition } from '../../src/share/share-state-log.js';
import { decodeShareStateRecord, encodeShareSnapshotValue, encodeShareStateKey, SHARE_SNAPSHOT_KEY } from '../../src/share/share-state-records.js';

const STATE = '__share_group_state';

async function connect(t: Test, broker: SpateBroker) {
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  let correlation = 1;
  const call = async (apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body, correlation++)).body;
  return { client, call };
}

const one = (groupId: string, topicId: Buffer, fields: Record<string, unknown>) => ({ groupId, topics: [{ topicId, partitions: [{ partition: 0, ...fields }] }] });
const result = (response: any) => response.results[0].partitions[0];

async function recordsOf(broker: SpateBroker, partition: number) {
  const log = broker.logs.topic(STATE)!.partitions[partition]!;
  const read = await log.read(log.logStartOffset, 1 << 20, true);
  if (read === null) return [];
  try {
    return decodeRecordBatches(Buffer.from(read.buffer)).flatMap((batch) =>
      batch.records.map((record) => ({ offset: record.offset, ...decodeShareStateRecord(record.key!, record.value)! })),
    );
  } finally {
    read.release();
  }
}

t.test('snapshots and updates as Kafka writes them; a restart replays them; pruning and cold snapshots', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-share-coordinator-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = { 'share.coordinator.snapshot.update.records.per.snapshot': 2 };
  let broker = await startTestBroker(t, { dataDir, config });
  let { call } = await connect(t, broker);
  await call(19, 5, { topics: [{ name: 'data', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  const topicId = broker.logs.topic('data')!.id;
  const groupId = 'policy';
  const partition = shareStatePartition(shareCoordinatorKey(groupId, topicId, 0), 50);
  t.equal(result(await call(83, 0, one(groupId, topicId, { stateEpoch: 0, startOffset: 0n }))).errorCode, 0);
  const write = async (startOffset: bigint, firstOffset: bigint, deliveryState: number) =>
    result(
      await call(
        85,
        1,
        one(groupId, topicId, {
          stateEpoch: 0,
          leaderEpoch: 0,
          startOffset,
          deliveryCompleteCount: 1,
          stateBatches: [{ firstOffset, lastOffset: firstOffset, deliveryState, deliveryCount: 1 }],
        }),
      ),
    ).errorCode;
  for (let i = 0n; i < 5n; i++) t.equal(await write(i, i, 2), 0);
  const records = await recordsOf(broker, partition);
  t.same(
    records.map((record) => record.kind),
    ['snapshot', 'update', 'update', 'snapshot', 'update', 'update'],
    'a snapshot, then two updates (records.per.snapshot = 2), a snapshot merging them, two updates',
  );
  t.same(
    records.map((record) => record.value!.snapshotEpoch),
    [0, 0, 0, 1, 1, 1],
    'the snapshot epoch counts snapshots; updates carry the last one',
  );
  const before = result(await call(84, 0, one(groupId, topicId, { leaderEpoch: 0 })));
  t.same([before.startOffset, before.stateBatches], [4n, [{ firstOffset: 4n, lastOffset: 4n, deliveryState: 2, deliveryCount: 1 }]]);

  await broker.stop();
  broker = await startTestBroker(t, {
    dataDir,
    config: { ...config, 'share.coordinator.state.topic.prune.interval.ms': 100, 'share.coordinator.cold.partition.snapshot.interval.ms': 300 },
  });
  ({ call } = await connect(t, broker));
  const after = result(await call(84, 0, one(groupId, topicId, { leaderEpoch: 0 })));
  t.same([after.startOffset, after.stateBatches], [before.startOffset, before.stateBatches], 'the restart replayed the snapshot and the updates after it');
  const log = broker.logs.topic(STATE)!.partitions[partition]!;
  for (let i = 0; i < 100 && log.logStartOffset < 3n; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(log.logStartOffset, 3n, 'pruned up to the last snapshot: what came before is redundant');
  // The share-partition has updates after its snapshot and no write for a while: a new snapshot, then pruning passes it.
  for (let i = 0; i < 100 && log.logStartOffset < 6n; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const left = await recordsOf(broker, partition);
  t.same(
    left.map((record) => [record.kind, record.value!.snapshotEpoch, record.value!.startOffset]),
    [['snapshot', 2, 4n]],
    'a cold snapshot of the merged state; the records before it pruned',
  );
  t.same(result(await call(84, 0, one(groupId, topicId, { leaderEpoch: 0 }))).stateBatches, before.stateBatches, 'the same state');

  // Deleting the topic deletes its share-partitions' state.
  await call(20, 6, { topics: [{ name: 'data', topicId: Buffer.alloc(16) }], timeoutMs: 1000 });
  const store = (broker as any).state.shareCoordinator;
  for (let i = 0; i < 100 && store.sharePartitionsOf(groupId).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(store.sharePartitionsOf(groupId), [], 'the state of a deleted topic is tombstoned');
  t.equal((await recordsOf(broker, partition)).at(-1)?.value, null, 'a tombstone');
});

t.test('a data directory of an older Spate: configs and placement converted, logged', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-share-upgrade-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  let broker = await startTestBroker(t, { dataDir });
  let { call } = await connect(t, broker);
  await call(19, 5, { topics: [{ name: 'old', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  const topicId = broker.logs.topic('old')!.id;
  // A group whose key hashes negative: the older placement (hash & 0x7fffffff) differs from Kafka's (Utils.abs).
  const groupId = Array.from({ length: 500 }, (_, i) => `legacy-${i}`).find((id) => {
    const key = shareCoordinatorKey(id, topicId, 0);
    return javaStringHash(key) < 0 && partitionForKey(key, 50) !== shareStatePartition(key, 50);
  })!;
  const key = shareCoordinatorKey(groupId, topicId, 0);
  const oldPartition = partitionForKey(key, 50);
  // What the older Spate wrote: a compacted topic, full snapshots, at the old placement.
  broker.logs.createTopic(STATE, 50, { 'cleanup.policy': 'compact', 'segment.bytes': '104857600', 'compression.type': 'producer' });
  const snapshot = {
    snapshotEpoch: 3,
    stateEpoch: 0,
    leaderEpoch: 0,
    startOffset: 7n,
    deliveryCompleteCount: 0,
    createTimestamp: 1n,
    writeTimestamp: 2n,
    stateBatches: [{ firstOffset: 8n, lastOffset: 8n, deliveryState: 0, deliveryCount: 2 }],
  };
  broker.logs
    .topic(STATE)!
    .partitions[oldPartition]!.append(
      encodeRecordBatch({ records: [{ key: encodeShareStateKey(SHARE_SNAPSHOT_KEY, { groupId, topicId, partition: 0 }), value: encodeShareSnapshotValue(snapshot) }] }),
      Date.now(),
    );
  await broker.stop();

  const lines: string[] = [];
  broker = await startTestBroker(t, { dataDir, logger: createLogger('info', (line) => lines.push(line)) });
  ({ call } = await connect(t, broker));
  t.match(lines.join('\n'), /__share_group_state: configs changed to those of Kafka 4\.3's share coordinator/, 'the config change is logged');
  t.match(lines.join('\n'), /moved 1 share-partition state\(s\) written by an older Spate/, 'so is the move');
  t.equal(broker.logs.topic(STATE)!.configs['cleanup.policy'], 'delete');
  const read = result(await call(84, 0, one(groupId, topicId, { leaderEpoch: 0 })));
  t.same([read.errorCode, read.startOffset, read.stateBatches], [0, 7n, snapshot.stateBatches], 'the state is served from where Kafka places it');
  t.equal((await recordsOf(broker, oldPartition)).at(-1)?.value, null, 'and tombstoned where it was');
  t.equal((await call(76, 1, { groupId, memberId: 'm', memberEpoch: 0, rackId: null, subscribedTopicNames: ['old'] })).errorCode, 0);
  const listed = (await call(16, 5, { statesFilter: [], typesFilter: ['share'] })).groups.map((group: any) => group.groupId);
  t.ok(listed.includes(groupId), 'the group is known again from its state');

  // A second restart finds nothing to move.
  await broker.stop();
  lines.length = 0;
  broker = await startTestBroker(t, { dataDir, logger: createLogger('info', (line) => lines.push(line)) });
  ({ call } = await connect(t, broker));
  t.notMatch(lines.join('\n'), /moved|configs changed/, 'converted once');
  t.equal(result(await call(84, 0, one(groupId, topicId, { leaderEpoch: 0 }))).startOffset, 7n);
  t.equal(result(await call(86, 0, one(groupId, topicId, {}))).errorCode, ErrorCode.NONE);
});

t.test('state batches: later ones win where they overlap, pruned below the start, neighbours joined', async (t) => {
  const b = (first: number, last: number, state: number, count: number) => ({ firstOffset: BigInt(first), lastOffset: BigInt(last), deliveryState: state, deliveryCount: count });
  t.same(combineStateBatches([b(0, 9, 0, 1)], [b(3, 4, 2, 1)], 0n), [b(0, 2, 0, 1), b(3, 4, 2, 1), b(5, 9, 0, 1)], 'split around an update');
  t.same(combineStateBatches([b(0, 4, 0, 1), b(5, 9, 4, 2)], [b(3, 6, 0, 1)], 2n), [b(2, 6, 0, 1), b(7, 9, 4, 2)], 'joined and pruned');
  t.same(combineStateBatches([b(5, 6, 2, 1)], [b(0, 1, 0, 1)], -1n), [b(0, 1, 0, 1), b(5, 6, 2, 1)], 'start offset -1: nothing pruned, sorted');
  t.same(combineStateBatches([b(0, 3, 2, 1)], [b(0, 3, 4, 1)], 4n), [], 'all below the start');
});
