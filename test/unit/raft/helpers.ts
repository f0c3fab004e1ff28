/**
 * Test helpers for the pure Raft core: a seeded PRNG, node factories with the test
 * defaults, message builders, and a tiny synchronous in-memory network that drives
 * RawNodes the way the server's event loop does (ready → persist → send → apply → advance).
 * A full fault-injecting simulator is a separate effort; this one only delivers, drops
 * and records.
 */
import type { RaftConfig } from "../../../src/raft/config.ts";
import { type Membership, votersOnly } from "../../../src/raft/membership.ts";
import type {
  AppendRequest,
  AppendResponse,
  Heartbeat,
  HeartbeatResponse,
  Message,
  VoteRequest,
  VoteResponse,
} from "../../../src/raft/messages.ts";
import { type ActiveMembership, Raft, type RaftInit } from "../../../src/raft/raft.ts";
import { RawNode, type Ready } from "../../../src/raft/raw-node.ts";
import type { ReadState } from "../../../src/raft/read-only.ts";
import { coreForTesting } from "../../../src/raft/testing.ts";
import {
  type Entry,
  EntryKind,
  type HardState,
  NONE,
  type NodeId,
} from "../../../src/raft/types.ts";
import { seededRandom } from "../../support/rng.ts";

/** Options of {@link newRaft}; everything defaults to the suite's standard cluster. */
export interface RaftOpts {
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly maxInflight?: number;
  /** Entry bytes in flight per follower (RaftConfig.maxInflightBytes); default none. */
  readonly maxInflightBytes?: number;
  readonly maxMsgBytes?: number;
  /** PRNG seed; the node id is mixed in so peers draw different timeouts. */
  readonly seed?: number;
  /** Initial log: the term of each entry, index 1 first (see {@link entriesFromTerms}). */
  readonly logTerms?: readonly number[];
  /** Initial hard state (term, vote, commit); commit also seeds the log's commit index. */
  readonly hardState?: Partial<HardState>;
  /** The configuration in force at the applied index (default: bootstrap from the voters). */
  readonly membership?: Membership;
}

/** Election timeout base used throughout the suite. */
export const ELECTION_TICK = 10;

/** The RaftConfig {@link newRaft} uses. */
export function raftConfig(id: NodeId, voters: readonly NodeId[], opts: RaftOpts = {}): RaftConfig {
  return {
    id,
    voters,
    electionTick: opts.electionTick ?? ELECTION_TICK,
    heartbeatTick: opts.heartbeatTick ?? 1,
    preVote: opts.preVote ?? false,
    checkQuorum: opts.checkQuorum ?? false,
    maxMsgBytes: opts.maxMsgBytes ?? 1 << 30,
    maxInflight: opts.maxInflight ?? 256,
    ...(opts.maxInflightBytes === undefined ? {} : { maxInflightBytes: opts.maxInflightBytes }),
    random: seededRandom((opts.seed ?? 1) * 7919 + id),
    checkInvariants: true,
  };
}

/** The recovered state {@link newRaft} starts from (log committed = hard state commit). */
function raftInit(opts: RaftOpts): RaftInit {
  const entries = entriesFromTerms(opts.logTerms ?? []);
  const commit = opts.hardState?.commit ?? 0;
  return {
    hardState: {
      term: opts.hardState?.term ?? 0,
      vote: opts.hardState?.vote ?? NONE,
      commit,
    },
    log: { entries, offset: 0, offsetTerm: 0, committed: commit, applied: commit },
    ...(opts.membership !== undefined ? { membership: opts.membership } : {}),
  };
}

/** A bare Raft state machine (paper-style tests step it directly and read `msgs`). */
export function newRaft(id: NodeId, voters: readonly NodeId[], opts: RaftOpts = {}): Raft {
  return new Raft(raftConfig(id, voters, opts), raftInit(opts));
}

/** A RawNode (Ready/advance interface) with the same defaults as {@link newRaft}. */
export function newRawNode(id: NodeId, voters: readonly NodeId[], opts: RaftOpts = {}): RawNode {
  return new RawNode(raftConfig(id, voters, opts), raftInit(opts));
}

/** A byte payload from a string. */
export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Entries 1..n where entry i has term terms[i-1] and a payload naming its position. */
export function entriesFromTerms(terms: readonly number[], firstIndex = 1): Entry[] {
  return terms.map((term, i) => ({
    term,
    index: firstIndex + i,
    kind: EntryKind.Normal,
    data: bytes(`t${term}i${firstIndex + i}`),
  }));
}

/** The terms of every entry in a node's log, index 1 first. */
export function logTerms(r: Raft): number[] {
  const out: number[] = [];
  for (let i = 1; i <= r.log.lastIndex(); i++) out.push(r.log.termAt(i) ?? -1);
  return out;
}

/** Removes and returns the messages a Raft has queued. */
export function takeMsgs(r: Raft): Message[] {
  return r.takeMessages();
}

