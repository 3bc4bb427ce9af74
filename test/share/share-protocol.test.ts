// Share groups at the protocol level (KIP-932): membership and the shared assignment, share
// sessions and their epochs, acquisition (disjoint between members, whole batches up to
// MaxRecords), acknowledgements (ACCEPT, RELEASE, REJECT, RENEW, errors), lock timeouts,
// the delivery count limit, a long poll woken by an append, the offsets admin APIs, and the
// state surviving a broker restart through __share_group_state.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { decodeShareStateRecord } from '../../src/share/share-state-records.js';

const TOPIC = 'queue';
const GROUP = 'workers';
const ACCEPT = 1;
const RELEASE = 2;
const REJECT = 3;
const RENEW = 4;

async function setup(t: Test, config: Record<string, string | number> = {}, dataDir?: string) {
  const broker = await startTestBroker(t, { config: { 'group.share.record.lock.duration.ms': 1000, ...config }, ...(dataDir !== undefined ? { dataDir } : {}) });
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  let correlation = 1;
  const call = async (apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body, correlation++)).body;
  if (dataDir === undefined || broker.logs.topic(TOPIC) === undefined) {
    await call(19, 5, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  }
  const topicId: Buffer = broker.logs.topic(TOPIC)!.id;
  /** One batch per call, so that acquisitions can be split between members. */
  const produce = async (values: string[]) => {
    const records = encodeRecordBatch({ records: values.map((value) => ({ key: null, value: Buffer.from(value) })) });
    const r = await call(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] });
    t.equal(r.responses[0].partitionResponses[0].errorCode, 0);
  };
  const heartbeat = (memberId: string, memberEpoch: number, topics: string[] | null = [TOPIC]) =>
    call(76, 1, { groupId: GROUP, memberId, memberEpoch, rackId: null, subscribedTopicNames: topics });
  const acks = (batches: Array<[bigint, bigint, number[]]>) => batches.map(([firstOffset, lastOffset, acknowledgeTypes]) => ({ firstOffset, lastOffset, acknowledgeTypes }));
  const shareFetch = (
    memberId: string,
    epoch: number,
    options: { acks?: Array<[bigint, bigint, number[]]>; maxRecords?: number; maxWaitMs?: number; version?: number; renew?: boolean } = {},
  ) =>
    call(78, options.version ?? 2, {
      groupId: GROUP,
      memberId,
      shareSessionEpoch: epoch,
      maxWaitMs: options.maxWaitMs ?? 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      maxRecords: options.maxRecords ?? 500,
      batchSize: 500,
      shareAcquireMode: 0,
      isRenewAck: options.renew ?? false,
      topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: acks(options.acks ?? []) }] }],
      forgottenTopicsData: [],
    });
  const acknowledge = (memberId: string, epoch: number, batches: Array<[bigint, bigint, number[]]>, renew = false) =>
    call(79, 2, {
      groupId: GROUP,
      memberId,
      shareSessionEpoch: epoch,
      isRenewAck: renew,
      topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: acks(batches) }] }],
    });
  const describeOffsets = async () => (await call(90, 1, { groups: [{ groupId: GROUP, topics: [{ topicName: TOPIC, partitions: [0] }] }] })).groups[0].topics[0].partitions[0];
  return { broker, client, call, topicId, produce, heartbeat, shareFetch, acknowledge, describeOffsets };
}

const partitionOf = (response: any) => response.responses[0]?.partitions[0];
const valuesOf = (partition: any) => {
  if (partition === undefined || partition.records.length === 0) return [];
  const acquired = (offset: bigint) => partition.acquiredRecords.some((range: any) => offset >= range.firstOffset && offset <= range.lastOffset);
  return decodeRecordBatches(partition.records).flatMap((batch) => batch.records.filter((record) => acquired(record.offset)).map((record) => record.value!.toString()));
};

