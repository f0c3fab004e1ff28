/**
 * The loop's persistence and ordering rules (docs/architecture.md#persistence-rules),
 * checked against fakes of its own interfaces (loop-fakes.ts): what may be sent before an
 * fsync and what must wait for it, when committed entries are applied and reads served,
 * and that a full disk stops proposals.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DISK_FULL_RETRY_MS } from "../../../src/server/raft-loop.ts";
import { entry, harness, msg, readyOf } from "./loop-fakes.ts";

test("a follower's append ack waits for the fsync of the entries it acknowledges", async () => {
  const h = harness();
  h.core.readys.push(readyOf("follower", { entries: [entry(1)], messages: [msg.appendResp(1)] }));
  await h.clock.settle();
  assert.deepEqual(h.events, ["save:1"], "nothing sent while the write is in flight");
  h.wal.sync();
  await h.clock.settle();
  assert.deepEqual(h.events, ["save:1", "synced", "send:appendResp", "advance"]);
});

test("a vote waits for the fsync of the term and vote it promises", async () => {
  const h = harness({ term: 1, vote: 0, commit: 0 });
  h.core.readys.push(
    readyOf("follower", {
      term: 2,
      hardState: { term: 2, vote: 1, commit: 0 },
      messages: [msg.voteResp(2, 2, 1)],
    }),
  );
  await h.clock.settle();
  assert.deepEqual(h.events, ["save: hs=2/1"]);
  h.wal.sync();
  await h.clock.settle();
  assert.deepEqual(h.events, ["save: hs=2/1", "synced", "send:voteResp", "advance"]);
});

test("a leader's appends and heartbeats go out before its own fsync", async () => {
  const h = harness();
  h.core.readys.push(
    readyOf("leader", {
      entries: [entry(2)],
      messages: [msg.append([entry(2)]), msg.heartbeat()],
    }),
  );
  await h.clock.settle();
  assert.deepEqual(h.events, ["send:append(1),heartbeat", "save:2"], "sent in parallel");
  h.wal.sync();
  await h.clock.settle();
  assert.deepEqual(h.events.slice(2), ["synced", "advance"]);
});

test("a new leader whose term is not durable yet sends nothing before the fsync", async () => {
  const h = harness({ term: 1, vote: 0, commit: 0 });
  h.core.readys.push(
    readyOf("leader", {
      term: 2,
      hardState: { term: 2, vote: 1, commit: 0 },
      entries: [entry(1, 2)],
      messages: [msg.append([entry(1, 2)])],
    }),
  );
  await h.clock.settle();
  assert.deepEqual(h.events, ["save:1 hs=2/1"]);
  h.wal.sync();
  await h.clock.settle();
  assert.deepEqual(h.events.slice(1), ["synced", "send:append(1)", "advance"]);
});

test("committed entries are applied only after the Ready's write is durable", async () => {
  const h = harness();
  h.core.readys.push(
    readyOf("follower", {
      entries: [entry(2)],
      hardState: { term: 1, vote: 1, commit: 1 },
      committedEntries: [entry(1)],
    }),
  );
  await h.clock.settle();
  assert.deepEqual(h.events, ["save:2 hs=1/1"], "not applied during the write");
  h.wal.sync();
  await h.clock.settle();
  assert.deepEqual(h.events.slice(1), ["synced", "apply:1", "advance"]);
});

test("a leader answers the writes a Ready commits before sending its commit notices", async () => {
  const h = harness();
  h.core.role = "leader";
  h.core.nextIndex = 5;
  const put = h.loop.propose(new Uint8Array([5]));
  let answered = false;
  put.then(() => {
    answered = true;
    h.events.push("answered");
  });
  await h.clock.settle();
  assert.deepEqual(h.events, ["propose:1"]);
  // An ack arrived: index 5 commits. Nothing to write; a heartbeat and a commit notice.
  h.core.readys.push(
    readyOf("leader", {
      hardState: { term: 1, vote: 1, commit: 5 },
      committedEntries: [entry(5)],
      messages: [msg.heartbeat(), msg.append([])],
    }),
  );
  h.wake();
  await h.clock.settle();
  assert.ok(answered);
  assert.deepEqual(h.events.slice(1), [
    "send:heartbeat",
    "apply:5",
    "answered",
    "advance",
    "send:append(0)",
  ]);
});

test("a read resolves only once the state machine applied up to its read index", async () => {
  const h = harness();
  h.core.role = "leader";
  let served = false;
  const read = h.loop.linearizableRead().then(() => {
    served = true;
  });
  await h.clock.settle();
  const context = h.core.readContexts[0] as number;
  assert.equal(context, 1, "one ReadIndex round started");
  h.core.readys.push(readyOf("leader", { readStates: [{ index: 3, context }] }));
  h.wake();
  await h.clock.settle();
  assert.equal(served, false, "confirmed at index 3, but nothing applied yet");
  h.core.readys.push(readyOf("leader", { committedEntries: [entry(1), entry(2)] }));
  h.wake();
  await h.clock.settle();
  assert.equal(served, false, "applied 2 < read index 3");
  h.core.readys.push(readyOf("leader", { committedEntries: [entry(3)] }));
  h.wake();
  await h.clock.settle();
  await read;
  assert.equal(served, true);
});

test("a full disk stops proposals until the retried write succeeds", async () => {
  const full = Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
  const h = harness(undefined, { lackOfSpace: async (error) => error === full });
  h.core.role = "leader";
  const waiting = h.loop.propose(new Uint8Array([1])).then(
    () => "resolved",
    (error: Error) => error.message,
  );
  await h.clock.settle();
  h.core.readys.push(readyOf("leader", { entries: [entry(1)] }));
  h.wake();
  await h.clock.settle();
  h.wal.fail(full);
  await h.clock.settle();
  assert.match(await waiting, /disk is full.*outcome is unknown/);
  assert.throws(() => h.loop.checkLeader(), /disk is full/);
  await assert.rejects(async () => h.loop.propose(new Uint8Array([2])), /disk is full/);
  assert.equal(h.wal.inFlight, 0, "nothing retried before the retry period");
  h.clock.fire(DISK_FULL_RETRY_MS);
  await h.clock.settle();
  assert.equal(h.wal.inFlight, 1, "the same write is retried");
  h.wal.sync();
  await h.clock.settle();
  assert.doesNotThrow(() => h.loop.checkLeader(), "writes accepted again");
  assert.deepEqual(h.fatal, [], "a full disk is not fatal");
});

test("a writer that persisted a lighter form is told after advance, never before", async () => {
  const h = harness();
  Object.assign(h.wal, { afterAdvance: () => h.events.push("afterAdvance") });
  h.core.readys.push(readyOf("follower", { entries: [entry(1)], messages: [msg.appendResp(1)] }));
  await h.clock.settle();
  h.wal.sync();
  await h.clock.settle();
  assert.deepEqual(h.events, ["save:1", "synced", "send:appendResp", "advance", "afterAdvance"]);
});
