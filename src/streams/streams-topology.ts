// Configuring a streams topology against the cluster's topics, as Kafka's InternalTopicManager
// does for a KIP-1071 group: the source topics must exist (MISSING_SOURCE_TOPICS otherwise);
// each repartition topic gets a partition count (its own, or the largest of the subtopologies
// that write to it, resolved until nothing changes); copartitioned topics must agree
// (INCORRECTLY_PARTITIONED_TOPICS); a subtopology has as many tasks as its largest source,
// and its changelogs that many partitions. Missing internal topics are returned for the
// coordinator to create; existing ones must have the computed count.

import { type Subtopology, type TopicInfo, type Topology } from './streams-group.js';

/** Kafka's StreamsGroupHeartbeatResponse status codes. */
export const StreamsStatus = {
  STALE_TOPOLOGY: 0,
  MISSING_SOURCE_TOPICS: 1,
  INCORRECTLY_PARTITIONED_TOPICS: 2,
  MISSING_INTERNAL_TOPICS: 3,
  SHUTDOWN_APPLICATION: 4,
  ASSIGNMENT_DELAYED: 5,
} as const;

export interface TopicLookup {
  /** Partition count and ID of an existing topic. */
  topic(name: string): { partitions: number; id: string } | undefined;
  /** Every topic name (for source topic regexes). */
  names(): Iterable<string>;
}

