import type { Entry } from "../raft/types.ts";

/**
 * The contract between the Raft driver and the replicated state machine. Kept narrow so
 * the in-memory store of today and the on-disk, chunked file store of later issues are
 * interchangeable.
 */

/** A stored value with the metadata clients see. */
export interface StoredValue {
  readonly value: Uint8Array;
  /** 1 on creation, +1 on every overwrite; a delete and re-create starts again at 1. */
  readonly version: number;
  /** Log index of the write that produced this value. */
  readonly modIndex: number;
}

/** Outcome of applying one committed command; identical on every node (determinism). */
export type ApplyResult =
  /** `index` is where the write was applied (a retried write answers with the original's). */
  | { readonly kind: "put"; readonly version: number; readonly index: number }
  /** A compare-and-set whose expected version did not match; nothing changed. */
  | { readonly kind: "precondition_failed"; readonly currentVersion: number }
  | { readonly kind: "delete"; readonly existed: boolean; readonly index: number }
  | { readonly kind: "noop" }
  /** A retried exactly-once write whose session was forgotten; it was not applied again. */
  | { readonly kind: "session_expired" }
  | { readonly kind: "invalid"; readonly reason: string };

/**
 * A deterministic state machine: the same committed entries in the same order produce the
 * same state and the same results on every node.
 */
export interface StateMachine {
  /** Highest log index whose effects are included in the state. */
  readonly appliedIndex: number;
  /**
   * Applies committed entries (strictly increasing indexes, continuing `appliedIndex`) and
   * returns one result per entry ({@link ApplyResult} "noop" for entries without a command).
   * On-disk stores apply the whole batch and the new applied index in one transaction.
   */
  applyEntries(entries: readonly Entry[]): ApplyResult[];
  /** Reads the current value of a key from applied state. */
  get(key: string): StoredValue | undefined;
  /** Number of keys stored (for status and tests). */
  size(): number;
  /**
   * SHA-256 over every key, version and value in key order: equal digests at equal applied
   * indexes show that replicas converged (simulator and fault harness checks).
   */
  digest(): string;
}
