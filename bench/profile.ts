/**
 * CPU profile of a 3-node cluster under one workload: starts the nodes with
 * `node --cpu-prof`, drives them through the client library exactly as `dfs bench` does,
 * stops them gracefully (so V8 writes the profiles) and prints the leader's summary
 * (bench/profile-summary.ts) plus each follower's per-area table. Profiles are kept in
 * `--out` for a closer look (Chrome DevTools, speedscope).
 *
 *   npx tsx bench/profile.ts [--workload put] [--conc 64] [--size 256] [--seconds 10]
 *                            [--unary] [--out bench/results/profiles] [-- node flags...]
 *
 * `--unary` drives the cluster with plain unary gRPC calls (bench/lib/dfs-unary-target.ts)
 * instead of the client library, as `npm run bench -- --unary` does; anything after `--`
 * is given to every node (e.g. `-- --front-ends 2`).
 */
import { execFileSync } from "node:child_process";
import { mkdir, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { LocalCluster, sourceEntry } from "../src/cluster/index.ts";
import { DfsTarget, type KvTarget, prefill, runLoad, type Workload } from "../src/loadgen/index.ts";
import { DfsUnaryTarget } from "./lib/dfs-unary-target.ts";

const { values, positionals } = parseArgs({
  options: {
    workload: { type: "string", default: "put" },
    conc: { type: "string", default: "64" },
    size: { type: "string", default: "256" },
    seconds: { type: "string", default: "10" },
    unary: { type: "boolean", default: false },
    out: { type: "string", default: resolve(import.meta.dirname, "results", "profiles") },
  },
  allowPositionals: true,
});
const workload = values.workload as Workload;
const concurrency = Number(values.conc);
const valueSize = Number(values.size);
const seconds = Number(values.seconds);
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const kind = values.unary ? "unary-" : "";
const dir = join(values.out, `${kind}${workload}-${valueSize}B-x${concurrency}-${stamp}`);
await mkdir(dir, { recursive: true });

const source = sourceEntry();
const cluster = await LocalCluster.start({
  checkInvariants: false,
  entry: { ...source, args: ["--cpu-prof", `--cpu-prof-dir=${dir}`, ...source.args] },
  serverArgs: positionals,
});
const pids = new Map(cluster.nodes.map((n) => [n.id, n.proc?.pid]));
const leader = await cluster.waitForLeader();
const leaderAddress = cluster.node(leader).address;
const target: KvTarget = values.unary
  ? new DfsUnaryTarget([leaderAddress, ...cluster.endpoints().filter((e) => e !== leaderAddress)], {
      timeoutMs: 60_000,
    })
  : new DfsTarget(cluster.endpoints(), 60_000);
try {
  if (workload !== "put") await prefill(target, 1000, valueSize, 64);
  const result = await runLoad(target, {
    workload,
    concurrency,
    valueSize,
    keys: 1000,
    serializable: false,
    readPercent: 50,
    stop: { kind: "seconds", seconds },
    warmupMs: 1000,
  });
  process.stdout.write(
    `${workload} ${valueSize} B x${concurrency}: ${result.opsPerSec.toFixed(0)} ops/s, ` +
      `p50 ${result.latency.p50.toFixed(2)} ms, p99 ${result.latency.p99.toFixed(2)} ms\n`,
  );
} finally {
  target.close();
  await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id, "SIGINT")));
  await cluster.destroy();
}

const files = await readdir(dir);
for (const [id, pid] of pids) {
  const main = files.find((f) => f.includes(`.${pid}.0.`) && f.endsWith(".cpuprofile"));
  if (main === undefined) {
    process.stdout.write(`node ${id}: no profile written (pid ${pid})\n`);
    continue;
  }
  const summary = execFileSync(
    process.execPath,
    ["--import", "tsx", resolve(import.meta.dirname, "profile-summary.ts"), join(dir, main)],
    { encoding: "utf8" },
  );
  const role = id === leader ? "LEADER" : "follower";
  const shown = id === leader ? summary : summary.split("\ntop ")[0];
  process.stdout.write(`\n=== node ${id} (${role}) ===\n${shown}\n`);
}