export interface InternalTopicToCreate {
  readonly name: string;
  readonly partitions: number;
  /** -1: the broker's default. */
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface ConfiguredTopology {
  /** Partition count of each subtopology's tasks; null when the topology cannot run yet. */
  readonly taskCounts: ReadonlyMap<string, number> | null;
  readonly statuses: ReadonlyArray<{ statusCode: number; statusDetail: string }>;
  readonly toCreate: readonly InternalTopicToCreate[];
  /** The external source topics each subtopology resolved to (regexes included). */
  readonly sources: ReadonlyMap<string, readonly string[]>;
  /** Names, IDs and partition counts of every topic involved: a change means a new assignment. */
  readonly metadataHash: string;
}

function compileRegex(pattern: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch {
    return undefined;
  }
}

export function internalTopicNames(topology: Topology): Set<string> {
  const names = new Set<string>();
  for (const subtopology of topology.subtopologies) {
    for (const topic of subtopology.repartitionSourceTopics) names.add(topic.name);
    for (const topic of subtopology.stateChangelogTopics) names.add(topic.name);
  }
  return names;
}

/** The problem with a topology no configuration can fix (STREAMS_INVALID_TOPOLOGY), if any. */
export function topologyProblem(topology: Topology): string | undefined {
  if (topology.subtopologies.length === 0) return 'The topology has no subtopologies.';
  const ids = new Set<string>();
  const repartition = new Set<string>();
  for (const subtopology of topology.subtopologies) {
    if (ids.has(subtopology.subtopologyId)) return `Subtopology ${subtopology.subtopologyId} appears twice.`;
    ids.add(subtopology.subtopologyId);
    for (const topic of subtopology.repartitionSourceTopics) repartition.add(topic.name);
    for (const pattern of subtopology.sourceTopicRegex) if (compileRegex(pattern) === undefined) return `Invalid source topic regex ${pattern}.`;
    const sizes = [subtopology.sourceTopics.length, subtopology.sourceTopicRegex.length, subtopology.repartitionSourceTopics.length];
    for (const group of subtopology.copartitionGroups) {
      const indexes = [group.sourceTopics, group.sourceTopicRegex, group.repartitionSourceTopics];
      if (indexes.some((list, i) => list.some((index) => index < 0 || index >= sizes[i]!))) {
        return `A copartition group of subtopology ${subtopology.subtopologyId} refers to a source topic it does not have.`;
      }
    }
  }
  for (const subtopology of topology.subtopologies) {
    for (const sink of subtopology.repartitionSinkTopics) {
      if (!repartition.has(sink)) return `Repartition sink topic ${sink} of subtopology ${subtopology.subtopologyId} is no subtopology's repartition source topic.`;
    }
  }
  return undefined;
}

export function configureTopology(topology: Topology, topics: TopicLookup): ConfiguredTopology {
  const internal = internalTopicNames(topology);
  const hashParts: string[] = [];
  const seen = (name: string) => {
    const topic = topics.topic(name);
    hashParts.push(`${name}=${topic === undefined ? '-' : `${topic.id}/${topic.partitions}`}`);
    return topic;
  };

  // 1. External source topics, regexes resolved.
  const allNames = [...topics.names()].filter((name) => !internal.has(name)).sort();
  const sources = new Map<string, string[]>();
  const missing = new Set<string>();
  const partitionsOf = new Map<string, number>();
  for (const subtopology of topology.subtopologies) {
    const names = new Set(subtopology.sourceTopics);
    for (const pattern of subtopology.sourceTopicRegex) {
      const regex = compileRegex(pattern)!;
      const matched = allNames.filter((name) => regex.test(name));
      if (matched.length === 0) missing.add(pattern);
      for (const name of matched) names.add(name);
    }
    for (const name of names) {
      const topic = seen(name);
      if (topic === undefined) missing.add(name);
      else partitionsOf.set(name, topic.partitions);
    }
    sources.set(subtopology.subtopologyId, [...names].sort());
  }
  const fail = (statusCode: number, statusDetail: string): ConfiguredTopology => ({
    taskCounts: null,
    statuses: [{ statusCode, statusDetail }],
    toCreate: [],
    sources,
    metadataHash: hashParts.sort().join(','),
  });
  if (missing.size > 0) return fail(StreamsStatus.MISSING_SOURCE_TOPICS, `Source topics ${[...missing].sort().join(', ')} are missing.`);

  // 2. Repartition topics: a fixed count, or the largest source count of their writers.
  const repartitionInfo = new Map<string, TopicInfo>();
  for (const subtopology of topology.subtopologies) for (const topic of subtopology.repartitionSourceTopics) repartitionInfo.set(topic.name, topic);
  for (const [name, info] of repartitionInfo) if (info.partitions > 0) partitionsOf.set(name, info.partitions);
  const subtopologySources = (subtopology: Subtopology) => [...sources.get(subtopology.subtopologyId)!, ...subtopology.repartitionSourceTopics.map((topic) => topic.name)];
  for (let round = 0; round <= repartitionInfo.size; round++) {
    let changed = false;
    for (const subtopology of topology.subtopologies) {
      const known = subtopologySources(subtopology)
        .map((name) => partitionsOf.get(name))
        .filter((count) => count !== undefined);
      if (known.length === 0) continue;
      const count = Math.max(...known);
      for (const sink of subtopology.repartitionSinkTopics) {
        if (repartitionInfo.get(sink)!.partitions > 0) continue;
        if ((partitionsOf.get(sink) ?? 0) < count) {
          partitionsOf.set(sink, count);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  const unresolved = [...repartitionInfo.keys()].filter((name) => !partitionsOf.has(name));
  if (unresolved.length > 0)
    return fail(StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS, `The partition counts of repartition topics ${unresolved.sort().join(', ')} cannot be derived.`);

  // 3. Copartition groups: external topics must agree; flexible repartition topics follow them.
  for (const subtopology of topology.subtopologies) {
    for (const group of subtopology.copartitionGroups) {
      const external = group.sourceTopics.map((index) => subtopology.sourceTopics[index]!);
      for (const index of group.sourceTopicRegex) {
        const regex = compileRegex(subtopology.sourceTopicRegex[index]!)!;
        external.push(...sources.get(subtopology.subtopologyId)!.filter((name) => regex.test(name)));
      }
      const repartition = group.repartitionSourceTopics.map((index) => subtopology.repartitionSourceTopics[index]!);
      const externalCounts = new Set(external.map((name) => partitionsOf.get(name)!));
      if (externalCounts.size > 1) {
        return fail(StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS, `Following topics are not copartitioned: [${[...new Set(external)].sort().join(', ')}]`);
      }
      if (repartition.length === 0) continue;
      const fixed = repartition.filter((topic) => topic.partitions > 0).map((topic) => topic.partitions);
      const target = externalCounts.size === 1 ? [...externalCounts][0]! : fixed.length > 0 ? fixed[0]! : Math.max(...repartition.map((topic) => partitionsOf.get(topic.name)!));
      if (fixed.some((count) => count !== target)) {
        return fail(
          StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS,
          `Following topics are not copartitioned: [${[...external, ...repartition.map((topic) => topic.name)].sort().join(', ')}]`,
        );
      }
      for (const topic of repartition) if (topic.partitions === 0) partitionsOf.set(topic.name, target);
    }
  }

  // 4. Tasks per subtopology, and what the internal topics must look like.
  const taskCounts = new Map<string, number>();
  const required: Array<{ info: TopicInfo; partitions: number }> = [];
  for (const subtopology of topology.subtopologies) {
    const count = Math.max(0, ...subtopologySources(subtopology).map((name) => partitionsOf.get(name)!));
    taskCounts.set(subtopology.subtopologyId, count);
    for (const info of subtopology.stateChangelogTopics) required.push({ info, partitions: count });
  }
  for (const [name, info] of repartitionInfo) required.push({ info, partitions: partitionsOf.get(name)! });
  const toCreate: InternalTopicToCreate[] = [];
  const wrong: string[] = [];
  for (const { info, partitions } of required) {
    const existing = seen(info.name);
    if (existing === undefined) {
      toCreate.push({
        name: info.name,
        partitions,
        replicationFactor: info.replicationFactor > 0 ? info.replicationFactor : -1,
        configs: Object.fromEntries(info.topicConfigs.map(({ key, value }) => [key, value])),
      });
    } else if (existing.partitions !== partitions) {
      wrong.push(`${info.name} (${existing.partitions} partitions, ${partitions} needed)`);
    }
  }
  const metadataHash = hashParts.sort().join(',');
  if (wrong.length > 0) {
    return { ...fail(StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS, `Internal topics ${wrong.sort().join(', ')} are incorrectly partitioned.`), metadataHash };
  }
  if (toCreate.length > 0) {
    return {
      taskCounts: null,
      statuses: [
        {
          statusCode: StreamsStatus.MISSING_INTERNAL_TOPICS,
          statusDetail: `Internal topics ${toCreate
            .map((topic) => topic.name)
            .sort()
            .join(', ')} are missing.`,
        },
      ],
      toCreate,
      sources,
      metadataHash,
    };
  }
  return { taskCounts, statuses: [], toCreate: [], sources, metadataHash };
}
