/**
 * `npm run bench`: dfs against etcd on this machine. Each round starts a fresh 3-node
 * cluster of each system on 127.0.0.1, runs every workload on both (alternating which
 * goes first, so drift of the machine hits both alike), reads server CPU from /proc
 * around each measured window and the servers' RSS; then the leader-kill failover is
 * measured on fresh clusters, alternating too. Medians over rounds go to one table,
 * printed and written with the raw runs to bench/results/.
 *
 *   npx tsx bench/run.ts [--runs 3] [--seconds 6] [--warmup 1] [--cluster-warmup 5] [--quick] [--only ids]
 *
 * With `--tls`, the TLS comparison instead (bench/lib/tls-compare.ts): dfs with mutual
 * TLS against dfs without and etcd with TLS against etcd without, put ×64 and
 * linearizable get ×64 by default, results to bench/results/tls-*. With `--auth` (`npm run
 * bench:auth`), the auth comparison (bench/lib/auth-compare.ts) the same way, results to
 * bench/results/auth-*.
 *
 * With `--unary`, the unary-client comparison (bench/lib/unary-compare.ts): dfs and etcd
 * each driven by plain unary gRPC calls, one per operation (issue 24), results to
 * bench/results/unary-*.
 *
 * With `--metrics`, what metrics cost (bench/lib/metrics-compare.ts): dfs with
 * `--http-port` and `/metrics` scraped every second against dfs without, put ×64 by
 * default, results to bench/results/metrics-*. No etcd is needed.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { type EtcdBinary, ensureEtcd } from "./etcd/etcd-install.ts";
import { formatAuthComparison, runAuthComparison } from "./lib/auth-compare.ts";
import { flagFacts, parseCompareFlags, roundsTimingOf, workloadsOf } from "./lib/compare-flags.ts";
import { type Comparison, formatComparison } from "./lib/compare-report.ts";
import { dfsDriver, etcdDriver } from "./lib/drivers.ts";
import { runFailovers } from "./lib/failover-rounds.ts";
import { machineFacts } from "./lib/machine.ts";
import { formatMetricsComparison, runMetricsComparison } from "./lib/metrics-compare.ts";
import { runRounds } from "./lib/rounds.ts";
import { formatTlsComparison, runTlsComparison } from "./lib/tls-compare.ts";
import { runUnaryComparison } from "./lib/unary-compare.ts";

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/**
 * Client deadlines. Benchmark runs: generous, so overload shows up as latency, not as
 * errors. Failover: etcd's attempts are cut at 250 ms because a put sent to a follower
 * whose leader just died is held silently until etcd's own 7 s request timeout; with
 * the dfs client's 2 s attempt cap etcd would read ~2.1 s, a client artifact.
 */
const BENCH_TIMEOUTS = { timeoutMs: 60_000, attemptTimeoutMs: 60_000 };
const FAILOVER_TIMEOUTS = { timeoutMs: 30_000, attemptTimeoutMs: 250 };

const flags = parseCompareFlags(process.argv.slice(2), resolve(import.meta.dirname, "results"));
const startedAt = new Date();
if (flags.metrics) {
  const workloads = workloadsOf(flags);
  log(`metrics on vs off, dfs: ${flags.runs} round(s) of ${workloads.length} workload(s)`);
  const comparison = await runMetricsComparison(
    flags,
    workloads,
    BENCH_TIMEOUTS,
    { ...dfsOnlyFacts(), date: startedAt.toISOString(), ...flagFacts(flags) },
    log,
  );
  await writeResults("metrics", formatMetricsComparison(comparison), comparison);
  process.exit(0);
}
let etcd: EtcdBinary;
try {
  etcd = ensureEtcd(log);
} catch (err) {
  log(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const workloads = workloadsOf(flags);
const [load1 = 0] = loadavg();
if (load1 > cpus().length / 2) {
  log(
    `warning: load average ${load1.toFixed(1)} on ${cpus().length} CPUs: other processes are busy, ` +
      "results will be noisy (see 'other CPU %' in the report)",
  );
}
if (flags.tls) {
  log(
    `TLS vs plain, dfs and ${etcd.version}: ${flags.runs} round(s) of ${workloads.length} workloads`,
  );
  const comparisons = await runTlsComparison(
    flags,
    workloads,
    etcd,
    BENCH_TIMEOUTS,
    {
      ...machineFacts(etcd.version),
      date: startedAt.toISOString(),
      ...flagFacts(flags),
    },
    log,
  );
  await writeResults("tls", formatTlsComparison(comparisons), comparisons);
  process.exit(0);
}
if (flags.auth) {
  log(
    `auth on vs off, dfs and ${etcd.version}: ${flags.runs} round(s) of ${workloads.length} workloads`,
  );
  const comparisons = await runAuthComparison(
    flags,
    workloads,
    etcd,
    BENCH_TIMEOUTS,
    { ...machineFacts(etcd.version), date: startedAt.toISOString(), ...flagFacts(flags) },
    log,
  );
  await writeResults("auth", formatAuthComparison(comparisons), comparisons);
  process.exit(0);
}
if (flags.unary) {
  log(
    `unary clients, dfs and ${etcd.version}: ${flags.runs} round(s) of ${workloads.length} workloads`,
  );
  const comparison = await runUnaryComparison(
    flags,
    workloads,
    etcd,
    BENCH_TIMEOUTS,
    { ...machineFacts(etcd.version), date: startedAt.toISOString(), ...flagFacts(flags) },
    log,
  );
  await writeResults("unary", formatComparison(comparison), comparison);
  process.exit(0);
}
log(`dfs vs ${etcd.version}: ${flags.runs} round(s) of ${workloads.length} workloads`);

const rounds = await runRounds(
  [dfsDriver(BENCH_TIMEOUTS), etcdDriver(etcd, BENCH_TIMEOUTS)],
  workloads,
  roundsTimingOf(flags),
  log,
);
const failover = await runFailovers(
  [dfsDriver(FAILOVER_TIMEOUTS), etcdDriver(etcd, FAILOVER_TIMEOUTS)],
  flags.failoverRuns,
  log,
);

const comparison: Comparison = {
  systems: ["dfs", "etcd"],
  meta: {
    ...machineFacts(etcd.version),
    date: startedAt.toISOString(),
    ...flagFacts(flags),
    "failover runs": flags.failoverRuns,
    method:
      "closed loop, N workers sharing one client (dfs: DfsClient; etcd: one grpc-js channel to the leader); " +
      "CPU = utime+stime of the 3 server processes over the window / ops; medians over rounds",
  },
  workloads: rounds.workloads,
  failover,
  rss: rounds.rss,
};

await writeResults("compare", formatComparison(comparison), comparison);

/** The machine's facts without etcd's version (a dfs-only comparison). */
function dfsOnlyFacts(): Record<string, string> {
  const { etcd: _etcd, ...facts } = machineFacts("");
  return facts;
}

/** Prints the report and writes it with the raw data to `<out>/<prefix>-<date>.{md,json}`. */
async function writeResults(prefix: string, report: string, data: unknown): Promise<void> {
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  await mkdir(flags.out, { recursive: true });
  const markdown = `${report}\n`;
  const jsonPath = join(flags.out, `${prefix}-${stamp}.json`);
  const mdPath = join(flags.out, `${prefix}-${stamp}.md`);
  await writeFile(jsonPath, `${JSON.stringify(data, null, 2)}\n`);
  await writeFile(mdPath, markdown);
  process.stdout.write(`\n${markdown}\nwrote ${mdPath}\nwrote ${jsonPath}\n`);
}
