/**
 * The production event loop fail-stops when the core trips one of its invariant checks
 * (src/raft/invariants.ts) while handling a peer message, a tick or a proposal: it
 * reports the error through onFatal and takes no more writes, rather than letting the
 * gRPC guard turn the throw into INTERNAL (or rejecting only the proposing clients) while
 * the node carries on from a state Raft's proofs do not cover.
 * Runs the real RaftLoop and core on the simulator's disk and clock.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvariantError } from "../../src/raft/index.ts";
import { coreForTesting, mutableLogForTesting } from "../../src/raft/testing.ts";
import { Rng } from "../support/rng.ts";
import { EventQueue } from "./event-queue.ts";
import { SimNode } from "./sim-node.ts";

function startFollower(fatal: Error[]): SimNode {
  const node = new SimNode(
    2,
    [1, 2, 3],
    new EventQueue(),
    new Rng(7),
    () => {},
    () => {},
    {
      preVote: true,
      checkQuorum: true,
      maxMsgBytes: 1 << 20,
      maxInflight: 8,
      snapshotEvery: 0,
      snapshotKeep: 0,
      onFatal: (error) => fatal.push(error),
    },
  );
  node.start();
  return node;
}

test("a peer message that trips an invariant check halts the loop", async () => {
  const fatal: Error[] = [];
  const node = startFollower(fatal);
  const inc = node.current;
  assert.ok(inc !== null);
  inc.loop.deliver([{ type: "heartbeat", from: 1, to: 2, term: 1, commit: 0, context: 0 }]);
  assert.deepEqual(fatal, [], "a valid heartbeat is fine");
  // Past the last index: only a bug could do this (planted through the test-only accessor).
  mutableLogForTesting(coreForTesting(inc.node)).committed = 5;
  inc.loop.deliver([{ type: "heartbeat", from: 1, to: 2, term: 1, commit: 0, context: 0 }]);
  assert.equal(fatal.length, 1);
  assert.ok((fatal[0] as Error) instanceof InvariantError, String(fatal[0]));
  await assert.rejects(async () => inc.loop.propose(new Uint8Array([1])), /shutting down/);
});

test("an invariant failure while proposing halts the loop and fails the waiting writes", async () => {
  const fatal: Error[] = [];
  const queue = new EventQueue();
  const node = new SimNode(
    1,
    [1],
    queue,
    new Rng(7),
    () => {},
    () => {},
    {
      preVote: true,
      checkQuorum: true,
      maxMsgBytes: 1 << 20,
      maxInflight: 8,
      snapshotEvery: 0,
      snapshotKeep: 0,
      onFatal: (error) => fatal.push(error),
    },
  );
  const inc = node.start();
  const raft = coreForTesting(inc.node);
  const log = mutableLogForTesting(raft);
  /** Runs simulator events (letting the loop's promises settle) until `done` or 5000 events. */
  const runUntil = async (done: () => boolean): Promise<void> => {
    for (let i = 0; i < 5_000 && !done(); i++) {
      queue.next()?.();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  await runUntil(() => raft.role === "leader" && raft.log.committed > 0);
  assert.equal(raft.role, "leader", "a single voter elects itself");
  let first = "pending";
  inc.loop.propose(new Uint8Array([1])).then(
    () => (first = "resolved"),
    (error: Error) => (first = error.message),
  );
  await runUntil(() => first !== "pending");
  assert.equal(first, "resolved", "a write before the fault commits");
  // A bug in the append path: entries land in a term after the node's own. Nothing
  // changes before the propose, so only the propose's own invariant check can see it.
  const append = log.append.bind(log);
  log.append = (entries) => append(entries.map((e) => ({ ...e, term: e.term + 1 })));
  let second = "pending";
  inc.loop.propose(new Uint8Array([2])).then(
    () => (second = "resolved"),
    (error: Error) => (second = error.message),
  );
  await runUntil(() => fatal.length > 0 && second !== "pending");
  assert.equal(fatal.length, 1, "the loop reported the failure");
  assert.ok((fatal[0] as Error) instanceof InvariantError, String(fatal[0]));
  assert.match(second, /internal error \(a Raft invariant check failed\)/);
  await assert.rejects(async () => inc.loop.propose(new Uint8Array([3])), /shutting down/);
});
