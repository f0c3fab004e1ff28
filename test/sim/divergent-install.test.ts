/**
 * The divergent-install aim (divergent-install.ts) reaches what the swarm never did
 * before it: under `--store lmdb`, a snapshot installed over a log holding another entry
 * at the snapshot's index, and a crash right after the install, before the WAL reset. The
 * restart must then drop the superseded log (recover-log.ts); the plant
 * `recover-keeps-superseded-log` keeps it, and this seed finds it:
 * `npm run sim -- --plant recover-keeps-superseded-log --seed 2 --nodes 3 --fault-ms 10000 --store lmdb --verbose`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Simulation } from "./simulation.ts";

const SEED = 2;
const FAULT_MS = 10_000;
const REPLAY = `npm run sim -- --seed ${SEED} --nodes 3 --fault-ms ${FAULT_MS} --clients 8 --store lmdb --verbose`;

describe("divergent-install aim (LMDB swarm)", () => {
  it("a fixed seed installs a snapshot over a divergent log, crashes there, and recovers", {
    timeout: 300_000,
  }, async () => {
    const sim = new Simulation({
      seed: SEED,
      nodes: 3,
      faultMs: FAULT_MS,
      clients: 8,
      store: "lmdb",
    });
    const report = await sim.run();
    const stats = sim.divergentInstallStats();
    console.log(
      `# seed ${SEED}: ${report.ok ? "ok" : "FAIL"} ${JSON.stringify(stats)} | replay: ${REPLAY}`,
    );
    assert.ok(report.ok, `${report.failure}\nreplay: ${REPLAY}`);
    assert.ok(stats.installs >= 1, `no snapshot installed over a divergent log\nreplay: ${REPLAY}`);
    assert.ok(stats.crashes >= 1, `no crash right after such an install\nreplay: ${REPLAY}`);
  });
});
