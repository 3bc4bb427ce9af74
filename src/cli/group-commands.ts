// `spate groups` (kafka-consumer-groups.sh): list, describe with lag, reset-offsets (dry run
// or execute, with a progress bar on a terminal), delete.

import { type DeleteGroupsResponse, type DescribeGroupsResponse, type ListGroupsResponse, type OffsetCommitResponse } from '../protocol/generated/index.js';
import { atCoordinator, check, type CommandOptions, committedOffsets, integer, listOffset, partitionsOf, required, table, text, toJsonLine } from './command-support.js';
import { type KafkaClient, KafkaCommandError } from './kafka-client.js';
import { ProgressBar } from './progress.js';

export async function groups(client: KafkaClient, sub: string | undefined, options: CommandOptions): Promise<number> {
  switch (sub) {
    case 'list': {
      const response = await client.request<ListGroupsResponse>(16, 4, { statesFilter: [], typesFilter: [] });
      check(response.errorCode, null, 'ListGroups');
      const rows = response.groups
        .map((group) => ({ group: group.groupId, state: group.groupState ?? '', protocolType: group.protocolType }))
        .sort((a, b) => (a.group < b.group ? -1 : 1));
      if (options.json) options.out(toJsonLine(rows));
      else for (const row of rows) options.out(row.group);
      return 0;
    }
    case 'describe': {
      const group = required(options, 'group');
      const { node, info } = await describeGroup(client, group);
      const offsets = await committedOffsets(client, node, group);
      const rows = [];
      const leaders = new Map<string, number>();
      for (const key of offsets.keys()) {
        const [topic] = key.split('\u0000') as [string];
        if (!leaders.has(topic)) for (const partition of await partitionsOf(client, topic)) leaders.set(`${topic}\u0000${partition.partitionIndex}`, partition.leaderId);
      }
      for (const [key, offset] of [...offsets].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const [topic, partition] = key.split('\u0000') as [string, string];
        const leader = leaders.get(key);
        const end = leader === undefined ? undefined : await listOffset(client, leader, topic, Number(partition), -1n);
        rows.push({ group, topic, partition: Number(partition), currentOffset: offset, logEndOffset: end ?? null, lag: end === undefined ? null : end - offset });
      }
      if (options.json)
        options.out(
          toJsonLine({
            group,
            state: info.groupState,
            members: info.members.map((member) => ({ memberId: member.memberId, clientId: member.clientId, host: member.clientHost })),
            offsets: rows,
          }),
        );
      else {
        options.out(`Group ${group} is ${info.groupState} with ${info.members.length} member${info.members.length === 1 ? '' : 's'}.`);
        for (const line of table(rows, ['group', 'topic', 'partition', 'currentOffset', 'logEndOffset', 'lag'])) options.out(line);
      }
      return 0;
    }
    case 'delete': {
      const group = required(options, 'group');
      const { response } = await atCoordinator(
        client,
        group,
        (node) => client.requestTo<DeleteGroupsResponse>(node, 42, 2, { groupsNames: [group] }),
        (answer) => answer.results[0]?.errorCode ?? 0,
      );
      const result = response.results[0]!;
      check(result.errorCode, null, `delete group ${group}`);
      if (options.json) options.out(toJsonLine({ group, deleted: true }));
      else options.out(`Deleted group ${group}.`);
      return 0;
    }
    case 'reset-offsets':
      return resetOffsets(client, options);
    default:
      throw new Error(`spate groups: expected list, describe, reset-offsets or delete, got '${sub ?? ''}'`);
  }
}

/** DescribeGroups at the group's coordinator (found again while it is loading or moved). */
async function describeGroup(client: KafkaClient, group: string) {
  const { node, response } = await atCoordinator(
    client,
    group,
    (at) => client.requestTo<DescribeGroupsResponse>(at, 15, 5, { groups: [group], includeAuthorizedOperations: false }),
    (answer) => answer.groups[0]?.errorCode ?? 0,
  );
  const info = response.groups[0]!;
  check(info.errorCode, null, `describe ${group}`);
  return { node, info };
}

/** The partitions named by --topic T (all of T's), --topic T:0,2, or --all-topics (those the group has committed offsets for, as Kafka's tool takes them). */
async function resetTargets(client: KafkaClient, options: CommandOptions, committed: Map<string, bigint>): Promise<Array<{ topic: string; partition: number; leader: number }>> {
  const topicOption = text(options, 'topic');
  const all = options.values['all-topics'] === true;
  if ((topicOption === undefined) === !all) throw new Error('spate groups reset-offsets needs --topic T[:P,...] or --all-topics');
  const topics = new Map<string, number[] | undefined>();
  if (topicOption !== undefined) {
    const colon = topicOption.indexOf(':');
    topics.set(
      colon < 0 ? topicOption : topicOption.slice(0, colon),
      colon < 0
        ? undefined
        : topicOption
            .slice(colon + 1)
            .split(',')
            .map(Number),
    );
  } else {
    for (const key of [...committed.keys()].sort()) {
      const at = key.indexOf('\u0000');
      const [topic, partition] = [key.slice(0, at), Number(key.slice(at + 1))];
      topics.set(topic, [...(topics.get(topic) ?? []), partition]);
    }
  }
  const targets = [];
  for (const [topic, wanted] of topics) {
    const partitions = await partitionsOf(client, topic);
    for (const index of wanted ?? []) {
      if (!Number.isInteger(index) || !partitions.some((partition) => partition.partitionIndex === index)) throw new KafkaCommandError(3, `${topic} has no partition ${index}`);
    }
    for (const partition of partitions) {
      if (wanted === undefined || wanted.includes(partition.partitionIndex)) targets.push({ topic, partition: partition.partitionIndex, leader: partition.leaderId });
    }
  }
  return targets;
}

