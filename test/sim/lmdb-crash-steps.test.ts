/**
 * The real LMDB store under the simulator (sim-lmdb.ts), crashed once at each named step
 * of its write-behind batch and of a snapshot install: the whole cluster dies at the
 * first time some node's store reaches the step, every store keeps only what it had
 * flushed (the worst case LMDB allows) or, in a second pass, every commit, and the
 * cluster restarts from the stores plus the WAL. Nothing committed before the crash may
 * be lost (every node applies past it again, and re-applies the same entries), the client
 * history stays linearizable, and every store ends equal to a memory-store twin that
 * applied the same entries without a crash.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { STORE_STEPS, type StoreStep, type Survivor } from "./sim-lmdb.ts";
import { Simulation } from "./simulation.ts";

/** Steps reached only when a follower catches up through a snapshot. */
const NEEDS_INSTALL: readonly StoreStep[] = ["snapshot-installed", "wal-reset"];

async function crashAtStep(step: StoreStep, survivor: Survivor, seed: number): Promise<string> {
  const sim = new Simulation({
    seed,
    nodes: 3,
    faultMs: 0,
    clients: 6,
    store: "lmdb",
    storeCrashP: 0,
    snapshotEvery: 25,
    snapshotKeep: 0,
    maxMsgBytes: 1024,
    maxInflight: 4,
    // Batches large enough to hold several entries when the step comes.
    writeBehind: { entries: 10_000, bytes: 1024 * 1024, ms: 300 },
  });
  const lmdb = sim.lmdb;
  assert.ok(lmdb !== null);
  lmdb.survivor = survivor;
  try {
    await sim.ready();
    sim.startAll();
    sim.startClients();
    await sim.runUntil(1500);
    if (NEEDS_INSTALL.includes(step)) {
      // A follower down long enough for the leader to compact past it: it comes back
      // through a snapshot install.
      const leader = sim.stableLeader() ?? 1;
      const behind = leader === 3 ? 2 : 3;
      sim.crashNow(behind);
      await sim.runUntil(sim.queue.now + 1500);
      sim.restartNow(behind);
    }
    let crashedAt: { node: number; commit: number; time: number } | null = null;
    const reappliedBefore = lmdb.reapplied;
    lmdb.onStep = (id, reached) => {
      if (reached !== step || crashedAt !== null) return;
      const commit = Math.max(...sim.nodes.map((n) => n.current?.node.status().commit ?? 0));
      crashedAt = { node: id, commit, time: sim.queue.now };
      sim.trace(`step ${step} on n${id} (commit ${commit}): crash every node`);
      for (const n of sim.nodes) if (n.isUp()) sim.crashNow(n.id);
      sim.queue.after(200, () => {
        for (const n of sim.nodes) if (!n.isUp()) sim.restartNow(n.id);
      });
    };
    await sim.waitFor(`step ${step}`, 10_000, () => crashedAt !== null);
    const at = crashedAt as unknown as { node: number; commit: number; time: number };
    lmdb.onStep = null;
    await sim.runUntil(sim.queue.now + 2000);
    await sim.finish();
    for (const n of sim.nodes) {
      const applied = n.current?.fsm.appliedIndex ?? 0;
      assert.ok(
        applied >= at.commit,
        `n${n.id} applied ${applied}, behind the commit index ${at.commit} at the crash`,
      );
    }
    const report = sim.summary();
    const reapplied = lmdb.reapplied - reappliedBefore;
    // There, the crashing node's store had applied entries it had not flushed.
    if (survivor === "floor" && (step === "batch-applied" || step === "batch-committed"))
      assert.ok(reapplied > 0, "nothing was applied again: the crash lost nothing from the store?");
    return `step ${step}, kept ${survivor}: crashed on n${at.node} at t=${at.time.toFixed(1)} (commit ${at.commit}); ${reapplied} entries applied again from the WAL; ${report.definite} definite ops, linearizable, stores equal their memory twin`;
  } catch (error) {
    for (const line of sim.summary(error as Error).trace.slice(-40)) console.log(`# ${line}`);
    throw error;
  } finally {
    await sim.dispose();
  }
}

describe("LMDB store: a whole-cluster crash at each step of the write-behind", () => {
  for (const survivor of ["floor", "latest"] as const) {
    STORE_STEPS.forEach((step, i) => {
      it(`${step}, the stores keep ${survivor === "floor" ? "only what they flushed" : "every commit"}`, {
        timeout: 120_000,
      }, async () => {
        console.log(`# ${await crashAtStep(step, survivor, 7100 + i)}`);
      });
    });
  }
});