/** The message variant(s) whose `type` tag is `T` (vote and pre-vote share an interface). */
export type MessageOf<T extends Message["type"]> = Message & { readonly type: T };

/** Narrows messages to one type. */
export function ofType<T extends Message["type"]>(
  msgs: readonly Message[],
  type: T,
): MessageOf<T>[] {
  return msgs.filter((m): m is MessageOf<T> => m.type === type);
}

// ---- message builders -------------------------------------------------------------------

export function voteReq(
  from: NodeId,
  to: NodeId,
  term: number,
  lastLogIndex: number,
  lastLogTerm: number,
  type: "vote" | "preVote" = "vote",
): VoteRequest {
  return { type, from, to, term, lastLogIndex, lastLogTerm, transfer: false };
}

export function voteResp(
  from: NodeId,
  to: NodeId,
  term: number,
  reject: boolean,
  type: "voteResp" | "preVoteResp" = "voteResp",
): VoteResponse {
  return { type, from, to, term, reject };
}

export function appendReq(
  from: NodeId,
  to: NodeId,
  term: number,
  prevIndex: number,
  prevTerm: number,
  entries: readonly Entry[],
  commit: number,
): AppendRequest {
  return { type: "append", from, to, term, prevIndex, prevTerm, entries, commit };
}

export function appendResp(
  from: NodeId,
  to: NodeId,
  term: number,
  index: number,
  reject = false,
): AppendResponse {
  return { type: "appendResp", from, to, term, index, reject, rejectHint: 0, hintTerm: 0 };
}

export function heartbeat(
  from: NodeId,
  to: NodeId,
  term: number,
  commit: number,
  context = 0,
): Heartbeat {
  return { type: "heartbeat", from, to, term, commit, context };
}

export function heartbeatResp(
  from: NodeId,
  to: NodeId,
  term: number,
  context = 0,
): HeartbeatResponse {
  return { type: "heartbeatResp", from, to, term, context };
}

// ---- driver ------------------------------------------------------------------------------

/** What a driver durably wrote for one node, rebuilt only from Ready contents. */
export interface Persisted {
  entries: Entry[];
  hardState: HardState;
}

/**
 * A deterministic, synchronous network of RawNodes. Each round every node with work hands
 * over a Ready; the driver "persists" it (into `persisted`, from the Ready alone), queues
 * its messages, records its committed entries and read states, and advances; then the
 * queued messages are delivered in FIFO order. Messages on cut links, to nodes absent from
 * the network, or refused by `filter` are recorded in `dropped` (tests may re-inject them).
 */
export class Network {
  readonly nodes = new Map<NodeId, RawNode>();
  /** Every message any node emitted, delivered or not, in emission order. */
  readonly sent: Message[] = [];
  /** Messages that were not delivered. */
  readonly dropped: Message[] = [];
  /** Entries each node's state machine applied, in order. */
  readonly applied = new Map<NodeId, Entry[]>();
  /** Read states each node returned, in order. */
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Each configuration a node's Ready reported in force, in order. */
  readonly memberships = new Map<NodeId, ActiveMembership[]>();
  /** What each node's driver persisted. */
  readonly persisted = new Map<NodeId, Persisted>();
  /** When set, a message is delivered only if this returns true. */
  filter: ((m: Message) => boolean) | null = null;
  private readonly cut = new Set<string>();
  private queue: Message[] = [];

  /**
   * `ids` are the nodes that exist; `voters` (default `ids`) is the configured membership,
   * so a voter missing from `ids` behaves like a node that is down.
   */
  constructor(
    ids: readonly NodeId[],
    opts: RaftOpts | ((id: NodeId) => RaftOpts) = {},
    voters: readonly NodeId[] = ids,
  ) {
    for (const id of ids) {
      const o = typeof opts === "function" ? opts(id) : opts;
      this.nodes.set(id, newRawNode(id, voters, o));
      this.applied.set(id, []);
      this.readStates.set(id, []);
      this.persisted.set(id, {
        entries: entriesFromTerms(o.logTerms ?? []),
        hardState: this.raft(id).hardState(),
      });
    }
  }

  /**
   * Starts node `id` on an empty disk (a new member joining, or a machine whose data dir
   * was wiped): by default with no configuration (`voters` empty), as a joining node
   * starts. Replaces any node `id` already there, forgetting what it persisted.
   */
  addNode(id: NodeId, opts: RaftOpts = {}, voters: readonly NodeId[] = []): RawNode {
    const node = newRawNode(id, voters, opts);
    this.nodes.set(id, node);
    this.applied.set(id, []);
    this.readStates.set(id, []);
    this.persisted.set(id, { entries: [], hardState: this.raft(id).hardState() });
    return node;
  }

  node(id: NodeId): RawNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** The bare Raft inside node `id` (test-only accessor: see src/raft/testing.ts). */
  raft(id: NodeId): Raft {
    return coreForTesting(this.node(id));
  }

