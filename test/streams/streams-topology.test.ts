// Streams topology configuration (partition counts of repartition and changelog topics,
// copartitioning, missing and misshapen topics) and the sticky task assignor, without a broker.

import t from 'tap';
import { configureTopology, StreamsStatus, topologyProblem, type TopicLookup } from '../../src/streams/streams-topology.js';
import { assignTasks } from '../../src/streams/streams-assignor.js';
import { EMPTY_TUPLE, type Subtopology, type Tasks, type TasksTuple } from '../../src/streams/streams-group.js';

const lookup = (topics: Record<string, number>): TopicLookup => ({
  topic: (name) => (topics[name] === undefined ? undefined : { partitions: topics[name]!, id: `id-${name}` }),
  names: () => Object.keys(topics),
});

const sub = (id: string, fields: Partial<Subtopology>): Subtopology => ({
  subtopologyId: id,
  sourceTopics: [],
  sourceTopicRegex: [],
  stateChangelogTopics: [],
  repartitionSinkTopics: [],
  repartitionSourceTopics: [],
  copartitionGroups: [],
  ...fields,
});
const info = (name: string, partitions = 0) => ({ name, partitions, replicationFactor: 0, topicConfigs: [] });

t.test('repartition counts follow their writers through a chain; changelogs follow their tasks', async (t) => {
  const topology = {
    epoch: 0,
    subtopologies: [
      sub('0', { sourceTopics: ['in'], repartitionSinkTopics: ['r1'] }),
      sub('1', { repartitionSourceTopics: [info('r1')], repartitionSinkTopics: ['r2'], stateChangelogTopics: [info('c1')] }),
      sub('2', { repartitionSourceTopics: [info('r2')], stateChangelogTopics: [info('c2')] }),
    ],
  };
  t.equal(topologyProblem(topology), undefined);
  const configured = configureTopology(topology, lookup({ in: 4 }));
  t.same(
    configured.statuses.map((s) => s.statusCode),
    [StreamsStatus.MISSING_INTERNAL_TOPICS],
  );
  t.same(Object.fromEntries(configured.toCreate.map((topic) => [topic.name, topic.partitions])), { c1: 4, c2: 4, r1: 4, r2: 4 });
  t.equal(configured.toCreate[0]!.replicationFactor, -1, 'replication factor 0 is the broker default');
  const ready = configureTopology(topology, lookup({ in: 4, r1: 4, r2: 4, c1: 4, c2: 4 }));
  t.same(
    [...ready.taskCounts!],
    [
      ['0', 4],
      ['1', 4],
      ['2', 4],
    ],
  );
  t.not(ready.metadataHash, configured.metadataHash, 'the hash changes with the topics');
  const wrong = configureTopology(topology, lookup({ in: 4, r1: 4, r2: 4, c1: 2, c2: 4 }));
  t.same(
    wrong.statuses.map((s) => s.statusCode),
    [StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS],
  );
  t.match(wrong.statuses[0]!.statusDetail, /c1 \(2 partitions, 4 needed\)/);
});

t.test('fixed counts, copartition groups and regexes', async (t) => {
  const fixed = configureTopology(
    { epoch: 0, subtopologies: [sub('0', { sourceTopics: ['in'], repartitionSinkTopics: ['r'] }), sub('1', { repartitionSourceTopics: [info('r', 7)] })] },
    lookup({ in: 2 }),
  );
  t.same(
    fixed.toCreate.map((topic) => [topic.name, topic.partitions]),
    [['r', 7]],
    'a fixed count wins',
  );

  const copartitioned = {
    epoch: 0,
    subtopologies: [
      sub('0', { sourceTopics: ['left'], repartitionSinkTopics: ['r'] }),
      sub('1', { sourceTopics: ['right'], repartitionSourceTopics: [info('r')], copartitionGroups: [{ sourceTopics: [0], sourceTopicRegex: [], repartitionSourceTopics: [0] }] }),
    ],
  };
  t.same(
    configureTopology(copartitioned, lookup({ left: 8, right: 3 })).toCreate.map((topic) => [topic.name, topic.partitions]),
    [['r', 3]],
    'a repartition topic follows the topic it joins with',
  );
  const clash = {
    epoch: 0,
    subtopologies: [sub('0', { sourceTopics: ['a', 'b'], copartitionGroups: [{ sourceTopics: [0, 1], sourceTopicRegex: [], repartitionSourceTopics: [] }] })],
  };
  t.match(configureTopology(clash, lookup({ a: 1, b: 2 })).statuses[0]!.statusDetail, /not copartitioned: \[a, b\]/);
  const fixedClash = {
    epoch: 0,
    subtopologies: [
      sub('0', { sourceTopics: ['a'], repartitionSourceTopics: [info('r', 5)], copartitionGroups: [{ sourceTopics: [0], sourceTopicRegex: [], repartitionSourceTopics: [0] }] }),
    ],
  };
  t.equal(configureTopology(fixedClash, lookup({ a: 2 })).statuses[0]!.statusCode, StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS, 'a fixed count that disagrees');
  const byRegex = {
    epoch: 0,
    subtopologies: [sub('0', { sourceTopics: ['a'], sourceTopicRegex: ['b.*'], copartitionGroups: [{ sourceTopics: [0], sourceTopicRegex: [0], repartitionSourceTopics: [] }] })],
  };
  t.same([...configureTopology(byRegex, lookup({ a: 2, b1: 2, b2: 2, c: 9 })).taskCounts!], [['0', 2]], 'regex sources resolved and copartitioned');
  t.match(configureTopology(byRegex, lookup({ a: 2 })).statuses[0]!.statusDetail, /b\.\* are missing|Source topics b\.\*/, 'a regex that matches nothing is missing');
  const cycle = {
    epoch: 0,
    subtopologies: [
      sub('0', { repartitionSourceTopics: [info('x')], repartitionSinkTopics: ['y'] }),
      sub('1', { repartitionSourceTopics: [info('y')], repartitionSinkTopics: ['x'] }),
    ],
  };
  t.match(configureTopology(cycle, lookup({})).statuses[0]!.statusDetail, /cannot be derived/, 'repartition topics with no source to count from');
});

