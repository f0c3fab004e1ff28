/**
 * Runtime assertions of the core's own invariants, checked after every input (tick, step,
 * propose, stable, applied): the term never goes back; within a term the vote stands and
 * the leader is never replaced (at most one leader per term as this node observes it);
 * applied <= committed <= last index; commit never goes back, and a leader advances it
 * only over an entry of its own term (Figure 8). A violation is a bug in this code, never
 * a peer's doing (peer input that could break them is dropped before it is stepped), so it
 * throws: stopping is safer than persisting or acknowledging a state Raft's proofs do not
 * cover. The O(1) checks
 * always run; the ones that scan the log tail and outgoing messages run when
 * `RaftConfig.checkInvariants` is set (tests, the simulator, `DFS_CHECK_INVARIANTS=1`).
 */
import { MAX_INDEX, MAX_TERM } from "./limits.ts";
import type { Message } from "./messages.ts";
import { NONE, type Role } from "./types.ts";

/** The slice of a Raft node the checks read (kept narrow so the checks cannot mutate it). */
export interface InvariantSubject {
  readonly id: number;
  readonly term: number;
  readonly vote: number;
  readonly role: Role;
  readonly leader: number;
  readonly msgs: readonly Message[];
  readonly log: {
    readonly committed: number;
    readonly applied: number;
    readonly stableIndex: number;
    lastIndex(): number;
    firstIndex(): number;
    termAt(index: number): number | undefined;
    entryAt(index: number): { readonly index: number; readonly term: number } | undefined;
  };
}

/** What the node looked like before an input, to compare against after it. */
export interface InvariantWatch {
  readonly term: number;
  readonly vote: number;
  readonly leader: number;
  readonly committed: number;
  readonly msgCount: number;
}

/** Thrown when the core breaks one of its own invariants (a bug, not bad input). */
export class InvariantError extends Error {
  constructor(message: string) {
    super(`raft invariant violated: ${message}`);
    this.name = "InvariantError";
  }
}

/** Log entries the full check scans back from the last index (bounded so it stays cheap). */
const TAIL_ENTRIES = 64;

/** Records the state an input starts from. */
export function watchInvariants(r: InvariantSubject): InvariantWatch {
  return {
    term: r.term,
    vote: r.vote,
    leader: r.leader,
    committed: r.log.committed,
    msgCount: r.msgs.length,
  };
}

/** Throws InvariantError if the input that began at `before` broke an invariant. */
export function assertInvariants(r: InvariantSubject, before: InvariantWatch, full: boolean): void {
  const { log } = r;
  const last = log.lastIndex();
  if (r.term < before.term) fail(`term went back from ${before.term} to ${r.term}`);
  if (r.term > MAX_TERM) fail(`term ${r.term} above MAX_TERM`);
  if (last > MAX_INDEX) fail(`last index ${last} above MAX_INDEX`);
  if (!(log.applied <= log.committed && log.committed <= last)) {
    fail(`applied ${log.applied} <= committed ${log.committed} <= last ${last} does not hold`);
  }
  if (r.term === before.term) assertSameTerm(r, before);
  if (r.role === "leader" && r.leader !== r.id) fail(`leader names ${r.leader} as leader`);
  if (log.committed < before.committed) {
    fail(`commit went back from ${before.committed} to ${log.committed}`);
  }
  if (r.role === "leader" && r.term === before.term && log.committed > before.committed) {
    // Figure 8: a leader commits only by counting replicas of an entry of its own term.
    // (A node that won in this very input moved its commit before, as a follower: a
    // hand-over's TimeoutNow carries the old leader's commit.)
    const term = log.termAt(log.committed);
    if (term !== r.term) fail(`leader of term ${r.term} committed an entry of term ${term}`);
  }
  if (full) assertFull(r, before);
}

/** Within one term a vote, once cast, stands, and a known leader is never replaced (§5.2). */
function assertSameTerm(r: InvariantSubject, before: InvariantWatch): void {
  if (before.vote !== NONE && r.vote !== before.vote) {
    fail(`vote in term ${r.term} changed from ${before.vote} to ${r.vote}`);
  }
  if (before.leader !== NONE && r.leader !== NONE && r.leader !== before.leader) {
    fail(`second leader ${r.leader} in term ${r.term} (was ${before.leader})`);
  }
}

function assertFull(r: InvariantSubject, before: InvariantWatch): void {
  const { log } = r;
  if (r.role === "leader" && r.vote !== r.id) fail(`leader of term ${r.term} voted ${r.vote}`);
  if (log.stableIndex > log.lastIndex()) {
    fail(`stable index ${log.stableIndex} past last ${log.lastIndex()}`);
  }
  const from = Math.max(log.firstIndex(), log.lastIndex() - TAIL_ENTRIES);
  let previous = log.termAt(from - 1) ?? 0;
  for (let i = from; i <= log.lastIndex(); i++) {
    const e = log.entryAt(i);
    if (e === undefined || e.index !== i) fail(`log entry at ${i} missing or misnumbered`);
    const term = (e as { term: number }).term;
    if (term < previous || term > r.term) {
      fail(`entry ${i} of term ${term} after term ${previous} (node term ${r.term})`);
    }
    previous = term;
  }
  for (let i = before.msgCount; i < r.msgs.length; i++) {
    const m = r.msgs[i] as Message;
    if (m.term > MAX_TERM) fail(`sent a ${m.type} with term ${m.term}`);
    if (m.from !== r.id) fail(`sent a ${m.type} claiming to be from ${m.from}`);
  }
}

function fail(message: string): never {
  throw new InvariantError(message);
}
