/**
 * The randomized swarm with the real LMDB store (sim-lmdb.ts): a bounded number of seeds
 * (SIM_LMDB_SEEDS, default 4), each with its own write-behind limits and chance of a crash
 * at every step of the store's batch, on top of the usual nemesis. Each seed prints its
 * replay command. Also: the same seed twice gives the same run, real I/O and all.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type SimReport, Simulation } from "./simulation.ts";

const SEEDS = Number(process.env.SIM_LMDB_SEEDS ?? "4");
const FAULT_MS = 10_000;

function replay(seed: number, nodes: number): string {
  return `npm run sim -- --seed ${seed} --nodes ${nodes} --fault-ms ${FAULT_MS} --clients 8 --store lmdb --verbose`;
}

async function runSeed(seed: number, nodes: number): Promise<SimReport> {
  const report = await new Simulation({
    seed,
    nodes,
    faultMs: FAULT_MS,
    clients: 8,
    store: "lmdb",
  }).run();
  console.log(
    `# seed ${seed} nodes ${nodes}: ${report.ok ? "ok" : "FAIL"} ops=${report.ops} definite=${report.definite} faults=${report.faults} | ${report.lmdb} | replay: ${replay(seed, nodes)}`,
  );
  if (!report.ok) console.log(report.trace.map((l) => `# ${l}`).join("\n"));
  return report;
}

describe("simulation swarm, LMDB store", () => {
  it(`${SEEDS} random seeds with crashes inside the write-behind`, {
    timeout: 600_000,
  }, async () => {
    const started = Date.now();
    for (let run = 0; run < SEEDS; run++) {
      const seed = Math.floor(Math.random() * 2 ** 31);
      const nodes = run % 2 === 0 ? 3 : 5;
      const report = await runSeed(seed, nodes);
      assert.ok(report.ok, `${report.failure}\nreplay: ${replay(seed, nodes)}`);
      assert.ok(report.definite >= 8, `too little work (${report.definite} definite ops)`);
    }
    const secs = (Date.now() - started) / 1000;
    console.log(
      `# lmdb swarm: ${SEEDS} seeds in ${secs.toFixed(1)} s (${(SEEDS / secs).toFixed(2)} seeds/s)`,
    );
  });

  it("a seed replays exactly: same events, same history, same trace", {
    timeout: 300_000,
  }, async () => {
    const seed = 4711;
    const once = await runSeed(seed, 3);
    const twice = await runSeed(seed, 3);
    assert.ok(once.ok, once.failure);
    assert.equal(twice.events, once.events);
    assert.equal(twice.ops, once.ops);
    assert.equal(twice.definite, once.definite);
    assert.equal(twice.lmdb, once.lmdb);
    assert.deepEqual(twice.trace, once.trace);
  });
});
