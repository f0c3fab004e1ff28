import type { Metadata } from "../api/index.ts";
import type { Entry } from "../raft/index.ts";
import type { BlobIo } from "../storage/index.ts";
import type { AuthView } from "./auth-state.ts";

/**
 * The contract between the Raft driver and the replicated state machine. Kept narrow so
 * the in-memory store of today and the on-disk, chunked file store of later issues are
 * interchangeable.
 */

/** A stored value or file with the metadata clients see. */
export interface StoredValue {
  /** The content of a value stored inline (at most 1 MiB); empty for a chunked file. */
  readonly value: Uint8Array;
  /** 1 on creation, +1 on every overwrite; a delete and re-create starts again at 1. */
  readonly version: number;
  /** Log index of the write that produced this value. */
  readonly modIndex: number;
  /** The proposing leader's clock at that write (ms since the epoch). */
  readonly modTimeMs: number;
  /** Content length in bytes. */
  readonly size: number;
  /** SHA-256 of the content. */
  readonly sha256: Uint8Array;
  /** Present for a file uploaded in chunks: where its content is. */
  readonly file?: FileChunks;
  /** What the writer attached (docs/architecture.md "Metadata"); absent when none. */
  readonly metadata?: Metadata;
}

/**
 * Where a chunked file's content lives: chunks 0..count-1 of one upload, in the upload's
 * blob (chunk `seq` at byte `seq` × 1 MiB).
 */
export interface FileChunks {
  readonly uploadId: string;
  readonly count: number;
}

/** What the store knows of one chunk: its length, and the CRC-32 of its bytes (blob-records.ts). */
export interface ChunkFacts {
  readonly length: number;
  readonly crc32: number;
}

/** An upload in progress: chunks received so far, and when it was last active (log clock). */
export interface UploadState {
  readonly chunks: number;
  readonly bytes: number;
  readonly lastMs: number;
}

/** Outcome of applying one committed command; identical on every node (determinism). */
export type ApplyResult =
  /** `index` is where the write was applied (a retried write answers with the original's). */
  | { readonly kind: "put"; readonly version: number; readonly index: number }
  /** A compare-and-set whose expected version did not match; nothing changed. */
  | { readonly kind: "precondition_failed"; readonly currentVersion: number }
  | { readonly kind: "delete"; readonly existed: boolean; readonly index: number }
  /** A chunk of an upload was stored (or was already there); `received` chunks so far. */
  | { readonly kind: "chunk"; readonly received: number }
  /** A delete of a whole subtree: how many keys went. */
  | { readonly kind: "delete_prefix"; readonly deleted: number; readonly index: number }
  | { readonly kind: "noop" }
  /** A retried exactly-once write whose session was forgotten; it was not applied again. */
  | { readonly kind: "session_expired" }
  | { readonly kind: "invalid"; readonly reason: string }
  /** An AuthOp applied at `index` (a user's generation is the index that set it). */
  | { readonly kind: "auth"; readonly index: number }
  /** An AuthOp that does not hold (unknown user or role, a duplicate, a bad name...): no change. */
  | { readonly kind: "auth_refused"; readonly reason: string }
  /** Auth is on and the command has no caller, or one whose user or generation is gone. */
  | { readonly kind: "unauthenticated"; readonly reason: string }
  /** The caller lacks a permission, e.g. "user alice lacks write on photos/a.jpg". */
  | { readonly kind: "permission_denied"; readonly reason: string };

/**
 * A deterministic state machine: the same committed entries in the same order produce the
 * same state and the same results on every node.
 */
export interface StateMachine {
  /** Highest log index whose effects are included in the state. */
  readonly appliedIndex: number;
  /**
   * Users, roles and the auth switch at the applied index (read-only): the node checks
   * calls and verifies tokens against it. The same object for the store's whole life.
   */
  readonly auth: AuthView;
  /**
   * Applies committed entries (strictly increasing indexes, continuing `appliedIndex`) and
   * returns one result per entry ({@link ApplyResult} "noop" for entries without a command).
   * The on-disk store applies into memory and writes behind: what it has on disk is always
   * a whole number of batches with their applied index, written in one transaction.
   */
  applyEntries(entries: readonly Entry[]): ApplyResult[];
  /**
   * Called on every tick: a store that writes behind writes what is due even when no new
   * entries come, so an idle node's store on disk catches up with what it applied (and a
   * restart replays nothing). Best effort: a failure waits for the next apply to report it.
   */
  writeBehindIfDue?(): void;
  /** Reads the current value of a key from applied state. */
  get(key: string): StoredValue | undefined;
  /**
   * A consistent view of the applied state as it is now, for reads that take a while
   * (streaming a file, listing): later writes do not show through. Close it when done.
   */
  openView(): StateView;
  /** Number of keys stored (for status and tests). */
  size(): number;
  /**
   * SHA-256 over every key, version and value in key order: equal digests at equal applied
   * indexes show that replicas converged (simulator and fault harness checks).
   */
  digest(): string;
}

/** A consistent read-only view of the state (see {@link StateMachine.openView}). */
export interface StateView {
  /**
   * The value of `key` in this view. A file's blob stays on disk until the view closes
   * (it is pinned as it is returned), even if the file is deleted meanwhile.
   */
  get(key: string): StoredValue | undefined;
  /** Length and CRC-32 of chunk `seq` of an upload; throws if it is missing or damaged. */
  chunk(uploadId: string, seq: number): ChunkFacts;
  /** Where the chunks' bytes are (blob-reader.ts reads and checks them). */
  readonly blobs: BlobIo;
  /** Keys in ascending order starting at `from` (inclusive), while they start with `prefix`. */
  keys(from: string, prefix: string): Iterable<string>;
  close(): void;
}