  /** Drops every message between `id` and any other node, both ways. */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  /** Drops messages from `from` to `to` (one direction). */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Restores every link and removes the filter. */
  heal(): void {
    this.cut.clear();
    this.filter = null;
  }

  /** Queues messages for delivery (e.g. re-injecting dropped ones) and stabilizes. */
  deliver(msgs: readonly Message[]): void {
    for (const m of msgs) this.route(m);
    this.stabilize();
  }

  /** Ticks the given nodes (default all) once, then lets the network settle. */
  tick(ids: readonly NodeId[] = [...this.nodes.keys()]): void {
    for (const id of ids) this.node(id).tick();
    this.stabilize();
  }

  /** `n` rounds of {@link tick}. */
  ticks(n: number, ids?: readonly NodeId[]): void {
    for (let i = 0; i < n; i++) this.tick(ids);
  }

  /** Makes `id` campaign immediately (no pre-vote) and settles. */
  campaign(id: NodeId): void {
    this.raft(id).campaign("vote");
    this.stabilize();
  }

  /** Ids of nodes that currently believe they lead. */
  leaders(): NodeId[] {
    return [...this.nodes.entries()]
      .filter(([, n]) => n.status().role === "leader")
      .map(([id]) => id);
  }

  /** Runs Ready/advance rounds and deliveries until nothing is left to do. */
  stabilize(): void {
    for (let round = 0; ; round++) {
      if (round > 100_000) throw new Error("network did not quiesce");
      let busy = false;
      for (const [id, node] of this.nodes) {
        if (!node.hasReady()) continue;
        busy = true;
        this.handleReady(id, node);
      }
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        busy = true;
        this.node(m.to).step(m);
      }
      if (!busy) return;
    }
  }

  private handleReady(id: NodeId, node: RawNode): void {
    const rd = node.ready();
    this.persist(id, rd);
    for (const m of rd.messages) {
      this.sent.push(m);
      this.route(m);
    }
    this.applied.get(id)?.push(...rd.committedEntries);
    this.readStates.get(id)?.push(...rd.readStates);
    if (rd.membership !== null) {
      const seen = this.memberships.get(id) ?? [];
      seen.push(rd.membership);
      this.memberships.set(id, seen);
    }
    node.advance(rd);
  }

  private persist(id: NodeId, rd: Ready): void {
    const p = this.persisted.get(id) as Persisted;
    const first = rd.entries[0];
    if (first !== undefined) {
      p.entries.length = first.index - 1;
      p.entries.push(...rd.entries);
    }
    if (rd.hardState !== null) p.hardState = rd.hardState;
  }

  private route(m: Message): void {
    const ok =
      this.nodes.has(m.to) &&
      !this.cut.has(`${m.from}>${m.to}`) &&
      (this.filter === null || this.filter(m));
    if (ok) this.queue.push(m);
    else this.dropped.push(m);
  }
}

/** A network of `n` nodes (ids 1..n) with node 1 elected leader and everything settled. */
export function clusterWithLeader(n: number, opts: RaftOpts = {}): Network {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const net = new Network(ids, opts);
  net.campaign(1);
  if (net.raft(1).role !== "leader") throw new Error("node 1 failed to become leader");
  return net;
}

/**
 * Makes a fresh Raft campaign (no pre-vote) and win with grants from `voters`, then marks
 * its no-op durable. Pending messages are discarded. With `ackAll`, every peer also
 * acknowledges the no-op, so each follower is in replicate state and the no-op commits.
 */
export function electLeader(r: Raft, voters: readonly NodeId[], ackAll = false): void {
  r.campaign("vote");
  for (const p of voters) if (p !== r.id) r.step(voteResp(p, r.id, r.term, false));
  if (r.role !== "leader") throw new Error("electLeader: did not win");
  r.onStable(r.log.lastIndex(), r.term);
  if (ackAll) {
    for (const p of voters) if (p !== r.id) r.step(appendResp(p, r.id, r.term, r.log.lastIndex()));
  }
  takeMsgs(r);
}

/**
 * Leader 1 of voters 1-3 that proposed its own removal, then entries x and y, all durable
 * on itself; node 2 acknowledged through the removal, which is therefore committed (on 1 +
 * 2, the old configuration), so 1 is handing over. Returns it and the removal's index.
 */
export function removedLeaderHandingOver(): { r: Raft; removal: number } {
  const r = newRaft(1, [1, 2, 3]);
  electLeader(r, [1, 2, 3], true);
  const without1 = {
    members: votersOnly([1, 2, 3]).members.filter((m) => m.id !== 1),
    removed: [1],
  };
  const pos = r.proposeMembership(without1);
  r.propose([bytes("x"), bytes("y")]);
  r.onStable(r.log.lastIndex(), r.term);
  r.step(appendResp(2, 1, r.term, pos.index));
  return { r, removal: pos.index };
}
