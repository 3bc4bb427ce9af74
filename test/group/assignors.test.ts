// The server-side assignors as pure functions: every subscribed partition has exactly one
// owner among its subscribers, uniform balances within one partition, both are sticky, and
// range co-partitions.

import t, { type Test } from 'tap';
import { rangeAssignor, uniformAssignor, type AssignmentMember, type AssignmentTopic, type PartitionAssignor } from '../../src/group/assignors.js';
import { type TopicPartitions } from '../../src/group/consumer-group.js';

const topic = (id: string, partitions: number): AssignmentTopic => ({ id, name: `topic-${id}`, partitions });
const member = (memberId: string, topicIds: string[], instanceId: string | null = null): AssignmentMember => ({
  memberId,
  instanceId,
  subscribedTopicIds: new Set(topicIds),
});
const count = (partitions: TopicPartitions | undefined) => [...(partitions ?? new Map()).values()].reduce((n, set) => n + set.size, 0);

function run(assignor: PartitionAssignor, members: AssignmentMember[], topics: AssignmentTopic[], current = new Map<string, TopicPartitions>()) {
  return assignor.assign({ members, topics: new Map(topics.map((each) => [each.id, each])), current });
}

function checkComplete(t: Test, result: Map<string, TopicPartitions>, members: AssignmentMember[], topics: AssignmentTopic[]) {
  const owners = new Map<string, string>();
  for (const [memberId, partitions] of result) {
    for (const [topicId, set] of partitions) {
      t.ok(members.find((m) => m.memberId === memberId)!.subscribedTopicIds.has(topicId), `${memberId} subscribes to ${topicId}`);
      for (const partition of set) {
        t.notOk(owners.has(`${topicId}:${partition}`), `${topicId}:${partition} has one owner`);
        owners.set(`${topicId}:${partition}`, memberId);
      }
    }
  }
  const subscribed = topics.filter((each) => members.some((m) => m.subscribedTopicIds.has(each.id)));
  t.equal(
    owners.size,
    subscribed.reduce((n, each) => n + each.partitions, 0),
    'every subscribed partition is assigned',
  );
}

t.test('uniform: balanced, complete and sticky', async (t) => {
  const topics = [topic('a', 7), topic('b', 3)];
  const members = ['m1', 'm2', 'm3'].map((id) => member(id, ['a', 'b']));
  const first = run(uniformAssignor, members, topics);
  checkComplete(t, first, members, topics);
  const counts = members.map((m) => count(first.get(m.memberId))).sort();
  t.same(counts, [3, 3, 4]);

  // A fourth member: only what it needs moves.
  const grown = [...members, member('m4', ['a', 'b'])];
  const second = run(uniformAssignor, grown, topics, first);
  checkComplete(t, second, grown, topics);
  t.same(grown.map((m) => count(second.get(m.memberId))).sort(), [2, 2, 3, 3]);
  let moved = 0;
  for (const m of members) {
    for (const [topicId, set] of first.get(m.memberId)!) for (const p of set) if (!second.get(m.memberId)!.get(topicId)?.has(p)) moved++;
  }
  t.equal(moved, 2, 'two partitions move to the newcomer, nothing else');
});

t.test('uniform: different subscriptions', async (t) => {
  const topics = [topic('a', 4), topic('b', 4), topic('c', 2)];
  const members = [member('x', ['a']), member('y', ['a', 'b']), member('z', ['b', 'c'])];
  const result = run(uniformAssignor, members, topics);
  checkComplete(t, result, members, topics);
  const counts = Object.fromEntries(members.map((m) => [m.memberId, count(result.get(m.memberId))]));
  t.ok(Math.max(...Object.values(counts)) - Math.min(...Object.values(counts)) <= 1, `balanced where subscriptions allow: ${JSON.stringify(counts)}`);
  t.same(run(uniformAssignor, [], topics), new Map(), 'no members, no assignment');
});

t.test('range: co-partitioned ranges, extras first, sticky', async (t) => {
  const topics = [topic('a', 5), topic('b', 5)];
  const members = [member('m2', ['a', 'b']), member('m1', ['a', 'b'])];
  const result = run(rangeAssignor, members, topics);
  checkComplete(t, result, members, topics);
  const ranges = (id: string) => [...result.get(id)!].map(([topicId, set]) => `${topicId}:${[...set].sort().join('')}`).sort();
  t.same(ranges('m1'), ['a:012', 'b:012'], 'the first member (by ID) gets the extra partition');
  t.same(ranges('m2'), ['a:34', 'b:34']);

  const statics = [member('z', ['a'], 'instance-a'), member('y', ['a'], 'instance-b')];
  const byInstance = run(rangeAssignor, statics, [topic('a', 2)]);
  t.same([...byInstance.get('z')!.get('a')!], [0], 'static members are ordered by instance ID');

  // m1 leaves: m2 keeps its range and takes the rest.
  const alone = run(rangeAssignor, [members[0]!], topics, result);
  t.same([...alone.get('m2')!.get('a')!].sort(), [0, 1, 2, 3, 4]);
  const partial = run(rangeAssignor, [member('m1', ['a']), member('m3', ['a']), member('m2', ['a'])], [topic('a', 5)], result);
  checkComplete(t, partial, [member('m1', ['a']), member('m3', ['a']), member('m2', ['a'])], [topic('a', 5)]);
  t.same([...partial.get('m1')!.get('a')!].sort(), [0, 1], 'm1 keeps the low end of its old range');
});
