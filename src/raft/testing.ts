/**
 * Test-only access to the core's internals, for tests that must reach under RawNode: the
 * paper-style unit tests that step a bare Raft, and the tests that plant a bug (a corrupted
 * commit index, a broken append) to prove the invariant checks and the loop's fail-stop
 * catch it. Not exported from index.ts; nothing under src/ may import this file.
 */
import type { RaftLog } from "./log.ts";
import type { Raft } from "./raft.ts";
import { type RawNode, rawNodeCoreForTesting } from "./raw-node.ts";

/** The Raft a RawNode wraps. */
export function coreForTesting(node: RawNode): Raft {
  return rawNodeCoreForTesting(node);
}

/** A Raft's log with its mutators, to plant a bug. */
export function mutableLogForTesting(raft: Raft): RaftLog {
  return raft.log as RaftLog;
}
