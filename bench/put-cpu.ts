/**
 * Server CPU per operation, this tree against another checkout, interleaved (issue 22):
 * on a shared machine rates move with the load, but the CPU each put costs the nodes
 * moves much less, so a change to the data path is judged by this pair measured back to
 * back. Each round starts a fresh 3-node cluster of compiled nodes per system, drives it
 * with plain unary calls (as `npm run bench -- --unary`), and reads the nodes' user +
 * system CPU from /proc exactly at the window's edges.
 *
 *   npx tsx bench/put-cpu.ts [--size 1048576] [--conc 16] [--seconds 8] [--rounds 2]
 *                            [--base DIR] [--workload put]
 *
 * `--base DIR`: a checkout whose compiled CLI is the baseline (built there first).
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { LocalCluster, type ServerEntry } from "../src/cluster/index.ts";
import { prefill, runLoad, type Workload } from "../src/loadgen/index.ts";
import { buildCompiledEntry } from "./lib/compiled-entry.ts";
import { DfsUnaryTarget } from "./lib/dfs-unary-target.ts";
import { cpuMsOf } from "./lib/proc-stat.ts";

const { values: flags } = parseArgs({
  options: {
    size: { type: "string", default: "1048576" },
    conc: { type: "string", default: "16" },
    seconds: { type: "string", default: "8" },
    rounds: { type: "string", default: "2" },
    workload: { type: "string", default: "put" },
    base: { type: "string" },
  },
});
const size = Number(flags.size);
const concurrency = Number(flags.conc);
const workload = flags.workload as Workload;

const systems: [string, ServerEntry][] = [["this", buildCompiledEntry()]];
if (flags.base !== undefined) systems.push(["base", buildCompiledEntry(resolve(flags.base))]);

/** One measured window on a fresh cluster: ops, and server CPU ms per op (each node, sum). */
async function measure(entry: ServerEntry): Promise<string> {
  const cluster = await LocalCluster.start({ checkInvariants: false, entry });
  try {
    const leader = await cluster.waitForLeader();
    const pids = cluster.nodes.map((n) => n.proc?.pid as number);
    const first = cluster.node(leader).address;
    const target = new DfsUnaryTarget([first, ...cluster.endpoints().filter((e) => e !== first)], {
      timeoutMs: 60_000,
    });
    try {
      if (workload !== "put") await prefill(target, 1000, size, 16);
      let before: number[] = [];
      let after: number[] = [];
      const result = await runLoad(
        target,
        {
          workload,
          concurrency,
          valueSize: size,
          keys: 1000,
          serializable: false,
          readPercent: 50,
          stop: { kind: "seconds", seconds: Number(flags.seconds) },
          warmupMs: 1500,
        },
        {
          onStart: () => (before = pids.map((p) => cpuMsOf([p]))),
          onEnd: () => (after = pids.map((p) => cpuMsOf([p]))),
        },
      );
      const per = after.map((a, i) => (a - (before[i] ?? 0)) / Math.max(1, result.ops));
      const roles = cluster.nodes.map((n) => (n.id === leader ? "L" : "f"));
      const total = per.reduce((s, x) => s + x, 0);
      return (
        `${result.ops} ops (${result.opsPerSec.toFixed(0)}/s, ${result.errors} errors); ` +
        `CPU ms/op ${per.map((x, i) => `${roles[i]} ${x.toFixed(2)}`).join(", ")}; sum ${total.toFixed(2)}`
      );
    } finally {
      target.close();
    }
  } finally {
    await cluster.destroy();
  }
}

for (let r = 0; r < Number(flags.rounds); r++) {
  const order = r % 2 === 0 ? systems : [...systems].reverse();
  for (const [name, entry] of order) {
    process.stdout.write(`round ${r + 1} ${name}: ${await measure(entry)}\n`);
  }
}
