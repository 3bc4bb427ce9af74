// The KIP-1071 streams group protocol: StreamsGroupHeartbeat joins with the application's
// topology, heartbeats with the member epoch and the tasks the member owns, and leaves with
// epoch -1 (or -2). The coordinator configures the topology against the topics (creating the
// missing changelog and repartition topics), bumps the group epoch when members, the topology
// or the topics change, computes the target assignment with the sticky task assignor, and
// reconciles each member towards it one heartbeat at a time. Kafka's
// GroupMetadataManager.streamsGroupHeartbeat is the reference for each step.
// Differs from Kafka: the group's membership lives in memory (committed offsets are durable in
// __consumer_offsets as for every group; after a broker restart members rejoin with epoch 0);
// the first assignment is not delayed (streams.initial.rebalance.delay.ms is accepted and
// ignored); regexes use JavaScript syntax with whole-name matching; no warm-up tasks.

import { type BrokerConfig } from '../config/broker-config.js';
import { type TopicCatalog } from '../cluster/metadata.js';
import { type Logger } from '../logger.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import {
  type StreamsGroupDescribeResponseDescribedGroup,
  type StreamsGroupHeartbeatRequest,
  type StreamsGroupHeartbeatResponse,
  type StreamsGroupHeartbeatResponseEndpointToPartitions,
} from '../protocol/generated/index.js';
import { type Scheduler } from '../group/scheduler.js';
import { assignTasks } from './streams-assignor.js';
import {
  EMPTY_TUPLE,
  isSubsetOf,
  newStreamsMember,
  sameTuple,
  mergeTasks,
  StreamsGroup,
  type StreamsMember,
  type TaskKind,
  TaskOwners,
  type TasksTuple,
  toTasks,
  type Topology,
  wireTasks,
} from './streams-group.js';
import { reconcileStreamsMember } from './streams-reconciliation.js';
import { configureTopology, type InternalTopicToCreate, StreamsStatus, type TopicLookup, topologyProblem } from './streams-topology.js';

export const LEAVE_EPOCH = -1;
export const LEAVE_STATIC_EPOCH = -2;

/** What the streams side needs to know about the other kinds of groups sharing the group ID space. */
export interface GroupIdSpace {
  /** 'none' when no classic, consumer or share group has the ID. */
  otherGroup(groupId: string): 'none' | 'empty-classic' | 'other';
  /** Removes an empty classic group (say, one holding only offsets), so a streams group can take its ID. */
  removeEmptyClassicGroup(groupId: string): void;
}

export interface StreamsHeartbeat extends StreamsGroupHeartbeatRequest {
  readonly clientId: string;
  readonly clientHost: string;
}

/** Kafka's defaults for what the heartbeat answer tells the members about warm-up tasks. */
const ACCEPTABLE_RECOVERY_LAG = 10_000;
const TASK_OFFSET_INTERVAL_MS = 60_000;

const fail = (code: number, message: string) => new KafkaError(code, message);

function errorResponse(request: StreamsGroupHeartbeatRequest, error: KafkaError): StreamsGroupHeartbeatResponse {
  return {
    throttleTimeMs: 0,
    errorCode: error.kafkaCode,
    errorMessage: error.message,
    memberId: request.memberId,
    memberEpoch: -1,
    heartbeatIntervalMs: 0,
    acceptableRecoveryLag: 0,
    taskOffsetIntervalMs: 0,
    status: null,
    activeTasks: null,
    standbyTasks: null,
    warmupTasks: null,
    endpointInformationEpoch: 0,
    partitionsByUserEndpoint: null,
  };
}

/** Kafka's throwIfStreamsGroupHeartbeatRequestIsInvalid. */
function validate(request: StreamsGroupHeartbeatRequest): void {
  const invalid = (message: string) => fail(ErrorCode.INVALID_REQUEST, message);
  if (request.groupId.trim() === '') throw invalid("GroupId can't be empty.");
  if (request.memberId.trim() === '') throw invalid("MemberId can't be empty.");
  if (request.instanceId !== null && request.instanceId.trim() === '') throw invalid("InstanceId can't be empty.");
  if (request.rackId !== null && request.rackId.trim() === '') throw invalid("RackId can't be empty.");
  if (request.memberEpoch === 0) {
    if (request.rebalanceTimeoutMs === -1) throw invalid('RebalanceTimeoutMs must be provided when joining the group.');
    if (request.topology === null) throw invalid('Topology must be non-empty when joining the group.');
    if (request.processId === null || request.processId.trim() === '') throw invalid('ProcessId must be provided when joining the group.');
    if (request.activeTasks === null || request.standbyTasks === null || request.warmupTasks === null) {
      throw invalid('Currently owned tasks must be empty when (re-)joining.');
    }
    if (request.activeTasks.length + request.standbyTasks.length + request.warmupTasks.length > 0) throw invalid('Currently owned tasks must be empty when (re-)joining.');
  } else if (request.memberEpoch < LEAVE_STATIC_EPOCH) {
    throw invalid(`MemberEpoch is ${request.memberEpoch}, but must be greater than or equal to -2.`);
  }
}

