/**
 * The production event loop fail-stops when the core trips one of its invariant checks
 * (src/raft/invariants.ts) while handling a peer message or a tick: it reports the error
 * through onFatal and takes no more writes, rather than letting the gRPC guard turn the
 * throw into INTERNAL while the node carries on from a state Raft's proofs do not cover.
 * Runs the real RaftLoop and core on the simulator's disk and clock.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvariantError } from "../../src/raft/index.ts";
import { EventQueue } from "./event-queue.ts";
import { Rng } from "./rng.ts";
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
  inc.node.raft.log.committed = 5; // past the last index: only a bug could do this
  inc.loop.deliver([{ type: "heartbeat", from: 1, to: 2, term: 1, commit: 0, context: 0 }]);
  assert.equal(fatal.length, 1);
  assert.ok((fatal[0] as Error) instanceof InvariantError, String(fatal[0]));
  await assert.rejects(async () => inc.loop.propose(new Uint8Array([1])), /shutting down/);
});
