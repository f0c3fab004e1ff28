/**
 * Snapshot benchmark: does snapshotting + log compaction keep a node's disk and memory
 * bounded, how much faster does a node with a long history restart, and how does a
 * follower that fell behind the compacted log catch up (InstallSnapshot)?
 *
 *   npx tsx bench/snapshots.ts [--mode overwrite|restart|catchup|all] [--ops N]
 *     [--restart-ops N] [--restart-runs R] [--catchup-ops N] [--conc 64] [--size 256]
 *     [--keys 1000] [--sample-s 10]
 *
 * SNAPBENCH_SERVER_NODE_OPTIONS=… adds Node options to the servers only (not to this
 * load generator), e.g. `--max-old-space-size=128` to see whether RSS growth is garbage.
 *
 * `--ops` is the operation count of the chosen mode (overwrite 1,000,000, restart
 * 200,000, catchup 100,000 by default); with `--mode all` it sets the overwrite count and
 * the others take `--restart-ops` / `--catchup-ops`. Every mode starts its own fresh
 * 3-node cluster of real `dfs server` processes on 127.0.0.1 (data under $TMPDIR,
 * removed at the end). Results: bench/results/snapshots-<time>.json and .md.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { killAllSync, REPO_ROOT } from "../src/cluster/index.ts";
import { parseSize } from "../src/loadgen/index.ts";
import { runCatchup } from "./lib/snap-catchup.ts";
import type { PutLoad } from "./lib/snap-load.ts";
import { serverEnv } from "./lib/snap-nodes.ts";
import { runOverwrite } from "./lib/snap-overwrite.ts";
import { automaticChecks, formatMarkdown, type SnapshotReport } from "./lib/snap-report.ts";
import { runRestart } from "./lib/snap-restart.ts";

type Mode = "overwrite" | "restart" | "catchup";
const MODES: readonly Mode[] = ["overwrite", "restart", "catchup"];

interface Flags {
  readonly modes: Mode[];
  readonly overwriteOps: number;
  readonly restartOps: number;
  readonly restartRuns: number;
  readonly catchupOps: number;
  readonly concurrency: number;
  readonly valueSize: number;
  readonly keys: number;
  readonly sampleSeconds: number;
}

function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: "string", default: "all" },
      ops: { type: "string" },
      "restart-ops": { type: "string" },
      "restart-runs": { type: "string", default: "3" },
      "catchup-ops": { type: "string" },
      conc: { type: "string", default: "64" },
      size: { type: "string", default: "256" },
      keys: { type: "string", default: "1000" },
      "sample-s": { type: "string", default: "10" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "usage: npx tsx bench/snapshots.ts [--mode overwrite|restart|catchup|all] [--ops N] [--restart-ops N] [--restart-runs R] [--catchup-ops N] [--conc 64] [--size 256] [--keys 1000] [--sample-s 10]",
    );
    process.exit(0);
  }
  const mode = values.mode;
  if (mode !== "all" && !MODES.includes(mode as Mode)) {
    throw new Error(`--mode '${mode}' is not one of overwrite, restart, catchup, all`);
  }
  const modes = mode === "all" ? [...MODES] : [mode as Mode];
  const ops = values.ops === undefined ? undefined : int("--ops", values.ops);
  const single = modes.length === 1 ? modes[0] : undefined;
  const pick = (m: Mode, flag: string | undefined, name: string, def: number): number =>
    single === m && ops !== undefined
      ? ops
      : flag !== undefined
        ? int(name, flag)
        : m === "overwrite" && ops !== undefined
          ? ops
          : def;
  const valueSize = parseSize(values.size);
  if (valueSize === undefined) throw new Error(`--size '${values.size}' is not a size`);
  return {
    modes,
    overwriteOps: pick("overwrite", undefined, "--ops", 1_000_000),
    restartOps: pick("restart", values["restart-ops"], "--restart-ops", 200_000),
    restartRuns: int("--restart-runs", values["restart-runs"]),
    catchupOps: pick("catchup", values["catchup-ops"], "--catchup-ops", 100_000),
    concurrency: int("--conc", values.conc),
    valueSize,
    keys: int("--keys", values.keys),
    sampleSeconds: int("--sample-s", values["sample-s"]),
  };
}

function int(name: string, text: string): number {
  const n = Number(text.replace(/_/g, ""));
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`${name} '${text}' is not a positive integer`);
  return n;
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, {
      cwd: REPO_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "unknown";
  }
}

/**
 * The commit the nodes run (they load src/ when spawned, so code edited in the checkout
 * during a long run changes what later spawns run: recorded per mode).
 */
