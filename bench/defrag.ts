/**
 * `npm run bench:defrag`: how much disk `dfs defrag` gives back after large deletes, how
 * long it takes and what memory it costs (docs/backup.md#giving-disk-space-back).
 *
 *   1. a fresh 3-node dfs cluster (compiled nodes) gets `--files-gib` GiB of files
 *      (`--file-mib` each, 4 uploads at once) and `--keep-mib` MiB more that stay;
 *      every node's store file size is sampled (its peak);
 *   2. every file but the kept ones is deleted (`rm -r`);
 *   3. each node in turn: `dfs defrag --endpoints NODE` under `/usr/bin/time` (its peak
 *      RSS), while a writer keeps putting 1 KiB values (16 in flight) and the node's RSS
 *      and anonymous RSS are sampled every 50 ms.
 *
 *   npx tsx bench/defrag.ts [--files-gib 2] [--file-mib 64] [--keep-mib 64] [--json]
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DfsClient } from "../src/client/index.ts";
import { LocalCluster, type ServerProcess, waitFor } from "../src/cluster/index.ts";
import { buildCompiledEntry } from "./lib/compiled-entry.ts";
import { parseVmRss } from "./lib/proc-stat.ts";

const MiB = 1024 * 1024;

const { values: flags } = parseArgs({
  options: {
    "files-gib": { type: "string", default: "2" },
    "file-mib": { type: "string", default: "64" },
    "keep-mib": { type: "string", default: "64" },
    json: { type: "boolean", default: false },
  },
});
const filesBytes = Math.round(Number(flags["files-gib"]) * 1024 * MiB);
const fileBytes = Number(flags["file-mib"]) * MiB;
const keepBytes = Number(flags["keep-mib"]) * MiB;

/** One node's defrag. */
interface DefragFigures {
  readonly node: number;
  readonly peakStoreMiB: number;
  readonly beforeMiB: number;
  readonly afterMiB: number;
  readonly percentOfPeak: number;
  /** The node's own timing (copy, catch-up, switch, swap). */
  readonly defragSeconds: number;
  /** Wall time of the `dfs defrag` command (process start included). */
  readonly commandSeconds: number;
  readonly cliPeakMiB: number;
  readonly nodeBeforeMiB: number;
  readonly nodePeakMiB: number;
  readonly nodeAnonBeforeMiB: number;
  readonly nodeAnonPeakMiB: number;
  /** Puts acknowledged by the writer during this node's defrag. */
  readonly writes: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const results: DefragFigures[] = [];
const entry = buildCompiledEntry();
const cluster = await LocalCluster.start({ checkInvariants: false, entry });
const peak = new Map<number, number>();
const sampler = setInterval(() => {
  for (const n of cluster.nodes) peak.set(n.id, Math.max(peak.get(n.id) ?? 0, storeBytes(n)));
}, 200);
try {
  let t = performance.now();
  await uploadFiles(cluster.endpoints(), "files", filesBytes);
  await uploadFiles(cluster.endpoints(), "kept", keepBytes);
  log(`uploaded ${((filesBytes + keepBytes) / MiB) | 0} MiB of files in ${secs(t)} s`);
  t = performance.now();
  const client = new DfsClient({ endpoints: cluster.endpoints(), timeoutMs: 600_000 });
  const { deleted } = await client.deletePrefix("files");
  client.close();
  log(`deleted ${deleted} files in ${secs(t)} s`);
  await caughtUp();
  for (const node of cluster.nodes) results.push(await defragOne(node));
} finally {
  clearInterval(sampler);
  await cluster.destroy();
}
report();

async function uploadFiles(endpoints: readonly string[], prefix: string, total: number) {
  const client = new DfsClient({ endpoints: [...endpoints], timeoutMs: 600_000 });
  const block = randomBytes(MiB);
  const count = Math.ceil(total / fileBytes);
  const perFile = Math.min(fileBytes, total);
  let next = 0;
  const source = (n: number) =>
    async function* () {
      for (let i = 0; i < perFile / MiB; i++) {
        const b = Buffer.from(block);
        b.writeUInt32LE(n, 0);
        b.writeUInt32LE(i, 4);
        yield b;
      }
    };
  const worker = async () => {
    for (let n = next++; n < count; n = next++) await client.upload(`${prefix}/${n}`, source(n));
  };
  try {
    await Promise.all(Array.from({ length: 4 }, worker));
  } finally {
    client.close();
  }
}

async function defragOne(node: ServerProcess): Promise<DefragFigures> {
  const pid = node.proc?.pid ?? 0;
  const before = rss(pid);
  let top = before;
  const rssSampler = setInterval(() => {
    const now = rss(pid);
    top = { total: Math.max(top.total, now.total), anon: Math.max(top.anon, now.anon) };
  }, 50);
  const writer = startWriter();
  const started = performance.now();
  let run: { stdout: string; maxRssKb: number };
  try {
    run = await timed([
      process.execPath,
      ...entry.args,
      ...["defrag", "--endpoints", node.address, "--json", "--timeout", "3600000"],
    ]);
  } finally {
    clearInterval(rssSampler);
  }
  const commandSeconds = (performance.now() - started) / 1000;
  const writes = await writer.stop();
  const [row] = JSON.parse(run.stdout) as {
    bytesBefore: number;
    bytesAfter: number;
    durationMs: number;
  }[];
  if (row === undefined) throw new Error(`no answer from node ${node.id}`);
  const peakStore = peak.get(node.id) ?? row.bytesBefore;
  const figures: DefragFigures = {
    node: node.id,
    peakStoreMiB: round(peakStore / MiB),
    beforeMiB: round(row.bytesBefore / MiB),
    afterMiB: round(row.bytesAfter / MiB),
    percentOfPeak: round((100 * row.bytesAfter) / peakStore),
    defragSeconds: round(row.durationMs / 1000),
    commandSeconds: round(commandSeconds),
    cliPeakMiB: round(run.maxRssKb / 1024),
    nodeBeforeMiB: round(before.total / MiB),
    nodePeakMiB: round(top.total / MiB),
    nodeAnonBeforeMiB: round(before.anon / MiB),
    nodeAnonPeakMiB: round(top.anon / MiB),
    writes,
  };
  log(`node ${node.id}: ${JSON.stringify(figures)}`);
  return figures;
}

/** 1 KiB puts, 16 in flight, until stopped; resolves with how many were acknowledged. */
function startWriter(): { stop(): Promise<number> } {
  const client = new DfsClient({ endpoints: cluster.endpoints(), timeoutMs: 30_000 });
  const value = randomBytes(1024);
  let stopped = false;
  let acked = 0;
  let i = 0;
  const workers = Array.from({ length: 16 }, async () => {
    while (!stopped) {
      try {
        await client.put(`writer/${i++ % 1000}`, value);
        acked++;
      } catch {
        // counted only when acknowledged
      }
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
      client.close();
      return acked;
    },
  };
}

async function caughtUp(): Promise<void> {
  const leader = cluster.node(await cluster.waitForLeader());
  const target = (await cluster.status(leader))?.commitIndex ?? 0;
  for (const n of cluster.nodes) {
    await waitFor(
      `node ${n.id} to apply ${target}`,
      async () => ((await cluster.status(n))?.appliedIndex ?? 0) >= target || undefined,
      600_000,
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 500)); // the write-behind
}

function storeBytes(node: ServerProcess): number {
  try {
    return statSync(join(node.dataDir, "state", "store.mdb")).size;
  } catch {
    return 0;
  }
}

/** Runs a command under `/usr/bin/time -f %M`: its stdout and peak RSS in KiB. */
function timed(argv: string[]): Promise<{ stdout: string; maxRssKb: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn("/usr/bin/time", ["-f", "maxrss=%M", ...argv], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    proc.on("error", reject);
    proc.on("exit", (code) => {
      const match = /maxrss=(\d+)/.exec(stderr);
      if (code !== 0 || match === null) reject(new Error(`${argv.join(" ")} failed:\n${stderr}`));
      else resolve({ stdout, maxRssKb: Number(match[1]) });
    });
  });
}

/** VmRSS and RssAnon of `pid`, in bytes (zeros once it is gone). */
function rss(pid: number): { total: number; anon: number } {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const anon = Number(/^RssAnon:\s+(\d+)\s+kB$/m.exec(text)?.[1] ?? 0) * 1024;
    return { total: parseVmRss(text), anon };
  } catch {
    return { total: 0, anon: 0 };
  }
}

function report(): void {
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ filesBytes, keepBytes, results })}\n`);
    return;
  }
  const header =
    "| node | store peak MiB | before → after MiB | % of peak | defrag s | command s | dfs defrag peak RSS MiB | node RSS before → peak MiB | node anon RSS before → peak MiB | writes meanwhile |";
  const rows = results.map(
    (r) =>
      `| ${r.node} | ${r.peakStoreMiB} | ${r.beforeMiB} → ${r.afterMiB} | ${r.percentOfPeak} | ${r.defragSeconds} | ${r.commandSeconds} | ${r.cliPeakMiB} | ${r.nodeBeforeMiB} → ${r.nodePeakMiB} | ${r.nodeAnonBeforeMiB} → ${r.nodeAnonPeakMiB} | ${r.writes} |`,
  );
  process.stdout.write(
    `${[header, "|---|---|---|---|---|---|---|---|---|---|", ...rows].join("\n")}\n`,
  );
}

function secs(from: number): string {
  return ((performance.now() - from) / 1000).toFixed(1);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