export class StreamsGroupCoordinator {
  private readonly groups = new Map<string, StreamsGroup>();
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly maxGroupSize: number;
  private readonly numStandbyReplicas: number;

  /** Creates internal topics; set by the broker (topic creation goes through the replica layer). */
  createTopics: ((topics: readonly InternalTopicToCreate[]) => Promise<void>) | undefined;
  /** Per-group overrides (streams.session.timeout.ms and the rest); set by the broker. */
  groupConfigs: { intValue(groupId: string, name: string): number } | undefined;

  constructor(
    private readonly catalog: TopicCatalog,
    private readonly scheduler: Scheduler,
    config: BrokerConfig,
    private readonly logger: Logger,
    private readonly others: GroupIdSpace,
    private readonly now: () => number,
  ) {
    const value = (name: string) => config.values.get(name) as number;
    this.sessionTimeoutMs = value('group.streams.session.timeout.ms');
    this.heartbeatIntervalMs = value('group.streams.heartbeat.interval.ms');
    this.maxGroupSize = value('group.streams.max.size');
    this.numStandbyReplicas = value('group.streams.num.standby.replicas');
  }

  private groupValue(groupId: string, name: string, fallback: number): number {
    return this.groupConfigs?.intValue(groupId, name) ?? fallback;
  }

  private readonly topics: TopicLookup = {
    topic: (name) => {
      const topic = this.catalog.topicInfo(name);
      return topic === undefined ? undefined : { partitions: topic.partitionCount, id: topic.id.toString('hex') };
    },
    names: () => this.catalog.topicInfos().map((topic) => topic.name),
  };

  group(groupId: string): StreamsGroup | undefined {
    return this.groups.get(groupId);
  }

  /** Drops the groups of a __consumer_offsets partition this broker no longer coordinates (their timers are cancelled by the caller). */
  unload(inShard: (groupId: string) => boolean): void {
    for (const groupId of [...this.groups.keys()]) if (inShard(groupId)) this.groups.delete(groupId);
  }

  allGroups(): IterableIterator<StreamsGroup> {
    return this.groups.values();
  }

  // ---- StreamsGroupHeartbeat ----

  async heartbeat(request: StreamsHeartbeat): Promise<StreamsGroupHeartbeatResponse> {
    try {
      validate(request);
      if (request.memberEpoch === LEAVE_EPOCH || request.memberEpoch === LEAVE_STATIC_EPOCH) return this.leave(request);
      await this.createInternalTopics(request);
      return this.joinOrHeartbeat(request);
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      return errorResponse(request, error);
    }
  }

