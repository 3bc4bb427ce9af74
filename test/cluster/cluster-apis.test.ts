// The cluster-wide admin APIs over the raw protocol against a one-process cluster:
// DescribeTopicPartitions paging and errors, AlterPartitionReassignments /
// ListPartitionReassignments with Kafka's errors and an ongoing move, ElectLeaders'
// answers, DescribeQuorum's fields, KIP-951 leader hints in Fetch, and broker.rack with
// rack-aware placement reported by Metadata and DescribeCluster.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../helpers/raw-client.js';
import { startTestCluster, waitFor } from '../helpers/cluster.js';

async function createTopic(client: RawClient, name: string, assignments: number[][]) {
  const response = await client.request(19, 5, {
    topics: [{ name, numPartitions: -1, replicationFactor: -1, assignments: assignments.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })), configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  return response.body.topics[0];
}

const describeTopicPartitions = async (client: RawClient, topics: string[], responsePartitionLimit: number, cursor: { topicName: string; partitionIndex: number } | null = null) =>
  (await client.request(75, 0, { topics: topics.map((name) => ({ name })), responsePartitionLimit, cursor })).body;

t.test('DescribeTopicPartitions: sorted topics, pages of partitions with a cursor, errors', async (t) => {
  const cluster = await startTestCluster(t);
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  t.match(
    await createTopic(client, 'pages-b', [
      [0, 1],
      [1, 2],
      [2, 0],
    ]),
    { errorCode: 0 },
  );
  t.match(await createTopic(client, 'pages-a', [[2, 1]]), { errorCode: 0 });

  const first = await describeTopicPartitions(client, ['pages-b', 'missing', 'pages-a'], 2);
  t.same(
    first.topics.map((topic: any) => [topic.name, topic.errorCode, topic.partitions.map((p: any) => p.partitionIndex)]),
    [
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
      ['pages-a', 0, [0]],
      ['pages-b', 0, [0]],
    ],
    'topics in name order, at most 2 partitions, unknown ones named with an error',
  );
  t.same(first.nextCursor, { topicName: 'pages-b', partitionIndex: 1 }, 'the cursor names the next partition');
  t.match(first.topics[1].partitions[0], {
    leaderId: 2,
    leaderEpoch: 0,
    replicaNodes: [2, 1],
    isrNodes: [2, 1],
    eligibleLeaderReplicas: [],
    lastKnownElr: [],
    offlineReplicas: [],
  });
  t.not(first.topics[1].topicAuthorizedOperations, -2147483648, 'the authorized operations are filled in');
  t.ok(first.topics[1].topicId.equals(cluster.store.topic('pages-a')!.id));

  const second = await describeTopicPartitions(client, ['pages-b', 'pages-a'], 2, first.nextCursor);
  t.same(
    second.topics.map((topic: any) => [topic.name, topic.partitions.map((p: any) => p.partitionIndex)]),
    [['pages-b', [1, 2]]],
    'the second page starts at the cursor',
  );
  t.equal(second.nextCursor, null, 'and is the last');

  const everything = await describeTopicPartitions(client, [], 2000);
  t.ok(
    everything.topics.some((topic: any) => topic.name === '__consumer_offsets' && topic.isInternal),
    'no topics named: every topic, internal ones marked',
  );
  const names = everything.topics.map((topic: any) => topic.name);
  t.same(names, [...names].sort(), 'in name order');
  const exact = await describeTopicPartitions(client, ['pages-a', 'pages-b'], 1);
  t.same(exact.nextCursor, { topicName: 'pages-b', partitionIndex: 0 }, 'a full page ending with a topic names the next topic');

  const foreign = await describeTopicPartitions(client, ['pages-a'], 10, { topicName: 'pages-b', partitionIndex: 0 });
  t.same(
    foreign.topics.map((topic: any) => [topic.name, topic.errorCode]),
    [['pages-a', ErrorCode.INVALID_REQUEST]],
    'a cursor outside the topic list is INVALID_REQUEST',
  );
  const negative = await describeTopicPartitions(client, ['pages-a'], 10, { topicName: 'pages-a', partitionIndex: -1 });
  t.equal(negative.topics[0].errorCode, ErrorCode.INVALID_REQUEST, 'so is a negative cursor partition');

  await cluster.stopBroker(2);
  const offline = await describeTopicPartitions(client, ['pages-b'], 10);
  t.match(offline.topics[0].partitions[1], { leaderId: 1, isrNodes: [1], offlineReplicas: [2] }, 'a stopped broker is an offline replica and leaves the ISR');
});

t.test('AlterPartitionReassignments / ListPartitionReassignments: errors, an ongoing move, cancellation', async (t) => {
  const cluster = await startTestCluster(t);
  const client = await RawClient.connect(cluster.broker(1).bootstrap);
  t.teardown(() => client.close());
  t.match(await createTopic(client, 'moves', [[0, 1]]), { errorCode: 0 });
  const alter = async (partitions: Array<{ topic: string; partitionIndex: number; replicas: number[] | null }>, allowReplicationFactorChange = true) => {
    const body = (
      await client.request(45, 1, {
        timeoutMs: 5000,
        allowReplicationFactorChange,
        topics: partitions.map((entry) => ({ name: entry.topic, partitions: [{ partitionIndex: entry.partitionIndex, replicas: entry.replicas }] })),
      })
    ).body;
    t.equal(body.errorCode, 0);
    return body.responses.map((topic: any) => topic.partitions[0]);
  };
  const list = async (topics: Array<{ name: string; partitionIndexes: number[] }> | null = null) => (await client.request(46, 0, { timeoutMs: 5000, topics })).body;

  const refused = await alter([
    { topic: 'moves', partitionIndex: 0, replicas: [0, 9] },
    { topic: 'moves', partitionIndex: 0, replicas: [] },
    { topic: 'moves', partitionIndex: 0, replicas: [2, 2] },
    { topic: 'moves', partitionIndex: 5, replicas: [0, 1] },
    { topic: 'nowhere', partitionIndex: 0, replicas: [0, 1] },
    { topic: 'moves', partitionIndex: 0, replicas: null },
  ]);
  t.match(refused[0], { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: /broker 9, but no such broker is registered/ }, 'a broker that does not exist');
  t.match(refused[1], { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: /empty replica list/ });
  t.match(refused[2], { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: /more than once/ });
  t.equal(refused[3].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'a partition that does not exist');
  t.equal(refused[4].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'a topic that does not exist');
  t.equal(refused[5].errorCode, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'cancelling nothing');
  t.equal((await alter([{ topic: 'moves', partitionIndex: 0, replicas: [2] }], false))[0].errorCode, ErrorCode.INVALID_REPLICATION_FACTOR, 'v1: the factor may not change');
  t.same((await list()).topics, [], 'nothing is being moved');

  // Broker 7 is registered but never fetches: a move to it stays under way.
  await cluster.store.registerBroker({ nodeId: 7, endpoints: [{ listener: 'PLAINTEXT', host: '127.0.0.1', port: 1 }], rack: null });
  t.equal((await alter([{ topic: 'moves', partitionIndex: 0, replicas: [7, 1] }]))[0].errorCode, ErrorCode.NONE);
  const ongoing = await list();
  t.same(
    ongoing.topics,
    [{ name: 'moves', partitions: [{ partitionIndex: 0, replicas: [7, 1, 0], addingReplicas: [7], removingReplicas: [0] }] }],
    'listed with the replicas being added and removed',
  );
  t.same(
    (
      await list([
        { name: 'moves', partitionIndexes: [0, 3] },
        { name: 'nowhere', partitionIndexes: [0] },
      ])
    ).topics.map((topic: any) => [topic.name, topic.partitions.length]),
    [['moves', 1]],
    'named partitions: unknown ones left out',
  );
  const during = cluster.store.partitionState('moves', 0)!;
  t.match(during, { leader: 0, replicas: [7, 1, 0], isr: [0, 1] }, 'the old leader leads while the new replica catches up');

  t.equal((await alter([{ topic: 'moves', partitionIndex: 0, replicas: null }]))[0].errorCode, ErrorCode.NONE, 'cancelled');
  // As in KRaft, the original replicas are the current ones less the added ones, in the current order.
  t.match(cluster.store.partitionState('moves', 0)!, { leader: 0, replicas: [1, 0], isr: [0, 1] }, 'back to the original replicas');
  t.same((await list()).topics, []);

  // A move that copies nothing (a replica dropped) completes at once, leadership moving off the removed leader.
  t.equal((await alter([{ topic: 'moves', partitionIndex: 0, replicas: [1] }]))[0].errorCode, ErrorCode.NONE);
  t.match(cluster.store.partitionState('moves', 0)!, { leader: 1, leaderEpoch: 1, replicas: [1], isr: [1] });
  // And a real one: broker 2 is added, catches up through its fetcher, and the move completes.
  t.equal((await alter([{ topic: 'moves', partitionIndex: 0, replicas: [1, 2] }]))[0].errorCode, ErrorCode.NONE);
  await waitFor('the move to [1,2] to complete', () => cluster.store.partitionState('moves', 0)!.addingReplicas === undefined);
  t.match(cluster.store.partitionState('moves', 0)!, { leader: 1, replicas: [1, 2], isr: [1, 2] });
});

t.test('ElectLeaders: answers for named, unknown and all partitions', async (t) => {
  const cluster = await startTestCluster(t);
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  t.match(
    await createTopic(client, 'leaders', [
      [1, 0],
      [2, 0],
    ]),
    { errorCode: 0 },
  );
  const elect = async (electionType: number, topicPartitions: Array<{ topic: string; partitions: number[] }> | null) =>
    (await client.request(43, 2, { electionType, topicPartitions, timeoutMs: 5000 })).body;

  const named = await elect(0, [
    { topic: 'leaders', partitions: [0, 7] },
    { topic: 'unknown', partitions: [0] },
  ]);
  t.same(
    named.replicaElectionResults.map((topic: any) => topic.partitionResult.map((p: any) => [p.partitionId, p.errorCode])),
    [
      [
        [0, ErrorCode.ELECTION_NOT_NEEDED],
        [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
      [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
    ],
  );
  t.equal(
    (await elect(1, [{ topic: 'leaders', partitions: [0] }])).replicaElectionResults[0].partitionResult[0].errorCode,
    ErrorCode.ELECTION_NOT_NEEDED,
    'unclean with a live leader',
  );
  t.equal((await elect(5, null)).errorCode, ErrorCode.INVALID_REQUEST, 'an unknown election type');

  await cluster.stopBroker(2);
  t.equal(cluster.leaderOf('leaders', 1), 0);
  t.equal(
    (await elect(0, [{ topic: 'leaders', partitions: [1] }])).replicaElectionResults[0].partitionResult[0].errorCode,
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    'the preferred replica is down',
  );
  await cluster.startBroker(2);
  await waitFor('broker 2 back in the ISR', () => cluster.store.partitionState('leaders', 1)!.isr.includes(2));
  const all = (await elect(0, null)).replicaElectionResults;
  t.ok(
    all.every((topic: any) => topic.partitionResult.every((p: any) => p.errorCode === ErrorCode.NONE)),
    'all partitions: only those elected are answered',
  );
  t.same(
    all.find((topic: any) => topic.topic === 'leaders')?.partitionResult.map((p: any) => p.partitionId),
    [1],
    'leaders-1 was elected, leaders-0 needed nothing',
  );
  t.equal(cluster.leaderOf('leaders', 1), 2, 'the preferred replica leads again');

  await cluster.stopBroker(2);
  await cluster.stopBroker(1);
  const none = await elect(1, [{ topic: 'leaders', partitions: [0] }]);
  t.equal(none.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.ELECTION_NOT_NEEDED, 'broker 0 took over leaders-0');
});

t.test('DescribeQuorum: the controller as voter, the other brokers as observers', async (t) => {
  const cluster = await startTestCluster(t);
  const client = await RawClient.connect(cluster.broker(2).bootstrap);
  t.teardown(() => client.close());
  const body = (await client.request(55, 2, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] })).body;
  t.equal(body.errorCode, 0);
  const partition = body.topics[0].partitions[0];
  t.match(partition, { errorCode: 0, leaderId: 0 });
  t.ok(partition.leaderEpoch >= 1);
  t.ok(partition.highWatermark > 0n, 'the high watermark counts the metadata changes');
  t.same(
    partition.currentVoters.map((voter: any) => voter.replicaId),
    [0],
  );
  t.same(
    partition.observers.map((observer: any) => observer.replicaId),
    [1, 2],
  );
  for (const replica of [...partition.currentVoters, ...partition.observers])
    t.equal(replica.logEndOffset, partition.highWatermark, `broker ${replica.replicaId} applied every change`);
  t.same(body.nodes, [{ nodeId: 0, listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: cluster.broker(0).port }] }], "v2: the voter's endpoints");
  const wrong = (await client.request(55, 2, { topics: [{ topicName: 'other', partitions: [{ partitionIndex: 0 }] }] })).body;
  t.equal(wrong.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'only __cluster_metadata-0 is described');

  await cluster.stopBroker(0);
  const moved = (await client.request(55, 1, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] })).body.topics[0].partitions[0];
  t.equal(moved.leaderId, 1, 'the next controller leads');
  t.ok(moved.leaderEpoch > partition.leaderEpoch, 'at a higher epoch');
  t.ok(moved.highWatermark > partition.highWatermark);
});

