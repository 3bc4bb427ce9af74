// A classic (JoinGroup/SyncGroup) consumer group: its members, generation, chosen protocol
// and state, with Kafka's state names. Transitions live in the coordinator; this file holds
// the state and the pure decisions (protocol selection, who has rejoined).

export type ClassicGroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface JoinResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly memberId: string;
  readonly skipAssignment: boolean;
  readonly members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

export interface SyncResult {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Buffer;
}

export interface ClassicMember {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Array<{ name: string; metadata: Buffer }>;
  assignment: Buffer;
  /** Set while the member waits for the join phase to complete. */
  awaitingJoin: ((result: JoinResult) => void) | undefined;
  /** Set while the member waits for the leader's assignment. */
  awaitingSync: ((result: SyncResult) => void) | undefined;
  /** A member that joined in the current rebalance (KIP-394 pending members excluded). */
  isNew: boolean;
}

export class ClassicGroup {
  state: ClassicGroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, ClassicMember>();
  /** KIP-394: member IDs handed out with MEMBER_ID_REQUIRED, not yet joined. */
  readonly pendingMembers = new Set<string>();
  /** group.instance.id -> member ID (KIP-345 static membership). */
  readonly staticMembers = new Map<string, string>();
  stateTimestamp = Date.now();
  /** The deadline of the current join phase; extended by the initial delay while members arrive. */
  initialDelayUntil = 0;

  constructor(readonly groupId: string) {}

  transition(state: ClassicGroupState): void {
    this.state = state;
    this.stateTimestamp = Date.now();
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  hasAllMembersJoined(): boolean {
    for (const member of this.members.values()) if (member.awaitingJoin === undefined) return false;
    return true;
  }

  /** The longest rebalance timeout of the members: how long the join phase may last. */
  rebalanceTimeoutMs(): number {
    let timeout = 0;
    for (const member of this.members.values()) timeout = Math.max(timeout, member.rebalanceTimeoutMs);
    return timeout;
  }

  /** Protocols every member supports. */
  candidateProtocols(): Set<string> {
    let candidates: Set<string> | undefined;
    for (const member of this.members.values()) {
      const names = new Set(member.protocols.map((protocol) => protocol.name));
      candidates = candidates === undefined ? names : new Set([...candidates].filter((name) => names.has(name)));
    }
    return candidates ?? new Set();
  }

  /** Would a member with these protocols fit the group (type and at least one common protocol)? */
  supportsProtocols(protocolType: string, protocols: ReadonlyArray<{ name: string }>): boolean {
    if (this.members.size === 0) return protocolType !== '' && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    const candidates = this.candidateProtocols();
    return protocols.some((protocol) => candidates.has(protocol.name));
  }

  /** Kafka's vote: each member votes for its most preferred candidate; most votes wins. */
  selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const choice = member.protocols.find((protocol) => candidates.has(protocol.name))!.name;
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, count] of votes) {
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best;
  }

  metadataFor(member: ClassicMember, protocol: string): Buffer {
    return member.protocols.find((candidate) => candidate.name === protocol)?.metadata ?? Buffer.alloc(0);
  }
}
