/**
 * The configuration codec and checks on their own (src/raft/membership.ts): every
 * `membershipFault` rule at its boundary with its reason, what `decodeMembership` refuses
 * (size, UTF-8, JSON shape), the canonical encoding, and the comparisons the core's
 * one-at-a-time rule rests on. The cluster and peer-edge tests reach them with a few
 * well-formed or grossly broken configurations; mutation testing
 * (docs/mutation/raft-rest.md) showed the boundaries and reasons unpinned there.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  changedMembers,
  decodeMembership,
  encodeMembership,
  isVoter,
  learnerIds,
  MAX_MEMBERS,
  MAX_REMOVED,
  type Member,
  type Membership,
  memberOf,
  membershipFault,
  NO_MEMBERSHIP,
  sameMembership,
  voterIds,
  votersOnly,
} from "../../../src/raft/membership.ts";

function member(id: number, over: Partial<Member> = {}): Member {
  return {
    id,
    learner: false,
    peerAddr: `p${id}`,
    clientAddr: `c${id}`,
    identity: `i${id}`,
    ...over,
  };
}

function config(members: readonly Member[], removed: readonly number[] = []): Membership {
  return { members, removed };
}

/** A configuration passed through an `unknown` so a test can hand in a wrong shape. */
const raw = (v: unknown): Membership => v as Membership;

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("raft membership", () => {
  describe("membershipFault", () => {
    test("a sound configuration has no fault", () => {
      assert.equal(membershipFault(config([member(1), member(2, { learner: true })], [3])), null);
    });

    test("members must be a list of at most MAX_MEMBERS (64)", () => {
      assert.equal(MAX_MEMBERS, 64);
      assert.equal(membershipFault(raw({ members: {}, removed: [] })), "members is not a list");
      const ids = (n: number) => Array.from({ length: n }, (_, i) => member(i + 1));
      assert.equal(membershipFault(config(ids(64))), null);
      assert.equal(membershipFault(config(ids(65))), "more than 64 members");
    });

    test("each member is an object", () => {
      assert.equal(
        membershipFault(raw({ members: [null], removed: [] })),
        "a member is not an object",
      );
      assert.equal(
        membershipFault(raw({ members: [7], removed: [] })),
        "a member is not an object",
      );
    });

    test("member ids are integers in 1..2^32-1", () => {
      assert.equal(membershipFault(config([member(0)])), "bad member id 0");
      assert.equal(membershipFault(config([member(1.5)])), "bad member id 1.5");
      assert.equal(membershipFault(config([member(2 ** 32)])), `bad member id ${2 ** 32}`);
      assert.equal(membershipFault(config([member(1)])), null);
      assert.equal(membershipFault(config([member(2 ** 32 - 1)])), null);
    });

    test("member ids are unique", () => {
      assert.equal(membershipFault(config([member(1), member(2), member(1)])), "member 1 twice");
    });

    test("learner is a boolean", () => {
      const m = raw({ members: [{ ...member(1), learner: "no" }], removed: [] });
      assert.equal(membershipFault(m), "member 1: learner is not a boolean");
    });

    test("addresses and identity are strings of at most 256 characters", () => {
      for (const field of ["peerAddr", "clientAddr", "identity"] as const) {
        const long = config([member(1, { [field]: "x".repeat(257) })]);
        assert.equal(membershipFault(long), `member 1: bad ${field}`);
        assert.equal(membershipFault(config([member(1, { [field]: "x".repeat(256) })])), null);
        const wrong = raw({ members: [{ ...member(1), [field]: 5 }], removed: [] });
        assert.equal(membershipFault(wrong), `member 1: bad ${field}`);
      }
    });

    test("at least one member votes", () => {
      assert.equal(membershipFault(config([member(1, { learner: true })])), "no voter");
      assert.equal(membershipFault(config([])), "no voter");
    });

    test("removed is a list of at most MAX_REMOVED (1024) ids", () => {
      assert.equal(MAX_REMOVED, 1024);
      assert.equal(membershipFault(raw({ members: [member(1)], removed: 5 })), "bad removed list");
      const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 2);
      assert.equal(membershipFault(config([member(1)], ids(1024))), null);
      assert.equal(membershipFault(config([member(1)], ids(1025))), "bad removed list");
    });

    test("removed ids are integers in 1..2^32-1", () => {
      const fault = (id: number) => membershipFault(config([member(1)], [id]));
      assert.equal(fault(0), "bad removed id 0");
      assert.equal(fault(2.5), "bad removed id 2.5");
      assert.equal(fault(2 ** 32), `bad removed id ${2 ** 32}`);
      assert.equal(fault(2), null);
      assert.equal(fault(2 ** 32 - 1), null);
    });

    test("a removed id is no member", () => {
      assert.equal(
        membershipFault(config([member(1), member(2)], [2])),
        "member 2 is also removed",
      );
    });
  });

  describe("the encoding", () => {
    test("canonical: members by id with fields in one order, removed ids once and ascending", () => {
      const m = config(
        [{ identity: "i3", clientAddr: "c3", peerAddr: "p3", learner: true, id: 3 }, member(1)],
        [9, 4, 9],
      );
      assert.equal(
        new TextDecoder().decode(encodeMembership(m)),
        '{"members":[{"id":1,"learner":false,"peerAddr":"p1","clientAddr":"c1","identity":"i1"},' +
          '{"id":3,"learner":true,"peerAddr":"p3","clientAddr":"c3","identity":"i3"}],"removed":[4,9]}',
      );
    });

    test("decoding gives back what was encoded", () => {
      const m = config([member(1), member(2, { learner: true })], [4, 9]);
      assert.deepEqual(decodeMembership(encodeMembership(m)), m);
    });

    test("bytes that are not a sound configuration decode to null", () => {
      for (const s of ["", "{", "null", "5", '"x"', "[]", '{"members":[]}', '{"removed":[]}']) {
        assert.equal(decodeMembership(text(s)), null, s);
      }
      assert.equal(decodeMembership(text('{"members":{},"removed":[]}')), null);
      assert.equal(decodeMembership(text('{"members":[],"removed":{}}')), null);
      assert.equal(decodeMembership(text('{"members":[null],"removed":[]}')), null);
      assert.equal(decodeMembership(text('{"members":[{"id":1}],"removed":[]}')), null);
    });

    test("invalid UTF-8 is refused, not replaced", () => {
      const good = encodeMembership(config([member(1, { peerAddr: "ab" })]));
      const at = Buffer.from(good).indexOf("ab");
      const bad = Uint8Array.from(good);
      bad[at] = 0xff;
      assert.equal(decodeMembership(bad), null);
      assert.notEqual(decodeMembership(good), null);
    });

    test("at most 64 x (4 x 256 + 64) bytes are read", () => {
      const limit = 64 * (4 * 256 + 64);
      const body = encodeMembership(votersOnly([1]));
      // JSON allows trailing white space: the same configuration, padded to a length
      const padded = (n: number) => text(new TextDecoder().decode(body).padEnd(n, " "));
      assert.deepEqual(decodeMembership(padded(limit)), votersOnly([1]));
      assert.equal(decodeMembership(padded(limit + 1)), null);
    });
  });

  describe("reading a configuration", () => {
    const m = config([
      member(5),
      member(4, { learner: true }),
      member(1),
      member(3, { learner: true }),
    ]);

    test("voters and learners are listed by ascending id", () => {
      assert.deepEqual(voterIds(m), [1, 5]);
      assert.deepEqual(learnerIds(m), [3, 4]);
    });

    test("memberOf and isVoter find a member by id", () => {
      assert.equal(memberOf(m, 3)?.peerAddr, "p3");
      assert.equal(memberOf(m, 2), undefined);
      assert.equal(isVoter(m, 5), true);
      assert.equal(isVoter(m, 3), false);
      assert.equal(isVoter(m, 2), false);
    });

    test("votersOnly and NO_MEMBERSHIP", () => {
      assert.deepEqual(votersOnly([2, 1]), {
        members: [
          { id: 2, learner: false, peerAddr: "", clientAddr: "", identity: "" },
          { id: 1, learner: false, peerAddr: "", clientAddr: "", identity: "" },
        ],
        removed: [],
      });
      assert.deepEqual(NO_MEMBERSHIP, { members: [], removed: [] });
    });
  });

  describe("comparing configurations", () => {
    const base = config([member(1), member(2), member(3, { learner: true })], [7]);

    test("the same members in another order are the same configuration", () => {
      const shuffled = config([member(3, { learner: true }), member(1), member(2)], [7, 7]);
      assert.equal(sameMembership(base, shuffled), true);
      assert.deepEqual(changedMembers(base, shuffled), []);
    });

    test("any one field differing makes another configuration, naming that member", () => {
      const variants: Array<[string, Membership]> = [
        ["added", config([...base.members, member(4)], [7])],
        ["dropped", config([member(1), member(3, { learner: true })], [7])],
        [
          "role",
          config([member(1), member(2, { learner: true }), member(3, { learner: true })], [7]),
        ],
        [
          "peerAddr",
          config([member(1), member(2, { peerAddr: "x" }), member(3, { learner: true })], [7]),
        ],
        [
          "clientAddr",
          config([member(1), member(2, { clientAddr: "x" }), member(3, { learner: true })], [7]),
        ],
        [
          "identity",
          config([member(1), member(2, { identity: "x" }), member(3, { learner: true })], [7]),
        ],
      ];
      for (const [what, other] of variants) {
        assert.equal(sameMembership(base, other), false, what);
        assert.equal(sameMembership(other, base), false, what);
        assert.deepEqual(changedMembers(base, other), [what === "added" ? 4 : 2], what);
        assert.deepEqual(changedMembers(other, base), [what === "added" ? 4 : 2], what);
      }
      assert.equal(sameMembership(base, config(base.members, [8])), false, "removed list");
    });

    test("changed members are listed by ascending id", () => {
      const other = config([member(1, { identity: "x" }), member(9), member(2)], []);
      assert.deepEqual(changedMembers(base, other), [1, 3, 9]);
      assert.deepEqual(changedMembers(other, base), [1, 3, 9], "found in the order 1, 9, 3");
    });
  });
});
