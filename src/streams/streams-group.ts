// A KIP-1071 streams group: the topology its members run, the members with their process,
// endpoint and current tasks, the group epoch, the target assignment and its epoch. A task
// is a subtopology and a partition number; members hold tasks as active, standby or warm-up.
// Members are immutable values, replaced on every change, as in consumer-group.ts. The
// transitions live in streams-coordinator.ts; one member's reconciliation in
// streams-reconciliation.ts.

/** Subtopology ID -> partition numbers. */
export type Tasks = ReadonlyMap<string, ReadonlySet<number>>;

export interface TasksTuple {
  readonly active: Tasks;
  readonly standby: Tasks;
  readonly warmup: Tasks;
}

export const NO_TASKS: Tasks = new Map();
export const EMPTY_TUPLE: TasksTuple = { active: NO_TASKS, standby: NO_TASKS, warmup: NO_TASKS };
export const TASK_KINDS = ['active', 'standby', 'warmup'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** Kafka's StreamsGroupState names (describe and list show them as written). */
export type StreamsGroupState = 'Empty' | 'NotReady' | 'Assigning' | 'Reconciling' | 'Stable';

/** Kafka's streams MemberState. */
export type StreamsMemberState = 'Stable' | 'UnrevokedTasks' | 'UnreleasedTasks';

export interface TopicInfo {
  readonly name: string;
  /** 0: no fixed count (always 0 for changelogs). */
  readonly partitions: number;
  /** 0: the broker's default. */
  readonly replicationFactor: number;
  readonly topicConfigs: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

export interface Subtopology {
  readonly subtopologyId: string;
  readonly sourceTopics: readonly string[];
  readonly sourceTopicRegex: readonly string[];
  readonly stateChangelogTopics: readonly TopicInfo[];
  readonly repartitionSinkTopics: readonly string[];
  readonly repartitionSourceTopics: readonly TopicInfo[];
  readonly copartitionGroups: ReadonlyArray<{
    readonly sourceTopics: readonly number[];
    readonly sourceTopicRegex: readonly number[];
    readonly repartitionSourceTopics: readonly number[];
  }>;
}

export interface Topology {
  readonly epoch: number;
  readonly subtopologies: readonly Subtopology[];
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface TaskOffset {
  readonly subtopologyId: string;
  readonly partition: number;
  readonly offset: bigint;
}

export interface StreamsMember {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly topologyEpoch: number;
  readonly processId: string;
  readonly userEndpoint: Endpoint | null;
  readonly clientTags: ReadonlyArray<{ readonly key: string; readonly value: string }>;
  readonly taskOffsets: readonly TaskOffset[];
  readonly taskEndOffsets: readonly TaskOffset[];
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: StreamsMemberState;
  /** The tasks the member may run now. */
  readonly assigned: TasksTuple;
  /** The tasks the member must give up before it moves to the next epoch. */
  readonly pendingRevocation: TasksTuple;
}

export function newStreamsMember(memberId: string): StreamsMember {
  return {
    memberId,
    instanceId: null,
    rackId: null,
    clientId: '',
    clientHost: '',
    rebalanceTimeoutMs: -1,
    topologyEpoch: -1,
    processId: '',
    userEndpoint: null,
    clientTags: [],
    taskOffsets: [],
    taskEndOffsets: [],
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: 'Stable',
    assigned: EMPTY_TUPLE,
    pendingRevocation: EMPTY_TUPLE,
  };
}

export function taskCount(tasks: Tasks): number {
  let count = 0;
  for (const set of tasks.values()) count += set.size;
  return count;
}

export function sameTasks(a: Tasks, b: Tasks): boolean {
  if (taskCount(a) !== taskCount(b)) return false;
  for (const [subtopology, set] of a) {
    const other = b.get(subtopology);
    for (const partition of set) if (other === undefined || !other.has(partition)) return false;
  }
  return true;
}

export function sameTuple(a: TasksTuple, b: TasksTuple): boolean {
  return TASK_KINDS.every((kind) => sameTasks(a[kind], b[kind]));
}

export function tupleIsEmpty(tuple: TasksTuple): boolean {
  return TASK_KINDS.every((kind) => taskCount(tuple[kind]) === 0);
}

export function mergeTasks(a: Tasks, b: Tasks): Tasks {
  if (b.size === 0) return a;
  const merged = new Map<string, Set<number>>();
  for (const tasks of [a, b]) for (const [subtopology, set] of tasks) merged.set(subtopology, new Set([...(merged.get(subtopology) ?? []), ...set]));
  return merged;
}

/** Does `tasks` hold any of `wanted`? */
export function holdsAny(tasks: Tasks, wanted: Tasks): boolean {
  for (const [subtopology, set] of wanted) {
    const mine = tasks.get(subtopology);
    if (mine === undefined) continue;
    for (const partition of set) if (mine.has(partition)) return true;
  }
  return false;
}

/** Is every task of `tasks` in `of`? */
export function isSubsetOf(tasks: Tasks, of: Tasks): boolean {
  for (const [subtopology, set] of tasks) {
    const theirs = of.get(subtopology);
    for (const partition of set) if (theirs === undefined || !theirs.has(partition)) return false;
  }
  return true;
}

export function toTasks(wire: ReadonlyArray<{ subtopologyId: string; partitions: readonly number[] }>): Tasks {
  const tasks = new Map<string, Set<number>>();
  for (const { subtopologyId, partitions } of wire) {
    const set = tasks.get(subtopologyId) ?? new Set<number>();
    for (const partition of partitions) set.add(partition);
    tasks.set(subtopologyId, set);
  }
  return tasks;
}

/** The wire form, sorted by subtopology and partition (empty sets left out). */
export function wireTasks(tasks: Tasks): Array<{ subtopologyId: string; partitions: number[] }> {
  return [...tasks]
    .filter(([, set]) => set.size > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([subtopologyId, set]) => ({ subtopologyId, partitions: [...set].sort((a, b) => a - b) }));
}

const taskKey = (subtopology: string, partition: number) => `${subtopology}\u0000${partition}`;

/** Who holds each task, by process: what Kafka's CurrentAssignmentBuilder asks before handing a task over. */
export class TaskOwners {
  private readonly active = new Map<string, string>();
  private readonly standby = new Map<string, Set<string>>();
  private readonly warmup = new Map<string, Set<string>>();

  constructor(members: Iterable<StreamsMember>) {
    for (const member of members) {
      for (const tuple of [member.assigned, member.pendingRevocation]) {
        for (const [subtopology, set] of tuple.active) for (const partition of set) this.active.set(taskKey(subtopology, partition), member.processId);
        for (const kind of ['standby', 'warmup'] as const) {
          const owners = this[kind];
          for (const [subtopology, set] of tuple[kind]) {
            for (const partition of set) {
              const key = taskKey(subtopology, partition);
              const processes = owners.get(key) ?? new Set<string>();
              processes.add(member.processId);
              owners.set(key, processes);
            }
          }
        }
      }
    }
  }

  /**
   * May `processId` take the task in this role now? An active task waits until no process
   * runs it actively and this process no longer keeps it as a standby or warm-up; a standby
   * or warm-up waits until this process no longer runs it in any role.
   */
  released(kind: TaskKind, subtopology: string, partition: number, processId: string): boolean {
    const key = taskKey(subtopology, partition);
    const active = this.active.get(key);
    const here = (owners: Map<string, Set<string>>) => owners.get(key)?.has(processId) === true;
    if (kind === 'active') return active === undefined && !here(this.standby) && !here(this.warmup);
    return active !== processId && !here(this.standby) && !here(this.warmup);
  }
}

export class StreamsGroup {
  /** Bumped whenever the target assignment must be recomputed. */
  groupEpoch = 0;
  /** The group epoch the current target assignment was computed for. */
  assignmentEpoch = 0;
  /** The topology the members run (the first one sent, replaced by a higher epoch). */
  topology: Topology | null = null;
  /** The partition count of every subtopology's tasks, once the topology is configured. */
  taskCounts: ReadonlyMap<string, number> | null = null;
  /** Why the topology is not ready (Kafka's heartbeat status codes), empty when it is. */
  statuses: ReadonlyArray<{ statusCode: number; statusDetail: string }> = [];
  /** The topics, their IDs and partition counts the configured topology was computed from. */
  metadataHash = '';
  /** Bumped when the tasks of a member with an endpoint change (interactive queries). */
  endpointInformationEpoch = 0;
  /** A member asked the whole application to shut down. */
  shutdownRequested = false;
  readonly members = new Map<string, StreamsMember>();
  /** group.instance.id -> member ID. */
  readonly staticMembers = new Map<string, string>();
  readonly targetAssignment = new Map<string, TasksTuple>();

  constructor(readonly groupId: string) {}

  get state(): StreamsGroupState {
    if (this.members.size === 0) return 'Empty';
    if (this.taskCounts === null) return 'NotReady';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const member of this.members.values()) {
      if (member.state !== 'Stable' || member.memberEpoch !== this.assignmentEpoch) return 'Reconciling';
    }
    return 'Stable';
  }

  staticMember(instanceId: string): StreamsMember | undefined {
    const memberId = this.staticMembers.get(instanceId);
    return memberId === undefined ? undefined : this.members.get(memberId);
  }

  updateMember(member: StreamsMember): void {
    this.members.set(member.memberId, member);
    if (member.instanceId !== null) this.staticMembers.set(member.instanceId, member.memberId);
  }

  removeMember(memberId: string): StreamsMember | undefined {
    const old = this.members.get(memberId);
    if (old === undefined) return undefined;
    this.members.delete(memberId);
    this.targetAssignment.delete(memberId);
    if (old.instanceId !== null && this.staticMembers.get(old.instanceId) === memberId) this.staticMembers.delete(old.instanceId);
    return old;
  }

  /** The names of every topic the topology reads, external and internal. */
  sourceTopicNames(): Set<string> {
    const names = new Set<string>();
    for (const subtopology of this.topology?.subtopologies ?? []) {
      for (const name of subtopology.sourceTopics) names.add(name);
      for (const topic of subtopology.repartitionSourceTopics) names.add(topic.name);
    }
    return names;
  }
}
