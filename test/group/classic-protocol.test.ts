// The classic group protocol at the wire level: the error codes Kafka gives for each misuse,
// KIP-394 member IDs, KIP-345 static members, batched LeaveGroup, offsets and group admin.

import t, { type Test } from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const JOIN = 11;
const SYNC = 14;
const HEARTBEAT = 12;
const LEAVE = 13;
const COMMIT = 8;
const FETCH_OFFSETS = 9;

const protocols = [{ name: 'range', metadata: Buffer.from([0, 1, 2]) }];
const join = (groupId: string, memberId = '', extra: Record<string, unknown> = {}) => ({
  groupId,
  sessionTimeoutMs: 10000,
  rebalanceTimeoutMs: 2000,
  memberId,
  groupInstanceId: null,
  protocolType: 'consumer',
  protocols,
  reason: null,
  ...extra,
});

async function setup(t: Test, config: Record<string, string | number> = {}) {
  const broker = await startTestBroker(t, { config: { 'group.initial.rebalance.delay.ms': 0, ...config } });
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  let correlation = 100;
  const call = async (apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body, correlation++)).body;
  return { broker, client, call };
}

/** A second connection, for requests that block (JoinGroup waits for the rebalance). */
async function other(t: Test, bootstrap: string) {
  const client = await RawClient.connect(bootstrap);
  t.teardown(() => client.close());
  return async (apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body)).body;
}

