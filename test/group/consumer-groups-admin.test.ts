// KIP-848 consumer groups next to the rest of the coordinator: offset commits and fetches
// checked against member epochs, the group ID shared with classic groups (an empty group of
// one kind becomes the other), DescribeGroups / ListGroups / DeleteGroups / OffsetDelete,
// and the group surviving a broker restart through __consumer_offsets.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../helpers/raw-client.js';
import { startTestBroker } from '../helpers/broker.js';
import { createTopic, DESCRIBE, HEARTBEAT, heartbeat, join, owned, partitionNames, setup } from './fixtures/consumer-group-client.js';

const COMMIT = 8;
const FETCH = 9;
const JOIN = 11;

const commitBody = (groupId: string, memberId: string, epoch: number, offset: bigint) => ({
  groupId,
  generationIdOrMemberEpoch: epoch,
  memberId,
  groupInstanceId: null,
  topics: [{ name: 'o', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null }] }],
});
const commitCode = (answer: any) => answer.topics[0].partitions[0].errorCode;

t.test('offset commits and fetches carry the member epoch (v9+)', async (t) => {
  const { call } = await setup(t);
  await createTopic(call, 'o', 1);
  const member = await call(HEARTBEAT, 1, join('oc', 'm', ['o']));
  const epoch: number = member.memberEpoch;
  t.equal(commitCode(await call(COMMIT, 9, commitBody('oc', 'm', epoch, 5n))), 0);
  t.equal(commitCode(await call(COMMIT, 9, commitBody('oc', 'm', epoch + 1, 6n))), ErrorCode.STALE_MEMBER_EPOCH);
  t.equal(commitCode(await call(COMMIT, 9, commitBody('oc', 'ghost', epoch, 6n))), ErrorCode.UNKNOWN_MEMBER_ID);
  t.equal(commitCode(await call(COMMIT, 8, commitBody('oc', 'm', epoch, 6n))), ErrorCode.UNSUPPORTED_VERSION, 'consumer-protocol members commit with v9+');
  t.equal(commitCode(await call(COMMIT, 9, commitBody('oc', '', -1, 6n))), ErrorCode.UNKNOWN_MEMBER_ID, 'no standalone commit while the group has members');
  t.equal(commitCode(await call(COMMIT, 9, commitBody('unknown-group', 'm', 3, 6n))), ErrorCode.GROUP_ID_NOT_FOUND);

  const fetch = (memberId: string | null, memberEpoch: number) =>
    call(FETCH, 9, { groups: [{ groupId: 'oc', memberId, memberEpoch, topics: [{ name: 'o', partitionIndexes: [0] }] }], requireStable: true });
  const mine = await fetch('m', epoch);
  t.same([mine.groups[0].errorCode, mine.groups[0].topics[0].partitions[0].committedOffset], [0, 5n]);
  t.equal((await fetch('m', epoch - 1)).groups[0].errorCode, ErrorCode.STALE_MEMBER_EPOCH);
  t.equal((await fetch('ghost', epoch)).groups[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  t.equal((await fetch(null, -1)).groups[0].topics[0].partitions[0].committedOffset, 5n, 'the admin client fetches without a member');

  t.equal(
    (await call(47, 0, { groupId: 'oc', topics: [{ name: 'o', partitions: [{ partitionIndex: 0 }] }] })).topics[0].partitions[0].errorCode,
    ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC,
  );
  t.equal((await call(42, 2, { groupsNames: ['oc'] })).results[0].errorCode, ErrorCode.NON_EMPTY_GROUP);
  await call(HEARTBEAT, 1, heartbeat('oc', 'm', -1));
  t.equal(commitCode(await call(COMMIT, 9, commitBody('oc', '', -1, 7n))), 0, 'an empty group takes standalone commits');
  t.match((await call(DESCRIBE, 1, { groupIds: ['oc'], includeAuthorizedOperations: false })).groups[0], { groupState: 'Empty', members: [] });
  t.equal((await call(42, 2, { groupsNames: ['oc'] })).results[0].errorCode, 0);
  t.match((await call(DESCRIBE, 1, { groupIds: ['oc'], includeAuthorizedOperations: false })).groups[0], {
    errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
    errorMessage: 'Group oc not found.',
  });
  t.equal((await fetch(null, -1)).groups[0].topics[0].partitions[0].committedOffset, -1n, 'deleting the group deleted its offsets');
});

t.test('one group ID space: classic and consumer groups convert only when empty', async (t) => {
  const { broker, call } = await setup(t);
  await createTopic(call, 'o', 1);
  const classicJoin = (groupId: string) => ({
    groupId,
    sessionTimeoutMs: 10000,
    rebalanceTimeoutMs: 2000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from([0, 1]) }],
    reason: null,
  });

  // A classic group with a member keeps its ID.
  const classic = await call(JOIN, 3, classicJoin('classic'));
  t.equal(classic.errorCode, 0);
  const refused = await call(HEARTBEAT, 1, join('classic', 'm', ['o']));
  t.match(refused, { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: /Cannot upgrade classic group classic to consumer group/ });
  t.match((await call(DESCRIBE, 1, { groupIds: ['classic'], includeAuthorizedOperations: false })).groups[0], {
    errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
    errorMessage: 'Group classic is not a consumer group.',
  });

  // An empty (offsets-only) classic group becomes a consumer group; its offsets stay.
  t.equal(commitCode(await call(COMMIT, 8, commitBody('simple', '', -1, 11n))), 0);
  const converted = await call(HEARTBEAT, 1, join('simple', 'm', ['o']));
  t.equal(converted.errorCode, 0);
  const fetched = await call(FETCH, 9, { groups: [{ groupId: 'simple', memberId: 'm', memberEpoch: converted.memberEpoch, topics: null }], requireStable: false });
  t.equal(fetched.groups[0].topics[0].partitions[0].committedOffset, 11n);
  const listed = await call(16, 5, { statesFilter: [], typesFilter: [] });
  t.same(listed.groups.map((g: any) => [g.groupId, g.groupType, g.protocolType]).sort(), [
    ['classic', 'classic', 'consumer'],
    ['simple', 'consumer', 'consumer'],
  ]);
  t.same(
    (await call(16, 5, { statesFilter: ['stable'], typesFilter: ['Consumer'] })).groups.map((g: any) => g.groupId),
    ['simple'],
  );
  const v5 = (await call(15, 5, { groups: ['simple'], includeAuthorizedOperations: false })).groups[0];
  t.match(v5, { errorCode: 0, groupState: 'Dead' }, 'DescribeGroups does not describe consumer groups');
  const v6 = (await call(15, 6, { groups: ['simple'], includeAuthorizedOperations: false })).groups[0];
  t.match(v6, { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: 'Group simple is not a classic group.', groupState: 'Dead' });

  // A classic member cannot join a consumer group with members; once it is empty it can.
  t.equal((await call(JOIN, 3, classicJoin('simple'))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  await call(HEARTBEAT, 1, heartbeat('simple', 'm', -1, {}));
  const classicAgain = await call(JOIN, 3, classicJoin('simple'));
  t.equal(classicAgain.errorCode, 0, 'the empty consumer group became a classic group');
  t.match((await call(DESCRIBE, 1, { groupIds: ['simple'], includeAuthorizedOperations: false })).groups[0], { errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
  t.equal((await call(HEARTBEAT, 1, heartbeat('simple', 'm', 5))).errorMessage, 'Group simple is not a consumer group.');
  const stillThere = await call(FETCH, 8, { groups: [{ groupId: 'simple', topics: null }], requireStable: false });
  t.equal(stillThere.groups[0].topics[0].partitions[0].committedOffset, 11n, 'offsets survive both conversions');
  t.ok(broker.logs.topic('__consumer_offsets'));
});

t.test('a consumer group survives a broker restart', async (t) => {
  const dataDir = mkdtempSync(joinPath(tmpdir(), 'spate-consumer-groups-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = { 'group.initial.rebalance.delay.ms': 0 };
  const first = await startTestBroker(t, { dataDir, config });
  const client = await RawClient.connect(first.bootstrap);
  const call = async (apiKey: number, version: number, body: unknown) => (await client.request(apiKey, version, body)).body;
  await createTopic(call, 'kept', 2);
  const a = await call(HEARTBEAT, 1, join('durable', 'a', ['kept'], { serverAssignor: 'range', instanceId: 'ia' }));
  const b = await call(HEARTBEAT, 1, join('durable', 'b', ['kept'], { subscribedTopicNames: null, subscribedTopicRegex: 'ke.t' }));
  const revoke = await call(HEARTBEAT, 1, heartbeat('durable', 'a', a.memberEpoch, { instanceId: 'ia' }));
  const aOwns = partitionNames(first, revoke.assignment.topicPartitions);
  const settled = await call(HEARTBEAT, 1, heartbeat('durable', 'a', a.memberEpoch, { instanceId: 'ia', topicPartitions: owned(first, aOwns) }));
  const bGets = await call(HEARTBEAT, 1, heartbeat('durable', 'b', b.memberEpoch));
  // A member that came and went leaves only tombstones behind.
  await call(HEARTBEAT, 1, join('durable', 'c', ['kept']));
  await call(HEARTBEAT, 1, heartbeat('durable', 'c', -1));
  await call(HEARTBEAT, 1, heartbeat('durable', 'a', settled.memberEpoch, { instanceId: 'ia' }));
  await call(HEARTBEAT, 1, heartbeat('durable', 'b', bGets.memberEpoch));
  const before = (await call(DESCRIBE, 1, { groupIds: ['durable'], includeAuthorizedOperations: false })).groups[0];
  t.same(before.members.map((m: any) => m.memberId).sort(), ['a', 'b']);
  client.close();
  await first.stop();

  const second = await startTestBroker(t, { dataDir, config });
  const again = await RawClient.connect(second.bootstrap);
  t.teardown(() => again.close());
  const call2 = async (apiKey: number, version: number, body: unknown) => (await again.request(apiKey, version, body)).body;
  const after = (await call2(DESCRIBE, 1, { groupIds: ['durable'], includeAuthorizedOperations: false })).groups[0];
  const shape = (group: any) => ({
    state: group.groupState,
    epoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    assignor: group.assignorName,
    members: group.members
      .map((m: any) => [m.memberId, m.instanceId, m.memberEpoch, m.subscribedTopicNames, m.subscribedTopicRegex, JSON.stringify(m.assignment), JSON.stringify(m.targetAssignment)])
      .sort(),
  });
  t.same(shape(after), shape(before), 'epochs, members, subscriptions and assignments replayed from __consumer_offsets');
  const epochOf = (id: string) => before.members.find((m: any) => m.memberId === id).memberEpoch;
  const resumed = await call2(HEARTBEAT, 1, heartbeat('durable', 'a', epochOf('a'), { instanceId: 'ia' }));
  t.match(resumed, { errorCode: 0, memberEpoch: epochOf('a') }, 'members carry on with their epochs');
  const bResumed = await call2(HEARTBEAT, 1, heartbeat('durable', 'b', epochOf('b')));
  t.equal(bResumed.errorCode, 0);
});
