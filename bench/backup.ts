/**
 * `npm run bench:backup`: how fast `dfs snapshot save` backs up a store and what memory
 * it takes, beside `etcdctl snapshot save` of an etcd holding the same small keys.
 *
 *   1. a fresh 3-node dfs cluster (compiled nodes) gets `--keys` small keys
 *      (`--value-bytes` each, 64 in flight); `dfs snapshot save` of that store;
 *   2. the same cluster gets `--files-gib` GiB of files (`--file-mib` each, 4 uploads
 *      at once); `dfs snapshot save` of the whole store (files + keys);
 *   3. `dfs snapshot restore` of that full backup into a new data dir (verify + build);
 *   4. a fresh 3-member etcd gets the same small keys; `etcdctl snapshot save`.
 *
 * Each command runs as its own process under `/usr/bin/time` (its peak RSS) while the
 * serving node's RSS is sampled every 50 ms (before the save, and its peak during it).
 * MB/s = bytes of the backup file / wall time of the command.
 *
 *   npx tsx bench/backup.ts [--files-gib 2] [--file-mib 64] [--keys 100000]
 *                           [--value-bytes 100] [--json]
 *
 * Results: printed, and written to bench/results/backup-<time>.md and .json.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DfsClient } from "../src/client/index.ts";
import { LocalCluster, REPO_ROOT } from "../src/cluster/index.ts";
import { DfsTarget, prefill } from "../src/loadgen/index.ts";
import { EtcdCluster } from "./etcd/etcd-cluster.ts";
import { ensureEtcd } from "./etcd/etcd-install.ts";
import { buildCompiledEntry } from "./lib/compiled-entry.ts";
import { machineFacts } from "./lib/machine.ts";
import { parseVmRss } from "./lib/proc-stat.ts";

const MiB = 1024 * 1024;

const { values: flags } = parseArgs({
  options: {
    "files-gib": { type: "string", default: "2" },
    "file-mib": { type: "string", default: "64" },
    keys: { type: "string", default: "100000" },
    "value-bytes": { type: "string", default: "100" },
    json: { type: "boolean", default: false },
  },
});
const filesBytes = Math.round(Number(flags["files-gib"]) * 1024 * MiB);
const fileBytes = Number(flags["file-mib"]) * MiB;
const keys = Number(flags.keys);
const valueBytes = Number(flags["value-bytes"]);

/** One measured save. */
interface SaveFigures {
  readonly what: string;
  readonly seconds: number;
  readonly fileBytes: number;
  readonly mbPerS: number;
  /** Peak RSS of the saving command (MiB). */
  readonly cliPeakMiB: number;
  /** RSS of the serving node before the save, and its peak during it (MiB). */
  readonly nodeBeforeMiB: number;
  readonly nodePeakMiB: number;
  /**
   * The same for its anonymous memory only (RssAnon: heap and buffers). The rest of RSS
   * is the store's file pages LMDB maps, which a read of the whole store touches and
   * the kernel reclaims at will.
   */
  readonly nodeAnonBeforeMiB: number;
  readonly nodeAnonPeakMiB: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
let etcdVersion = "not run";
/** Machine facts (load average included) as the run starts. */
const startFacts = machineFacts(etcdVersion);
const results: SaveFigures[] = [];
const work = await mkdtemp(join(tmpdir(), "dfs-bench-backup-"));
try {
  const entry = buildCompiledEntry();
  await benchDfs(entry);
  await benchEtcd();
} finally {
  await rm(work, { recursive: true, force: true });
}
report();

async function benchDfs(entry: ReturnType<typeof buildCompiledEntry>): Promise<void> {
  const cluster = await LocalCluster.start({ checkInvariants: false, entry });
  try {
    const endpoints = cluster.endpoints();
    const target = new DfsTarget(endpoints, 60_000);
    let t = performance.now();
    await prefill(target, keys, valueBytes, 64);
    log(`dfs: ${keys} keys of ${valueBytes} B in ${secs(t)} s`);
    const leader = cluster.node(await cluster.waitForLeader());
    const pid = leader.proc?.pid ?? 0;
    const dfs = (file: string) => [
      process.execPath,
      ...entry.args,
      "snapshot",
      "save",
      file,
      "--endpoints",
      leader.address,
      "--timeout",
      "600000",
    ];
    results.push(await measure(`dfs, ${keys} small keys`, dfs(join(work, "keys.dfsbak")), pid));
    t = performance.now();
    await uploadFiles(endpoints);
    log(`dfs: ${(filesBytes / MiB) | 0} MiB of files in ${secs(t)} s`);
    results.push(
      await measure(
        `dfs, ${flags["files-gib"]} GiB files + ${keys} keys`,
        dfs(join(work, "all.dfsbak")),
        pid,
      ),
    );
  } finally {
    await cluster.destroy();
  }
  const restore = [
    process.execPath,
    ...entry.args,
    "snapshot",
    "restore",
    join(work, "all.dfsbak"),
    "--data-dir",
    join(work, "restored"),
    "--id",
    "1",
    "--peers",
    "1@127.0.0.1:1",
  ];
  results.push(await measure("dfs restore of that backup (verify + build)", restore, 0));
}

async function uploadFiles(endpoints: readonly string[]): Promise<void> {
  const client = new DfsClient({ endpoints: [...endpoints], timeoutMs: 600_000 });
  const block = randomBytes(MiB);
  const count = Math.ceil(filesBytes / fileBytes);
  let next = 0;
  const source = (n: number) =>
    async function* () {
      for (let i = 0; i < fileBytes / MiB; i++) {
        const b = Buffer.from(block);
        b.writeUInt32LE(n, 0);
        b.writeUInt32LE(i, 4);
        yield b;
      }
    };
  const worker = async () => {
    for (let n = next++; n < count; n = next++) await client.upload(`files/${n}`, source(n));
  };
  try {
    await Promise.all(Array.from({ length: 4 }, worker));
  } finally {
    client.close();
  }
}

async function benchEtcd(): Promise<void> {
  const etcd = ensureEtcd(log);
  etcdVersion = etcd.version;
  const cluster = await EtcdCluster.start(etcd.path);
  try {
    const leader = await cluster.waitForLeader();
    const target = await cluster.target({ timeoutMs: 60_000, attemptTimeoutMs: 10_000 });
    const t = performance.now();
    try {
      await prefill(target, keys, valueBytes, 64);
    } finally {
      target.close();
    }
    log(`etcd: ${keys} keys of ${valueBytes} B in ${secs(t)} s`);
    const pid = cluster.processes().find((p) => p.name === cluster.nameOf(leader))?.pid ?? 0;
    const file = join(work, "etcd.db");
    const args = ["etcdctl", `--endpoints=${leader}`, "snapshot", "save", file];
    results.push(await measure(`etcd, ${keys} small keys`, args, pid, { ETCDCTL_API: "3" }));
  } finally {
    await cluster.destroy();
  }
}

/** Runs `argv` under /usr/bin/time, sampling `nodePid`'s RSS meanwhile. */
async function measure(
  what: string,
  argv: string[],
  nodePid: number,
  env: NodeJS.ProcessEnv = {},
): Promise<SaveFigures> {
  const file = argv.find((a) => a.endsWith(".dfsbak") || a.endsWith(".db")) ?? "";
  const before = rss(nodePid);
  let peak = before;
  const sampler = setInterval(() => {
    const now = rss(nodePid);
    peak = { total: Math.max(peak.total, now.total), anon: Math.max(peak.anon, now.anon) };
  }, 50);
  const started = performance.now();
  let cliPeakKb = 0;
  try {
    cliPeakKb = await timed(argv, env);
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  const size = (await stat(file)).size;
  const figures = {
    what,
    seconds: Math.round(seconds * 100) / 100,
    fileBytes: size,
    mbPerS: round(size / 1e6 / seconds),
    cliPeakMiB: round(cliPeakKb / 1024),
    nodeBeforeMiB: round(before.total / MiB),
    nodePeakMiB: round(peak.total / MiB),
    nodeAnonBeforeMiB: round(before.anon / MiB),
    nodeAnonPeakMiB: round(peak.anon / MiB),
  };
  log(`${what}: ${JSON.stringify(figures)}`);
  return figures;
}

/** Runs a command under `/usr/bin/time -f %M`; resolves with its peak RSS in KiB. */
function timed(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn("/usr/bin/time", ["-f", "maxrss=%M", ...argv], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    proc.on("error", reject);
    proc.on("exit", (code) => {
      const match = /maxrss=(\d+)/.exec(stderr);
      if (code !== 0 || match === null) reject(new Error(`${argv.join(" ")} failed:\n${stderr}`));
      else resolve(Number(match[1]));
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

/** Prints the table (or JSON) and writes both to bench/results/backup-<time>.{md,json}. */
function report(): void {
  const facts = { ...startFacts, etcd: etcdVersion };
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const base = join(REPO_ROOT, "bench", "results", `backup-${stamp}`);
  const json = `${JSON.stringify({ facts, keys, valueBytes, filesBytes, fileBytes, results }, null, 2)}\n`;
  const factLines = Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`);
  const md = `# bench:backup ${stamp}\n\n${factLines.join("\n")}\n\n${table()}`;
  mkdirSync(join(REPO_ROOT, "bench", "results"), { recursive: true });
  writeFileSync(`${base}.json`, json);
  writeFileSync(`${base}.md`, md);
  process.stdout.write(flags.json ? json : md);
  log(`results: ${base}.json and .md`);
}

function table(): string {
  const header =
    "| backup | seconds | file MB | MB/s | saving command peak RSS MiB | node RSS before → peak MiB | node anon RSS before → peak MiB |";
  const rows = results.map(
    (r) =>
      `| ${r.what} | ${r.seconds} | ${round(r.fileBytes / 1e6)} | ${r.mbPerS} | ${r.cliPeakMiB} | ${r.nodeBeforeMiB} → ${r.nodePeakMiB} | ${r.nodeAnonBeforeMiB} → ${r.nodeAnonPeakMiB} |`,
  );
  return `${[header, "|---|---|---|---|---|---|---|", ...rows].join("\n")}\n`;
}

function secs(from: number): string {
  return ((performance.now() - from) / 1000).toFixed(1);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
