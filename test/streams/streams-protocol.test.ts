// Streams groups at the protocol level (KIP-1071): StreamsGroupHeartbeat joins with a
// topology, the group waits for its source topics, the broker creates the internal topics,
// assigns tasks and moves them between members only once revoked; epochs are fenced; offsets
// are committed and fetched with member epochs; StreamsGroupDescribe, ListGroups, DescribeGroups
// and DeleteGroups see the group as Kafka's do; a requested shutdown reaches every member; a
// silent member is removed at its session timeout.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { StreamsStatus } from '../../src/streams/streams-topology.js';

const GROUP = 'app';
const TOPOLOGY = {
  epoch: 1,
  subtopologies: [
    {
      subtopologyId: '0',
      sourceTopics: ['input'],
      sourceTopicRegex: [],
      stateChangelogTopics: [],
      repartitionSinkTopics: ['app-rep'],
      repartitionSourceTopics: [],
      copartitionGroups: [],
    },
    {
      subtopologyId: '1',
      sourceTopics: [],
      sourceTopicRegex: [],
      stateChangelogTopics: [{ name: 'app-store-changelog', partitions: 0, replicationFactor: 0, topicConfigs: [{ key: 'cleanup.policy', value: 'compact' }] }],
      repartitionSinkTopics: [],
      repartitionSourceTopics: [{ name: 'app-rep', partitions: 0, replicationFactor: 0, topicConfigs: [] }],
      copartitionGroups: [],
    },
  ],
};

type Tasks = Array<{ subtopologyId: string; partitions: number[] }>;