/** --to-datetime as kafka-consumer-groups takes it: 'YYYY-MM-DDTHH:mm:SS.sss', local time unless it names a zone. */
function parseDatetime(value: string): bigint {
  const millis = Date.parse(value);
  if (Number.isNaN(millis)) throw new Error(`--to-datetime expects YYYY-MM-DDTHH:mm:SS.sss, got '${value}'`);
  return BigInt(millis);
}

/**
 * kafka-consumer-groups --reset-offsets: the new offset of each partition by one scenario
 * (--to-earliest, --to-latest, --to-current, --to-offset N, --to-datetime T, --shift-by N),
 * kept within the partition's earliest and latest offsets; shown (--dry-run, the default) or
 * committed (--execute), which Kafka allows only while the group has no members.
 */
async function resetOffsets(client: KafkaClient, options: CommandOptions): Promise<number> {
  const group = required(options, 'group');
  const scenarios = ['to-earliest', 'to-latest', 'to-current', 'to-offset', 'to-datetime', 'shift-by'].filter(
    (name) => options.values[name] !== undefined && options.values[name] !== false,
  );
  if (scenarios.length !== 1) throw new Error('spate groups reset-offsets needs one of --to-earliest, --to-latest, --to-current, --to-offset N, --to-datetime T, --shift-by N');
  const scenario = scenarios[0]!;
  const execute = options.values['execute'] === true;
  if (execute && options.values['dry-run'] === true) throw new Error('--dry-run and --execute exclude each other');
  const { node, info } = await describeGroup(client, group);
  if (execute && info.groupState !== 'Empty' && info.groupState !== 'Dead' && info.groupState !== '') {
    throw new Error(`Assignments can only be reset if the group '${group}' is inactive, but the current state is ${info.groupState}.`);
  }
  const committed = await committedOffsets(client, node, group);
  const targets = await resetTargets(client, options, committed);
  const progress = new ProgressBar('Resetting offsets', targets.length, 'partitions', options.progress);
  const rows = [];
  for (const target of targets) {
    const key = `${target.topic}\u0000${target.partition}`;
    const earliest = await listOffset(client, target.leader, target.topic, target.partition, -2n);
    const latest = await listOffset(client, target.leader, target.topic, target.partition, -1n);
    let offset: bigint;
    switch (scenario) {
      case 'to-earliest':
        offset = earliest;
        break;
      case 'to-latest':
        offset = latest;
        break;
      case 'to-current':
        offset = committed.get(key) ?? latest;
        break;
      case 'to-offset':
        offset = BigInt(integer(options, 'to-offset', 0));
        break;
      case 'to-datetime': {
        const found = await listOffset(client, target.leader, target.topic, target.partition, parseDatetime(String(options.values['to-datetime'])));
        offset = found < 0n ? latest : found;
        break;
      }
      default:
        offset = (committed.get(key) ?? latest) + BigInt(integer(options, 'shift-by', 0));
    }
    // Kafka's tool clamps into the log and says so.
    if (offset < earliest) offset = earliest;
    if (offset > latest) offset = latest;
    rows.push({ group, topic: target.topic, partition: target.partition, newOffset: offset });
    progress.update(rows.length);
  }
  if (execute && rows.length > 0) {
    const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }>>();
    for (const row of rows) {
      let partitions = byTopic.get(row.topic);
      if (partitions === undefined) byTopic.set(row.topic, (partitions = []));
      partitions.push({ partitionIndex: row.partition, committedOffset: row.newOffset, committedLeaderEpoch: -1, committedMetadata: '' });
    }
    const response = await client.requestTo<OffsetCommitResponse>(node, 8, 8, {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    for (const topic of response.topics)
      for (const partition of topic.partitions) check(partition.errorCode, null, `commit for ${group} on ${topic.name}-${partition.partitionIndex}`);
  }
  progress.finish();
  if (options.json) options.out(toJsonLine({ group, executed: execute, offsets: rows.map(({ topic, partition, newOffset }) => ({ topic, partition, newOffset })) }));
  else {
    for (const line of table(rows, ['group', 'topic', 'partition', 'newOffset'])) options.out(line);
    if (!execute) options.out('Dry run: nothing was committed (add --execute to reset the offsets).');
  }
  return 0;
}
