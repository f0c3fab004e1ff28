/**
 * The loop's side of follower reads (loop/waiters.ts): reads arriving together share one
 * READ_INDEX; a confirmed one waits until the state machine applied the read index; a
 * request the leader never answers fails fast, on a leader or term change or after
 * FOLLOWER_READ_TIMEOUT_MS, instead of holding the client for the request timeout.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DfsError } from "../../../src/api/index.ts";
import type { Role, SoftState } from "../../../src/raft/index.ts";
import { FOLLOWER_READ_TIMEOUT_MS, Waiters } from "../../../src/server/loop/waiters.ts";

/** A core that records read requests and reports a fixed role. */
function fakeNode(role: Role, leader: number, term = 3) {
  const contexts: number[] = [];
  return {
    contexts,
    soft: { role, leader, term } as SoftState,
    softState(): SoftState {
      return this.soft;
    },
    readIndex(context: number): void {
      contexts.push(context);
    },
  };
}

/** Settles to "ok" or the error's code, whichever comes. */
function outcome(p: Promise<void>): { value: string | undefined } {
  const box: { value: string | undefined } = { value: undefined };
  p.then(
    () => (box.value = "ok"),
    (e: unknown) => (box.value = e instanceof DfsError ? e.code : String(e)),
  );
  return box;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("follower reads in the loop's waiters", () => {
  test("reads arriving together share one request; served only once applied >= index", async () => {
    const w = new Waiters((e) => e as Error);
    const node = fakeNode("follower", 1);
    const a = outcome(w.read(30_000));
    const b = outcome(w.read(30_000));
    w.flushReads(node, 0);
    assert.deepEqual(node.contexts, [1], "one READ_INDEX for both");
    w.acceptReadStates([{ index: 10, context: 1 }], 9);
    await tick();
    assert.equal(a.value, undefined, "applied 9 < read index 10: must wait");
    w.serveReads(10);
    await tick();
    assert.deepEqual([a.value, b.value], ["ok", "ok"]);
  });

  test("a request the leader never answers fails after the follower timeout", async () => {
    const w = new Waiters((e) => e as Error);
    const r = outcome(w.read(30_000));
    w.flushReads(fakeNode("follower", 1), 1_000);
    w.expire(1_000 + FOLLOWER_READ_TIMEOUT_MS - 1);
    await tick();
    assert.equal(r.value, undefined);
    w.expire(1_000 + FOLLOWER_READ_TIMEOUT_MS + 1);
    await tick();
    assert.equal(r.value, "unavailable");
  });

  test("a leader's own read keeps the full request timeout", async () => {
    const w = new Waiters((e) => e as Error);
    const r = outcome(w.read(30_000));
    w.flushReads(fakeNode("leader", 2), 0);
    w.expire(FOLLOWER_READ_TIMEOUT_MS + 1);
    await tick();
    assert.equal(r.value, undefined);
  });

  test("a new leader or term fails the unanswered request; the same one keeps it", async () => {
    const w = new Waiters((e) => e as Error);
    const notLeader = (): Error => new DfsError("not_leader", "leader changed");
    const r1 = outcome(w.read(30_000));
    w.flushReads(fakeNode("follower", 1, 3), 0);
    w.rejectReadsNotOf(3, 1, notLeader);
    await tick();
    assert.equal(r1.value, undefined, "same term and leader: still waiting");
    w.rejectReadsNotOf(4, 1, notLeader);
    await tick();
    assert.equal(r1.value, "not_leader");
    const r2 = outcome(w.read(30_000));
    w.flushReads(fakeNode("follower", 1, 4), 0);
    w.rejectReadsNotOf(4, 0, notLeader);
    await tick();
    assert.equal(r2.value, "not_leader", "the leader was lost");
  });

  test("a confirmed read is not failed by a later leader change", async () => {
    const w = new Waiters((e) => e as Error);
    const r = outcome(w.read(30_000));
    w.flushReads(fakeNode("follower", 1, 3), 0);
    w.acceptReadStates([{ index: 5, context: 1 }], 0);
    w.rejectReadsNotOf(9, 0, () => new DfsError("not_leader", "x"));
    w.serveReads(5);
    await tick();
    assert.equal(r.value, "ok", "the leader confirmed it while it still led");
  });
});
