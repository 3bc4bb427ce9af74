// The broker-side task assignor of streams groups: every task active on exactly one member,
// balanced (members differ by at most one active task), sticky (a member keeps the active
// tasks of its previous target while that stays balanced), and `numStandbyReplicas` standby
// copies of each task on members of other processes than the active copy and each other,
// preferring the previous holders, then the least loaded. No warm-up tasks are assigned.

import { EMPTY_TUPLE, type Tasks, type TasksTuple } from './streams-group.js';

export interface AssignorMember {
  readonly memberId: string;
  readonly processId: string;
}

interface Task {
  readonly subtopology: string;
  readonly partition: number;
}

const has = (tasks: Tasks | undefined, task: Task) => tasks?.get(task.subtopology)?.has(task.partition) === true;

function add(tasks: Map<string, Set<number>>, task: Task): void {
  const set = tasks.get(task.subtopology) ?? new Set<number>();
  set.add(task.partition);
  tasks.set(task.subtopology, set);
}

export function assignTasks(
  members: readonly AssignorMember[],
  taskCounts: ReadonlyMap<string, number>,
  previous: (memberId: string) => TasksTuple | undefined,
  numStandbyReplicas: number,
): Map<string, TasksTuple> {
  const result = new Map<string, TasksTuple>();
  if (members.length === 0) return result;
  const ordered = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const tasks: Task[] = [];
  for (const [subtopology, count] of [...taskCounts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (let partition = 0; partition < count; partition++) tasks.push({ subtopology, partition });
  }
  const active = new Map(ordered.map((member) => [member.memberId, new Map<string, Set<number>>()]));
  const load = new Map(ordered.map((member) => [member.memberId, 0]));
  const owner = new Map<string, string>();
  const key = (task: Task) => `${task.subtopology}\u0000${task.partition}`;
  const give = (memberId: string, task: Task) => {
    add(active.get(memberId)!, task);
    load.set(memberId, load.get(memberId)! + 1);
    owner.set(key(task), memberId);
  };

  // Sticky: each member first keeps up to the floor of the fair share, then as many members
  // as there are remainder tasks keep one more.
  const floor = Math.floor(tasks.length / ordered.length);
  let extra = tasks.length % ordered.length;
  for (const member of ordered) {
    const before = previous(member.memberId)?.active;
    for (const task of tasks) {
      if (load.get(member.memberId)! >= floor) break;
      if (!owner.has(key(task)) && has(before, task)) give(member.memberId, task);
    }
  }
  for (const member of ordered) {
    if (extra === 0) break;
    const before = previous(member.memberId)?.active;
    const task = tasks.find((candidate) => !owner.has(key(candidate)) && has(before, candidate));
    if (task !== undefined && load.get(member.memberId)! === floor) {
      give(member.memberId, task);
      extra--;
    }
  }
  // The rest to the least loaded member (ties: member ID order).
  for (const task of tasks) {
    if (owner.has(key(task))) continue;
    let best = ordered[0]!;
    for (const member of ordered) if (load.get(member.memberId)! < load.get(best.memberId)!) best = member;
    give(best.memberId, task);
  }

  // Standby copies on other processes.
  const standby = new Map(ordered.map((member) => [member.memberId, new Map<string, Set<number>>()]));
  const processOf = new Map(ordered.map((member) => [member.memberId, member.processId]));
  if (numStandbyReplicas > 0) {
    for (const task of tasks) {
      const used = new Set([processOf.get(owner.get(key(task))!)!]);
      for (let copy = 0; copy < numStandbyReplicas; copy++) {
        const candidates = ordered.filter((member) => !used.has(member.processId));
        if (candidates.length === 0) break;
        const sticky = candidates.find((member) => has(previous(member.memberId)?.standby, task));
        let chosen = sticky ?? candidates[0]!;
        if (sticky === undefined) for (const member of candidates) if (load.get(member.memberId)! < load.get(chosen.memberId)!) chosen = member;
        add(standby.get(chosen.memberId)!, task);
        load.set(chosen.memberId, load.get(chosen.memberId)! + 1);
        used.add(chosen.processId);
      }
    }
  }
  for (const member of ordered) {
    result.set(member.memberId, { ...EMPTY_TUPLE, active: active.get(member.memberId)!, standby: standby.get(member.memberId)! });
  }
  return result;
}
