/**
 * Crash-everything and stale-read scenarios on the simulator (docs/testing.md#directed-scenarios):
 * every node killed at once, losing unsynced writes (sometimes leaving torn
 * tails), also exactly between "fsync returned" and "acted on it"; and a deposed leader
 * that wakes up believing it still leads must not serve a stale read.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../support/rng.ts";
import {
  disconnect,
  ELECTION_MS,
  getAt,
  leaderWithin,
  putAt,
  quietCluster,
} from "./scenario-helpers.ts";

describe("crash everything at once", () => {
  for (const size of [1, 3, 5]) {
    for (const failpoint of [false, true]) {
      const how = failpoint
        ? "right after an fsync returns, before the node acts on it"
        : "at random moments, tearing unsynced writes";
      it(`${size} node(s): all crash ${how}; acknowledged writes survive, the cluster recovers alone`, {
        timeout: 120_000,
      }, async () => {
        const seed = 800 + size * 10 + (failpoint ? 1 : 0);
        const sim = quietCluster(size, seed, { clients: 8 });
        const rng = new Rng(seed);
        sim.startClients();
        let crashes = 0;
        const crashAll = (): void => {
          crashes++;
          for (const n of sim.nodes) sim.crashNow(n.id, 1);
          sim.queue.after(rng.between(0, 300), () => {
            for (const n of sim.nodes) if (!n.isUp()) sim.restartNow(n.id);
          });
        };
        for (let round = 0; round < 10; round++) {
          if (failpoint) {
            for (const n of sim.nodes) {
              n.disk.onDurable = () => {
                if (rng.chance(0.02)) {
                  for (const m of sim.nodes) m.disk.onDurable = null;
                  crashAll();
                }
              };
            }
            await sim.runUntil(sim.queue.now + rng.between(1000, 3000));
            for (const n of sim.nodes) n.disk.onDurable = null;
          } else {
            await sim.runUntil(sim.queue.now + rng.between(500, 3000));
            crashAll();
          }
        }
        await sim.finish();
        const report = sim.summary();
        console.log(
          `# ${size} node(s), failpoint=${failpoint}: ${crashes} whole-cluster crashes, ${report.definite} definite ops, linearizable, converged`,
        );
        assert.ok(crashes >= 5, "the failpoint must actually fire");
        assert.ok(report.definite >= 100, "enough work to mean something");
      });
    }
  }
});

describe("crashes while a new term or vote is being saved", () => {
  it("3 nodes: the term and vote survive (HARDSTATE) or not, never half; no double vote, history linearizable", {
    timeout: 120_000,
  }, async () => {
    const seed = 4242;
    const sim = quietCluster(3, seed, { clients: 8 });
    const rng = new Rng(seed);
    sim.startClients();
    let crashes = 0;
    const kept: string[] = [];
    const arm = (): void => {
      for (const n of sim.nodes) {
        n.disk.onVoteInFlight = () => {
          if (!rng.chance(0.5)) return;
          for (const m of sim.nodes) m.disk.onVoteInFlight = null;
          crashes++;
          // Before the write completes (its latency is at least 0.2 ms): the HARDSTATE
          // sync may have landed, the log write not.
          sim.queue.after(0.1, () => {
            const before = n.disk.hardState.term;
            sim.crashNow(n.id, 0.5);
            if (n.disk.hardState.term > before) kept.push(`n${n.id}@${n.disk.hardState.term}`);
            sim.queue.after(rng.between(50, 500), () => {
              if (!n.isUp()) sim.restartNow(n.id);
              arm();
            });
          });
        };
      }
    };
    arm();
    for (let round = 0; round < 12; round++) {
      await sim.runUntil(sim.queue.now + rng.between(1000, 3000));
      // Force an election: crash the leader for a while.
      const leader = sim.stableLeader();
      if (leader !== undefined) {
        sim.crashNow(leader, 0);
        sim.queue.after(rng.between(200, 1500), () => {
          if (!sim.node(leader).isUp()) sim.restartNow(leader);
        });
      }
    }
    for (const n of sim.nodes) n.disk.onVoteInFlight = null;
    await sim.finish();
    const report = sim.summary();
    console.log(
      `# ${crashes} crashes with a vote in flight, ${kept.length} kept only in HARDSTATE (${kept.join(" ")}), ${report.definite} definite ops`,
    );
    assert.ok(crashes >= 3, "the failpoint must actually fire");
    assert.ok(kept.length >= 1, "some crash must keep a term or vote only in HARDSTATE");
  });
});

describe("stale-read guard", () => {
  for (const fault of ["pause", "isolate"] as const) {
    it(`a leader that is ${fault === "pause" ? "paused" : "isolated"} past an election timeout never serves a stale read`, async () => {
      const sim = quietCluster(3, fault === "pause" ? 901 : 902);
      const old = await leaderWithin(sim, 5000);
      assert.equal(await putAt(sim, old, "k", "before"), "ok");
      disconnect(sim, old);
      const inc = sim.node(old).current;
      if (fault === "pause" && inc) inc.paused = true;
      await sim.waitFor("a new leader", 3 * ELECTION_MS, () => {
        const l = sim.stableLeader();
        return l !== undefined && l !== old;
      });
      const leader = sim.stableLeader() as number;
      assert.equal(await putAt(sim, leader, "k", "after"), "ok");
      if (fault === "pause") inc?.resume();
      // The old leader may still believe it leads (its links are still cut): a read there
      // must not answer with the value that was overwritten.
      const stale = await getAt(sim, old, "k", 3000);
      assert.ok(
        stale === "timeout" || stale === "failed" || stale.value === "after",
        `stale read served: ${JSON.stringify(stale)}`,
      );
      sim.network.healLinks();
      const fresh = await getAt(sim, leader, "k");
      assert.deepEqual(fresh, { value: "after" });
    });
  }
});
