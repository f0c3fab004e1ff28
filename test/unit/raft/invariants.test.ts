/**
 * The core's invariant checks on their own (src/raft/invariants.ts). A correct core never
 * trips them, so the other tests cannot tell a check that works from one that never
 * fires: here each check gets a state that breaks exactly its invariant and must throw,
 * and the same state with that one thing right must pass. Mutation testing
 * (docs/mutation.md) found the checks otherwise unpinned.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  assertInvariants,
  InvariantError,
  type InvariantSubject,
  type InvariantWatch,
  watchInvariants,
} from "../../../src/raft/invariants.ts";
import { MAX_INDEX, MAX_TERM } from "../../../src/raft/limits.ts";
import type { Message } from "../../../src/raft/messages.ts";
import { NONE, type Role } from "../../../src/raft/types.ts";

interface Shape {
  id?: number;
  term?: number;
  vote?: number;
  role?: Role;
  leader?: number;
  msgs?: Message[];
  /** Term of each entry, index firstIndex first. */
  terms?: number[];
  firstIndex?: number;
  /** Term at firstIndex - 1 (the compaction point); 0 for a log that starts at 1. */
  offsetTerm?: number;
  committed?: number;
  applied?: number;
  stableIndex?: number;
  /** Overrides the last index the log reports (to pass MAX_INDEX without holding entries). */
  lastIndex?: number;
  /** Entries whose stored index is wrong: log index → the index the entry claims. */
  misnumbered?: Map<number, number>;
}

/**
 * A healthy follower of term 3 by default: entries 1..4 of terms 1, 1, 2, 3, committed
 * and applied through 2, durable through 4, voted for 2, following 2.
 */
function subject(shape: Shape = {}): InvariantSubject {
  const terms = shape.terms ?? [1, 1, 2, 3];
  const first = shape.firstIndex ?? 1;
  const last = shape.lastIndex ?? first + terms.length - 1;
  const termAt = (i: number): number | undefined => {
    if (i === first - 1) return shape.offsetTerm ?? 0;
    return terms[i - first];
  };
  return {
    id: shape.id ?? 1,
    term: shape.term ?? 3,
    vote: shape.vote ?? 2,
    role: shape.role ?? "follower",
    leader: shape.leader ?? 2,
    msgs: shape.msgs ?? [],
    log: {
      committed: shape.committed ?? 2,
      applied: shape.applied ?? 2,
      stableIndex: shape.stableIndex ?? last,
      lastIndex: () => last,
      firstIndex: () => first,
      termAt,
      entryAt: (i) => {
        const term = terms[i - first];
        if (term === undefined) return undefined;
        return { index: shape.misnumbered?.get(i) ?? i, term };
      },
    },
  };
}

/** A leader of term 3 (node 1, voted for itself) that just committed entry 4 of term 3. */
function leader(shape: Shape = {}): InvariantSubject {
  return subject({ role: "leader", leader: 1, vote: 1, committed: 4, ...shape });
}

function watch(shape: Partial<InvariantWatch> = {}): InvariantWatch {
  return { term: 3, vote: 2, leader: 2, committed: 2, msgCount: 0, ...shape };
}

function throwsWith(r: InvariantSubject, before: InvariantWatch, pattern: RegExp, full = true) {
  assert.throws(
    () => assertInvariants(r, before, full),
    (e: unknown) => e instanceof InvariantError && pattern.test(e.message),
  );
}

function passes(r: InvariantSubject, before: InvariantWatch, full = true): void {
  assert.doesNotThrow(() => assertInvariants(r, before, full));
}

const heartbeat = (over: Partial<Message> = {}): Message =>
  ({ type: "heartbeat", from: 1, to: 2, term: 3, commit: 0, context: 0, ...over }) as Message;

