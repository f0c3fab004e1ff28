/**
 * `npm run bench:planned-restart`: the leader restarted with SIGTERM while one client
 * writes, dfs against etcd on this machine (bench/lib/planned-restart.ts says exactly
 * what is measured). Runs alternate dfs, etcd, dfs, ... on fresh clusters; each run also
 * restarts the next leader with SIGKILL, for reference (`--no-kill` skips that). The
 * Markdown report is printed and written with the raw runs to
 * bench/results/planned-restart-<time>.{md,json}.
 *
 *   npx tsx bench/planned-restart.ts [--runs 10] [--no-kill] [--compiled] [--note TEXT] [--out DIR]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { ensureEtcd } from "./etcd/etcd-install.ts";
import { buildCompiledEntry } from "./lib/compiled-entry.ts";
import { dfsDriver, etcdDriver } from "./lib/drivers.ts";
import { machineFacts } from "./lib/machine.ts";
import {
  formatRestartRuns,
  formatRestartSummary,
  runPlannedRestarts,
  type StopSignal,
} from "./lib/planned-restart.ts";

/**
 * As for failover: etcd attempts are cut at 250 ms, since a put sent to a member that
 * lost its leader is held until etcd's own 7 s request timeout (see bench/README.md).
 */
const TIMEOUTS = { timeoutMs: 30_000, attemptTimeoutMs: 250 };

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const options = new Command("planned-restart")
  .description("leader restarted with SIGTERM under one writer: dfs vs etcd")
  .option("--runs <n>", "fresh clusters per system", positiveInt, 10)
  .option("--no-kill", "skip the SIGKILL restart measured after the SIGTERM one")
  .option("--compiled", "build dist/ and run the dfs nodes from it, not from src/ through tsx")
  .option("--note <text>", "a line for the report (e.g. what else the machine was doing)")
  .option("--out <dir>", "results directory", resolve(import.meta.dirname, "results"))
  .parse()
  .opts<{ runs: number; kill: boolean; compiled?: boolean; note?: string; out: string }>();

const etcd = ensureEtcd(log);
const entry = options.compiled ? buildCompiledEntry() : undefined;
const startedAt = new Date();
const facts = machineFacts(etcd.version);
const signals: StopSignal[] = options.kill ? ["SIGTERM", "SIGKILL"] : ["SIGTERM"];
log(
  `planned restart, dfs vs ${etcd.version}: ${options.runs} run(s) each, ${signals.join(" then ")}`,
);
const samples = await runPlannedRestarts(
  [dfsDriver(TIMEOUTS, undefined, entry), etcdDriver(etcd, TIMEOUTS)],
  options.runs,
  signals,
  log,
);

const meta: Record<string, string | number> = {
  ...facts,
  "load average at end (1/5/15 min)": loadavg()
    .map((l) => l.toFixed(2))
    .join(" / "),
  date: startedAt.toISOString(),
  "runs per system": options.runs,
  "dfs nodes run": options.compiled ? "compiled (dist/, bin/dfs.mjs)" : "from src/ through tsx",
  method:
    "3-node clusters on 127.0.0.1, fresh per run, dfs and etcd alternating; one client, one 256 B put " +
    "in flight (dfs: DfsClient following NOT_LEADER hints; etcd: grpc-js, next endpoint on failure, " +
    "250 ms attempts); the leader gets the signal, is started again on its data dir once gone; " +
    "figure = longest pause between consecutive acknowledged writes from the signal until the " +
    "cluster, restarted node included, agrees on a leader and then took writes for 1 s",
  ...(options.note === undefined ? {} : { note: options.note }),
};
const report = [
  "# Planned restart of the leader: dfs vs etcd",
  Object.entries(meta)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join("\n"),
  "## Longest gap between acknowledged writes of one client",
  formatRestartSummary(samples, ["dfs", "etcd"]),
  "## Every restart",
  formatRestartRuns(samples),
].join("\n\n");

const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
const base = join(options.out, `planned-restart-${stamp}`);
await mkdir(options.out, { recursive: true });
await writeFile(`${base}.md`, `${report}\n`);
await writeFile(`${base}.json`, `${JSON.stringify({ meta, samples }, null, 2)}\n`);
process.stdout.write(`\n${report}\n\nwrote ${base}.md\nwrote ${base}.json\n`);

function positiveInt(text: string): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 1) throw new InvalidArgumentError("must be a positive integer");
  return n;
}
