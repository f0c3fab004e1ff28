/**
 * `npm run sim -- [--seeds N] [--seed S] [--first-seed S] [--nodes 3|5] [--fault-ms MS]
 * [--clients C] [--nemesis swarm|v1] [--plant NAME] [--stop-on-fail] [--quiet] [--verbose]`:
 * runs randomized simulations and prints one line per seed; on a failure prints the trace
 * and the one command that replays it, and exits 1. `--plant NAME` runs with a planted bug
 * (test/sim/plants/; the process re-executes itself with the plant's loader hook), and
 * `--stop-on-fail` ends at the first failure and says how many seeds it took
 * (docs/testing.md#planted-bugs).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { isNemesis } from "./nemesis.ts";
import { activePlant, assertPlantLoaded, plantedProcess, plantNamed } from "./plants/index.ts";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "10" },
    seed: { type: "string" },
    "first-seed": { type: "string" },
    nodes: { type: "string" },
    "fault-ms": { type: "string", default: "20000" },
    clients: { type: "string", default: "8" },
    nemesis: { type: "string", default: "swarm" },
    plant: { type: "string" },
    "stop-on-fail": { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
  },
});

/** What fixes one run besides its seed. */
export interface ReplayOptions {
  readonly nodes: number;
  readonly faultMs: number;
  readonly clients: number;
  readonly nemesis: string;
  readonly plant?: string | undefined;
}

/** The command that replays one run exactly. */
export function replayCommand(seed: number, o: ReplayOptions): string {
  const plant = o.plant ? ` --plant ${o.plant}` : "";
  const nemesis = o.nemesis === "swarm" ? "" : ` --nemesis ${o.nemesis}`;
  return `npm run sim --${plant}${nemesis} --seed ${seed} --nodes ${o.nodes} --fault-ms ${o.faultMs} --clients ${o.clients} --verbose`;
}

const plant = values.plant ?? process.env.DFS_PLANT;
if (plant !== undefined && activePlant()?.name !== plant) {
  // The plant's hook must be registered before tsx's and before any source loads.
  plantNamed(plant);
  const planted = plantedProcess(plant);
  const child = spawnSync(
    process.execPath,
    [...planted.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: "inherit", env: planted.env },
  );
  process.exit(child.status ?? 1);
}

const { Simulation } = await import("./simulation.ts");
const nemesis = values.nemesis;
if (!isNemesis(nemesis)) throw new Error(`--nemesis must be swarm or v1, not ${nemesis}`);
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
if (plant !== undefined) console.log(`plant ${plant}: ${plantNamed(plant).description}`);

let failed = 0;
let ran = 0;
let firstFailure: number | undefined;
const started = Date.now();
for (const seed of seeds) {
  const nodes = values.nodes !== undefined ? Number(values.nodes) : seed % 2 === 0 ? 3 : 5;
  const t0 = Date.now();
  const report = await new Simulation({
    seed,
    nodes,
    faultMs,
    clients,
    nemesis,
    verbose: values.verbose,
  }).run();
  ran++;
  if (plant !== undefined && ran === 1) assertPlantLoaded();
  const ms = Date.now() - t0;
  if (!values.quiet || !report.ok) {
    console.log(
      `seed ${seed} nodes ${nodes}: ${report.ok ? "ok" : "FAIL"} ops=${report.ops} definite=${report.definite} faults=${report.faults} maxTerm=${report.maxTerm} events=${report.events} sim=${(report.simMs / 1000).toFixed(1)}s real=${ms}ms`,
    );
  }
  if (!report.ok) {
    failed++;
    firstFailure ??= ran;
    if (!values.quiet) console.log(report.trace.join("\n"));
    console.log(`FAILURE: ${report.failure}`);
    console.log(`replay: ${replayCommand(seed, { nodes, faultMs, clients, nemesis, plant })}`);
    if (values["stop-on-fail"]) break;
  }
}
const secs = (Date.now() - started) / 1000;
console.log(
  `${ran} seeds, ${failed} failed, ${secs.toFixed(1)} s (${(ran / secs).toFixed(2)} seeds/s)`,
);
if (values["stop-on-fail"]) {
  console.log(
    firstFailure === undefined
      ? `seeds to first failure: none in ${ran}${plant ? ` (plant ${plant})` : ""}`
      : `seeds to first failure: ${firstFailure}${plant ? ` (plant ${plant})` : ""}`,
  );
}
process.exitCode = failed > 0 ? 1 : 0;
