/**
 * CPU per MiB of a download (issue 22): on a shared machine a download's MiB/s moves
 * with the load, but the CPU each MiB costs the serving node and the client moves much
 * less, so a change to the read path is judged by this, this tree against another
 * checkout, interleaved. Each round starts a fresh 3-node cluster of compiled nodes, and
 * a client process running that checkout's own client library uploads one file, then
 * downloads it `--downloads` times (checking its SHA-256). Every node's user + system CPU
 * comes from /proc, the client's from its process.cpuUsage(), at each download's edges.
 *
 *   npx tsx bench/download-cpu.ts [--mib 256] [--downloads 3] [--rounds 2] [--base DIR]
 *                                 [--profile DIR]
 *
 * `--profile DIR`: each client's CPU profile over its downloads only (V8's profiler through
 * node:inspector) and every node's (`node --cpu-prof`, its whole life), in
 * `DIR/<system>-<round>/`, for bench/profile-summary.ts. Profiling costs CPU itself: take
 * figures from runs without it.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { LocalCluster } from "../src/cluster/index.ts";
import {
  CLIENT_PRELUDE,
  type CpuSystem,
  clientScript,
  cpuSystems,
  profiledEntry,
  roundOrder,
} from "./lib/cpu-compare.ts";
import { cpuMsOf } from "./lib/proc-stat.ts";

const { values: flags } = parseArgs({
  options: {
    mib: { type: "string", default: "256" },
    downloads: { type: "string", default: "3" },
    rounds: { type: "string", default: "2" },
    base: { type: "string" },
    profile: { type: "string" },
  },
});
const mib = Number(flags.mib);
const systems = cpuSystems(flags.base);

/**
 * The client process: uploads, then for each download waits for a line on stdin (the
 * parent's "go", after it read the nodes' CPU) and answers with its wall time and CPU.
 */
const startClient = clientScript(
  "download-cpu",
  `
${CLIENT_PRELUDE}
await client.upload("cpu/one", async function* () {
  for (let i = 0; i < Number(mib); i++) { const b = Buffer.from(block); b.writeUInt32LE(i, 0); yield b; }
});
const session = profile ? new Session() : undefined;
if (session) { session.connect(); await session.post("Profiler.enable"); await session.post("Profiler.start"); }
console.log("ready");
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== "go") break;
  const cpu = process.cpuUsage();
  const t = performance.now();
  const { chunks } = await client.download("cpu/one");
  let got = 0;
  for await (const c of chunks) got += c.length;
  if (got !== Number(mib) * MiB) throw new Error("short download: " + got);
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000 }));
}
if (session) writeFileSync(profile, JSON.stringify((await session.post("Profiler.stop")).profile));
client.close();
`,
);

/** One fresh cluster: each download's MiB/s and CPU ms per MiB (nodes, client). */
async function measure(system: CpuSystem, round: number): Promise<string> {
  const profileDir =
    flags.profile === undefined
      ? undefined
      : join(resolve(flags.profile), `${system.name}-${round}`);
  const cluster = await LocalCluster.start({
    checkInvariants: false,
    entry: profileDir === undefined ? system.entry : profiledEntry(system.entry, profileDir),
  });
  try {
    const leader = await cluster.waitForLeader();
    const profile = profileDir === undefined ? "" : join(profileDir, "client.cpuprofile");
    const client = startClient(system.root, [
      system.root,
      cluster.endpoints().join(","),
      `${mib}`,
      profile,
    ]);
    if ((await client.next()) !== "ready") throw new Error("the client process did not get ready");
    const pids = cluster.nodes.map((n) => n.proc?.pid as number);
    const out: string[] = [];
    for (let d = 0; d < Number(flags.downloads); d++) {
      const before = pids.map((p) => cpuMsOf([p]));
      client.send("go");
      const { ms, cpuMs } = JSON.parse(await client.next()) as { ms: number; cpuMs: number };
      const nodes = pids.map((p, i) => (cpuMsOf([p]) - (before[i] ?? 0)) / mib);
      out.push(
        `${((mib * 1000) / ms).toFixed(1)} MiB/s; CPU ms/MiB nodes ${nodes.map((x) => x.toFixed(2)).join(" ")}, client ${(cpuMs / mib).toFixed(2)}`,
      );
    }
    await client.finish("stop");
    if (profileDir !== undefined) {
      out.push(`profiles in ${profileDir} (leader is node ${leader})`);
      await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id, "SIGINT")));
    }
    return out.join("\n    ");
  } finally {
    await cluster.destroy();
  }
}

for (let r = 0; r < Number(flags.rounds); r++) {
  for (const system of roundOrder(systems, r)) {
    process.stdout.write(`round ${r + 1} ${system.name}:\n    ${await measure(system, r + 1)}\n`);
  }
}