t.test('members share one partition: disjoint acquisitions, acknowledgements, session epochs', async (t) => {
  const { produce, heartbeat, shareFetch, acknowledge, describeOffsets, call, topicId } = await setup(t);

  const a = await heartbeat('member-a', 0);
  t.equal(a.errorCode, 0);
  t.equal(a.memberEpoch, 1);
  t.same(a.assignment.topicPartitions, [{ topicId, partitions: [0] }]);
  const b = await heartbeat('member-b', 0);
  t.equal(b.errorCode, 0);
  t.same(b.assignment.topicPartitions, [{ topicId, partitions: [0] }], 'both members get the single partition');
  const again = await heartbeat('member-a', 1, null);
  t.equal(again.memberEpoch, 2, 'member A moves to the new group epoch');
  t.same(again.assignment.topicPartitions, [{ topicId, partitions: [0] }]);
  t.equal((await heartbeat('member-a', 1, null)).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  t.equal((await heartbeat('nobody', 3, null)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  t.equal((await heartbeat('', 0)).errorCode, ErrorCode.INVALID_REQUEST);

  // The share-partition starts at the latest offset (share.auto.offset.reset=latest) on the first fetch.
  await produce(['before']);
  const opened = await shareFetch('member-a', 0);
  t.equal(opened.errorCode, 0);
  t.equal(opened.acquisitionLockTimeoutMs, 1000);
  t.same(valuesOf(partitionOf(opened)), [], 'records before the start offset are not delivered');
  t.equal((await shareFetch('member-b', 0)).errorCode, 0);

  for (let i = 0; i < 4; i++) await produce([`r${i}a`, `r${i}b`]);
  const fromA = await shareFetch('member-a', 1, { maxRecords: 3 });
  t.same(valuesOf(partitionOf(fromA)), ['r0a', 'r0b', 'r1a', 'r1b'], 'whole batches until MaxRecords is reached');
  t.same(partitionOf(fromA).acquiredRecords, [{ firstOffset: 1n, lastOffset: 4n, deliveryCount: 1 }]);
  const fromB = await shareFetch('member-b', 1);
  t.same(valuesOf(partitionOf(fromB)), ['r2a', 'r2b', 'r3a', 'r3b'], 'the other member gets the rest');

  // Session epochs.
  t.equal((await shareFetch('member-a', 7)).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH);
  t.equal((await shareFetch('stranger', 1)).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND);
  t.equal((await shareFetch('member-a', 0, { acks: [[1n, 1n, [ACCEPT]]] })).errorCode, ErrorCode.INVALID_REQUEST, 'no acknowledgements when opening');
  t.equal((await acknowledge('member-a', 0, [[1n, 1n, [ACCEPT]]])).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH);

  // Reopening A's session releases what it held: 1-4 are acquired again, a second delivery.
  const reacquired = await shareFetch('member-a', 0);
  t.same(partitionOf(reacquired).acquiredRecords, [{ firstOffset: 1n, lastOffset: 4n, deliveryCount: 2 }]);

  // Wrong member, wrong offsets: INVALID_RECORD_STATE, nothing applied.
  const wrong = await acknowledge('member-b', 2, [[1n, 1n, [ACCEPT]]]);
  t.equal(wrong.responses[0].partitions[0].errorCode, ErrorCode.INVALID_RECORD_STATE);
  const badType = await acknowledge('member-b', 3, [[5n, 6n, [ACCEPT, 9]]]);
  t.equal(badType.responses[0].partitions[0].errorCode, ErrorCode.INVALID_REQUEST);

  // B accepts 5-6 and rejects 7-8 in one ShareAcknowledge; A accepts 1-2, releases 3-4, piggy-backed on a fetch.
  const bAck = await acknowledge('member-b', 4, [
    [5n, 6n, [ACCEPT]],
    [7n, 8n, [REJECT, REJECT]],
  ]);
  t.equal(bAck.responses[0].partitions[0].errorCode, 0);
  const aAck = await shareFetch('member-a', 1, {
    acks: [
      [1n, 2n, [ACCEPT]],
      [3n, 4n, [RELEASE]],
    ],
  });
  t.equal(partitionOf(aAck).acknowledgeErrorCode, 0);
  t.same(partitionOf(aAck).acquiredRecords, [{ firstOffset: 3n, lastOffset: 4n, deliveryCount: 3 }], 'released records come back at once');
  t.equal((await describeOffsets()).startOffset, 3n, 'the SPSO moved over the accepted records');
  await shareFetch('member-a', 2, { acks: [[3n, 4n, [ACCEPT]]] });
  const offsets = await describeOffsets();
  t.equal(offsets.startOffset, 9n, 'accepted and rejected records are all done');
  t.equal(offsets.lag, 0n);

  const described = (await call(77, 1, { groupIds: [GROUP, 'nope'], includeAuthorizedOperations: false })).groups;
  t.equal(described[0].groupState, 'Stable');
  t.equal(described[0].assignorName, 'simple');
  t.same(described[0].members.map((m: any) => m.memberId).sort(), ['member-a', 'member-b']);
  t.equal(described[0].members[0].assignment.topicPartitions[0].topicName, TOPIC);
  t.equal(described[1].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  const listed = (await call(16, 5, { statesFilter: [], typesFilter: ['share'] })).groups;
  t.same(
    listed.map((g: any) => [g.groupId, g.groupType, g.groupState]),
    [[GROUP, 'share', 'Stable']],
  );

  // Leaving: -1, then the group is empty and can be altered.
  t.equal((await call(91, 0, { groupId: GROUP, topics: [{ topicName: TOPIC, partitions: [{ partitionIndex: 0, startOffset: 0n }] }] })).errorCode, ErrorCode.NON_EMPTY_GROUP);
  t.equal((await heartbeat('member-a', 2, null)).memberEpoch, 2, 'nothing changed: member A stays at epoch 2');
  t.equal((await heartbeat('member-a', -1, null)).memberEpoch, -1);
  t.equal((await heartbeat('member-b', -1, null)).memberEpoch, -1);
  const altered = await call(91, 0, { groupId: GROUP, topics: [{ topicName: TOPIC, partitions: [{ partitionIndex: 0, startOffset: 0n }] }] });
  t.equal(altered.responses[0].partitions[0].errorCode, 0);
  t.equal((await describeOffsets()).startOffset, 0n, 'reset to the beginning');
  t.equal((await call(42, 2, { groupsNames: [GROUP] })).results[0].errorCode, 0, 'DeleteGroups removes an empty share group');
  t.equal((await call(77, 1, { groupIds: [GROUP], includeAuthorizedOperations: false })).groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

t.test('lock timeouts redeliver; the delivery count limit archives a poison record; RENEW keeps the lock', async (t) => {
  const { produce, heartbeat, shareFetch, acknowledge, describeOffsets } = await setup(t, { 'group.share.delivery.count.limit': 2 });
  await heartbeat('m', 0);
  await shareFetch('m', 0);
  await produce(['poison']);
  let epoch = 1;
  const first = await shareFetch('m', epoch++, { maxWaitMs: 5000 });
  t.same(partitionOf(first).acquiredRecords, [{ firstOffset: 0n, lastOffset: 0n, deliveryCount: 1 }]);
  // Not acknowledged: the lock runs out (1 s) and the record is handed out again; the wait is woken by the release.
  const second = await shareFetch('m', epoch++, { maxWaitMs: 10_000 });
  t.same(partitionOf(second).acquiredRecords, [{ firstOffset: 0n, lastOffset: 0n, deliveryCount: 2 }], 'redelivered after the lock timeout');
  // RENEW keeps it past the lock duration.
  const renewed = await acknowledge('m', epoch++, [[0n, 0n, [RENEW]]], true);
  t.equal(renewed.responses[0].partitions[0].errorCode, 0);
  // Second delivery failed too (released): the limit (2) is reached, so the record is archived.
  const released = await acknowledge('m', epoch++, [[0n, 0n, [RELEASE]]]);
  t.equal(released.responses[0].partitions[0].errorCode, 0);
  t.equal((await describeOffsets()).startOffset, 1n, 'the poison record is archived and the SPSO moves past it');

  // A long poll woken by an append.
  const waiting = shareFetch('m', epoch++, { maxWaitMs: 20_000 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await produce(['late']);
  t.same(valuesOf(partitionOf(await waiting)), ['late']);
});

t.test('share-partition state survives a restart (__share_group_state)', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-share-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  {
    const first = await setup(t, {}, dataDir);
    await first.heartbeat('m', 0);
    await first.shareFetch('m', 0);
    await first.produce(['a', 'b', 'c']);
    await first.produce(['d']);
    const fetched = await first.shareFetch('m', 1, { maxRecords: 1 });
    t.same(partitionOf(fetched).acquiredRecords, [{ firstOffset: 0n, lastOffset: 2n, deliveryCount: 1 }]);
    await first.acknowledge('m', 2, [
      [0n, 0n, [ACCEPT]],
      [1n, 1n, [REJECT]],
      [2n, 2n, [RELEASE]],
    ]);
    const records = [];
    for (const log of first.broker.logs.topic('__share_group_state')!.partitions) {
      const read = await log.read(log.logStartOffset, 1 << 20, true);
      if (read === null) continue;
      for (const batch of decodeRecordBatches(Buffer.from(read.buffer))) for (const record of batch.records) records.push(decodeShareStateRecord(record.key!, record.value));
      read.release();
    }
    // Kafka 4.3's layout: a ShareSnapshot when the share-partition is initialised, then ShareUpdates.
    t.equal(records[0]!.kind, 'snapshot');
    const last = records[records.length - 1]!;
    t.equal(last.kind, 'update');
    t.same(last.value!.stateBatches, [{ firstOffset: 2n, lastOffset: 2n, deliveryState: 0, deliveryCount: 1 }], 'SPSO 2, offset 2 available after one delivery');
    t.equal(last.value!.startOffset, 2n);
    first.client.close();
    await first.broker.stop();
  }
  const second = await setup(t, {}, dataDir);
  t.equal((await second.describeOffsets()).startOffset, 2n, 'the start offset is back');
  await second.heartbeat('m2', 0);
  const after = await second.shareFetch('m2', 0);
  t.same(
    partitionOf(after).acquiredRecords,
    [
      { firstOffset: 2n, lastOffset: 2n, deliveryCount: 2 },
      { firstOffset: 3n, lastOffset: 3n, deliveryCount: 1 },
    ],
    'the released record keeps its delivery count',
  );
});

t.test('share.auto.offset.reset from the group configs; a consumer group ID is not a share group', async (t) => {
  const { broker, produce, heartbeat, shareFetch, call } = await setup(t);
  // The GROUP config resource feeds this lookup; set it directly here.
  const sharePartitions = (broker as any).state.sharePartitions;
  const configs = new Map<string, Map<string, string>>([[GROUP, new Map([['share.auto.offset.reset', 'earliest']])]]);
  sharePartitions.groupConfigs = (groupId: string) => configs.get(groupId);
  await produce(['old1', 'old2']);
  await heartbeat('m', 0);
  t.same(valuesOf(partitionOf(await shareFetch('m', 0))), ['old1', 'old2'], 'earliest: records produced before the first fetch are delivered');

  configs.set(GROUP, new Map([['share.auto.offset.reset', 'by_duration:PT1H']]));
  t.equal((await call(42, 2, { groupsNames: [GROUP] })).results[0].errorCode, ErrorCode.NON_EMPTY_GROUP);
  await heartbeat('m', 1, null).then(() => call(76, 1, { groupId: GROUP, memberId: 'm', memberEpoch: -1, rackId: null, subscribedTopicNames: null }));
  t.equal((await call(92, 0, { groupId: GROUP, topics: [{ topicName: TOPIC }] })).responses[0].errorCode, 0, 'offsets deleted: the next fetch starts afresh');
  await heartbeat('m2', 0);
  const afresh = await shareFetch('m2', 0);
  t.same(partitionOf(afresh).acquiredRecords, [{ firstOffset: 0n, lastOffset: 1n, deliveryCount: 1 }], 'by_duration:PT1H reaches back to the records of the last hour');

  // A consumer (KIP-848) group owns its ID: share members are refused.
  await call(68, 1, {
    groupId: 'consumers',
    memberId: 'c1',
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30000,
    subscribedTopicNames: [TOPIC],
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
  });
  const refused = await call(76, 1, { groupId: 'consumers', memberId: 's1', memberEpoch: 0, rackId: null, subscribedTopicNames: [TOPIC] });
  t.equal(refused.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

t.test('a member that stops heartbeating is removed and its records go to the others', async (t) => {
  const { produce, heartbeat, shareFetch, call } = await setup(t, { 'group.share.session.timeout.ms': 1000, 'group.share.record.lock.duration.ms': 60000 });
  const silent = await heartbeat('silent', 0);
  await heartbeat('alive', 0);
  await shareFetch('silent', 0);
  await shareFetch('alive', 0);
  await produce(['x', 'y']);
  // A last heartbeat, so that a slow machine does not expire "silent" before it has fetched.
  await heartbeat('silent', silent.memberEpoch, null);
  t.same(partitionOf(await shareFetch('silent', 1)).acquiredRecords, [{ firstOffset: 0n, lastOffset: 1n, deliveryCount: 1 }]);
  // Only "alive" heartbeats; "silent" times out after 1 s and its records are released (the lock is 60 s).
  let epoch = 2;
  let got: any;
  for (let i = 0; i < 50 && got === undefined; i++) {
    const beat = await heartbeat('alive', epoch, null);
    epoch = beat.memberEpoch;
    const fetched = partitionOf(await shareFetch('alive', i + 1, { maxWaitMs: 200 }));
    if (fetched?.acquiredRecords.length > 0) got = fetched;
  }
  t.same(got?.acquiredRecords, [{ firstOffset: 0n, lastOffset: 1n, deliveryCount: 2 }]);
  const described = (await call(77, 1, { groupIds: [GROUP], includeAuthorizedOperations: false })).groups[0];
  t.same(
    described.members.map((m: any) => m.memberId),
    ['alive'],
  );
});

t.test('ISO-8601 durations of by_duration', async (t) => {
  const { parseIsoDuration } = await import('../../src/share/share-partition-manager.js');
  t.equal(parseIsoDuration('PT1H'), 3600000);
  t.equal(parseIsoDuration('P1DT2M3.5S'), 86400000 + 120000 + 3500);
  t.equal(parseIsoDuration('P'), undefined);
  t.equal(parseIsoDuration('-PT1H'), undefined);
  t.equal(parseIsoDuration('1h'), undefined);
});
