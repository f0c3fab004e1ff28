/**
 * Core data types of the Raft consensus core. Pure data: no I/O, no classes with
 * behaviour, so that they cross every layer (storage, transport, simulator) unchanged.
 */

/** A node's identity in the cluster. 0 is reserved for "none". */
export type NodeId = number;

/** Sentinel for "no node" (no vote cast, no leader known). */
export const NONE: NodeId = 0;

/** What an entry carries; a no-op lets a new leader commit entries of earlier terms (§5.4.2). */
export enum EntryKind {
  /** A state-machine command; `data` is opaque to the core. */
  Normal = 0,
  /** Appended by every new leader; applies to nothing. */
  Noop = 1,
  /** A whole new configuration (membership.ts); takes effect where it is known committed. */
  Config = 2,
}

/** One replicated log entry. Indexes start at 1; index 0 is the empty log's sentinel. */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/**
 * The state that must be durable before any message that depends on it is sent:
 * the current term and the vote cast in it (§5.1, §5.2), plus the commit index so a
 * restarted node can re-apply what it knows to be committed without waiting for a leader.
 */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/** The hard state of a node that has never run. */
export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };

/** Roles a node moves through; pre-candidate is the pre-vote phase (thesis §9.6). */
export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

/** True when two hard states are equal (so an unchanged one need not be persisted). */
export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