function srcVersion(): string {
  const dirty = git(["status", "--porcelain", "--", "src", "scripts", "package.json"]) !== "";
  return `${git(["rev-parse", "--short", "HEAD"])}${dirty ? " + uncommitted changes in src/" : ""}`;
}

function facts(): Record<string, string> {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    cpu: `${cpu.length} × ${cpu[0]?.model ?? "unknown"}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: release(),
    node: process.version,
    "dfs commit": srcVersion(),
    "data dirs": tmpdir(),
    "server NODE_OPTIONS (SNAPBENCH_SERVER_NODE_OPTIONS)": serverEnv().NODE_OPTIONS ?? "(none)",
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "(unset)",
    "load average at start (1/5/15 min)": loadavg()
      .map((l) => l.toFixed(2))
      .join(" / "),
  };
}

function installCleanup(): void {
  process.on("exit", () => killAllSync());
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      console.error(`\nsnapshots: ${signal}: killing the cluster`);
      killAllSync();
      process.exit(130);
    });
  }
  process.on("uncaughtException", (error) => {
    console.error(`snapshots: uncaught: ${error.stack ?? error}`);
    killAllSync();
    process.exit(1);
  });
}

async function main(): Promise<number> {
  installCleanup();
  const flags = parseFlags(process.argv.slice(2));
  const base = { concurrency: flags.concurrency, valueSize: flags.valueSize, keys: flags.keys };
  const load = (ops: number): PutLoad => ({ ...base, ops });
  const report: Omit<SnapshotReport, "checks"> & { -readonly [K in Mode]?: SnapshotReport[K] } = {
    facts: facts(),
    command: `npx tsx bench/snapshots.ts ${process.argv.slice(2).join(" ")}`.trim(),
    errors: {},
  };
  for (const mode of flags.modes) {
    const started = Date.now();
    const version = srcVersion();
    console.log(
      `\n=== ${mode} (load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}) ===`,
    );
    try {
      if (mode === "overwrite")
        report.overwrite = await runOverwrite(load(flags.overwriteOps), flags.sampleSeconds);
      if (mode === "restart")
        report.restart = await runRestart(load(flags.restartOps), flags.restartRuns);
      if (mode === "catchup") report.catchup = await runCatchup(load(flags.catchupOps));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`${mode} failed: ${message}`);
      report.errors[mode] = message;
    }
    report.facts[`${mode}: dfs commit at start / at end`] = `${version} / ${srcVersion()}`;
    report.facts[`${mode}: wall time, load average after`] =
      `${((Date.now() - started) / 1000).toFixed(0)} s, ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" / ")}`;
  }
  const full: SnapshotReport = { ...report, checks: automaticChecks(report) };
  const dir = join(REPO_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const stamp = full.facts.date?.replace(/[:.]/g, "-") ?? String(Date.now());
  const base_ = join(dir, `snapshots-${stamp}`);
  writeFileSync(`${base_}.json`, `${JSON.stringify(full, null, 2)}\n`);
  const md = formatMarkdown(full);
  writeFileSync(`${base_}.md`, md);
  console.log(`\n${md}`);
  console.log(`results: ${base_}.json and .md`);
  return Object.keys(report.errors).length > 0 ? 1 : 0;
}

main()
  .then((code) => {
    killAllSync();
    process.exit(code);
  })
  .catch((error: unknown) => {
    console.error(`snapshots: error: ${error instanceof Error ? error.message : String(error)}`);
    killAllSync();
    process.exit(2);
  });
