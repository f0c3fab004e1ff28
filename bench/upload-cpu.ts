/**
 * CPU per MiB of an upload (issue 22), the counterpart of bench/download-cpu.ts: on this
 * 2-core machine the client and all three nodes share the cores, so an upload's MiB/s is
 * bounded by the CPU each MiB costs them together, and that cost moves far less with the
 * machine's load than MiB/s does. Each round starts a fresh 3-node cluster of compiled
 * nodes per system (this tree and the checkout `--base`, interleaved); a client process
 * running that checkout's own client library uploads a `--mib` MiB file `--uploads`
 * times (each a new key, its size checked). Every node's user + system CPU comes from
 * /proc, the client's from its process.cpuUsage(), at each upload's edges; the report
 * gives CPU ms per MiB of the client, the leader and each follower (and the kernel's part
 * of it), MiB/s, and two bounds from the medians: 2000 ms of CPU per second over the sum
 * of the four processes' ms/MiB (all of the 2 cores busy), and 1000 over the busiest
 * process's (most of a process's work runs on its one JavaScript thread).
 *
 *   npx tsx bench/upload-cpu.ts [--mib 256] [--uploads 3] [--rounds 2] [--base DIR]
 *                               [--conc 1] [--profile DIR]
 *
 * `--conc N`: each measured upload is N uploads of `--mib` MiB at once (new keys), and
 * every figure is per MiB of all N together: what concurrent writes cost beside one.
 *
 * `--profile DIR`: V8 CPU profiles of every node (`node --cpu-prof`, the whole life of the
 * process; the uploads dominate it) and of the client over its uploads only, for
 * bench/profile-summary.ts. Profiling costs CPU itself: take figures from runs without it.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { LocalCluster } from "../src/cluster/index.ts";
import { median } from "../src/loadgen/index.ts";
import {
  CLIENT_PRELUDE,
  type CpuSystem,
  clientScript,
  cpuSystems,
  profiledEntry,
  roundOrder,
} from "./lib/cpu-compare.ts";
import { cpuMsOf, sysMsOf } from "./lib/proc-stat.ts";

const { values: flags } = parseArgs({
  options: {
    mib: { type: "string", default: "256" },
    uploads: { type: "string", default: "3" },
    rounds: { type: "string", default: "2" },
    conc: { type: "string", default: "1" },
    base: { type: "string" },
    profile: { type: "string" },
  },
});
const mib = Number(flags.mib);
const conc = Number(flags.conc);
/** MiB each measured step moves: `conc` uploads of `mib`. */
const stepMiB = mib * conc;
const systems = cpuSystems(flags.base);

/**
 * The client process: for each line "go N" uploads `cpu/N` (a generated file, each MiB
 * a fresh buffer as a real reader hands out) and answers with its wall time and CPU.
 */
const startClient = clientScript(
  "upload-cpu",
  `
${CLIENT_PRELUDE}
await client.upload("cpu/warm", Buffer.from(block));
const session = profile ? new Session() : undefined;
if (session) { session.connect(); await session.post("Profiler.enable"); await session.post("Profiler.start"); }
console.log("ready");
for await (const line of createInterface({ input: process.stdin })) {
  const [word, n] = line.split(" ");
  if (word !== "go") break;
  const cpu = process.cpuUsage();
  const t = performance.now();
  const outs = await Promise.all(Array.from({ length: Number(process.argv[6] ?? 1) }, (_, c) =>
    client.upload("cpu/" + n + "-" + c, async function* () {
      for (let i = 0; i < Number(mib); i++) { const b = Buffer.allocUnsafe(MiB); block.copy(b); b.writeUInt32LE(i, 0); yield b; }
    })));
  for (const out of outs) if (out.size !== Number(mib) * MiB) throw new Error("short upload: " + out.size);
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000, sysMs: used.system / 1000 }));
}
if (session) writeFileSync(profile, JSON.stringify((await session.post("Profiler.stop")).profile));
client.close();
`,
);

/** One process's CPU per MiB: user + system, and the system (kernel) part of it. */
interface Cost {
  readonly ms: number;
  readonly sys: number;
}