t.test('KIP-951: a Fetch at a follower names the leader and its endpoint', async (t) => {
  const cluster = await startTestCluster(t);
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  t.match(await createTopic(client, 'hinted', [[2, 0]]), { errorCode: 0 });
  const topicId = cluster.store.topic('hinted')!.id;
  const fetch = async (version: number) =>
    (
      await client.request(1, version, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: 'hinted',
            topicId,
            partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      })
    ).body;
  const answer = await fetch(16);
  const partition = answer.responses[0].partitions[0];
  t.equal(partition.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  t.same(partition.currentLeader, { leaderId: 2, leaderEpoch: 0 }, 'the current leader and epoch');
  t.same(
    answer.nodeEndpoints.map((node: any) => [node.nodeId, node.host, node.port]),
    [[2, '127.0.0.1', cluster.broker(2).port]],
    'and how to reach it',
  );
  const old = await fetch(11);
  t.equal(old.responses[0].partitions[0].errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'older versions get the error alone');
});

t.test('broker.rack: rack-aware placement over 6 brokers, racks in Metadata and DescribeCluster', async (t) => {
  const racks = ['east', 'east', 'west', 'west', 'north', 'north'];
  const cluster = await startTestCluster(t, { brokers: 6, brokerConfig: (nodeId) => ({ 'broker.rack': racks[nodeId]! }) });
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  const created = (
    await client.request(19, 5, {
      topics: [
        { name: 'racked', numPartitions: 6, replicationFactor: 3, assignments: [], configs: [] },
        { name: 'racked-two', numPartitions: 6, replicationFactor: 2, assignments: [], configs: [] },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    })
  ).body.topics;
  t.same(
    created.map((topic: any) => topic.errorCode),
    [0, 0],
  );
  for (const [topic, factor] of [
    ['racked', 3],
    ['racked-two', 2],
  ] as const) {
    const leaders = new Set<number>();
    for (let index = 0; index < 6; index++) {
      const replicas = cluster.store.partitionState(topic, index)!.replicas;
      t.equal(new Set(replicas.map((id) => racks[id])).size, factor, `${topic}-${index} [${replicas.join(',')}] spans ${factor} racks`);
      leaders.add(replicas[0]!);
    }
    t.equal(leaders.size, 6, `${topic}: every broker leads one partition`);
  }
  const metadata = (await client.request(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).body;
  t.same(
    metadata.brokers.map((broker: any) => [broker.nodeId, broker.rack]),
    racks.map((rack, nodeId) => [nodeId, rack]),
    "Metadata reports each broker's rack",
  );
  const described = (await client.request(60, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 })).body;
  t.same(
    described.brokers.map((broker: any) => [broker.brokerId, broker.rack]),
    racks.map((rack, nodeId) => [nodeId, rack]),
    'so does DescribeCluster',
  );
});

t.test('auto.leader.rebalance.enable: a returning preferred replica leads again on its own', async (t) => {
  const cluster = await startTestCluster(t, { config: { 'leader.imbalance.check.interval.seconds': 1, 'replica.lag.time.max.ms': 2000 } });
  const client = await RawClient.connect(cluster.broker(0).bootstrap);
  t.teardown(() => client.close());
  t.match(await createTopic(client, 'balanced', [[1, 0, 2]]), { errorCode: 0 });
  await cluster.stopBroker(1);
  t.equal(cluster.leaderOf('balanced', 0), 0);
  await cluster.startBroker(1);
  await waitFor('broker 1 leading balanced-0 again', () => cluster.leaderOf('balanced', 0) === 1, 30_000);
  t.equal(cluster.store.partitionState('balanced', 0)!.leaderEpoch, 2, 'one election away and one back');
});