  /** Creates the internal topics the group's topology (or the joining one) lacks, before the group changes. */
  private async createInternalTopics(request: StreamsHeartbeat): Promise<void> {
    const existing = this.groups.get(request.groupId)?.topology ?? null;
    const offered = request.memberEpoch === 0 ? request.topology : null;
    const topology = offered !== null && (existing === null || offered.epoch > existing.epoch) ? offered : existing;
    if (topology === null || this.createTopics === undefined || topologyProblem(topology) !== undefined) return;
    const { toCreate } = configureTopology(topology, this.topics);
    if (toCreate.length === 0) return;
    try {
      await this.createTopics(toCreate);
      this.logger.info(`Streams group ${request.groupId}: created internal topics ${toCreate.map((topic) => topic.name).join(', ')}`);
    } catch (error) {
      // The heartbeat still answers; the status names the topics still missing.
      this.logger.warn(`Streams group ${request.groupId}: creating internal topics failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private joinOrHeartbeat(request: StreamsHeartbeat): StreamsGroupHeartbeatResponse {
    const joining = request.memberEpoch === 0;
    const group = this.groupForHeartbeat(request.groupId, joining);
    if (group.members.size >= this.maxGroupSize && !group.members.has(request.memberId)) {
      throw fail(ErrorCode.GROUP_MAX_SIZE_REACHED, `The streams group has reached its maximum capacity of ${this.maxGroupSize} members.`);
    }
    const member = this.memberFor(group, request, joining);
    let bump = false;
    if (joining && request.topology !== null && (group.topology === null || request.topology.epoch > group.topology.epoch)) {
      const topology = request.topology as Topology;
      const problem = topologyProblem(topology);
      if (problem !== undefined) throw fail(ErrorCode.STREAMS_INVALID_TOPOLOGY, problem);
      if (group.topology !== null) this.logger.info(`Streams group ${group.groupId}: topology epoch ${group.topology.epoch} -> ${topology.epoch}`);
      group.topology = topology;
      bump = true;
    }
    if (!this.groups.has(group.groupId)) {
      if (this.others.otherGroup(group.groupId) === 'empty-classic') this.others.removeEmptyClassicGroup(group.groupId);
      this.groups.set(group.groupId, group);
      this.logger.info(`Streams group ${group.groupId} created`);
    }
    const isNew = !group.members.has(member.memberId);

    // 1. The member's own fields; a change that matters to the assignment bumps the group epoch.
    const updated: StreamsMember = {
      ...member,
      instanceId: request.instanceId ?? member.instanceId,
      rackId: request.rackId ?? member.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs !== -1 ? request.rebalanceTimeoutMs : member.rebalanceTimeoutMs,
      topologyEpoch: joining && request.topology !== null ? request.topology.epoch : member.topologyEpoch,
      processId: request.processId ?? member.processId,
      userEndpoint: request.userEndpoint ?? member.userEndpoint,
      clientTags: request.clientTags ?? member.clientTags,
      taskOffsets: request.taskOffsets ?? member.taskOffsets,
      taskEndOffsets: request.taskEndOffsets ?? member.taskEndOffsets,
      clientId: request.clientId,
      clientHost: request.clientHost,
    };
    // What the member owns, by this heartbeat; a kind it leaves out counts as unchanged, that is, as still held.
    const held = (kind: TaskKind) => mergeTasks(member.assigned[kind], member.pendingRevocation[kind]);
    const owned: TasksTuple | null =
      request.activeTasks === null && request.standbyTasks === null && request.warmupTasks === null
        ? null
        : {
            active: request.activeTasks === null ? held('active') : toTasks(request.activeTasks),
            standby: request.standbyTasks === null ? held('standby') : toTasks(request.standbyTasks),
            warmup: request.warmupTasks === null ? held('warmup') : toTasks(request.warmupTasks),
          };
    const assignmentInputsChanged =
      updated.processId !== member.processId ||
      updated.rackId !== member.rackId ||
      updated.instanceId !== member.instanceId ||
      updated.topologyEpoch !== member.topologyEpoch ||
      JSON.stringify(updated.clientTags) !== JSON.stringify(member.clientTags) ||
      JSON.stringify(updated.userEndpoint) !== JSON.stringify(member.userEndpoint);
    if (isNew || assignmentInputsChanged) bump = true;
    group.updateMember(updated);
    if (request.shutdownApplication && !group.shutdownRequested) {
      group.shutdownRequested = true;
      this.logger.info(`Streams group ${group.groupId}: member ${updated.memberId} asked the application to shut down`);
    }

    // 2. The topology against the topics as they are now; a new target assignment when needed.
    this.configure(group, bump);
    if (group.groupEpoch > group.assignmentEpoch) this.updateTargetAssignment(group);

    // 3. Reconciliation of this member towards its target.
    const current = reconcileStreamsMember({
      member: updated,
      targetEpoch: group.assignmentEpoch,
      target: group.targetAssignment.get(updated.memberId) ?? EMPTY_TUPLE,
      owners: new TaskOwners(group.members.values()),
      owned,
    });
    if (current !== updated) {
      group.updateMember(current);
      if (!sameTuple(current.assigned, member.assigned)) group.endpointInformationEpoch++;
    }
    // The rebalance timeout runs from the heartbeat that asked for the revocation, not from the latest one.
    if (current.state !== 'UnrevokedTasks') this.scheduler.cancel(this.rebalanceKey(group.groupId, current.memberId));
    else if (current !== updated) this.scheduleRebalanceTimeout(group, current);
    this.scheduleSession(group, current.memberId);

    const statuses = [...group.statuses];
    if (group.topology !== null && current.topologyEpoch < group.topology.epoch) {
      statuses.push({
        statusCode: StreamsStatus.STALE_TOPOLOGY,
        statusDetail: `The member's topology epoch ${current.topologyEpoch} is behind the group's topology epoch ${group.topology.epoch}.`,
      });
    }
    if (group.shutdownRequested)
      statuses.push({
        statusCode: StreamsStatus.SHUTDOWN_APPLICATION,
        statusDetail: 'A KafkaStreams instance encountered a fatal error and requested a shutdown for the entire application.',
      });
    const sendTasks = joining || !sameTuple(member.assigned, current.assigned) || (owned !== null && !sameTuple(owned, current.assigned));
    const sendEndpoints = request.endpointInformationEpoch < group.endpointInformationEpoch;
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: current.memberId,
      memberEpoch: current.memberEpoch,
      heartbeatIntervalMs: this.groupValue(group.groupId, 'streams.heartbeat.interval.ms', this.heartbeatIntervalMs),
      acceptableRecoveryLag: ACCEPTABLE_RECOVERY_LAG,
      taskOffsetIntervalMs: TASK_OFFSET_INTERVAL_MS,
      status: statuses,
      activeTasks: sendTasks ? wireTasks(current.assigned.active) : null,
      standbyTasks: sendTasks ? wireTasks(current.assigned.standby) : null,
      warmupTasks: sendTasks ? wireTasks(current.assigned.warmup) : null,
      endpointInformationEpoch: group.endpointInformationEpoch,
      partitionsByUserEndpoint: sendEndpoints ? this.endpointPartitions(group) : null,
    };
  }

  private groupForHeartbeat(groupId: string, joining: boolean): StreamsGroup {
    const existing = this.groups.get(groupId);
    if (existing !== undefined) return existing;
    const other = this.others.otherGroup(groupId);
    if (other === 'other') throw fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a streams group.`);
    if (!joining) throw fail(ErrorCode.GROUP_ID_NOT_FOUND, `Streams group ${groupId} not found.`);
    return new StreamsGroup(groupId);
  }

  private memberFor(group: StreamsGroup, request: StreamsHeartbeat, joining: boolean): StreamsMember {
    if (request.instanceId !== null) {
      const holder = group.staticMember(request.instanceId);
      if (holder !== undefined && holder.memberId !== request.memberId) {
        if (joining) {
          throw fail(
            ErrorCode.UNRELEASED_INSTANCE_ID,
            `Static member ${request.memberId} with instance id ${request.instanceId} cannot join the group because the instance id is owned by ${holder.memberId} member.`,
          );
        }
        throw fail(ErrorCode.FENCED_INSTANCE_ID, `Static member ${request.memberId} with instance id ${request.instanceId} was fenced by member ${holder.memberId}.`);
      }
    }
    const existing = group.members.get(request.memberId);
    if (existing === undefined) {
      if (!joining) throw fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${request.memberId} is not a member of group ${group.groupId}.`);
      return newStreamsMember(request.memberId);
    }
    if (joining) {
      // A rejoin: the member gave up its tasks; it starts over at epoch 0.
      return { ...existing, memberEpoch: 0, previousMemberEpoch: 0, state: 'Stable', assigned: EMPTY_TUPLE, pendingRevocation: EMPTY_TUPLE };
    }
    this.checkMemberEpoch(existing, request);
    return existing;
  }

  /** Kafka's throwIfStreamsGroupMemberEpochIsInvalid. */
  private checkMemberEpoch(member: StreamsMember, request: StreamsGroupHeartbeatRequest): void {
    const epoch = request.memberEpoch;
    if (epoch > member.memberEpoch) {
      throw fail(
        ErrorCode.FENCED_MEMBER_EPOCH,
        `The streams group member has a greater member epoch (${epoch}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its tasks and rejoin.`,
      );
    }
    if (epoch < member.memberEpoch) {
      // The previous epoch is accepted when the answer that bumped it may have been lost.
      const owned = request.activeTasks === null ? null : toTasks(request.activeTasks);
      if (epoch !== member.previousMemberEpoch || owned === null || !isSubsetOf(owned, member.assigned.active)) {
        throw fail(
          ErrorCode.FENCED_MEMBER_EPOCH,
          `The streams group member has a smaller member epoch (${epoch}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its tasks and rejoin.`,
        );
      }
    }
  }

  /** Configures the topology against the topics; bumps the group epoch when asked or when they changed. */
  private configure(group: StreamsGroup, bump: boolean): void {
    if (group.topology === null) return;
    const configured = configureTopology(group.topology, this.topics);
    const changed = configured.metadataHash !== group.metadataHash;
    group.taskCounts = configured.taskCounts;
    if (JSON.stringify(configured.statuses) !== JSON.stringify(group.statuses) && configured.statuses.length > 0) {
      this.logger.info(`Streams group ${group.groupId} is not ready: ${configured.statuses.map((status) => status.statusDetail).join(' ')}`);
    }
    group.statuses = configured.statuses;
    if (!bump && !changed) return;
    group.groupEpoch++;
    group.metadataHash = configured.metadataHash;
    this.logger.debug(`Streams group ${group.groupId}: group epoch ${group.groupEpoch}`);
  }

  private updateTargetAssignment(group: StreamsGroup): void {
    const standbys = this.groupValue(group.groupId, 'streams.num.standby.replicas', this.numStandbyReplicas);
    const members = [...group.members.values()].map((member) => ({ memberId: member.memberId, processId: member.processId }));
    const next = assignTasks(members, group.taskCounts ?? new Map(), (memberId) => group.targetAssignment.get(memberId), standbys);
    for (const { memberId } of members) group.targetAssignment.set(memberId, next.get(memberId) ?? EMPTY_TUPLE);
    group.assignmentEpoch = group.groupEpoch;
    this.logger.debug(`Streams group ${group.groupId}: target assignment for epoch ${group.assignmentEpoch}`);
  }

  /** Interactive queries: the partitions each member's endpoint serves, by its active and standby tasks. */
  private endpointPartitions(group: StreamsGroup): StreamsGroupHeartbeatResponseEndpointToPartitions[] {
    const subtopologies = new Map((group.topology?.subtopologies ?? []).map((subtopology) => [subtopology.subtopologyId, subtopology]));
    const partitionsOf = (tasks: TasksTuple['active']) => {
      const byTopic = new Map<string, Set<number>>();
      for (const [subtopologyId, set] of tasks) {
        const subtopology = subtopologies.get(subtopologyId);
        if (subtopology === undefined) continue;
        const names = [
          ...subtopology.sourceTopics,
          ...subtopology.repartitionSourceTopics.map((topic) => topic.name),
          ...subtopology.stateChangelogTopics.map((topic) => topic.name),
        ];
        for (const name of names) {
          const count = this.catalog.topicInfo(name)?.partitionCount ?? 0;
          const partitions = byTopic.get(name) ?? new Set<number>();
          for (const partition of set) if (partition < count) partitions.add(partition);
          byTopic.set(name, partitions);
        }
      }
      return [...byTopic].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
    };
    return [...group.members.values()]
      .filter((member) => member.userEndpoint !== null)
      .map((member) => ({ userEndpoint: member.userEndpoint!, activePartitions: partitionsOf(member.assigned.active), standbyPartitions: partitionsOf(member.assigned.standby) }));
  }

  // ---- Leaving, session and rebalance timeouts ----

  private leave(request: StreamsHeartbeat): StreamsGroupHeartbeatResponse {
    const group = this.groups.get(request.groupId);
    if (group === undefined) {
      const other = this.others.otherGroup(request.groupId) !== 'none';
      throw fail(ErrorCode.GROUP_ID_NOT_FOUND, other ? `Group ${request.groupId} is not a streams group.` : `Streams group ${request.groupId} not found.`);
    }
    const member = group.members.get(request.memberId);
    if (member === undefined) throw fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${request.memberId} is not a member of group ${group.groupId}.`);
    this.fence(group, member, 'left the group');
    return { ...errorResponse(request, new KafkaError(ErrorCode.NONE, 'left')), errorMessage: null, memberEpoch: request.memberEpoch };
  }

  private fence(group: StreamsGroup, member: StreamsMember, reason: string): void {
    group.removeMember(member.memberId);
    this.scheduler.cancel(this.sessionKey(group.groupId, member.memberId));
    this.scheduler.cancel(this.rebalanceKey(group.groupId, member.memberId));
    if (group.members.size === 0) group.shutdownRequested = false;
    this.configure(group, true);
    this.logger.info(`Streams group ${group.groupId}: member ${member.memberId} ${reason}; group epoch ${group.groupEpoch}`);
  }

  private scheduleSession(group: StreamsGroup, memberId: string): void {
    const timeout = this.groupValue(group.groupId, 'streams.session.timeout.ms', this.sessionTimeoutMs);
    this.scheduler.schedule(this.sessionKey(group.groupId, memberId), this.now() + timeout, () => {
      const member = group.members.get(memberId);
      if (member === undefined || this.groups.get(group.groupId) !== group) return;
      this.fence(group, member, 'session expired');
    });
  }

  private scheduleRebalanceTimeout(group: StreamsGroup, member: StreamsMember): void {
    const key = this.rebalanceKey(group.groupId, member.memberId);
    const epoch = member.memberEpoch;
    this.scheduler.schedule(key, this.now() + Math.max(0, member.rebalanceTimeoutMs), () => {
      const current = group.members.get(member.memberId);
      if (current === undefined || current.memberEpoch !== epoch || current.state !== 'UnrevokedTasks') return;
      this.fence(group, current, 'did not revoke its tasks within its rebalance timeout');
    });
  }

  private sessionKey(groupId: string, memberId: string): string {
    return `streams-session\u0000${groupId}\u0000${memberId}`;
  }

  private rebalanceKey(groupId: string, memberId: string): string {
    return `streams-rebalance\u0000${groupId}\u0000${memberId}`;
  }

  // ---- Admin and offsets ----

  describe(groupId: string): StreamsGroupDescribeResponseDescribedGroup {
    const group = this.groups.get(groupId);
    const empty = { groupState: '', groupEpoch: -1, assignmentEpoch: -1, topology: null, members: [], authorizedOperations: -2147483648 };
    if (group === undefined) {
      const other = this.others.otherGroup(groupId) !== 'none';
      return { ...empty, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: other ? `Group ${groupId} is not a streams group.` : `Group ${groupId} not found.`, groupId };
    }
    const assignment = (tuple: TasksTuple) => ({ activeTasks: wireTasks(tuple.active), standbyTasks: wireTasks(tuple.standby), warmupTasks: wireTasks(tuple.warmup) });
    const sources = group.topology === null ? undefined : configureTopology(group.topology, this.topics).sources;
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      groupId,
      groupState: group.state,
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      topology:
        group.topology === null
          ? null
          : {
              epoch: group.topology.epoch,
              subtopologies: group.topology.subtopologies.map((subtopology) => ({
                subtopologyId: subtopology.subtopologyId,
                sourceTopics: [...(sources?.get(subtopology.subtopologyId) ?? subtopology.sourceTopics)],
                repartitionSinkTopics: [...subtopology.repartitionSinkTopics],
                stateChangelogTopics: subtopology.stateChangelogTopics.map((topic) => ({ ...topic, topicConfigs: [...topic.topicConfigs] })),
                repartitionSourceTopics: subtopology.repartitionSourceTopics.map((topic) => ({ ...topic, topicConfigs: [...topic.topicConfigs] })),
              })),
            },
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        memberEpoch: member.memberEpoch,
        instanceId: member.instanceId,
        rackId: member.rackId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        topologyEpoch: member.topologyEpoch,
        processId: member.processId,
        userEndpoint: member.userEndpoint,
        clientTags: [...member.clientTags],
        taskOffsets: [...member.taskOffsets],
        taskEndOffsets: [...member.taskEndOffsets],
        assignment: assignment(member.assigned),
        targetAssignment: assignment(group.targetAssignment.get(member.memberId) ?? EMPTY_TUPLE),
        isClassic: false,
      })),
      authorizedOperations: -2147483648,
    };
  }

  /** OffsetCommit (apiVersion given) or TxnOffsetCommit for a streams group (Kafka's StreamsGroup.validateOffsetCommit). */
  validateOffsetCommit(group: StreamsGroup, memberId: string, memberEpoch: number, apiVersion: number | undefined): number {
    if (memberEpoch < 0 && group.members.size === 0) return ErrorCode.NONE;
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (apiVersion !== undefined && apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION;
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /** OffsetFetch v9+: a member's epoch must be current. */
  validateOffsetFetch(group: StreamsGroup, memberId: string | null, memberEpoch: number): number {
    if ((memberId === null || memberId === '') && memberEpoch < 0) return ErrorCode.NONE;
    const member = group.members.get(memberId ?? '');
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /** The topics the group reads (OffsetDelete keeps their offsets while it has members). */
  subscribedTopicNames(groupId: string): Set<string> {
    const group = this.groups.get(groupId);
    return group === undefined || group.members.size === 0 ? new Set() : group.sourceTopicNames();
  }

  deleteEmptyGroup(groupId: string): boolean {
    const group = this.groups.get(groupId);
    if (group === undefined || group.members.size > 0) return false;
    this.groups.delete(groupId);
    this.logger.info(`Streams group ${groupId} deleted`);
    return true;
  }
}