describe("raft invariants", () => {
  test("watchInvariants records term, vote, leader, commit and the messages already queued", () => {
    const r = subject({ msgs: [heartbeat(), heartbeat()], committed: 3 });
    assert.deepEqual(watchInvariants(r), {
      term: 3,
      vote: 2,
      leader: 2,
      committed: 3,
      msgCount: 2,
    });
  });

  test("a healthy follower and a healthy leader pass, with and without the full checks", () => {
    passes(subject(), watch());
    passes(subject(), watch(), false);
    passes(leader({ msgs: [heartbeat()] }), watch({ vote: 1, leader: 1 }));
    passes(subject({ terms: [], committed: 0, applied: 0 }), watch({ committed: 0 }));
  });

  test("the InvariantError names the broken invariant", () => {
    const e = new InvariantError("x broke");
    assert.equal(e.name, "InvariantError");
    assert.equal(e.message, "raft invariant violated: x broke");
    assert.ok(e instanceof Error);
  });

  describe("always checked", () => {
    test("the term never goes back", () => {
      throwsWith(subject({ term: 2 }), watch({ term: 3 }), /term went back from 3 to 2/, false);
      passes(subject({ term: 4, vote: NONE, leader: NONE }), watch({ term: 3 }), false);
    });

    test("no term above MAX_TERM", () => {
      const at = { terms: [], committed: 0, applied: 0, vote: NONE, leader: NONE };
      throwsWith(
        subject({ ...at, term: MAX_TERM + 1 }),
        watch({ term: 3, committed: 0 }),
        /term \d+ above MAX_TERM/,
      );
      passes(subject({ ...at, term: MAX_TERM }), watch({ term: 3, committed: 0 }), false);
    });

    test("no index above MAX_INDEX", () => {
      const big = { terms: [], committed: 0, applied: 0 };
      throwsWith(
        subject({ ...big, lastIndex: MAX_INDEX + 1 }),
        watch({ committed: 0 }),
        /last index \d+ above MAX_INDEX/,
        false,
      );
      passes(subject({ ...big, lastIndex: MAX_INDEX }), watch({ committed: 0 }), false);
    });

    test("applied <= committed <= last index", () => {
      const broken = /applied \d+ <= committed \d+ <= last \d+ does not hold/;
      throwsWith(subject({ applied: 3, committed: 2 }), watch(), broken, false);
      throwsWith(subject({ committed: 5, applied: 2 }), watch(), broken, false);
      passes(subject({ committed: 4, applied: 4 }), watch(), false);
    });

    test("within a term a cast vote stands", () => {
      throwsWith(
        subject({ vote: 3 }),
        watch({ vote: 2 }),
        /vote in term 3 changed from 2 to 3/,
        false,
      );
      throwsWith(subject({ vote: NONE }), watch({ vote: 2 }), /vote in term 3 changed/, false);
      passes(subject({ vote: 3 }), watch({ vote: NONE }), false);
      passes(subject({ term: 4, vote: 3, leader: NONE }), watch({ vote: 2 }), false);
    });

    test("within a term a known leader is never replaced", () => {
      throwsWith(
        subject({ leader: 3 }),
        watch({ leader: 2 }),
        /second leader 3 in term 3 \(was 2\)/,
        false,
      );
      passes(subject({ leader: NONE }), watch({ leader: 2 }), false);
      passes(subject({ leader: 3 }), watch({ leader: NONE }), false);
      passes(subject({ term: 4, vote: NONE, leader: 3 }), watch({ leader: 2 }), false);
    });

    test("a leader names itself as leader", () => {
      throwsWith(
        leader({ leader: 2 }),
        watch({ vote: 1, leader: 2 }),
        /leader names 2 as leader/,
        false,
      );
    });

    test("the commit index never goes back", () => {
      throwsWith(
        subject({ committed: 1, applied: 1 }),
        watch(),
        /commit went back from 2 to 1/,
        false,
      );
      passes(subject({ committed: 3 }), watch(), false);
    });

    test("a leader advances its commit only over an entry of its own term (Figure 8)", () => {
      const before = watch({ vote: 1, leader: 1, committed: 2 });
      throwsWith(
        leader({ committed: 3 }),
        before,
        /leader of term 3 committed an entry of term 2/,
        false,
      );
      passes(leader({ committed: 4 }), before, false);
      // Not advancing is fine whatever the term at the commit index.
      passes(leader({ committed: 2 }), before, false);
      // A follower learns commits of earlier terms.
      passes(subject({ committed: 3 }), watch(), false);
      // So does a node that learns one from a hand-over's TimeoutNow and wins in the same
      // input: its commit moved while it followed term 2.
      passes(leader({ committed: 3 }), watch({ term: 2, vote: 0, leader: 2 }), false);
    });
  });

  describe("checked only in full mode", () => {
    test("a leader voted for itself", () => {
      const r = leader({ vote: 2 });
      const before = watch({ vote: 2, leader: 1, committed: 4 });
      throwsWith(r, before, /leader of term 3 voted 2/);
      passes(r, before, false);
    });

    test("the durable index is within the log", () => {
      const r = subject({ stableIndex: 5 });
      throwsWith(r, watch(), /stable index 5 past last 4/);
      passes(r, watch(), false);
      passes(subject({ stableIndex: 4 }), watch());
    });

    test("entries of the tail are numbered by their position", () => {
      const r = subject({ misnumbered: new Map([[3, 4]]) });
      throwsWith(r, watch(), /log entry at 3 missing or misnumbered/);
      passes(r, watch(), false);
    });

    test("entry terms never go back along the log", () => {
      const r = subject({ terms: [1, 2, 1, 3] });
      throwsWith(r, watch(), /entry 3 of term 1 after term 2/);
      passes(r, watch(), false);
      passes(subject({ terms: [2, 2, 2, 3] }), watch());
    });

    test("no entry from a term after the node's", () => {
      const r = subject({ terms: [1, 1, 2, 4] });
      throwsWith(r, watch(), /entry 4 of term 4 after term 2 \(node term 3\)/);
      passes(r, watch(), false);
    });

    test("the first scanned entry is compared with the term before it (the compaction point)", () => {
      const log = { firstIndex: 11, terms: [2, 3, 3], committed: 12, applied: 11 };
      throwsWith(
        subject({ ...log, offsetTerm: 3 }),
        watch({ committed: 12 }),
        /entry 11 of term 2 after term 3/,
      );
      passes(subject({ ...log, offsetTerm: 2 }), watch({ committed: 12 }));
    });

    test("only the last 64 entries are scanned (the full check stays cheap)", () => {
      // 100 entries; entry 30 is misnumbered, far outside the tail.
      const terms = Array.from({ length: 100 }, () => 3);
      const old = subject({ terms, committed: 50, applied: 50, misnumbered: new Map([[30, 31]]) });
      passes(old, watch({ committed: 50 }));
      // Entry 36 is the first scanned (100 - 64): a fault there is found.
      const edge = subject({ terms, committed: 50, applied: 50, misnumbered: new Map([[36, 37]]) });
      throwsWith(edge, watch({ committed: 50 }), /log entry at 36/);
      const before = subject({
        terms,
        committed: 50,
        applied: 50,
        misnumbered: new Map([[35, 36]]),
      });
      passes(before, watch({ committed: 50 }));
    });

    test("new messages carry a term up to MAX_TERM and this node as sender", () => {
      const at = { terms: [], committed: 0, applied: 0, vote: NONE, leader: NONE };
      const high = subject({ ...at, term: MAX_TERM, msgs: [heartbeat({ term: MAX_TERM + 1 })] });
      throwsWith(high, watch({ committed: 0 }), /sent a heartbeat with term/);
      passes(high, watch({ committed: 0 }), false);
      const forged = subject({ msgs: [heartbeat({ from: 3 })] });
      throwsWith(forged, watch(), /sent a heartbeat claiming to be from 3/);
      passes(forged, watch(), false);
    });

    test("a message in term MAX_TERM itself is fine", () => {
      const at = { terms: [], committed: 0, applied: 0, vote: NONE, leader: NONE };
      const r = subject({ ...at, term: MAX_TERM, msgs: [heartbeat({ term: MAX_TERM })] });
      passes(r, watch({ committed: 0 }));
    });

    test("only the messages queued by this input are checked", () => {
      const r = subject({ msgs: [heartbeat({ from: 3 }), heartbeat()] });
      passes(r, watch({ msgCount: 1 }));
      throwsWith(r, watch({ msgCount: 0 }), /claiming to be from 3/);
    });
  });
});
