/**
 * `npm run sim -- [--seeds N] [--seed S] [--first-seed S] [--nodes 3|5] [--fault-ms MS]
 * [--clients C] [--nemesis swarm|v1] [--plant NAME] [--stop-on-fail] [--shrink]
 * [--hours H] [--regression S] [--store memory|lmdb] [--membership swarm|on|off]
 * [--aimed swarm|off] [--quiet]
 * [--verbose]`:
 * runs randomized simulations and prints one line per seed; on a failure prints the trace
 * and the one command that replays it, and exits 1.
 *
 * - `--plant NAME` runs with a planted bug (test/sim/plants/; the process re-executes
 *   itself with the plant's loader hook); `--stop-on-fail` ends at the first failure and
 *   says how many seeds it took (docs/testing.md#planted-bugs).
 * - `--shrink` shrinks each failing swarm schedule to the shortest that still fails.
 * - `--hours H` is the long mode: fresh seeds for H hours with seeds/s reported every
 *   minute; each failure is shrunk and, without a plant, saved to regression-seeds.json.
 * - `--regression S` replays regression seed S (its scheduler and schedule) from that file.
 * - `--aimed off` keeps the swarm's aimed kinds (nemesis.ts AIMED_KINDS) off;
 * - `--membership on|off` forces the membership nemesis (sim-membership.ts) on or off;
 *   by default (`swarm`) each swarm seed decides.
 * - `--store lmdb` runs the real LMDB store with crashes inside its write-behind
 *   (sim-lmdb.ts; docs/testing.md#the-real-store-under-simulation).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  isMembershipMode,
  isNemesis,
  type MembershipMode,
  type NemesisVersion,
  type ScheduledFault,
} from "./nemesis.ts";
import { activePlant, assertPlantLoaded, plantedProcess, plantNamed } from "./plants/index.ts";
import {
  appendRegressionSeed,
  type RegressionSeed,
  readRegressionSeeds,
} from "./regression-seeds.ts";

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
    shrink: { type: "boolean", default: false },
    hours: { type: "string" },
    regression: { type: "string" },
    quiet: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    store: { type: "string", default: "memory" },
    membership: { type: "string", default: "swarm" },
    aimed: { type: "string", default: "swarm" },
  },
});
if (values.store !== "memory" && values.store !== "lmdb")
  throw new Error(`--store must be memory or lmdb, not ${values.store}`);
const store: "memory" | "lmdb" = values.store;
if (!isMembershipMode(values.membership))
  throw new Error(`--membership must be swarm, on or off, not ${values.membership}`);
const membership: MembershipMode = values.membership;
if (values.aimed !== "swarm" && values.aimed !== "off")
  throw new Error(`--aimed must be swarm or off, not ${values.aimed}`);
const aimed = values.aimed === "swarm";

/** What fixes one run besides its seed. */
export interface ReplayOptions {
  readonly nodes: number;
  readonly faultMs: number;
  readonly clients: number;
  readonly nemesis: string;
  readonly plant?: string | undefined;
  readonly store?: "memory" | "lmdb";
  readonly membership?: MembershipMode;
  readonly aimed?: boolean;
}