t.test('topologies no configuration can fix', async (t) => {
  t.match(topologyProblem({ epoch: 0, subtopologies: [] }), /no subtopologies/);
  t.match(topologyProblem({ epoch: 0, subtopologies: [sub('0', {}), sub('0', {})] }), /appears twice/);
  t.match(topologyProblem({ epoch: 0, subtopologies: [sub('0', { sourceTopicRegex: ['('] })] }), /Invalid source topic regex/);
  t.match(
    topologyProblem({ epoch: 0, subtopologies: [sub('0', { copartitionGroups: [{ sourceTopics: [3], sourceTopicRegex: [], repartitionSourceTopics: [] }] })] }),
    /does not have/,
  );
});

const active = (tuple: TasksTuple | undefined) => [...(tuple?.active ?? new Map())].flatMap(([s, set]) => [...(set as Set<number>)].map((p) => `${s}_${p}`)).sort();
const standby = (tuple: TasksTuple | undefined) => [...(tuple?.standby ?? new Map())].flatMap(([s, set]) => [...(set as Set<number>)].map((p) => `${s}_${p}`)).sort();

t.test('the assignor: balanced, sticky, standbys on other processes', async (t) => {
  const counts = new Map([
    ['0', 4],
    ['1', 3],
  ]);
  const members = [
    { memberId: 'a', processId: 'p1' },
    { memberId: 'b', processId: 'p2' },
    { memberId: 'c', processId: 'p3' },
  ];
  const first = assignTasks(members, counts, () => undefined, 0);
  const sizes = members.map((m) => active(first.get(m.memberId)).length).sort();
  t.same(sizes, [2, 2, 3], 'seven tasks over three members');
  t.equal(new Set(members.flatMap((m) => active(first.get(m.memberId)))).size, 7, 'each task once');

  // A fourth member joins: the others keep what they can.
  const four = [...members, { memberId: 'd', processId: 'p4' }];
  const next = assignTasks(four, counts, (id) => first.get(id), 0);
  for (const m of members) {
    const kept = active(next.get(m.memberId)).filter((task) => active(first.get(m.memberId)).includes(task));
    t.ok(kept.length >= 1, `${m.memberId} keeps tasks it had`);
  }
  t.same(four.map((m) => active(next.get(m.memberId)).length).sort(), [1, 2, 2, 2]);

  // Standbys never on the active copy's process, and sticky to their holders.
  const withStandby = assignTasks(members, counts, () => undefined, 1);
  for (const m of members) {
    const mine = new Set(active(withStandby.get(m.memberId)));
    t.notOk(
      standby(withStandby.get(m.memberId)).some((task) => mine.has(task)),
      `${m.memberId} has no standby of its own active tasks`,
    );
  }
  t.equal(
    members.reduce((sum, m) => sum + standby(withStandby.get(m.memberId)).length, 0),
    7,
    'one standby per task',
  );
  const again = assignTasks(members, counts, (id) => withStandby.get(id), 1);
  t.same(
    members.map((m) => standby(again.get(m.memberId))),
    members.map((m) => standby(withStandby.get(m.memberId))),
    'standbys stay put',
  );
  const alone = assignTasks(
    [
      { memberId: 'a', processId: 'p' },
      { memberId: 'b', processId: 'p' },
    ],
    counts,
    () => undefined,
    2,
  );
  t.same(
    [...alone.values()].map((tuple) => standby(tuple).length),
    [0, 0],
    'no standby on the process that runs the task',
  );
  t.equal(assignTasks([], counts, () => EMPTY_TUPLE, 0).size, 0);
  const none: Tasks = new Map();
  t.same(active({ ...EMPTY_TUPLE, active: none }), []);
});
