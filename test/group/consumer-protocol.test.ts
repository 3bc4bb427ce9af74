// The KIP-848 consumer group protocol at the wire level: join, assignment, revocation before
// reassignment, leave; member and group epochs; both server assignors; regex subscriptions;
// static members; session and rebalance timeouts; and the error codes Kafka gives.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopic, DESCRIBE, HEARTBEAT, heartbeat, join, owned, partitionNames, setup, sleep } from './fixtures/consumer-group-client.js';

t.test('join, assign, revoke before reassigning, leave', async (t) => {
  const { broker, call } = await setup(t);
  await createTopic(call, 'orders', 4);
  const all = ['orders-0', 'orders-1', 'orders-2', 'orders-3'];

  const a = await call(HEARTBEAT, 1, join('g', 'member-a', ['orders']));
  t.match(a, { errorCode: 0, memberId: 'member-a', memberEpoch: 1, heartbeatIntervalMs: 1000 });
  t.same(partitionNames(broker, a.assignment.topicPartitions), all, 'the only member gets every partition');
  const steady = await call(HEARTBEAT, 1, heartbeat('g', 'member-a', 1, { topicPartitions: owned(broker, all) }));
  t.match(steady, { errorCode: 0, memberEpoch: 1, assignment: null }, 'no assignment when nothing changed');

  // A second member: the group epoch moves to 2, but b gets nothing while a still owns it all.
  const b = await call(HEARTBEAT, 1, join('g', 'member-b', ['orders']));
  t.match(b, { errorCode: 0, memberEpoch: 2 });
  t.same(partitionNames(broker, b.assignment.topicPartitions), [], 'partitions still owned by a are withheld');

  const revoke = await call(HEARTBEAT, 1, heartbeat('g', 'member-a', 1));
  t.equal(revoke.memberEpoch, 1, 'a stays at its epoch until it has revoked');
  const kept = partitionNames(broker, revoke.assignment.topicPartitions);
  t.equal(kept.length, 2, 'a is asked to give up two partitions');
  const waiting = await call(HEARTBEAT, 1, heartbeat('g', 'member-b', 2, { topicPartitions: [] }));
  t.match(waiting, { memberEpoch: 2, assignment: null }, 'b waits: a has not acknowledged the revocation');
  const described = await call(DESCRIBE, 1, { groupIds: ['g'], includeAuthorizedOperations: false });
  t.match(described.groups[0], { groupState: 'Reconciling', groupEpoch: 2, assignmentEpoch: 2 });

  const revoked = await call(HEARTBEAT, 1, heartbeat('g', 'member-a', 1, { topicPartitions: owned(broker, kept) }));
  t.match(revoked, { memberEpoch: 2, assignment: null }, 'a moves to epoch 2 once it reports only what it keeps');
  const handed = await call(HEARTBEAT, 1, heartbeat('g', 'member-b', 2));
  t.same(
    partitionNames(broker, handed.assignment.topicPartitions),
    all.filter((p) => !kept.includes(p)),
    'b gets the released partitions',
  );

  const stable = await call(DESCRIBE, 1, { groupIds: ['g'], includeAuthorizedOperations: false });
  const group = stable.groups[0];
  t.match(group, { errorCode: 0, groupState: 'Stable', groupEpoch: 2, assignmentEpoch: 2, assignorName: 'uniform' });
  t.same(group.members.map((m: any) => [m.memberId, m.memberEpoch, m.memberType, m.clientId, m.subscribedTopicNames]).sort(), [
    ['member-a', 2, 1, 'raw-test', ['orders']],
    ['member-b', 2, 1, 'raw-test', ['orders']],
  ]);
  t.match(group.members[0].clientHost, /^\/127\.0\.0\.1$/);
  t.same(
    group.members.flatMap((m: any) => m.assignment.topicPartitions.map((tp: any) => tp.topicName)),
    ['orders', 'orders'],
  );
  t.same(group.members.flatMap((m: any) => m.assignment.topicPartitions.flatMap((tp: any) => tp.partitions)).sort(), [0, 1, 2, 3]);

  const listed = await call(16, 5, { statesFilter: [], typesFilter: ['consumer'] });
  t.same(listed.groups, [{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable', groupType: 'consumer' }]);
  t.same((await call(16, 5, { statesFilter: [], typesFilter: ['classic'] })).groups, [], 'not a classic group');

  // a leaves: the epoch moves on and b takes over everything.
  const left = await call(HEARTBEAT, 1, heartbeat('g', 'member-a', -1));
  t.match(left, { errorCode: 0, memberId: 'member-a', memberEpoch: -1 });
  const takeover = await call(HEARTBEAT, 1, heartbeat('g', 'member-b', 2, { topicPartitions: owned(broker, partitionNames(broker, handed.assignment.topicPartitions)) }));
  t.match(takeover, { memberEpoch: 3 });
  t.same(partitionNames(broker, takeover.assignment.topicPartitions), all);

  t.equal((await call(HEARTBEAT, 1, heartbeat('g', 'member-a', 2))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'a left');
  t.equal((await call(HEARTBEAT, 1, heartbeat('g', 'member-b', 9))).errorCode, ErrorCode.FENCED_MEMBER_EPOCH, 'an epoch from the future');
  t.equal((await call(HEARTBEAT, 1, heartbeat('g', 'member-b', 1))).errorCode, ErrorCode.FENCED_MEMBER_EPOCH, 'an epoch from the past');
  const lostAnswer = await call(HEARTBEAT, 1, heartbeat('g', 'member-b', 2, { topicPartitions: owned(broker, partitionNames(broker, handed.assignment.topicPartitions)) }));
  t.match(lostAnswer, { errorCode: 0, memberEpoch: 3 }, 'the previous epoch with a subset of the assignment: the bump was lost, accepted');
  const rejoin = await call(HEARTBEAT, 1, join('g', 'member-b', ['orders']));
  t.match(rejoin, { errorCode: 0, memberEpoch: 3 }, 'epoch 0 rejoins and gets the assignment again');
  t.same(partitionNames(broker, rejoin.assignment.topicPartitions), all);
});

t.test('request validation and errors', async (t) => {
  const { call } = await setup(t, { 'group.consumer.max.size': 2 });
  await createTopic(call, 'v', 1);
  const code = async (version: number, body: unknown) => {
    const answer = await call(HEARTBEAT, version, body);
    return [answer.errorCode, answer.errorMessage];
  };
  t.same(await code(1, join('g', '', ['v'])), [ErrorCode.INVALID_REQUEST, "MemberId can't be empty."], 'v1: the client names itself (KIP-1082)');
  t.same(await code(1, join(' ', 'm', ['v'])), [ErrorCode.INVALID_REQUEST, "GroupId can't be empty."]);
  t.same(await code(1, join('g', 'm', ['v'], { instanceId: '' })), [ErrorCode.INVALID_REQUEST, "InstanceId can't be empty."]);
  t.same(await code(1, join('g', 'm', ['v'], { rackId: ' ' })), [ErrorCode.INVALID_REQUEST, "RackId can't be empty."]);
  t.same(await code(1, join('g', 'm', ['v'], { rebalanceTimeoutMs: -1 })), [ErrorCode.INVALID_REQUEST, 'RebalanceTimeoutMs must be provided in first request.']);
  t.same(await code(1, join('g', 'm', ['v'], { topicPartitions: null })), [ErrorCode.INVALID_REQUEST, 'TopicPartitions must be empty when (re-)joining.']);
  t.same(await code(1, join('g', 'm', null)), [ErrorCode.INVALID_REQUEST, 'Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.']);
  t.same(await code(1, heartbeat('g', 'm', -2)), [ErrorCode.INVALID_REQUEST, "InstanceId can't be null."]);
  t.same(await code(1, heartbeat('g', 'm', -3)), [ErrorCode.INVALID_REQUEST, 'MemberEpoch is invalid.']);
  t.same(await code(1, join('g', 'm', ['v'], { serverAssignor: 'sticky' })), [
    ErrorCode.UNSUPPORTED_ASSIGNOR,
    'ServerAssignor sticky is not supported. Supported assignors: uniform, range.',
  ]);
  t.match(await code(1, join('g', 'm', null, { subscribedTopicRegex: 'orders-(' })), [
    ErrorCode.INVALID_REGULAR_EXPRESSION,
    /^SubscribedTopicRegex `orders-\(` is not a valid regular expression/,
  ]);
  t.same(await code(1, heartbeat('nope', 'm', 3)), [ErrorCode.GROUP_ID_NOT_FOUND, 'Consumer group nope not found.']);
  t.same(await code(1, heartbeat('nope', 'm', -1)), [ErrorCode.GROUP_ID_NOT_FOUND, 'Consumer group nope not found.']);
  t.equal((await call(HEARTBEAT, 1, join('g', 'first', ['v']))).errorCode, 0);
  t.same(await code(1, heartbeat('g', 'stranger', 1)), [ErrorCode.UNKNOWN_MEMBER_ID, 'Member stranger is not a member of group g.']);
  t.same(await code(1, heartbeat('g', 'stranger', -1)), [ErrorCode.UNKNOWN_MEMBER_ID, 'Member stranger is not a member of group g.']);

  // v0: an empty member ID on join is filled in by the coordinator.
  const named = await call(HEARTBEAT, 0, join('g', '', ['v']));
  t.equal(named.errorCode, 0);
  t.match(named.memberId, /^[A-Za-z0-9_-]{22}$/, "a UUID in Kafka's base64 form");
  t.same(await code(1, join('g', 'other', ['v'])), [ErrorCode.GROUP_MAX_SIZE_REACHED, 'The consumer group has reached its maximum capacity of 2 members.']);
  t.equal((await call(HEARTBEAT, 0, join('g', named.memberId, ['v']))).errorCode, 0, 'a member already in a full group may rejoin');
  t.equal((await call(HEARTBEAT, 1, heartbeat('g', 'stranger', 1))).errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED, 'Kafka checks the size first');
});

t.test('the range assignor co-partitions; the uniform one balances', async (t) => {
  const { broker, call } = await setup(t);
  await createTopic(call, 'left', 3);
  await createTopic(call, 'right', 3);
  const first = await call(HEARTBEAT, 1, join('r', 'member-1', ['left', 'right'], { serverAssignor: 'range' }));
  t.equal(partitionNames(broker, first.assignment.topicPartitions).length, 6);
  await call(HEARTBEAT, 1, join('r', 'member-2', ['left', 'right'], { serverAssignor: 'range' }));
  const described = (await call(DESCRIBE, 0, { groupIds: ['r'], includeAuthorizedOperations: false })).groups[0];
  t.equal(described.assignorName, 'range');
  const targets = Object.fromEntries(
    described.members.map((m: any) => [m.memberId, m.targetAssignment.topicPartitions.map((tp: any) => `${tp.topicName}:${tp.partitions.join(',')}`)]),
  );
  t.same(targets, { 'member-1': ['left:0,1', 'right:0,1'], 'member-2': ['left:2', 'right:2'] }, 'same partition numbers of both topics go together');
  t.equal(described.members[0].memberType, -1, 'v0 has no MemberType (decoded as its default)');

  await createTopic(call, 'wide', 5);
  for (const id of ['u1', 'u2', 'u3']) await call(HEARTBEAT, 1, join('u', id, ['wide']));
  const uniform = (await call(DESCRIBE, 1, { groupIds: ['u'], includeAuthorizedOperations: false })).groups[0];
  t.equal(uniform.assignorName, 'uniform');
  const counts = uniform.members.map((m: any) => m.targetAssignment.topicPartitions.reduce((n: number, tp: any) => n + tp.partitions.length, 0)).sort();
  t.same(counts, [1, 2, 2], '5 partitions over 3 members');
});

t.test('regex subscriptions match whole topic names, and follow new topics', async (t) => {
  const { broker, call } = await setup(t);
  await createTopic(call, 'orders-eu', 1);
  await createTopic(call, 'orders-us', 2);
  await createTopic(call, 'payments', 1);
  const joined = await call(HEARTBEAT, 1, join('rx', 'm', null, { subscribedTopicRegex: 'orders-.*' }));
  t.equal(joined.errorCode, 0);
  t.same(partitionNames(broker, joined.assignment.topicPartitions), ['orders-eu-0', 'orders-us-0', 'orders-us-1']);

  await createTopic(call, 'orders-asia', 1);
  const grown = await call(HEARTBEAT, 1, heartbeat('rx', 'm', joined.memberEpoch, { topicPartitions: joined.assignment.topicPartitions }));
  t.equal(grown.memberEpoch, joined.memberEpoch + 1, 'a new matching topic bumps the group epoch');
  t.same(partitionNames(broker, grown.assignment.topicPartitions), ['orders-asia-0', 'orders-eu-0', 'orders-us-0', 'orders-us-1']);

  const partial = await call(HEARTBEAT, 1, join('rx2', 'n', null, { subscribedTopicRegex: 'orders' }));
  t.same(partitionNames(broker, partial.assignment.topicPartitions), [], 'a regex must match the whole name');
  const javaSyntax = await call(HEARTBEAT, 1, join('rx3', 'j', null, { subscribedTopicRegex: '(?i)\\QPAY\\E.*' }));
  t.same(partitionNames(broker, javaSyntax.assignment.topicPartitions), ['payments-0'], 'RE2/J inline flags and \\Q...\\E quoting');
  const described = (await call(DESCRIBE, 1, { groupIds: ['rx'], includeAuthorizedOperations: false })).groups[0];
  t.same([described.members[0].subscribedTopicRegex, described.members[0].subscribedTopicNames], ['orders-.*', []]);

  // Switching to names drops the regex's other topics at once (revocation first).
  const switched = await call(HEARTBEAT, 1, heartbeat('rx', 'm', grown.memberEpoch, { subscribedTopicNames: ['payments'], subscribedTopicRegex: '' }));
  t.same(partitionNames(broker, switched.assignment.topicPartitions), [], 'the old topics are revoked first');
  const moved = await call(HEARTBEAT, 1, heartbeat('rx', 'm', switched.memberEpoch, { topicPartitions: [] }));
  t.same(partitionNames(broker, moved.assignment.topicPartitions), ['payments-0']);
});

t.test('dropping a topic mid-revocation revokes its partitions at once', async (t) => {
  const { broker, call } = await setup(t);
  await createTopic(call, 'keep', 2);
  await createTopic(call, 'drop', 2);
  const a = await call(HEARTBEAT, 1, join('mid', 'a', ['drop', 'keep']));
  const all = partitionNames(broker, a.assignment.topicPartitions);
  t.equal(all.length, 4);
  await call(HEARTBEAT, 1, join('mid', 'b', ['keep']));
  const asked = await call(HEARTBEAT, 1, heartbeat('mid', 'a', a.memberEpoch, { topicPartitions: owned(broker, all) }));
  t.same(partitionNames(broker, asked.assignment.topicPartitions), ['drop-0', 'drop-1'], 'a keeps "drop" (b does not want it) and revokes "keep"');
  // Still owning everything, a unsubscribes from "drop": those partitions join the revocation.
  const narrowed = await call(HEARTBEAT, 1, heartbeat('mid', 'a', a.memberEpoch, { subscribedTopicNames: ['keep'], topicPartitions: owned(broker, all) }));
  t.equal(narrowed.memberEpoch, a.memberEpoch, 'still revoking, still at its epoch');
  t.same(partitionNames(broker, narrowed.assignment.topicPartitions), [], 'nothing of the dropped topic stays assigned');
  const done = await call(HEARTBEAT, 1, heartbeat('mid', 'a', a.memberEpoch, { topicPartitions: [] }));
  t.ok(done.memberEpoch > a.memberEpoch, 'moves on once it let go');
  t.same(partitionNames(broker, done.assignment.topicPartitions), ['keep-1'], 'and shares "keep" with b');
});

t.test('static members: leaving with -2 keeps the assignment for the returning instance', async (t) => {
  const { broker, call } = await setup(t);
  await createTopic(call, 's', 2);
  const first = await call(HEARTBEAT, 1, join('st', 'run-1', ['s'], { instanceId: 'instance-1' }));
  const other = await call(HEARTBEAT, 1, join('st', 'dynamic', ['s']));
  let epoch = first.memberEpoch;
  let mine = partitionNames(broker, first.assignment.topicPartitions);
  // Let the two settle: run-1 revokes one partition, dynamic picks it up.
  const revoke = await call(HEARTBEAT, 1, heartbeat('st', 'run-1', epoch, { instanceId: 'instance-1' }));
  mine = partitionNames(broker, revoke.assignment.topicPartitions);
  epoch = (await call(HEARTBEAT, 1, heartbeat('st', 'run-1', epoch, { topicPartitions: owned(broker, mine) }))).memberEpoch;
  const otherState = await call(HEARTBEAT, 1, heartbeat('st', 'dynamic', other.memberEpoch, { topicPartitions: [] }));
  t.equal(mine.length, 1);
  t.equal(partitionNames(broker, otherState.assignment.topicPartitions).length, 1);
  const before = (await call(DESCRIBE, 1, { groupIds: ['st'], includeAuthorizedOperations: false })).groups[0];

  t.same(await call(HEARTBEAT, 1, heartbeat('st', 'run-1', -2, { instanceId: 'instance-1' })), {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    memberId: 'run-1',
    memberEpoch: -2,
    heartbeatIntervalMs: 0,
    assignment: null,
  });
  const away = (await call(DESCRIBE, 1, { groupIds: ['st'], includeAuthorizedOperations: false })).groups[0];
  t.equal(away.groupEpoch, before.groupEpoch, 'a temporary leave does not rebalance');
  t.same(away.members.find((m: any) => m.instanceId === 'instance-1').memberEpoch, -2);

  const back = await call(HEARTBEAT, 1, join('st', 'run-2', ['s'], { instanceId: 'instance-1' }));
  t.match(back, { errorCode: 0, memberId: 'run-2', memberEpoch: before.groupEpoch }, 'the new run takes over at the current epoch');
  t.same(partitionNames(broker, back.assignment.topicPartitions), mine, 'with the same partitions');
  const after = (await call(DESCRIBE, 1, { groupIds: ['st'], includeAuthorizedOperations: false })).groups[0];
  t.same(after.members.map((m: any) => m.memberId).sort(), ['dynamic', 'run-2']);
  t.equal(after.groupEpoch, before.groupEpoch);

  t.equal((await call(HEARTBEAT, 1, join('st', 'run-3', ['s'], { instanceId: 'instance-1' }))).errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
  t.equal((await call(HEARTBEAT, 1, heartbeat('st', 'run-1', epoch, { instanceId: 'instance-1' }))).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  t.equal((await call(HEARTBEAT, 1, heartbeat('st', 'run-9', 1, { instanceId: 'instance-9' }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  t.equal((await call(HEARTBEAT, 1, heartbeat('st', 'run-9', -2, { instanceId: 'instance-9' }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  // Leaving for good (-1) frees the instance ID and rebalances.
  t.equal((await call(HEARTBEAT, 1, heartbeat('st', 'run-2', -1, { instanceId: 'instance-1' }))).memberEpoch, -1);
  const gone = (await call(DESCRIBE, 1, { groupIds: ['st'], includeAuthorizedOperations: false })).groups[0];
  t.same(
    gone.members.map((m: any) => m.memberId),
    ['dynamic'],
  );
  t.equal(gone.groupEpoch, before.groupEpoch + 1);
});

t.test('session timeout removes a silent member; rebalance timeout one that does not revoke', async (t) => {
  const { broker, call } = await setup(t, { 'group.consumer.session.timeout.ms': 1500 });
  await createTopic(call, 'x', 2);
  const quiet = await call(HEARTBEAT, 1, join('sx', 'quiet', ['x']));
  t.equal(quiet.errorCode, 0);
  await sleep(2000);
  t.equal((await call(HEARTBEAT, 1, heartbeat('sx', 'quiet', quiet.memberEpoch))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const empty = (await call(DESCRIBE, 1, { groupIds: ['sx'], includeAuthorizedOperations: false })).groups[0];
  t.match(empty, { groupState: 'Empty', groupEpoch: 2, members: [] }, 'the expiry bumped the epoch');

  const slow = await call(HEARTBEAT, 1, join('rt', 'slow', ['x'], { rebalanceTimeoutMs: 300 }));
  t.equal(partitionNames(broker, slow.assignment.topicPartitions).length, 2);
  const fast = await call(HEARTBEAT, 1, join('rt', 'fast', ['x']));
  const asked = await call(HEARTBEAT, 1, heartbeat('rt', 'slow', slow.memberEpoch));
  t.equal(partitionNames(broker, asked.assignment.topicPartitions).length, 1, 'slow is asked to revoke one partition');
  await sleep(700);
  t.equal((await call(HEARTBEAT, 1, heartbeat('rt', 'slow', slow.memberEpoch))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'removed after its rebalance timeout');
  const all = await call(HEARTBEAT, 1, heartbeat('rt', 'fast', fast.memberEpoch, { topicPartitions: [] }));
  t.same(partitionNames(broker, all.assignment.topicPartitions), ['x-0', 'x-1']);
});
