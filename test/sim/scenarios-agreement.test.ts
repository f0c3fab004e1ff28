/**
 * Directed agreement and persistence scenarios (docs/testing.md#directed-scenarios;
 * MIT 6.5840 3B/3C): follower and leader failure, no agreement without a
 * majority, concurrent proposals, a stale leader rejoining, fast log backup, message
 * bounds, and a thousand leader crashes on an unreliable network.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../support/rng.ts";
import {
  disconnect,
  leaderWithin,
  putAt,
  quietCluster,
  startPut,
  valueAt,
} from "./scenario-helpers.ts";

describe("agreement (MIT 3B)", () => {
  it("follower failure: commits with one follower down, stalls with both down, resumes after restart", async () => {
    const sim = quietCluster(3, 101);
    const leader = await leaderWithin(sim, 5000);
    const [f1, f2] = [1, 2, 3].filter((i) => i !== leader) as [number, number];
    assert.equal(await putAt(sim, leader, "a", "1"), "ok");
    sim.crashNow(f1);
    assert.equal(
      await putAt(sim, leader, "b", "2"),
      "ok",
      "one follower is enough for a majority of 3",
    );
    sim.crashNow(f2);
    assert.equal(await putAt(sim, leader, "c", "3", 3000), "timeout", "no majority, no commit");
    sim.restartNow(f1);
    sim.restartNow(f2);
    const l = await leaderWithin(sim, 5000);
    assert.equal(await putAt(sim, l, "d", "4"), "ok");
    await sim.waitFor("convergence", 5000, () => sim.converged());
    for (const id of [1, 2, 3]) assert.equal(valueAt(sim, id, "b"), "2");
  });

  it("leader failure: a new leader commits; the old one restarts and catches up", async () => {
    const sim = quietCluster(3, 102);
    const old = await leaderWithin(sim, 5000);
    assert.equal(await putAt(sim, old, "a", "1"), "ok");
    sim.crashNow(old);
    await sim.waitFor("a new leader", 5000, () => sim.stableLeader() !== undefined);
    const leader = sim.stableLeader() as number;
    assert.notEqual(leader, old);
    assert.equal(await putAt(sim, leader, "b", "2"), "ok");
    sim.restartNow(old);
    await sim.waitFor("the old leader to catch up", 5000, () => valueAt(sim, old, "b") === "2");
    assert.equal(valueAt(sim, old, "a"), "1");
  });

  it("fail-no-agree: with 3 of 5 followers gone nothing commits; after they return, agreement resumes", async () => {
    const sim = quietCluster(5, 103);
    const leader = await leaderWithin(sim, 5000);
    const followers = [1, 2, 3, 4, 5].filter((i) => i !== leader);
    for (const f of followers.slice(0, 3)) disconnect(sim, f);
    assert.equal(await putAt(sim, leader, "x", "1", 1500), "timeout");
    assert.equal(
      sim.node(leader).current?.node.status().commit,
      sim.node(followers[3] as number).current?.node.status().commit,
    );
    sim.network.healLinks();
    const l = await leaderWithin(sim, 8000);
    assert.equal(await putAt(sim, l, "y", "2"), "ok");
    await sim.waitFor("convergence", 5000, () => sim.converged());
  });

  it("concurrent proposals: 50 at once all commit, in one order on every node", async () => {
    const sim = quietCluster(3, 104);
    const leader = await leaderWithin(sim, 5000);
    const puts = Array.from({ length: 50 }, (_, i) => startPut(sim, leader, `c/${i}`, `v${i}`));
    await sim.waitFor("all 50 acknowledged", 5000, () => puts.every((p) => p.state === "ok"));
    await sim.waitFor("convergence", 5000, () => sim.converged());
    for (let i = 0; i < 50; i++)
      for (const id of [1, 2, 3]) assert.equal(valueAt(sim, id, `c/${i}`), `v${i}`);
  });

  it("a stale leader rejoining discards its uncommitted entries and adopts the new leader's log", async () => {
    const sim = quietCluster(3, 105);
    const stale = await leaderWithin(sim, 5000);
    assert.equal(await putAt(sim, stale, "k", "committed"), "ok");
    disconnect(sim, stale);
    const lost = [startPut(sim, stale, "k", "lost-1"), startPut(sim, stale, "k", "lost-2")];
    await sim.waitFor("a leader in the majority", 5000, () => {
      const l = sim.stableLeader();
      return l !== undefined && l !== stale;
    });
    const leader = sim.stableLeader() as number;
    assert.equal(await putAt(sim, leader, "k", "new"), "ok");
    sim.network.healLinks();
    await sim.waitFor("convergence", 8000, () => sim.converged());
    for (const id of [1, 2, 3]) assert.equal(valueAt(sim, id, "k"), "new");
    assert.ok(
      lost.every((p) => p.state !== "ok"),
      "writes of the stale leader were never acknowledged",
    );
  });

  it("backup: a follower with a long divergent tail is repaired in O(terms) round trips, not O(entries)", async () => {
    const sim = quietCluster(5, 106, { maxMsgBytes: 1024 * 1024 });
    const stale = await leaderWithin(sim, 5000);
    const others = [1, 2, 3, 4, 5].filter((i) => i !== stale);
    // The stale leader and one follower accumulate 200 uncommitted entries of the old term.
    sim.network.separate([stale, others[0] as number], others.slice(1));
    for (let i = 0; i < 200; i++) startPut(sim, stale, `stale/${i}`, "x");
    await sim.runUntil(sim.queue.now + 200);
    await sim.waitFor("a leader in the majority side", 8000, () => {
      const l = sim.stableLeader();
      return l !== undefined && others.slice(1).includes(l);
    });
    const leader = sim.stableLeader() as number;
    for (let i = 0; i < 200; i++) startPut(sim, leader, `new/${i}`, "y");
    await sim.runUntil(sim.queue.now + 1000);
    // The majority's leader goes down and the links heal: the next leader's first probe of
    // the stale pair lands on an index where their logs disagree (200 entries of term 1).
    sim.crashNow(leader);
    sim.network.healLinks();
    const rejectsBefore = countRejects(sim);
    await sim.waitFor("a new leader", 8000, () => sim.stableLeader() !== undefined);
    sim.restartNow(leader);
    await sim.waitFor("convergence", 10_000, () => sim.converged());
    const rejects = countRejects(sim) - rejectsBefore;
    console.log(
      `# backup: ${rejects} rejected appends to repair 2 followers with 200 divergent entries`,
    );
    assert.ok(rejects >= 1, "the scenario must actually diverge");
    assert.ok(rejects <= 12, `expected O(terms) rejections, saw ${rejects}`);
  });

  it("message bounds: a few messages per agreement, and a bounded heartbeat rate when idle", async () => {
    const sim = quietCluster(3, 107);
    const leader = await leaderWithin(sim, 5000);
    await sim.runUntil(sim.queue.now + 500);
    const idleStart = sim.network.totalSent();
    await sim.runUntil(sim.queue.now + 10_000);
    const idlePerSecond = (sim.network.totalSent() - idleStart) / 10;
    const agreeStart = sim.network.totalSent();
    const t0 = sim.queue.now;
    for (let i = 0; i < 20; i++) assert.equal(await putAt(sim, leader, `m/${i}`, "v"), "ok");
    const heartbeatShare = ((sim.queue.now - t0) / 1000) * idlePerSecond;
    const perAgreement = (sim.network.totalSent() - agreeStart - heartbeatShare) / 20;
    console.log(
      `# messages: ${idlePerSecond.toFixed(1)}/s idle, ${perAgreement.toFixed(1)} per agreement (3 nodes)`,
    );
    assert.ok(
      idlePerSecond <= 45,
      "idle: heartbeats and replies to 2 followers every 100 ms, little else",
    );
    assert.ok(
      perAgreement <= 10,
      "one agreement: append + reply per follower, plus the commit notice",
    );
  });
});

function countRejects(sim: ReturnType<typeof quietCluster>): number {
  return sim.network.sent.get("appendRespReject") ?? 0;
}

describe("persistence under an unreliable network (MIT 3C, Figure 8 unreliable)", () => {
  it("1000 leader crashes at random moments with 10% loss and long reordering: every acknowledged write survives", {
    timeout: 300_000,
  }, async () => {
    const sim = quietCluster(5, 108);
    sim.network.conditions = {
      loss: 0.1,
      duplicate: 0.05,
      minDelay: 0.05,
      maxDelay: 20,
      longDelay: 0.01,
    };
    const rng = new Rng(108);
    const acked = new Map<string, string>();
    const pending: { key: string; value: string; p: { state: string } }[] = [];
    let crashes = 0;
    for (let iter = 0; iter < 1000; iter++) {
      const leader = sim.stableLeader() ?? rng.pick([1, 2, 3, 4, 5]);
      const key = `p/${iter}`;
      pending.push({ key, value: `v${iter}`, p: startPut(sim, leader, key, `v${iter}`) });
      await sim.runUntil(sim.queue.now + rng.between(0, 150));
      if (rng.chance(0.3) && sim.node(leader).isUp()) {
        sim.crashNow(leader, 0.5);
        crashes++;
        await sim.runUntil(sim.queue.now + rng.between(0, 300));
        sim.restartNow(leader);
      }
      for (const q of pending) if (q.p.state === "ok") acked.set(q.key, q.value);
    }
    sim.network.conditions = { loss: 0, duplicate: 0, minDelay: 0.05, maxDelay: 1, longDelay: 0 };
    sim.network.dropInFlight();
    const leader = await leaderWithin(sim, 10_000);
    assert.equal(await putAt(sim, leader, "final", "f", 5000), "ok");
    await sim.waitFor("convergence", 10_000, () => sim.converged());
    for (const q of pending) if (q.p.state === "ok") acked.set(q.key, q.value);
    console.log(
      `# persistence: ${crashes} leader crashes, ${acked.size}/1000 writes acknowledged, all present on all 5 nodes`,
    );
    assert.ok(
      crashes >= 200 && acked.size >= 100,
      "enough crashes and enough acknowledged writes to mean something",
    );
    for (const [key, value] of acked)
      for (const id of [1, 2, 3, 4, 5])
        assert.equal(valueAt(sim, id, key), value, `${key} lost on n${id}`);
    sim.checker.checkExpensive();
  });
});