/** One upload's figures: MiB/s and each process's CPU per MiB. */
interface UploadFigures {
  readonly mibPerS: number;
  readonly client: Cost;
  readonly leader: Cost;
  readonly followers: readonly Cost[];
}

/** One fresh cluster: each upload's figures. */
async function measure(system: CpuSystem, round: number): Promise<UploadFigures[]> {
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
    const client = startClient(system.root, [
      system.root,
      cluster.endpoints().join(","),
      `${mib}`,
      profileDir === undefined ? "" : join(profileDir, "client.cpuprofile"),
      `${conc}`,
    ]);
    if ((await client.next()) !== "ready") throw new Error("the client process did not get ready");
    const nodes = cluster.nodes.map((n) => ({ id: n.id, pid: n.proc?.pid as number }));
    const out: UploadFigures[] = [];
    for (let u = 0; u < Number(flags.uploads); u++) {
      const before = nodes.map((n) => ({ ms: cpuMsOf([n.pid]), sys: sysMsOf(n.pid) }));
      client.send(`go ${u}`);
      const done = JSON.parse(await client.next()) as { ms: number; cpuMs: number; sysMs: number };
      const perMiB = nodes.map((n, i) => ({
        id: n.id,
        ms: (cpuMsOf([n.pid]) - (before[i]?.ms ?? 0)) / stepMiB,
        sys: (sysMsOf(n.pid) - (before[i]?.sys ?? 0)) / stepMiB,
      }));
      const none = { ms: Number.NaN, sys: Number.NaN };
      out.push({
        mibPerS: (stepMiB * 1000) / done.ms,
        client: { ms: done.cpuMs / stepMiB, sys: done.sysMs / stepMiB },
        leader: perMiB.find((n) => n.id === leader) ?? none,
        followers: perMiB.filter((n) => n.id !== leader),
      });
    }
    await client.finish("stop");
    if (profileDir !== undefined) {
      process.stdout.write(`  profiles in ${profileDir} (leader is node ${leader})\n`);
      await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id, "SIGINT")));
    }
    return out;
  } finally {
    await cluster.destroy();
  }
}

const f = (x: number): string => x.toFixed(2);
const cost = (c: Cost): string => `${f(c.ms)} (sys ${f(c.sys)})`;
const all = new Map<string, UploadFigures[]>(systems.map((s) => [s.name, []]));
for (let r = 0; r < Number(flags.rounds); r++) {
  for (const system of roundOrder(systems, r)) {
    const figures = await measure(system, r + 1);
    all.get(system.name)?.push(...figures);
    const lines = figures.map(
      (x) =>
        `${x.mibPerS.toFixed(1)} MiB/s; CPU ms/MiB client ${cost(x.client)}, ` +
        `leader ${cost(x.leader)}, followers ${x.followers.map(cost).join(" ")}`,
    );
    process.stdout.write(`round ${r + 1} ${system.name}:\n    ${lines.join("\n    ")}\n`);
  }
}
const uploads = Number(flags.rounds) * Number(flags.uploads);
process.stdout.write(
  `\nmedians over ${uploads} steps of ${conc} × ${mib} MiB at once, CPU ms per MiB (its system part):\n` +
    "system | MiB/s | client | leader | follower | sum (2 followers) | 2-core bound | busiest-process bound (MiB/s)\n",
);
const med = (costs: readonly Cost[]): Cost => ({
  ms: median(costs.map((c) => c.ms)),
  sys: median(costs.map((c) => c.sys)),
});
for (const [name, figures] of all) {
  const c = med(figures.map((x) => x.client));
  const l = med(figures.map((x) => x.leader));
  const fo = med(figures.flatMap((x) => x.followers));
  const sum = c.ms + l.ms + 2 * fo.ms;
  process.stdout.write(
    `${name} | ${median(figures.map((x) => x.mibPerS)).toFixed(1)} | ${cost(c)} | ${cost(l)} | ` +
      `${cost(fo)} | ${f(sum)} | ${(2000 / sum).toFixed(0)} | ` +
      `${(1000 / Math.max(c.ms, l.ms, fo.ms)).toFixed(0)}\n`,
  );
}
