/**
 * The core runs its full invariant checks exactly when its config asks for them
 * (`checkInvariants`, on in tests and the simulator, off in production where only the
 * cheap ones run): a broken invariant that only the full check sees must throw with it
 * on and pass unnoticed with it off (found by mutation testing, docs/mutation/raft-core.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvariantError } from "../../../src/raft/invariants.ts";
import { Raft } from "../../../src/raft/raft.ts";
import { mutableLogForTesting } from "../../../src/raft/testing.ts";
import { EntryKind } from "../../../src/raft/types.ts";
import { raftConfig } from "./helpers.ts";

/** A follower in term 1 whose log holds an entry of term 5: only the full check sees it. */
function withFutureEntry(checkInvariants: boolean): Raft {
  const r = new Raft(
    { ...raftConfig(1, [1, 2, 3]), checkInvariants },
    {
      hardState: { term: 1, vote: 0, commit: 0 },
      log: { entries: [], offset: 0, offsetTerm: 0, committed: 0, applied: 0 },
    },
  );
  mutableLogForTesting(r).append([
    { term: 5, index: 1, kind: EntryKind.Normal, data: new Uint8Array() },
  ]);
  return r;
}

test("with checkInvariants on, an entry of a future term fails the next input", () => {
  const r = withFutureEntry(true);
  assert.throws(
    () => r.tick(),
    (e: unknown) => e instanceof InvariantError && /term 5/.test(e.message),
  );
});

test("with checkInvariants off, only the cheap checks run: the same input passes", () => {
  const r = withFutureEntry(false);
  assert.doesNotThrow(() => r.tick());
});
