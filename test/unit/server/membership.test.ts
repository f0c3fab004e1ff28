/**
 * The node's membership rules without processes: the leader's checks before it proposes
 * a change (member-admin.ts), what the edges accept and whom they refuse as another data
 * dir (members.ts), and which binding the leader proposes next (identity-binder.ts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DfsError, MemberChangeError, type MemberChangeReason } from "../../../src/api/index.ts";
import type { Membership, Status } from "../../../src/raft/index.ts";
import { bindingToPropose, startIdentityBinder } from "../../../src/server/identity-binder.ts";
import type { Logger } from "../../../src/server/logger.ts";
import {
  memberAdmin,
  PROMOTE_MAX_LAG,
  withAdded,
  withRemoved,
} from "../../../src/server/member-admin.ts";
import {
  bootstrapMembership,
  identityMismatchReason,
  MemberDirectory,
} from "../../../src/server/members.ts";
import { memberRows } from "../../../src/server/status.ts";

const ID_A = "a".repeat(32);
const ID_B = "b".repeat(32);

function cluster(over: Partial<Record<number, Partial<Membership["members"][number]>>> = {}) {
  return {
    members: [1, 2, 3].map((id) => ({
      id,
      learner: false,
      peerAddr: `h:${id}1`,
      clientAddr: `h:${id}0`,
      identity: "",
      ...over[id],
    })),
    removed: [7],
  };
}

function reasonOf(fn: () => unknown): MemberChangeReason {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof MemberChangeError, String(error));
    assert.equal(error.code, "precondition_failed");
    return error.reason;
  }
  assert.fail("accepted");
}

describe("the leader's checks before proposing", () => {
  const add = (id: number, peerAddress: string, clientAddress: string, learner = false) => ({
    id,
    peerAddress,
    clientAddress,
    learner,
  });

  test("a duplicate id, a duplicate address and a removed id are refused with their reason", () => {
    assert.equal(
      reasonOf(() => withAdded(cluster(), add(2, "x:1", "x:2"))),
      "duplicate_id",
    );
    assert.equal(
      reasonOf(() => withAdded(cluster(), add(4, "h:21", "x:2"))),
      "duplicate_address",
    );
    assert.equal(
      reasonOf(() => withAdded(cluster(), add(4, "x:1", "h:30"))),
      "duplicate_address",
      "a client address counts too",
    );
    assert.equal(
      reasonOf(() => withAdded(cluster(), add(7, "x:1", "x:2"))),
      "removed_id",
    );
  });

  test("an add appends exactly one unbound member and keeps the removed list", () => {
    const next = withAdded(cluster(), add(4, "x:1", "x:2", true));
    assert.deepEqual(next.members.at(-1), {
      id: 4,
      learner: true,
      peerAddr: "x:1",
      clientAddr: "x:2",
      identity: "",
    });
    assert.deepEqual(next.removed, [7]);
  });

  test("a remove tombstones the id; unknown ids and the last voter are refused", () => {
    const next = withRemoved(cluster(), 2);
    assert.deepEqual(
      next.members.map((m) => m.id),
      [1, 3],
    );
    assert.deepEqual(next.removed, [2, 7]);
    assert.equal(
      reasonOf(() => withRemoved(cluster(), 9)),
      "not_found",
    );
    assert.equal(
      reasonOf(() => withRemoved(cluster(), 7)),
      "not_found",
    );
    const one = {
      members: [
        { id: 1, learner: false, peerAddr: "a:1", clientAddr: "a:2", identity: "" },
        { id: 2, learner: true, peerAddr: "b:1", clientAddr: "b:2", identity: "" },
      ],
      removed: [],
    };
    assert.equal(
      reasonOf(() => withRemoved(one, 1)),
      "last_voter",
    );
    assert.deepEqual(
      withRemoved(one, 2).members.map((m) => m.id),
      [1],
      "a learner may go",
    );
  });
});

describe("what the edges accept", () => {
  test("anyone not removed and not this node; never id 0", () => {
    const d = new MemberDirectory(1, ID_A, cluster());
    assert.equal(d.accepts(2), true);
    assert.equal(d.accepts(42), true, "a member of a configuration not learned yet");
    assert.equal(d.accepts(7), false, "a removed id");
    assert.equal(d.accepts(1), false, "this node");
    assert.equal(d.accepts(0), false);
  });

  test("a member bound to a data dir is refused from another, naming the remedy", () => {
    const d = new MemberDirectory(1, ID_A, cluster({ 2: { identity: ID_B } }));
    assert.equal(d.identityFault(2, ID_B), null);
    assert.equal(d.identityFault(2, ""), null, "an older node sends none");
    assert.equal(d.identityFault(3, ID_A), null, "an unbound member passes");
    assert.equal(
      d.identityFault(2, ID_A),
      "member 2 belongs to another data dir; this data dir is new: remove 2 and add this node as a new member",
    );
    assert.equal(identityMismatchReason(2), d.identityFault(2, ID_A));
  });

  test("addresses follow the configuration; join hints only for ids it does not hold", () => {
    const hints = new Map([
      [2, { peerAddr: "old:1", clientAddr: "old:2" }],
      [5, { peerAddr: "j:1", clientAddr: "j:2" }],
      [7, { peerAddr: "r:1", clientAddr: "r:2" }],
    ]);
    const d = new MemberDirectory(1, ID_A, cluster(), { 3: "proxy:9" }, hints);
    assert.equal(d.dialAddress(2), "h:21");
    assert.equal(d.dialAddress(3), "proxy:9", "--peer-via wins");
    assert.equal(d.dialAddress(5), "j:1");
    assert.equal(d.clientAddress(5), "j:2");
    assert.equal(d.dialAddress(7), undefined, "never a removed id");
    let seen: number[] = [];
    d.onChange((m) => (seen = m.members.map((x) => x.id)));
    d.update(withRemoved(cluster(), 2), 12);
    assert.deepEqual(seen, [1, 3]);
    assert.equal(d.accepts(2), false);
    assert.equal(d.configIndex, 12);
  });

  test("this node sees itself removed, or its id bound to another data dir", () => {
    const d = new MemberDirectory(2, ID_A, cluster({ 2: { identity: ID_B } }));
    assert.equal(d.selfReplaced(), true);
    assert.equal(d.selfRemoved(), false);
    d.update(withRemoved(cluster(), 2), 5);
    assert.equal(d.selfRemoved(), true);
  });

  test("the bootstrap configuration is every --peers entry, a voter with its addresses", () => {
    const m = bootstrapMembership({
      id: 1,
      dataDir: "/x",
      peers: [
        { id: 1, host: "a", port: 100 },
        { id: 2, host: "b", port: 200, peerPort: 201 },
      ],
    });
    assert.deepEqual(m.members, [
      { id: 1, learner: false, peerAddr: "a:10100", clientAddr: "a:100", identity: "" },
      { id: 2, learner: false, peerAddr: "b:201", clientAddr: "b:200", identity: "" },
    ]);
  });
});

function leaderStatus(membership: Membership, over: Partial<Status> = {}): Status {
  return {
    id: 1,
    term: 2,
    vote: 1,
    role: "leader",
    leader: 1,
    commit: 10,
    applied: 10,
    firstIndex: 1,
    lastIndex: 10,
    stableIndex: 10,
    compacted: { index: 0, term: 0 },
    progress: new Map([
      [
        2,
        { match: 10, next: 11, state: "replicate", recentActive: true, idleTicks: 1, inflight: 0 },
      ],
      [3, { match: 4, next: 5, state: "probe", recentActive: false, idleTicks: 40, inflight: 0 }],
    ]),
    membership: { index: 3, membership },
    pendingConfig: 0,
    transferee: 0,
    ...over,
  };
}

describe("binding members to their data dirs", () => {
  test("the leader binds the first unbound member it heard from, one at a time", () => {
    const d = new MemberDirectory(1, ID_A, cluster());
    assert.deepEqual(bindingToPropose(leaderStatus(cluster()), d)?.id, 1, "itself first");
    const selfBound = cluster({ 1: { identity: ID_A } });
    assert.equal(bindingToPropose(leaderStatus(selfBound), d), null, "nothing heard yet");
    d.identityFault(3, ID_B);
    const next = bindingToPropose(leaderStatus(selfBound), d);
    assert.equal(next?.id, 3);
    assert.equal(next?.membership.members.find((m) => m.id === 3)?.identity, ID_B);
    assert.equal(next?.membership.members.find((m) => m.id === 2)?.identity, "");
  });

  test("nothing while a change is pending, a transfer runs, or on a follower", () => {
    const d = new MemberDirectory(1, ID_A, cluster());
    assert.equal(bindingToPropose(leaderStatus(cluster(), { pendingConfig: 11 }), d), null);
    assert.equal(bindingToPropose(leaderStatus(cluster(), { transferee: 2 }), d), null);
    assert.equal(bindingToPropose(leaderStatus(cluster(), { role: "follower" }), d), null);
  });

  test("a proposal the node refuses at once (disk full) is retried, never thrown", async () => {
    // Seen for real: on a full disk the loop's proposeMembership throws synchronously, and
    // the binder's timer turned that into an uncaught exception that killed the node.
    const d = new MemberDirectory(1, ID_A, cluster());
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on("uncaughtException", onUncaught);
    let attempts = 0;
    const loop = {
      isStopped: false,
      status: () => leaderStatus(cluster()),
      proposeMembership: (): Promise<number> => {
        attempts++;
        throw new DfsError("unavailable", "this node's disk is full");
      },
    };
    const quiet = { debug: () => {}, info: () => {} } as unknown as Logger;
    const stop = startIdentityBinder(loop, d, quiet, 1);
    try {
      const deadline = Date.now() + 5000;
      while (attempts < 3 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    } finally {
      stop();
      process.off("uncaughtException", onUncaught);
    }
    assert.ok(attempts >= 3, `retried (${attempts} attempts)`);
    assert.deepEqual(uncaught, []);
  });
});

test("member rows: the leader reports match, lag and reachability; others only the list", () => {
  const rows = memberRows(leaderStatus(cluster()), 10);
  assert.deepEqual(
    rows.map((r) => [r.id, r.match, r.lag, r.reachable, r.leader]),
    [
      [1, 10, 0, true, true],
      [2, 10, 0, true, false],
      [3, 4, 6, false, false],
    ],
  );
  const follower = memberRows(leaderStatus(cluster(), { role: "follower", leader: 2 }), 10);
  assert.deepEqual(
    follower.map((r) => [r.id, r.match, r.lag, r.reachable, r.leader]),
    [
      [1, 0, 0, false, false],
      [2, 0, 0, false, true],
      [3, 0, 0, false, false],
    ],
  );
});

describe("the membership handlers", () => {
  const withLearner4 = (): Membership => ({
    members: [
      ...cluster().members,
      { id: 4, learner: true, peerAddr: "h:41", clientAddr: "h:40", identity: "" },
    ],
    removed: [7],
  });
  function fakeLoop(
    match4: number,
    role: "leader" | "follower" = "leader",
    idleTicks = 0,
    lastIndex = 1000,
  ) {
    const proposed: Membership[] = [];
    const st = leaderStatus(withLearner4(), { role, lastIndex });
    (st.progress as Map<number, unknown>).set(4, {
      match: match4,
      next: match4 + 1,
      state: "replicate",
      recentActive: true,
      idleTicks,
    });
    const loop = {
      checkLeader: () => {
        if (role !== "leader") throw new Error("not the leader");
      },
      status: () => st,
      proposeMembership: async (m: Membership) => {
        proposed.push(m);
        return 1001;
      },
      transferLeadership: () => 2,
      softState: () => ({ role, leader: 1, term: 2 }),
    };
    return { loop, proposed };
  }

  test("a learner is promoted only when it trails by at most PROMOTE_MAX_LAG", async () => {
    const lagging = fakeLoop(1000 - PROMOTE_MAX_LAG - 1);
    const admin = memberAdmin({
      loop: lagging.loop,
      clusterId: "c",
      electionTicks: 10,
      tickMs: 50,
    });
    await assert.rejects(
      admin.promote({ id: 4 }),
      (e: unknown) => e instanceof MemberChangeError && e.reason === "learner_lagging",
    );
    assert.equal(lagging.proposed.length, 0);
    const caughtUp = fakeLoop(1000 - PROMOTE_MAX_LAG);
    const ok = memberAdmin({ loop: caughtUp.loop, clusterId: "c", electionTicks: 10, tickMs: 50 });
    await ok.promote({ id: 4 });
    assert.equal(caughtUp.proposed[0]?.members.find((m) => m.id === 4)?.learner, false);
  });

  test("a learner that never answered is not promoted, even on a young log", async () => {
    for (const [match, idle] of [
      [0, 0],
      [5, 10],
      [0, 500],
    ] as const) {
      const silent = fakeLoop(match, "leader", idle, 10);
      const admin = memberAdmin({
        loop: silent.loop,
        clusterId: "c",
        electionTicks: 10,
        tickMs: 50,
      });
      await assert.rejects(
        admin.promote({ id: 4 }),
        (e: unknown) => e instanceof MemberChangeError && e.reason === "learner_lagging",
        `match ${match}, idle ${idle} ticks`,
      );
      assert.equal(silent.proposed.length, 0);
    }
    const answering = fakeLoop(5, "leader", 9, 10);
    const ok = memberAdmin({ loop: answering.loop, clusterId: "c", electionTicks: 10, tickMs: 50 });
    await ok.promote({ id: 4 });
    assert.equal(answering.proposed.length, 1);
  });

  test("bad input is invalid_argument before anything is proposed", async () => {
    const { loop, proposed } = fakeLoop(1000);
    const admin = memberAdmin({ loop, clusterId: "c", electionTicks: 10, tickMs: 50 });
    const invalid = (e: unknown) => e instanceof DfsError && e.code === "invalid_argument";
    await assert.rejects(
      admin.add({ id: 0, peerAddress: "a:1", clientAddress: "a:2", learner: false }),
      invalid,
    );
    await assert.rejects(
      admin.add({ id: 5, peerAddress: "nope", clientAddress: "a:2", learner: false }),
      invalid,
    );
    await assert.rejects(
      admin.add({ id: 5, peerAddress: "a:1", clientAddress: "a:1", learner: false }),
      invalid,
    );
    await assert.rejects(admin.remove({ id: 2 ** 32 }), invalid);
    assert.equal(proposed.length, 0);
  });

  test("a follower refuses before looking (the loop's NOT_LEADER)", async () => {
    const { loop } = fakeLoop(1000, "follower");
    const admin = memberAdmin({ loop, clusterId: "c", electionTicks: 10, tickMs: 50 });
    await assert.rejects(admin.list(), /not the leader/);
    await assert.rejects(admin.remove({ id: 2 }), /not the leader/);
  });
});
