/**
 * `npm run bench:bigfile`: large files through a fresh 3-node cluster (issue 22's goals).
 * One in-process `DfsClient` (data generated on the fly: a random 1 MiB block stamped
 * with the file and chunk number, so no source file competes for the disk), nodes run
 * compiled (dist/, built first) unless `--tsx`. Per round, on one fresh cluster:
 *
 *   1. `--hwm-mib` (512) MiB upload; then each node's VmHWM (peak resident set since
 *      start, file-backed pages included): the processes are fresh, so it is this
 *      upload's peak;
 *   2. `--one-mib` (1024) MiB upload, then its download, one at a time: MiB/s each;
 *   3. `--conc` (4) uploads of `--conc-mib` (256) MiB at once: total MiB/s;
 *   4. `--big-mib` (5120) MiB upload, then its download, each node's RssAnon sampled
 *      from /proc/PID/status every 100 ms: the peak per node;
 *   5. every file deleted; each node's data dir (st_blocks, like du) sampled every
 *      second for `--settle-s` (60) s against its peak over the whole round (sampled
 *      every second from the start).
 *
 * Downloads are checked by the client (SHA-256 of the whole file). Medians over rounds.
 *
 *   npx tsx bench/bigfile.ts [--rounds 1] [--tsx] [--only hwm,one,conc,big,delete]
 *        [--hwm-mib 512] [--one-mib 1024] [--conc 4] [--conc-mib 256] [--big-mib 5120]
 *        [--settle-s 60] [--note TEXT] [--out DIR] [--repo DIR]
 *
 * `--repo DIR` runs the nodes from another checkout's compiled CLI (built there), e.g.
 * the code before a change, with this harness.
 *
 * Results: printed, and written to bench/results/bigfile-<time>.{md,json}.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DfsClient } from "../src/client/index.ts";
import { LocalCluster } from "../src/cluster/index.ts";
import {
  type DiskSample,
  diskUsed,
  median,
  mib,
  mibPerS,
  procFigure,
  sampleEvery,
  secondsBelow,
} from "./lib/bigfile-figures.ts";
import { buildCompiledEntry } from "./lib/compiled-entry.ts";
import { machineFacts } from "./lib/machine.ts";

const MiB = 1024 * 1024;
const PHASES = ["hwm", "one", "conc", "big", "delete"] as const;

const { values: flags } = parseArgs({
  options: {
    rounds: { type: "string", default: "1" },
    tsx: { type: "boolean", default: false },
    only: { type: "string", default: PHASES.join(",") },
    "hwm-mib": { type: "string", default: "512" },
    "one-mib": { type: "string", default: "1024" },
    conc: { type: "string", default: "4" },
    "conc-mib": { type: "string", default: "256" },
    "big-mib": { type: "string", default: "5120" },
    "settle-s": { type: "string", default: "60" },
    note: { type: "string", default: "" },
    repo: { type: "string" },
    out: { type: "string", default: resolve(import.meta.dirname, "results") },
  },
});
const only = new Set(flags.only.split(","));
const num = (name: keyof typeof flags): number => Number(flags[name]);

/** What one round measured; absent fields belong to phases left out. */
interface RoundFigures {
  hwmMiB?: number[];
  oneUpMiBs?: number;
  oneDownMiBs?: number;
  concMiBs?: number;
  bigUpMiBs?: number;
  bigDownMiBs?: number;
  bigAnonPeakMiB?: number[];
  /** Peak RssAnon per node over every phase of the round. */
  roundAnonPeakMiB?: number[];
  diskPeakMiB?: number[];
  diskAfterMiB?: number[];
  /** Seconds after the deletes until each node used < 10 % of its peak (null: never). */
  diskBelow10pctS?: (number | null)[];
  diskSamples?: { node: number; samples: DiskSample[] }[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const startedAt = new Date();
const facts = { ...machineFacts(""), note: flags.note };
const block = randomBytes(MiB);
const entry = flags.repo
  ? buildCompiledEntry(resolve(flags.repo))
  : flags.tsx
    ? undefined
    : buildCompiledEntry();

const rounds: RoundFigures[] = [];
for (let r = 0; r < num("rounds"); r++) {
  log(`round ${r + 1}/${num("rounds")}`);
  rounds.push(await round());
}
await report();

async function round(): Promise<RoundFigures> {
  const cluster = await LocalCluster.start({
    checkInvariants: false,
    exitIsFatal: true,
    ...(entry ? { entry } : {}),
  });
  const client = new DfsClient({ endpoints: [...cluster.endpoints()], timeoutMs: 900_000 });
  const nodes = cluster.nodes;
  const pids = () => nodes.map((n) => n.pid);
  const disk = sampleEvery(
    1000,
    () => nodes.map((n) => n.id),
    (id) => diskUsed(nodes[id - 1]?.dataDir ?? "/nonexistent"),
  );
  const anonAll = sampleEvery(100, pids, (pid) => procFigure(pid, "RssAnon"));
  const out: RoundFigures = {};
  const keys: string[] = [];
  const upload = async (key: string, bytes: number): Promise<number> => {
    const t = performance.now();
    await client.upload(key, source(keys.length, bytes));
    keys.push(key);
    return performance.now() - t;
  };
  try {
    if (only.has("hwm")) {
      const ms = await upload("big/hwm", num("hwm-mib") * MiB);
      out.hwmMiB = await Promise.all(pids().map(async (p) => mib(await procFigure(p, "VmHWM"))));
      log(
        `  ${num("hwm-mib")} MiB up ${mibPerS(num("hwm-mib") * MiB, ms)} MiB/s, VmHWM ${out.hwmMiB}`,
      );
    }
    if (only.has("one")) {
      const bytes = num("one-mib") * MiB;
      out.oneUpMiBs = mibPerS(bytes, await upload("big/one", bytes));
      out.oneDownMiBs = mibPerS(bytes, await download(client, "big/one", bytes));
      log(`  ${num("one-mib")} MiB up ${out.oneUpMiBs} MiB/s, down ${out.oneDownMiBs} MiB/s`);
    }
    if (only.has("conc")) {
      const bytes = num("conc-mib") * MiB;
      const t = performance.now();
      await Promise.all(
        Array.from({ length: num("conc") }, (_, i) => upload(`big/conc-${i}`, bytes)),
      );
      out.concMiBs = mibPerS(bytes * num("conc"), performance.now() - t);
      log(`  ${num("conc")} × ${num("conc-mib")} MiB at once: ${out.concMiBs} MiB/s total`);
    }
    if (only.has("big")) {
      const bytes = num("big-mib") * MiB;
      const anon = sampleEvery(100, pids, (pid) => procFigure(pid, "RssAnon"));
      out.bigUpMiBs = mibPerS(bytes, await upload("big/big", bytes));
      out.bigDownMiBs = mibPerS(bytes, await download(client, "big/big", bytes));
      await anon.stop();
      out.bigAnonPeakMiB = pids().map((p) => mib(anon.peaks.of(p)));
      log(
        `  ${num("big-mib")} MiB up ${out.bigUpMiBs} MiB/s, down ${out.bigDownMiBs} MiB/s, ` +
          `peak RssAnon ${out.bigAnonPeakMiB}`,
      );
    }
    await anonAll.stop();
    out.roundAnonPeakMiB = pids().map((p) => mib(anonAll.peaks.of(p)));
    if (only.has("delete")) {
      for (const key of keys) await client.delete(key);
      await disk.stop();
      const peaks = nodes.map((n) => disk.peaks.of(n.id));
      const samples = await settle(nodes.map((n) => n.dataDir));
      out.diskPeakMiB = peaks.map(mib);
      out.diskAfterMiB = samples.map((s) => mib(s.at(-1)?.bytes ?? 0));
      out.diskBelow10pctS = samples.map((s, i) => secondsBelow(s, peaks[i] ?? 0, 0.1) ?? null);
      out.diskSamples = samples.map((s, i) => ({ node: i + 1, samples: s }));
      log(
        `  disk peak ${out.diskPeakMiB} MiB, after ${num("settle-s")} s ${out.diskAfterMiB} MiB, ` +
          `< 10 % after ${out.diskBelow10pctS} s`,
      );
    }
  } finally {
    await disk.stop();
    await anonAll.stop();
    client.close();
    await cluster.destroy();
  }
  return out;
}

/** `bytes` of data as 1 MiB chunks, each the random block stamped with (file, chunk). */
function source(file: number, bytes: number): () => AsyncIterable<Uint8Array> {
  return async function* () {
    for (let i = 0; i * MiB < bytes; i++) {
      const b = Buffer.from(block.subarray(0, Math.min(MiB, bytes - i * MiB)));
      b.writeUInt32LE(file, 0);
      b.writeUInt32LE(i, 4);
      yield b;
    }
  };
}

/** Downloads `key` (the client checks its SHA-256); returns the milliseconds taken. */
async function download(client: DfsClient, key: string, bytes: number): Promise<number> {
  const t = performance.now();
  const { chunks } = await client.download(key);
  let got = 0;
  for await (const c of chunks) got += c.length;
  if (got !== bytes) throw new Error(`download of ${key}: ${got} bytes, expected ${bytes}`);
  return performance.now() - t;
}

/** Samples each data dir every second for `--settle-s` seconds. */
async function settle(dirs: readonly string[]): Promise<DiskSample[][]> {
  const samples: DiskSample[][] = dirs.map(() => []);
  const t = performance.now();
  for (;;) {
    const seconds = Math.round((performance.now() - t) / 100) / 10;
    const used = await Promise.all(dirs.map(diskUsed));
    for (const [i, bytes] of used.entries()) samples[i]?.push({ seconds, bytes });
    if (seconds >= num("settle-s")) return samples;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Prints the medians and writes them with every round to bench/results/. */
async function report(): Promise<void> {
  const med = (pick: (r: RoundFigures) => number | undefined): string => {
    const v = rounds.map(pick).filter((x): x is number => x !== undefined);
    return v.length === 0 ? "—" : String(Math.round(median(v) * 10) / 10);
  };
  const perNode = (pick: (r: RoundFigures) => (number | null)[] | undefined): string => {
    const v = rounds.map(pick).filter((x) => x !== undefined);
    if (v.length === 0) return "—";
    return [0, 1, 2]
      .map((i) => {
        const xs = v.map((a) => a[i]).filter((x): x is number => typeof x === "number");
        return xs.length === 0 ? "never" : String(Math.round(median(xs) * 10) / 10);
      })
      .join(" / ");
  };
  const rows = [
    [`VmHWM per node after a ${num("hwm-mib")} MiB upload, MiB`, perNode((r) => r.hwmMiB)],
    [`${num("one-mib")} MiB upload, one client, MiB/s`, med((r) => r.oneUpMiBs)],
    [`${num("one-mib")} MiB download, one client, MiB/s`, med((r) => r.oneDownMiBs)],
    [
      `${num("conc")} concurrent ${num("conc-mib")} MiB uploads, total MiB/s`,
      med((r) => r.concMiBs),
    ],
    [`${num("big-mib")} MiB upload, MiB/s`, med((r) => r.bigUpMiBs)],
    [`${num("big-mib")} MiB download, MiB/s`, med((r) => r.bigDownMiBs)],
    [
      `peak RssAnon per node, ${num("big-mib")} MiB up and down, MiB`,
      perNode((r) => r.bigAnonPeakMiB),
    ],
    ["peak RssAnon per node, whole round, MiB", perNode((r) => r.roundAnonPeakMiB)],
    ["peak disk per node, MiB", perNode((r) => r.diskPeakMiB)],
    [
      `disk per node ${num("settle-s")} s after deleting every file, MiB`,
      perNode((r) => r.diskAfterMiB),
    ],
    ["seconds until < 10 % of peak disk, per node", perNode((r) => r.diskBelow10pctS)],
  ];
  const factLines = Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`);
  const md =
    `# bench:bigfile ${startedAt.toISOString()}\n\n${factLines.join("\n")}\n` +
    `- nodes: ${flags.repo ? `compiled, from ${flags.repo}` : entry ? "compiled (dist/)" : "tsx (src/)"}; rounds: ${rounds.length} (medians)\n\n` +
    `| figure | value |\n|---|---|\n${rows.map(([a, b]) => `| ${a} | ${b} |`).join("\n")}\n`;
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  await mkdir(flags.out, { recursive: true });
  const base = join(flags.out, `bigfile-${stamp}`);
  await writeFile(`${base}.json`, `${JSON.stringify({ facts, flags, rounds }, null, 2)}\n`);
  await writeFile(`${base}.md`, md);
  process.stdout.write(`${md}\nwrote ${base}.md\nwrote ${base}.json\n`);
}
