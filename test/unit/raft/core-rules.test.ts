/**
 * Small rules of the core on their own: configuration checks (src/raft/config.ts), the
 * term-adoption limit (limits.ts) and the ReadIndex queue (read-only.ts). Correct callers
 * never trip the checks and the cluster tests drive the queue one read at a time, so
 * mutation testing (docs/mutation.md) found these unpinned.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type RaftConfig, validateRaftConfig } from "../../../src/raft/config.ts";
import { isAdoptableTerm, MAX_TERM, MAX_TERM_STEP, stepTowards } from "../../../src/raft/limits.ts";
import { ReadOnlyQueue } from "../../../src/raft/read-only.ts";

const good: RaftConfig = {
  id: 1,
  voters: [1, 2, 3],
  electionTick: 10,
  heartbeatTick: 1,
  preVote: true,
  checkQuorum: true,
  maxMsgBytes: 1024,
  maxInflight: 1,
  random: () => 0.5,
};

describe("validateRaftConfig", () => {
  test("a sound configuration passes, at every boundary", () => {
    assert.doesNotThrow(() => validateRaftConfig(good));
    assert.doesNotThrow(() => validateRaftConfig({ ...good, electionTick: 2, heartbeatTick: 1 }));
  });

  test("a node joining a running cluster may start with no voters at all", () => {
    assert.doesNotThrow(() => validateRaftConfig({ ...good, id: 9, voters: [] }));
  });

  const cases: [string, Partial<RaftConfig>, string][] = [
    ["id 0", { id: 0, voters: [0, 2, 3] }, "raft: id must be positive"],
    [
      "id not a voter",
      { id: 4 },
      "raft: id must be one of the voters (or voters empty, to join a cluster)",
    ],
    ["duplicate voters", { voters: [1, 2, 2] }, "raft: duplicate voter ids"],
    ["heartbeatTick 0", { heartbeatTick: 0 }, "raft: heartbeatTick must be positive"],
    [
      "electionTick == heartbeatTick",
      { electionTick: 3, heartbeatTick: 3 },
      "raft: electionTick must be greater than heartbeatTick",
    ],
    ["maxInflight 0", { maxInflight: 0 }, "raft: maxInflight must be positive"],
  ];
  for (const [name, over, message] of cases) {
    test(`refuses ${name}`, () => {
      assert.throws(() => validateRaftConfig({ ...good, ...over }), { message });
    });
  }
});

describe("term limits", () => {
  test("a term is adoptable up to MAX_TERM and up to MAX_TERM_STEP ahead", () => {
    assert.equal(isAdoptableTerm(MAX_TERM, MAX_TERM - 1), true);
    assert.equal(isAdoptableTerm(MAX_TERM + 1, MAX_TERM), false);
    assert.equal(isAdoptableTerm(5 + MAX_TERM_STEP, 5), true);
    assert.equal(isAdoptableTerm(6 + MAX_TERM_STEP, 5), false);
    assert.equal(stepTowards(5), 5 + MAX_TERM_STEP);
    assert.equal(stepTowards(MAX_TERM - 1), MAX_TERM);
  });
});

describe("ReadOnlyQueue", () => {
  const ALL = (): boolean => true;

  test("only the acks of nodes that count are counted", () => {
    const q = new ReadOnlyQueue();
    q.add(5, 1, 1);
    assert.equal(q.recvAck(4, 1, ALL), 2);
    assert.equal(
      q.recvAck(2, 1, (id) => id !== 4),
      2,
      "1 and 2; 4 no longer counts",
    );
    assert.equal(
      q.recvAck(3, 1, (id) => id === 2 || id === 3),
      2,
      "2 and 3 only",
    );
  });

  test("a repeated context is ignored: its acks and position stay", () => {
    const q = new ReadOnlyQueue();
    q.add(5, 1, 1);
    assert.equal(q.recvAck(2, 1, ALL), 2);
    q.add(9, 1, 1);
    assert.equal(q.recvAck(3, 1, ALL), 3, "the first round's acks were kept");
    assert.deepEqual(q.advance(1), [{ index: 5, context: 1 }]);
    assert.equal(q.lastContext(), 0);
  });

  test("advance releases the round and those before it, keeping later ones", () => {
    const q = new ReadOnlyQueue();
    q.add(5, 1, 1);
    q.add(6, 2, 1);
    q.add(7, 3, 1);
    assert.deepEqual(q.advance(2), [
      { index: 5, context: 1 },
      { index: 6, context: 2 },
    ]);
    assert.equal(q.lastContext(), 3);
    assert.equal(q.recvAck(2, 1, ALL), 0, "released rounds take no more acks");
    assert.deepEqual(q.advance(1), [], "an unknown context releases nothing");
    assert.deepEqual(q.advance(3), [{ index: 7, context: 3 }]);
  });

  test("an unknown context releases nothing and keeps the queue", () => {
    const q = new ReadOnlyQueue();
    q.add(5, 1, 1);
    assert.deepEqual(q.advance(9), []);
    assert.equal(q.lastContext(), 1);
  });

  test("reset drops every pending round", () => {
    const q = new ReadOnlyQueue();
    q.add(5, 1, 1);
    q.add(6, 2, 1);
    q.reset();
    assert.equal(q.lastContext(), 0);
    assert.equal(q.recvAck(2, 2, ALL), 0);
    assert.deepEqual(q.advance(2), []);
  });
});