async function setup(t: Test, config: Record<string, string | number> = {}, dataDir?: string) {
  const broker = await startTestBroker(t, { config: { 'group.streams.session.timeout.ms': 30000, ...config }, ...(dataDir !== undefined ? { dataDir } : {}) });
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  let correlation = 1;
  const call = async (apiKey: number, version: number, body: unknown): Promise<any> => (await client.request(apiKey, version, body, correlation++)).body;
  const createTopic = (name: string, partitions: number) =>
    call(19, 5, { topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  const heartbeat = (memberId: string, memberEpoch: number, fields: Record<string, unknown> = {}) =>
    call(88, 0, {
      groupId: GROUP,
      memberId,
      memberEpoch,
      endpointInformationEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: memberEpoch === 0 ? 10000 : -1,
      topology: memberEpoch === 0 ? TOPOLOGY : null,
      activeTasks: memberEpoch === 0 ? [] : null,
      standbyTasks: memberEpoch === 0 ? [] : null,
      warmupTasks: memberEpoch === 0 ? [] : null,
      processId: memberEpoch === 0 ? `process-${memberId}` : null,
      userEndpoint: null,
      clientTags: null,
      taskOffsets: null,
      taskEndOffsets: null,
      shutdownApplication: false,
      ...fields,
    });
  const describe = async (groupId = GROUP) => (await call(89, 0, { groupIds: [groupId], includeAuthorizedOperations: false })).groups[0];
  return { broker, client, call, createTopic, heartbeat, describe };
}

const count = (tasks: Tasks | null) => (tasks ?? []).reduce((sum, task) => sum + task.partitions.length, 0);

t.test('join, wait for the source topic, internal topics, tasks handed over only once revoked', async (t) => {
  const { broker, call, createTopic, heartbeat, describe } = await setup(t);

  const early = await heartbeat('m1', 0);
  t.equal(early.errorCode, ErrorCode.NONE);
  t.same(
    early.status.map((s: { statusCode: number }) => s.statusCode),
    [StreamsStatus.MISSING_SOURCE_TOPICS],
    'the source topic is missing',
  );
  t.match(early.status[0].statusDetail, /input/);
  t.same(early.activeTasks, [], 'no tasks yet');
  t.equal((await describe()).groupState, 'NotReady');

  await createTopic('input', 2);
  const ready = await heartbeat('m1', early.memberEpoch);
  t.same(ready.status, [], 'ready once the topic exists');
  t.ok(ready.memberEpoch > early.memberEpoch, 'the topic change bumped the epoch');
  t.same(
    ready.activeTasks,
    [
      { subtopologyId: '0', partitions: [0, 1] },
      { subtopologyId: '1', partitions: [0, 1] },
    ],
    'all four tasks to the only member',
  );
  t.equal(broker.logs.topic('app-rep')?.partitions.length, 2, "the repartition topic was created with the source topic's partitions");
  t.equal(broker.logs.topic('app-store-changelog')?.partitions.length, 2, 'the changelog too');
  t.equal(broker.logs.topic('app-store-changelog')?.configs['cleanup.policy'], 'compact', 'with the configs the topology asked for');

  // A second member: it gets tasks only once the first has revoked them.
  const joined = await heartbeat('m2', 0);
  t.same(joined.activeTasks, [], 'nothing yet: the first member still runs every task');
  const revoking = await heartbeat('m1', ready.memberEpoch);
  t.equal(revoking.memberEpoch, ready.memberEpoch, 'the first member stays at its epoch while it revokes');
  t.equal(count(revoking.activeTasks), 2, 'and keeps two tasks');
  const d1 = await describe();
  t.equal(d1.groupState, 'Reconciling');
  t.equal(
    d1.members.find((m: { memberId: string }) => m.memberId === 'm2').targetAssignment.activeTasks.reduce((s: number, x: { partitions: number[] }) => s + x.partitions.length, 0),
    2,
    'the target gives the second member two tasks',
  );
  t.same((await heartbeat('m2', joined.memberEpoch)).activeTasks, null, 'still withheld while they are revoked');
  const revoked = await heartbeat('m1', revoking.memberEpoch, { activeTasks: revoking.activeTasks, standbyTasks: [], warmupTasks: [] });
  t.ok(revoked.memberEpoch > revoking.memberEpoch, 'having revoked, the first member moves to the new epoch');
  const second = await heartbeat('m2', joined.memberEpoch);
  t.equal(count(second.activeTasks), 2, 'the second member gets the released tasks');
  const owned = new Set(
    [...revoking.activeTasks, ...second.activeTasks].flatMap((task: { subtopologyId: string; partitions: number[] }) => task.partitions.map((p) => `${task.subtopologyId}_${p}`)),
  );
  t.equal(owned.size, 4, 'every task active exactly once');
  await heartbeat('m2', second.memberEpoch, { activeTasks: second.activeTasks, standbyTasks: [], warmupTasks: [] });
  const stable = await describe();
  t.equal(stable.groupState, 'Stable');
  t.same(stable.members.map((m: { processId: string }) => m.processId).sort(), ['process-m1', 'process-m2']);
  t.same(stable.topology.subtopologies[0].sourceTopics, ['input']);

  // Epochs.
  t.equal((await heartbeat('m1', revoked.memberEpoch + 5)).errorCode, ErrorCode.FENCED_MEMBER_EPOCH, 'a future epoch is fenced');
  t.equal((await heartbeat('m1', 1)).errorCode, ErrorCode.FENCED_MEMBER_EPOCH, 'an old epoch is fenced');
  t.equal((await heartbeat('nobody', 3)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

  // Offsets with member epochs (OffsetCommit v9, OffsetFetch v9).
  const commit = (memberId: string, epoch: number) =>
    call(8, 9, {
      groupId: GROUP,
      generationIdOrMemberEpoch: epoch,
      memberId,
      groupInstanceId: null,
      topics: [{ name: 'input', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
  t.equal((await commit('m1', revoked.memberEpoch - 1)).topics[0].partitions[0].errorCode, ErrorCode.STALE_MEMBER_EPOCH, 'a stale epoch cannot commit');
  t.equal((await commit('m1', revoked.memberEpoch)).topics[0].partitions[0].errorCode, ErrorCode.NONE, 'the current epoch commits');
  t.equal((await commit('ghost', revoked.memberEpoch)).topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const fetch = (memberId: string, epoch: number) => call(9, 9, { groups: [{ groupId: GROUP, memberId, memberEpoch: epoch, topics: null }], requireStable: false });
  t.equal((await fetch('m1', revoked.memberEpoch - 1)).groups[0].errorCode, ErrorCode.STALE_MEMBER_EPOCH);
  t.equal((await fetch('m1', revoked.memberEpoch)).groups[0].topics[0].partitions[0].committedOffset, 5n);
  t.equal((await fetch('ghost', 1)).groups[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

  // The other group APIs.
  const listed = await call(16, 5, { statesFilter: [], typesFilter: ['streams'] });
  t.same(listed.groups, [{ groupId: GROUP, protocolType: 'streams', groupState: 'Stable', groupType: 'streams' }], 'ListGroups with the streams type');
  const classic = await call(15, 6, { groups: [GROUP], includeAuthorizedOperations: false });
  t.equal(classic.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'DescribeGroups: not a classic group');
  const consumer = await call(68, 1, {
    groupId: GROUP,
    memberId: 'c1',
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 1000,
    subscribedTopicNames: ['input'],
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
  });
  t.equal(consumer.errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'a consumer group cannot take the ID');
  t.match(consumer.errorMessage, /not a consumer group/);
  t.equal((await call(42, 2, { groupsNames: [GROUP] })).results[0].errorCode, ErrorCode.NON_EMPTY_GROUP, 'DeleteGroups refuses a group with members');
  const deleteOffsets = await call(47, 0, { groupId: GROUP, topics: [{ name: 'input', partitions: [{ partitionIndex: 0 }] }] });
  t.equal(deleteOffsets.topics[0].partitions[0].errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, 'OffsetDelete keeps the offsets of a topic the group reads');

  // A member asks for the application to shut down: every member hears of it.
  const asking = await heartbeat('m2', second.memberEpoch, { shutdownApplication: true });
  t.ok(asking.status.some((s: { statusCode: number }) => s.statusCode === StreamsStatus.SHUTDOWN_APPLICATION));
  const told = await heartbeat('m1', revoked.memberEpoch);
  t.ok(
    told.status.some((s: { statusCode: number }) => s.statusCode === StreamsStatus.SHUTDOWN_APPLICATION),
    'the other member is told to shut down',
  );

  // Leaving, then deleting.
  t.equal((await heartbeat('m1', -1)).errorCode, ErrorCode.NONE);
  t.equal((await heartbeat('m2', -1)).errorCode, ErrorCode.NONE);
  t.equal((await heartbeat('m2', -1)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'a member cannot leave twice');
  t.equal((await describe()).groupState, 'Empty');
  t.equal((await call(42, 2, { groupsNames: [GROUP] })).results[0].errorCode, ErrorCode.NONE, 'an empty group is deleted');
  t.equal((await describe()).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

t.test('requests Kafka refuses, and topologies that cannot run', async (t) => {
  const { call, createTopic, heartbeat, describe } = await setup(t);
  await createTopic('input', 2);
  t.equal((await heartbeat('m1', 0, { topology: null })).errorCode, ErrorCode.INVALID_REQUEST, 'joining needs a topology');
  t.equal((await heartbeat('m1', 0, { processId: null })).errorCode, ErrorCode.INVALID_REQUEST, 'and a process ID');
  t.equal((await heartbeat('m1', 0, { rebalanceTimeoutMs: -1 })).errorCode, ErrorCode.INVALID_REQUEST, 'and a rebalance timeout');
  t.equal((await heartbeat('m1', 0, { activeTasks: [{ subtopologyId: '0', partitions: [0] }] })).errorCode, ErrorCode.INVALID_REQUEST, 'and no owned tasks');
  t.equal((await heartbeat('', 0)).errorCode, ErrorCode.INVALID_REQUEST, "the member ID is the client's");
  t.equal((await heartbeat('m1', 0, { instanceId: ' ' })).errorCode, ErrorCode.INVALID_REQUEST, 'a blank instance ID');
  t.equal((await heartbeat('m1', -3)).errorCode, ErrorCode.INVALID_REQUEST, 'an epoch below -2');
  t.equal((await heartbeat('m1', 4)).errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'heartbeating a group that does not exist');
  t.equal((await heartbeat('m1', -1)).errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'leaving a group that does not exist');
  const broken = { epoch: 1, subtopologies: [{ ...TOPOLOGY.subtopologies[0]!, repartitionSinkTopics: ['nowhere'] }] };
  const refused = await heartbeat('m1', 0, { topology: broken });
  t.equal(refused.errorCode, ErrorCode.STREAMS_INVALID_TOPOLOGY, 'a repartition sink nobody reads is an invalid topology');
  t.match(refused.errorMessage, /nowhere/);

  // Copartitioned sources with different partition counts.
  await createTopic('other', 3);
  const joinedTopology = {
    epoch: 1,
    subtopologies: [
      {
        subtopologyId: '0',
        sourceTopics: ['input', 'other'],
        sourceTopicRegex: [],
        stateChangelogTopics: [],
        repartitionSinkTopics: [],
        repartitionSourceTopics: [],
        copartitionGroups: [{ sourceTopics: [0, 1], sourceTopicRegex: [], repartitionSourceTopics: [] }],
      },
    ],
  };
  const join = await heartbeat('m1', 0, { topology: joinedTopology });
  t.same(
    join.status.map((s: { statusCode: number }) => s.statusCode),
    [StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS],
    'copartitioned topics must agree',
  );
  t.equal((await describe()).groupState, 'NotReady');

  // A newer topology epoch replaces the group's; an older member is told its topology is stale.
  const fixed = { epoch: 2, subtopologies: [{ ...joinedTopology.subtopologies[0]!, sourceTopicRegex: ['oth.*'], sourceTopics: ['input'], copartitionGroups: [] }] };
  const upgraded = await heartbeat('m2', 0, { topology: fixed });
  t.same(upgraded.status, [], 'the new topology runs');
  t.ok(count(upgraded.activeTasks) >= 1, 'it gets its share at once: the first member had no tasks to give up');
  const stale = await heartbeat('m1', join.memberEpoch);
  t.ok(
    stale.status.some((s: { statusCode: number }) => s.statusCode === StreamsStatus.STALE_TOPOLOGY),
    'the first member runs a stale topology',
  );
  const described = await describe();
  t.equal(described.topology.epoch, 2);
  t.same(described.topology.subtopologies[0].sourceTopics, ['input', 'other'], 'the regex resolved to the topic');

  // Kinds of groups share one ID space.
  await call(68, 1, {
    groupId: 'consumers',
    memberId: 'c1',
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 1000,
    subscribedTopicNames: ['input'],
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
  });
  const clash = await call(88, 0, {
    groupId: 'consumers',
    memberId: 's1',
    memberEpoch: 0,
    endpointInformationEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 1000,
    topology: TOPOLOGY,
    activeTasks: [],
    standbyTasks: [],
    warmupTasks: [],
    processId: 'p',
    userEndpoint: null,
    clientTags: null,
    taskOffsets: null,
    taskEndOffsets: null,
    shutdownApplication: false,
  });
  t.equal(clash.errorCode, ErrorCode.GROUP_ID_NOT_FOUND, "a consumer group's ID is not a streams group");
  const describeOther = await describe('consumers');
  t.equal(describeOther.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  t.match(describeOther.errorMessage, /not a streams group/);
  t.equal((await call(89, 0, { groupIds: [''], includeAuthorizedOperations: false })).groups[0].errorCode, ErrorCode.INVALID_GROUP_ID);

  // kafka-features downgrade streams.version 0: the protocol is off, as in Kafka.
  t.equal((await call(57, 2, { timeoutMs: 1000, featureUpdates: [{ feature: 'streams.version', maxVersionLevel: 0, upgradeType: 2 }], validateOnly: false })).errorCode, 0);
  const off = await heartbeat('m3', 0);
  t.equal(off.errorCode, ErrorCode.UNSUPPORTED_VERSION, 'streams.version 0 turns streams groups off');
  t.match(off.errorMessage, /streams.version/);
});

t.test('interactive-query endpoints, standby tasks and the session timeout', async (t) => {
  const { createTopic, heartbeat, describe } = await setup(t, { 'group.streams.session.timeout.ms': 1500, 'group.streams.num.standby.replicas': 1 });
  await createTopic('input', 2);
  const endpoint = { host: 'app-1.local', port: 7070 };
  const one = await heartbeat('m1', 0, { userEndpoint: endpoint });
  t.equal(count(one.activeTasks), 4, 'a single member runs everything');
  t.same(one.standbyTasks, [], 'and no standby: there is no other process for it');
  t.ok(one.endpointInformationEpoch > 0, 'the endpoint information has an epoch');
  const owners = one.partitionsByUserEndpoint;
  t.same(owners[0].userEndpoint, endpoint);
  t.same(
    owners[0].activePartitions.map((p: { topic: string }) => p.topic),
    ['app-rep', 'app-store-changelog', 'input'],
    'the endpoint serves the partitions of its tasks',
  );
  t.same(
    (await heartbeat('m1', one.memberEpoch, { endpointInformationEpoch: one.endpointInformationEpoch })).partitionsByUserEndpoint,
    null,
    'sent only when the client is behind',
  );

  const two = await heartbeat('m2', 0);
  const revoking = await heartbeat('m1', one.memberEpoch);
  await heartbeat('m1', revoking.memberEpoch, { activeTasks: revoking.activeTasks, standbyTasks: [], warmupTasks: [] });
  const second = await heartbeat('m2', two.memberEpoch);
  t.equal(count(second.activeTasks), 2);
  t.equal(count(second.standbyTasks), 2, "the second process keeps standbys of the first one's tasks");

  // m1 stops heartbeating; after the session timeout m2 runs everything.
  const deadline = Date.now() + 10_000;
  let latest = second;
  while (Date.now() < deadline) {
    await sleep(300);
    latest = await heartbeat('m2', latest.memberEpoch, { activeTasks: latest.activeTasks ?? undefined, standbyTasks: [], warmupTasks: [] });
    if (count(latest.activeTasks) === 4) break;
  }
  t.equal(count(latest.activeTasks), 4, "the silent member's tasks moved at its session timeout");
  t.same(
    (await describe()).members.map((m: { memberId: string }) => m.memberId),
    ['m2'],
  );
});

t.test('after a broker restart the members rejoin and the committed offsets are there', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-streams-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const commit = { topics: [{ name: 'input', partitions: [{ partitionIndex: 1, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: null }] }] };
  let epoch: number;
  {
    const first = await setup(t, {}, dataDir);
    await first.createTopic('input', 2);
    epoch = (await first.heartbeat('m1', 0)).memberEpoch;
    const committed = await first.call(8, 9, { groupId: GROUP, generationIdOrMemberEpoch: epoch, memberId: 'm1', groupInstanceId: null, ...commit });
    t.equal(committed.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    first.client.close();
    await first.broker.stop();
  }
  const second = await setup(t, {}, dataDir);
  t.equal((await second.heartbeat('m1', epoch)).errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'the membership was not kept');
  const rejoined = await second.heartbeat('m1', 0);
  t.equal(rejoined.errorCode, ErrorCode.NONE, 'the member rejoins the group holding the offsets');
  t.equal(count(rejoined.activeTasks), 4, 'and gets its tasks again');
  const fetched = await second.call(9, 9, { groups: [{ groupId: GROUP, memberId: 'm1', memberEpoch: rejoined.memberEpoch, topics: null }], requireStable: false });
  t.same(
    fetched.groups[0].topics[0].partitions.map((p: { partitionIndex: number; committedOffset: bigint }) => [p.partitionIndex, p.committedOffset]),
    [[1, 42n]],
    'the committed offset survived',
  );
});

t.test('a member that keeps heartbeating but never revokes is removed at its rebalance timeout', async (t) => {
  const { createTopic, heartbeat } = await setup(t);
  await createTopic('input', 2);
  const one = await heartbeat('m1', 0, { rebalanceTimeoutMs: 600 });
  const two = await heartbeat('m2', 0);
  const revoking = await heartbeat('m1', one.memberEpoch);
  t.equal(count(revoking.activeTasks), 2, 'asked to give up two tasks');
  let fenced = false;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && !fenced) {
    await sleep(150);
    // It still reports every task it had: the revocation never happens.
    const beat = await heartbeat('m1', one.memberEpoch, { activeTasks: one.activeTasks, standbyTasks: [], warmupTasks: [] });
    fenced = beat.errorCode === ErrorCode.UNKNOWN_MEMBER_ID;
  }
  t.ok(fenced, 'removed although it heartbeats');
  const rest = await heartbeat('m2', two.memberEpoch);
  t.equal(count(rest.activeTasks), 4, 'the other member gets every task');
});
