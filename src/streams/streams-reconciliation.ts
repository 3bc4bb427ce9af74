// Reconciliation of one streams group member towards its target tasks, the state machine of
// Kafka's streams CurrentAssignmentBuilder:
//  - a member first keeps only the tasks (active, standby, warm-up) it still has in the
//    target and is asked to give up the rest; it stays at its epoch (UnrevokedTasks) until a
//    heartbeat no longer reports them as owned;
//  - then it moves to the target epoch and gets the target tasks that are free; a task
//    another process still runs (see TaskOwners.released) is withheld (UnreleasedTasks), so
//    no task is ever active twice and no process keeps two copies of one task.

import { EMPTY_TUPLE, holdsAny, type StreamsMember, TASK_KINDS, type TaskOwners, type Tasks, type TasksTuple } from './streams-group.js';

export interface StreamsReconcileInput {
  readonly member: StreamsMember;
  readonly targetEpoch: number;
  readonly target: TasksTuple;
  readonly owners: TaskOwners;
  /**
   * The tasks the member says it owns in this heartbeat; null when it did not say (heartbeats
   * carry them only when they changed), which counts as still owning everything.
   */
  readonly owned: TasksTuple | null;
}

/** Does the member still own one of these tasks? Not knowing counts as yes. */
function ownsAny(owned: TasksTuple | null, tasks: TasksTuple): boolean {
  if (owned === null) return TASK_KINDS.some((kind) => tasks[kind].size > 0);
  return TASK_KINDS.some((kind) => holdsAny(owned[kind], tasks[kind]));
}

/** The member's next state; the same object when nothing changes. */
export function reconcileStreamsMember(input: StreamsReconcileInput): StreamsMember {
  const { member, targetEpoch } = input;
  switch (member.state) {
    case 'Stable':
      return member.memberEpoch === targetEpoch ? member : computeNext(input);
    case 'UnrevokedTasks':
      return ownsAny(input.owned, member.pendingRevocation) ? member : computeNext(input);
    case 'UnreleasedTasks':
      return computeNext(input);
  }
}

function computeNext({ member, target, targetEpoch, owners, owned }: StreamsReconcileInput): StreamsMember {
  const keep: Record<string, Map<string, Set<number>>> = {};
  const revoke: Record<string, Map<string, Set<number>>> = {};
  const take: Record<string, Map<string, Set<number>>> = {};
  let unreleased = false;
  let revoking = false;
  for (const kind of TASK_KINDS) {
    keep[kind] = new Map();
    revoke[kind] = new Map();
    take[kind] = new Map();
    const wanted: Tasks = target[kind];
    const current: Tasks = member.assigned[kind];
    for (const subtopology of new Set([...wanted.keys(), ...current.keys()])) {
      const want = wanted.get(subtopology) ?? new Set<number>();
      const have = current.get(subtopology) ?? new Set<number>();
      const kept = new Set([...have].filter((partition) => want.has(partition)));
      const given = new Set([...have].filter((partition) => !want.has(partition)));
      const taken = new Set<number>();
      for (const partition of want) {
        if (kept.has(partition)) continue;
        if (owners.released(kind, subtopology, partition, member.processId)) taken.add(partition);
        else unreleased = true;
      }
      if (kept.size > 0) keep[kind].set(subtopology, kept);
      if (given.size > 0) {
        revoke[kind].set(subtopology, given);
        revoking = true;
      }
      if (taken.size > 0) take[kind].set(subtopology, taken);
    }
  }
  const tuple = (parts: Record<string, Map<string, Set<number>>>): TasksTuple => ({ active: parts.active!, standby: parts.standby!, warmup: parts.warmup! });
  const previousMemberEpoch = (epoch: number) => (epoch !== member.memberEpoch ? member.memberEpoch : member.previousMemberEpoch);
  if (revoking && ownsAny(owned, tuple(revoke))) {
    return { ...member, state: 'UnrevokedTasks', assigned: tuple(keep), pendingRevocation: tuple(revoke) };
  }
  for (const kind of TASK_KINDS) {
    for (const [subtopology, partitions] of take[kind]!) {
      const set = keep[kind]!.get(subtopology) ?? new Set<number>();
      for (const partition of partitions) set.add(partition);
      keep[kind]!.set(subtopology, set);
    }
  }
  return {
    ...member,
    state: unreleased ? 'UnreleasedTasks' : 'Stable',
    memberEpoch: targetEpoch,
    previousMemberEpoch: previousMemberEpoch(targetEpoch),
    assigned: tuple(keep),
    pendingRevocation: EMPTY_TUPLE,
  };
}