t.test('join, sync, heartbeat, leave: the happy path and its error codes', async (t) => {
  const { broker, call } = await setup(t);
  const required = await call(JOIN, 5, join('g1'));
  t.equal(required.errorCode, ErrorCode.MEMBER_ID_REQUIRED, 'v4+: a new member first gets its ID (KIP-394)');
  t.match(required.memberId, /^raw-test-/);
  const memberId: string = required.memberId;

  const joined = await call(JOIN, 5, join('g1', memberId));
  t.match(joined, { errorCode: 0, generationId: 1, protocolName: 'range', leader: memberId, memberId });
  t.equal(joined.members.length, 1, 'the leader gets the member list');
  t.same(joined.members[0].metadata, protocols[0]!.metadata);

  t.equal((await call(SYNC, 3, { groupId: 'g1', generationId: 2, memberId, groupInstanceId: null, assignments: [] })).errorCode, ErrorCode.ILLEGAL_GENERATION);
  t.equal((await call(SYNC, 3, { groupId: 'g1', generationId: 1, memberId: 'nobody', groupInstanceId: null, assignments: [] })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const synced = await call(SYNC, 3, { groupId: 'g1', generationId: 1, memberId, groupInstanceId: null, assignments: [{ memberId, assignment: Buffer.from('mine') }] });
  t.match(synced, { errorCode: 0 });
  t.same(synced.assignment, Buffer.from('mine'));

  t.equal((await call(HEARTBEAT, 3, { groupId: 'g1', generationId: 1, memberId, groupInstanceId: null })).errorCode, 0);
  t.equal((await call(HEARTBEAT, 3, { groupId: 'g1', generationId: 0, memberId, groupInstanceId: null })).errorCode, ErrorCode.ILLEGAL_GENERATION);
  t.equal((await call(HEARTBEAT, 3, { groupId: 'nope', generationId: 1, memberId, groupInstanceId: null })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  t.equal(broker.logs.topic('__consumer_offsets')!.internal, true, 'group state went to the internal offsets topic');

  // A second member joins: the first one's heartbeat says REBALANCE_IN_PROGRESS.
  const second = await other(t, broker.bootstrap);
  const secondId: string = (await second(JOIN, 5, join('g1'))).memberId;
  const pendingJoin = second(JOIN, 5, join('g1', secondId));
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal((await call(HEARTBEAT, 3, { groupId: 'g1', generationId: 1, memberId, groupInstanceId: null })).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  const rejoined = await call(JOIN, 5, join('g1', memberId));
  const secondJoined = await pendingJoin;
  t.equal(rejoined.generationId, 2);
  t.equal(secondJoined.generationId, 2);
  t.equal(rejoined.members.length + secondJoined.members.length, 2, 'only the leader lists the members');

  const left = await call(LEAVE, 4, {
    groupId: 'g1',
    members: [
      { memberId, groupInstanceId: null, reason: null },
      { memberId: 'ghost', groupInstanceId: null, reason: null },
    ],
  });
  t.same(
    left.members.map((m: any) => m.errorCode),
    [0, ErrorCode.UNKNOWN_MEMBER_ID],
    'batched LeaveGroup answers per member',
  );
});

t.test('join validation: session timeout, protocol type, empty group ID, group.max.size', async (t) => {
  const { call } = await setup(t, { 'group.max.size': 1 });
  t.equal((await call(JOIN, 3, join('g2', '', { sessionTimeoutMs: 10 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  t.equal((await call(JOIN, 3, join(''))).errorCode, ErrorCode.INVALID_GROUP_ID);
  const first = await call(JOIN, 3, join('g2'));
  t.equal(first.errorCode, 0, 'v3 joins without the member-ID round trip');
  t.equal((await call(JOIN, 3, join('g2', '', { protocolType: 'connect' }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  t.equal((await call(JOIN, 3, join('g2', '', { protocols: [{ name: 'other', metadata: Buffer.alloc(0) }] }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  t.equal((await call(JOIN, 3, join('g2'))).errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  t.equal((await call(JOIN, 3, join('g2', 'made-up'))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

t.test('static membership: a returning instance fences its old member ID', async (t) => {
  const { call } = await setup(t);
  const first = await call(JOIN, 5, join('g3', '', { groupInstanceId: 'instance-1' }));
  t.equal(first.errorCode, 0, 'static members skip MEMBER_ID_REQUIRED');
  await call(SYNC, 3, { groupId: 'g3', generationId: first.generationId, memberId: first.memberId, groupInstanceId: 'instance-1', assignments: [] });
  const again = await call(JOIN, 5, join('g3', '', { groupInstanceId: 'instance-1' }));
  t.equal(again.errorCode, 0);
  t.not(again.memberId, first.memberId);
  t.equal(
    (await call(HEARTBEAT, 3, { groupId: 'g3', generationId: again.generationId, memberId: first.memberId, groupInstanceId: 'instance-1' })).errorCode,
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
  t.equal(
    (await call(HEARTBEAT, 3, { groupId: 'g3', generationId: again.generationId, memberId: again.memberId, groupInstanceId: 'other' })).errorCode,
    ErrorCode.FENCED_INSTANCE_ID,
  );
  const left = await call(LEAVE, 4, { groupId: 'g3', members: [{ memberId: '', groupInstanceId: 'instance-1', reason: null }] });
  t.same(
    left.members.map((m: any) => m.errorCode),
    [0],
    'leave by group.instance.id',
  );
});

t.test('a member whose session expires is removed', async (t) => {
  const { broker, call } = await setup(t, { 'group.min.session.timeout.ms': 100 });
  const joined = await call(JOIN, 3, join('g4', '', { sessionTimeoutMs: 300 }));
  await call(SYNC, 3, { groupId: 'g4', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, assignments: [] });
  t.equal(broker.logs.topic('__consumer_offsets') !== undefined, true);
  await new Promise((resolve) => setTimeout(resolve, 800));
  t.equal(
    (await call(HEARTBEAT, 3, { groupId: 'g4', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null })).errorCode,
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
  const described = await call(15, 5, { groups: ['g4'], includeAuthorizedOperations: false });
  t.equal(described.groups[0].groupState, 'Empty');
});

t.test('offsets: commit rules, fetch, retention of metadata strings, multi-group fetch', async (t) => {
  const { call } = await setup(t);
  await call(19, 5, { topics: [{ name: 'ot', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  const commit = (
    groupId: string,
    partitions: Array<{ partitionIndex: number; committedOffset: bigint; committedMetadata: string | null }>,
    topic = 'ot',
    generation = -1,
    memberId = '',
  ) =>
    call(COMMIT, 8, {
      groupId,
      generationIdOrMemberEpoch: generation,
      memberId,
      groupInstanceId: null,
      topics: [{ name: topic, partitions: partitions.map((p) => ({ committedLeaderEpoch: -1, ...p })) }],
    });

  const simple = await commit('standalone', [
    { partitionIndex: 0, committedOffset: 5n, committedMetadata: 'note' },
    { partitionIndex: 9, committedOffset: 1n, committedMetadata: null },
  ]);
  t.same(
    simple.topics[0].partitions.map((p: any) => p.errorCode),
    [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  );
  const tooBig = await commit('standalone', [{ partitionIndex: 1, committedOffset: 1n, committedMetadata: 'x'.repeat(5000) }]);
  t.equal(tooBig.topics[0].partitions[0].errorCode, ErrorCode.OFFSET_METADATA_TOO_LARGE);
  const unknownTopic = await commit('standalone', [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }], 'missing');
  t.equal(unknownTopic.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

  const v5 = await call(FETCH_OFFSETS, 5, { groupId: 'standalone', topics: [{ name: 'ot', partitionIndexes: [0, 1] }] });
  t.same(
    v5.topics[0].partitions.map((p: any) => [p.committedOffset, p.metadata]),
    [
      [5n, 'note'],
      [-1n, ''],
    ],
  );
  const all = await call(FETCH_OFFSETS, 5, { groupId: 'standalone', topics: null });
  t.same(
    all.topics.map((topic: any) => topic.name),
    ['ot'],
    'null topics lists every committed offset',
  );

  // A group with a live member refuses a standalone commit.
  const member = await call(JOIN, 3, join('live'));
  t.equal((await commit('live', [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }])).topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  t.equal(
    (await commit('live', [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }], 'ot', member.generationId + 1, member.memberId)).topics[0].partitions[0].errorCode,
    ErrorCode.ILLEGAL_GENERATION,
  );
  t.equal(
    (await commit('live', [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }], 'ot', member.generationId, member.memberId)).topics[0].partitions[0].errorCode,
    ErrorCode.REBALANCE_IN_PROGRESS,
    'not before the sync',
  );
  await call(SYNC, 3, { groupId: 'live', generationId: member.generationId, memberId: member.memberId, groupInstanceId: null, assignments: [] });
  t.equal(
    (await commit('live', [{ partitionIndex: 0, committedOffset: 7n, committedMetadata: null }], 'ot', member.generationId, member.memberId)).topics[0].partitions[0].errorCode,
    0,
  );

  const multi = await call(FETCH_OFFSETS, 8, {
    groups: [
      { groupId: 'standalone', topics: null },
      { groupId: 'live', topics: [{ name: 'ot', partitionIndexes: [0] }] },
      { groupId: 'unknown', topics: null },
    ],
    requireStable: false,
  });
  t.same(
    multi.groups.map((g: any) => [g.groupId, g.topics.flatMap((x: any) => x.partitions.map((p: any) => p.committedOffset))]),
    [
      ['standalone', [5n]],
      ['live', [7n]],
      ['unknown', []],
    ],
  );

  const deleteLive = await call(42, 2, { groupsNames: ['live', 'standalone', 'never'] });
  t.same(
    deleteLive.results.map((r: any) => r.errorCode),
    [ErrorCode.NON_EMPTY_GROUP, 0, ErrorCode.GROUP_ID_NOT_FOUND],
  );
  const gone = await call(FETCH_OFFSETS, 5, { groupId: 'standalone', topics: [{ name: 'ot', partitionIndexes: [0] }] });
  t.equal(gone.topics[0].partitions[0].committedOffset, -1n, 'deleting a group deletes its offsets');

  const offsetDelete = await call(47, 0, { groupId: 'live', topics: [{ name: 'ot', partitions: [{ partitionIndex: 0 }] }] });
  t.equal(offsetDelete.errorCode, 0);
  const listed = await call(16, 5, { statesFilter: ['stable'], typesFilter: ['classic'] });
  t.same(
    listed.groups.map((g: any) => [g.groupId, g.groupState, g.groupType]),
    [['live', 'Stable', 'classic']],
  );
  const coordinators = await call(10, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
  t.same(
    coordinators.coordinators.map((c: any) => [c.key, c.errorCode]),
    [
      ['a', 0],
      ['b', 0],
    ],
  );
});

t.test('offsets and groups survive a restart (replayed from __consumer_offsets)', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join: joinPath } = await import('node:path');
  const dataDir = mkdtempSync(joinPath(tmpdir(), 'spate-offsets-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startTestBroker(t, { dataDir });
  const client = await RawClient.connect(first.bootstrap);
  await client.request(19, 5, { topics: [{ name: 'kept', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  await client.request(COMMIT, 8, {
    groupId: 'durable',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: 'kept', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: 'meta' }] }],
  });
  client.close();
  await first.stop();
  const second = await startTestBroker(t, { dataDir });
  const again = await RawClient.connect(second.bootstrap);
  t.teardown(() => again.close());
  const fetched = await again.request(FETCH_OFFSETS, 5, { groupId: 'durable', topics: [{ name: 'kept', partitionIndexes: [0] }] });
  t.same([fetched.body.topics[0].partitions[0].committedOffset, fetched.body.topics[0].partitions[0].metadata], [42n, 'meta']);
});

t.test('an empty classic group without offsets is removed after offsets.retention.minutes', async (t) => {
  const { broker, call } = await setup(t, { 'offsets.retention.minutes': 1 });
  const joinAndLeave = async (groupId: string) => {
    const memberId = (await call(JOIN, 5, join(groupId))).memberId as string;
    const joined = await call(JOIN, 5, join(groupId, memberId));
    t.equal(joined.errorCode, 0);
    t.equal((await call(SYNC, 3, { groupId, generationId: joined.generationId, memberId, groupInstanceId: null, assignments: [] })).errorCode, 0);
    t.equal((await call(LEAVE, 3, { groupId, members: [{ memberId, groupInstanceId: null }] })).errorCode, 0);
    return { memberId, generationId: joined.generationId };
  };
  await joinAndLeave('idle-no-offsets');
  await joinAndLeave('idle-with-offsets');
  await call(19, 5, { topics: [{ name: 'kept', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  const committed = await call(COMMIT, 2, {
    groupId: 'idle-with-offsets',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    retentionTimeMs: -1n,
    topics: [{ name: 'kept', partitions: [{ partitionIndex: 0, committedOffset: 0n, committedMetadata: '' }] }],
  });
  t.equal(committed.topics[0].partitions[0].errorCode, 0);
  const listed = async () => ((await call(16, 4, { statesFilter: [], typesFilter: [] })).groups as Array<{ groupId: string }>).map((g) => g.groupId).sort();
  t.same(await listed(), ['idle-no-offsets', 'idle-with-offsets']);

  // The coordinator's retention pass, run as if the groups had been empty for a minute.
  const coordinator = (broker as unknown as { state: { groups: { expireOffsets(): void } } }).state.groups;
  const groups = (coordinator as unknown as { groups: Map<string, { stateTimestamp: number }> }).groups;
  for (const group of groups.values()) group.stateTimestamp -= 30_000;
  coordinator.expireOffsets();
  t.same(await listed(), ['idle-no-offsets', 'idle-with-offsets'], 'kept while empty for less than the retention');
  for (const group of groups.values()) group.stateTimestamp -= 31_000;
  coordinator.expireOffsets();
  t.same(await listed(), ['idle-with-offsets'], 'the group without offsets is gone; the one with live offsets stays');
  const described = await call(15, 5, { groups: ['idle-no-offsets'], includeAuthorizedOperations: false });
  t.equal(described.groups[0].groupState, 'Dead', 'DescribeGroups: Dead, as Kafka answers for a group it does not know');
});
