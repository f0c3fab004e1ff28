/**
 * At start, the two durable halves of a node — the WAL and the on-disk state machine —
 * are reconciled. The store is "the log applied up to appliedIndex"; the WAL holds the
 * log after its compaction point, which is never past what the store has flushed. So:
 *
 * - store inside the log (the usual case): replay only the entries after appliedIndex;
 * - store ahead of the log's end, or holding a different entry at appliedIndex: a
 *   snapshot was installed and the crash came before the log was reset; everything the
 *   log holds is covered or superseded, so the log restarts after the store's position;
 * - store behind the log's compaction point: the store was lost or replaced, and the
 *   entries between are gone: refuse to start rather than serve a state with a hole.
 */

import { StartupError } from "../api/index.ts";
import type { LogInit, SnapshotMeta } from "../raft/index.ts";
import type { WalContents } from "../storage/index.ts";

/** Where the store stands. */
export interface StorePosition {
  readonly appliedIndex: number;
  readonly appliedTerm: number;
}

/** How the node starts: its log, the snapshot it can send, and whether the WAL needs a reset. */
export interface RecoveredLog {
  readonly log: LogInit;
  /** The store's position as a snapshot the leader can stream (null for an empty store). */
  readonly snapshot: SnapshotMeta | null;
  /** Non-null: the WAL must be reset to this position before the node runs. */
  readonly resetTo: SnapshotMeta | null;
}

/** Reconciles WAL contents with the store; throws StartupError("corrupt") if they cannot match. */
export function recoverLog(wal: WalContents, store: StorePosition, dataDir: string): RecoveredLog {
  const applied = store.appliedIndex;
  const snapshot = applied > 0 ? { index: applied, term: store.appliedTerm } : null;
  if (applied < wal.offset) {
    throw new StartupError(
      "corrupt",
      `state store in ${dataDir} is at index ${applied} but the log was compacted to ${wal.offset}: ` +
        "the store was lost or replaced; restore this node's data dir, or wipe it and re-add the node",
    );
  }
  if (applied > 0 && wal.hardState.term < store.appliedTerm) {
    // The store saw term T, so this node persisted a term >= T before: a WAL that knows no
    // such term was lost or replaced, and with it the node's vote. Starting anyway could
    // let it vote twice in one term.
    throw new StartupError(
      "corrupt",
      `the log in ${dataDir} is at term ${wal.hardState.term} but the state store applied an entry of term ${store.appliedTerm}: ` +
        "the log was lost or replaced; restore this node's data dir, or wipe it and re-add the node",
    );
  }
  const committed = Math.max(wal.hardState.commit, applied);
  if (applied === 0 || termAt(wal, applied) === store.appliedTerm) {
    const log = {
      entries: wal.entries,
      offset: wal.offset,
      offsetTerm: wal.offsetTerm,
      committed,
      applied,
    };
    return { log, snapshot, resetTo: null };
  }
  const position = { index: applied, term: store.appliedTerm };
  const log = {
    entries: [],
    offset: applied,
    offsetTerm: store.appliedTerm,
    committed: applied,
    applied,
  };
  return { log, snapshot, resetTo: position };
}

function termAt(wal: WalContents, index: number): number | undefined {
  if (index === wal.offset) return wal.offsetTerm;
  return wal.entries[index - wal.offset - 1]?.term;
}
