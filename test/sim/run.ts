/**
 * `npm run sim -- [--seeds N] [--seed S] [--nodes 3|5] [--fault-ms MS] [--clients C]
 * [--store memory|lmdb] [--verbose]`: runs randomized simulations and prints one line per
 * seed; on a failure prints the trace and the one command that replays it, and exits 1.
 * `--store lmdb` runs the real LMDB store with crashes inside its write-behind (sim-lmdb.ts).
 */
import { parseArgs } from "node:util";
import { type SimReport, Simulation } from "./simulation.ts";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "10" },
    seed: { type: "string" },
    "first-seed": { type: "string" },
    nodes: { type: "string" },
    "fault-ms": { type: "string", default: "20000" },
    clients: { type: "string", default: "8" },
    verbose: { type: "boolean", default: false },
    store: { type: "string", default: "memory" },
  },
});
if (values.store !== "memory" && values.store !== "lmdb")
  throw new Error(`--store must be memory or lmdb, not ${values.store}`);
const store = values.store;

/** The command that replays one run exactly. */
export function replayCommand(
  seed: number,
  nodes: number,
  faultMs: number,
  clients: number,
  storeKind: "memory" | "lmdb" = "memory",
): string {
  const storeFlag = storeKind === "lmdb" ? " --store lmdb" : "";
  return `npm run sim -- --seed ${seed} --nodes ${nodes} --fault-ms ${faultMs} --clients ${clients}${storeFlag} --verbose`;
}

const faultMs = Number(values["fault-ms"]);
const clients = Number(values.clients);
const seeds: number[] =
  values.seed !== undefined
    ? [Number(values.seed)]
    : Array.from({ length: Number(values.seeds) }, (_, i) =>
        values["first-seed"]
          ? Number(values["first-seed"]) + i
          : Math.floor(Math.random() * 2 ** 31),
      );

let failed = 0;
const started = Date.now();
for (const seed of seeds) {
  const nodes = values.nodes !== undefined ? Number(values.nodes) : seed % 2 === 0 ? 3 : 5;
  const t0 = Date.now();
  const report: SimReport = await new Simulation({
    seed,
    nodes,
    faultMs,
    clients,
    verbose: values.verbose,
    store,
  }).run();
  const ms = Date.now() - t0;
  console.log(
    `seed ${seed} nodes ${nodes}: ${report.ok ? "ok" : "FAIL"} ops=${report.ops} definite=${report.definite} faults=${report.faults} maxTerm=${report.maxTerm} events=${report.events} sim=${(report.simMs / 1000).toFixed(1)}s real=${ms}ms${report.lmdb ? ` | ${report.lmdb}` : ""}`,
  );
  if (!report.ok) {
    failed++;
    console.log(report.trace.join("\n"));
    console.log(`FAILURE: ${report.failure}`);
    console.log(`replay: ${replayCommand(seed, nodes, faultMs, clients, store)}`);
  }
}
const secs = (Date.now() - started) / 1000;
console.log(
  `${seeds.length} seeds, ${failed} failed, ${secs.toFixed(1)} s (${(seeds.length / secs).toFixed(2)} seeds/s)`,
);
process.exitCode = failed > 0 ? 1 : 0;