/** The command that replays one run exactly. */
export function replayCommand(seed: number, o: ReplayOptions): string {
  const plant = o.plant ? ` --plant ${o.plant}` : "";
  const nemesis = o.nemesis === "swarm" ? "" : ` --nemesis ${o.nemesis}`;
  const storeFlag = o.store === "lmdb" ? " --store lmdb" : "";
  const members =
    o.membership !== undefined && o.membership !== "swarm" ? ` --membership ${o.membership}` : "";
  const aimedFlag = o.aimed === false ? " --aimed off" : "";
  return `npm run sim --${plant}${nemesis} --seed ${seed} --nodes ${o.nodes} --fault-ms ${o.faultMs} --clients ${o.clients}${storeFlag}${members}${aimedFlag} --verbose`;
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
type SimReport = Awaited<ReturnType<InstanceType<typeof Simulation>["run"]>>;
const { shrinkSchedule } = await import("./shrink.ts");

const regressions: RegressionSeed[] = readRegressionSeeds();
const replayed =
  values.regression === undefined
    ? undefined
    : regressions.find((r) => r.seed === Number(values.regression));
if (values.regression !== undefined && replayed === undefined)
  throw new Error(`no regression seed ${values.regression} in regression-seeds.json`);
const nemesisArg = replayed?.nemesis ?? values.nemesis;
if (!isNemesis(nemesisArg)) throw new Error(`--nemesis must be swarm or v1, not ${nemesisArg}`);
const nemesis: NemesisVersion = nemesisArg;
const faultMs = replayed?.faultMs ?? Number(values["fault-ms"]);
const clients = Number(values.clients);
const hours = values.hours === undefined ? undefined : Number(values.hours);
const shrink = values.shrink || hours !== undefined;
const randomSeed = (): number => Math.floor(Math.random() * 2 ** 31);
const fixedSeeds: number[] | undefined =
  replayed !== undefined
    ? [replayed.seed]
    : values.seed !== undefined
      ? [Number(values.seed)]
      : hours !== undefined
        ? undefined
        : Array.from({ length: Number(values.seeds) }, (_, i) =>
            values["first-seed"] ? Number(values["first-seed"]) + i : randomSeed(),
          );
if (plant !== undefined) console.log(`plant ${plant}: ${plantNamed(plant).description}`);

function nodesFor(seed: number): number {
  if (replayed !== undefined) return replayed.nodes;
  return values.nodes !== undefined ? Number(values.nodes) : seed % 2 === 0 ? 3 : 5;
}

async function simulate(
  seed: number,
  nodes: number,
  ms: number,
  schedule: readonly ScheduledFault[] | undefined,
  verbose: boolean,
): Promise<SimReport> {
  return new Simulation({
    seed,
    nodes,
    faultMs: ms,
    clients,
    nemesis,
    verbose,
    store,
    membership,
    aimed,
    ...(schedule !== undefined ? { schedule } : {}),
  }).run();
}

/** Shrinks a failing swarm run; prints (and in the long mode without a plant, saves) it. */
async function shrinkFailure(seed: number, nodes: number, report: SimReport): Promise<void> {
  if (nemesis !== "swarm") return;
  const t0 = Date.now();
  const shrunk = await shrinkSchedule(
    { schedule: report.schedule, faultMs },
    report.failure ?? "",
    async (c) => {
      const r = await simulate(seed, nodes, c.faultMs, c.schedule, false);
      return r.ok ? null : (r.failure ?? "failed");
    },
  );
  console.log(
    `shrunk seed ${seed}: ${report.schedule.length} -> ${shrunk.schedule.length} faults, fault phase ${faultMs} -> ${shrunk.faultMs} ms, ${shrunk.runs} runs, ${((Date.now() - t0) / 1000).toFixed(0)} s; still fails: ${shrunk.failure}`,
  );
  console.log(`schedule: ${JSON.stringify(shrunk.schedule)}`);
  if (hours === undefined || plant !== undefined) return;
  const entry: RegressionSeed = {
    seed,
    nodes,
    faultMs: shrunk.faultMs,
    nemesis: "swarm",
    schedule: shrunk.schedule,
    note: `long mode ${new Date().toISOString().slice(0, 10)}, shrunk: ${shrunk.failure.slice(0, 160)}`,
  };
  if (!readRegressionSeeds().some((r) => r.seed === seed)) {
    appendRegressionSeed(entry);
    console.log(
      `saved to test/sim/regression-seeds.json; replay: npm run sim -- --regression ${seed}`,
    );
  }
}

let failed = 0;
let ran = 0;
let firstFailure: number | undefined;
const started = Date.now();
const until = hours === undefined ? Number.POSITIVE_INFINITY : started + hours * 3600_000;
let lastProgress = started;
for (let i = 0; fixedSeeds === undefined ? Date.now() < until : i < fixedSeeds.length; i++) {
  const seed = fixedSeeds?.[i] ?? randomSeed();
  const nodes = nodesFor(seed);
  const t0 = Date.now();
  const report = await simulate(seed, nodes, faultMs, replayed?.schedule, values.verbose);
  ran++;
  if (plant !== undefined && ran === 1) assertPlantLoaded();
  const ms = Date.now() - t0;
  if (!(values.quiet || hours !== undefined) || !report.ok) {
    console.log(
      `seed ${seed} nodes ${nodes}: ${report.ok ? "ok" : "FAIL"} ops=${report.ops} definite=${report.definite} followerReads=${report.followerReads} faults=${report.faults} maxTerm=${report.maxTerm} events=${report.events} sim=${(report.simMs / 1000).toFixed(1)}s real=${ms}ms${report.lmdb ? ` | ${report.lmdb}` : ""}${report.membership ? ` | members: ${report.membership}` : ""}`,
    );
  }
  if (!report.ok) {
    failed++;
    firstFailure ??= ran;
    if (!values.quiet) console.log(report.trace.join("\n"));
    console.log(`FAILURE: ${report.failure}`);
    console.log(
      replayed !== undefined
        ? `replay: npm run sim -- --regression ${seed} --verbose`
        : `replay: ${replayCommand(seed, { nodes, faultMs, clients, nemesis, plant, store, membership, aimed })}`,
    );
    if (shrink && replayed === undefined) await shrinkFailure(seed, nodes, report);
    if (values["stop-on-fail"]) break;
  }
  if (hours !== undefined && Date.now() - lastProgress >= 60_000) {
    lastProgress = Date.now();
    const secs = (lastProgress - started) / 1000;
    console.log(
      `[${(secs / 60).toFixed(0)} min] ${ran} seeds, ${failed} failed, ${(ran / secs).toFixed(2)} seeds/s`,
    );
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
