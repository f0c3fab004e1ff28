/**
 * Flags of `npm run bench` (bench/run.ts): how many interleaved rounds, how long each
 * measured window is, and the `--quick` smoke mode.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { COMPARE_WORKLOADS, type CompareWorkload, UNARY_WORKLOADS } from "./compare-workloads.ts";
import type { RoundsTiming } from "./rounds.ts";

/** The comparison's settings after defaults. */
export interface CompareFlags {
  /** Rounds: each starts fresh clusters and runs every workload on both systems. */
  readonly runs: number;
  /** Measured seconds per workload per system per round. */
  readonly seconds: number;
  /** Unmeasured warm-up before each window, in seconds. */
  readonly warmup: number;
  /** Seconds of unmeasured load on each fresh cluster before its first window. */
  readonly clusterWarmup: number;
  readonly failoverRuns: number;
  readonly keys: number;
  /** Workload ids to run (all by default). */
  readonly only: readonly string[];
  /** Directory for the JSON and Markdown results. */
  readonly out: string;
  /**
   * The TLS comparison instead: dfs with mutual TLS against dfs without, etcd with TLS
   * against etcd without, on {@link TLS_WORKLOADS} unless `--only` says otherwise.
   */
  readonly tls: boolean;
  /**
   * The auth comparison instead: dfs with auth on against dfs without, etcd with auth on
   * against etcd without, on {@link TLS_WORKLOADS} (put ×64, get ×64) unless `--only`.
   */
  readonly auth: boolean;
  /**
   * The metrics comparison instead: dfs with `--http-port` scraped every second against
   * dfs without, on {@link METRICS_WORKLOADS} unless `--only` says otherwise.
   */
  readonly metrics: boolean;
  /**
   * The unary-client comparison instead (issue 24): dfs and etcd each driven by plain
   * unary gRPC calls, one per operation, on {@link UNARY_WORKLOADS} unless `--only`.
   */
  readonly unary: boolean;
  /** `--front-ends N` given to every dfs node of the unary comparison (absent: the default). */
  readonly frontEnds?: number;
  /** With `--unary`: compare against dfs run from the sources in this directory, not etcd. */
  readonly baselineRoot?: string;
}

/** What `--metrics` measures by default: issue 20 asks for put ×64. */
export const METRICS_WORKLOADS: readonly string[] = ["put-256B-c64"];

/** What `--tls` measures by default: the issue asks for put ×64 and linearizable get ×64. */
export const TLS_WORKLOADS: readonly string[] = ["put-256B-c64", "get-linearizable-c64"];

/** The rounds' timing the flags ask for (the same for the plain and the TLS comparison). */
export function roundsTimingOf(flags: CompareFlags): RoundsTiming {
  return {
    runs: flags.runs,
    seconds: flags.seconds,
    warmupMs: flags.warmup * 1000,
    clusterWarmupMs: flags.clusterWarmup * 1000,
    keys: flags.keys,
  };
}

/** The flags' settings as the facts a report header prints. */
export function flagFacts(flags: CompareFlags): Record<string, number> {
  return {
    rounds: flags.runs,
    "measured seconds per run": flags.seconds,
    "warm-up seconds": flags.warmup,
    "cluster warm-up seconds": flags.clusterWarmup,
    keys: flags.keys,
  };
}

function positive(name: string, integer: boolean): (text: string) => number {
  return (text) => {
    const n = Number(text);
    const ok = /^[0-9]+(\.[0-9]+)?$/.test(text) && n > 0 && (!integer || Number.isInteger(n));
    if (!ok)
      throw new InvalidArgumentError(
        `${name} must be a positive ${integer ? "integer" : "number"}`,
      );
    return n;
  };
}

function nonNegativeInt(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new InvalidArgumentError("must be a non-negative integer");
  return Number(text);
}

/** Parses `argv` (without node and script); exits with commander's usage message on bad flags. */
export function parseCompareFlags(argv: readonly string[], defaultOut: string): CompareFlags {
  const ids = [...new Set([...COMPARE_WORKLOADS, ...UNARY_WORKLOADS].map((w) => w.id))];
  const program = new Command("bench")
    .description("dfs vs etcd on 3-node clusters on 127.0.0.1; results to bench/results/")
    .option("--runs <n>", "interleaved rounds (median over them)", positive("--runs", true), 3)
    .option(
      "--seconds <s>",
      "measured seconds per workload and system",
      positive("--seconds", false),
      6,
    )
    .option("--warmup <s>", "warm-up seconds before each window", positive("--warmup", false), 1)
    .option(
      "--cluster-warmup <s>",
      "seconds of unmeasured mixed load on each fresh cluster before its first window",
      positive("--cluster-warmup", false),
      5,
    )
    .option(
      "--failover-runs <n>",
      "failover measurements per system (default: --runs)",
      nonNegativeInt,
    )
    .option("--keys <n>", "key space size", positive("--keys", true), 1000)
    .addOption(new Option("--only <ids>", `comma-separated subset of: ${ids.join(", ")}`))
    .option("--out <dir>", "results directory", defaultOut)
    .option("--quick", "smoke run: 1 round of 1.5 s windows, 0.5 s warm-up, 1 failover")
    .option(
      "--tls",
      `compare dfs with mutual TLS to dfs without, and etcd with TLS to etcd without (default workloads: ${TLS_WORKLOADS.join(", ")}; no failover)`,
    )
    .option(
      "--auth",
      "compare dfs with auth on to dfs without, and etcd with auth on to etcd without (same default workloads as --tls; no failover)",
    )
    .option(
      "--metrics",
      `compare dfs with --http-port and /metrics scraped every second to dfs without (default workload: ${METRICS_WORKLOADS.join(", ")}; no etcd, no failover)`,
    )
    .option(
      "--unary",
      `dfs and etcd through plain unary gRPC calls, one per operation, no batching (default workloads: ${UNARY_WORKLOADS.map((w) => w.id).join(", ")}; no failover)`,
    )
    .option(
      "--front-ends <n>",
      "with --unary: start every dfs node with --front-ends N (protocol worker threads)",
      nonNegativeInt,
    )
    .option(
      "--baseline-root <dir>",
      "with --unary: the baseline is dfs from the sources in <dir> (another checkout), not etcd",
    )
    .parse([...argv], { from: "user" });
  const o = program.opts<{
    runs: number;
    seconds: number;
    warmup: number;
    clusterWarmup: number;
    failoverRuns?: number;
    keys: number;
    only?: string;
    out: string;
    quick?: boolean;
    tls?: boolean;
    auth?: boolean;
    metrics?: boolean;
    unary?: boolean;
    frontEnds?: number;
    baselineRoot?: string;
  }>();
  const tls = o.tls === true;
  const auth = o.auth === true;
  const metrics = o.metrics === true;
  const unary = o.unary === true;
  if ([tls, auth, metrics, unary].filter(Boolean).length > 1)
    program.error("--tls, --auth, --metrics and --unary are separate comparisons: give one");
  const defaultIds =
    tls || auth
      ? TLS_WORKLOADS
      : metrics
        ? METRICS_WORKLOADS
        : unary
          ? UNARY_WORKLOADS.map((w) => w.id)
          : COMPARE_WORKLOADS.map((w) => w.id);
  const only = o.only === undefined ? [...defaultIds] : o.only.split(",").map((s) => s.trim());
  const unknown = only.filter((id) => !ids.includes(id));
  if (unknown.length > 0) program.error(`--only: unknown workload ${unknown.join(", ")}`);
  if (o.quick) {
    const quick = { runs: 1, seconds: 1.5, warmup: 0.5, clusterWarmup: 1, failoverRuns: 1 };
    const front = {
      ...(o.frontEnds === undefined ? {} : { frontEnds: o.frontEnds }),
      ...(o.baselineRoot === undefined ? {} : { baselineRoot: o.baselineRoot }),
    };
    return { ...quick, keys: o.keys, only, out: o.out, tls, auth, metrics, unary, ...front };
  }
  return {
    runs: o.runs,
    seconds: o.seconds,
    warmup: o.warmup,
    clusterWarmup: o.clusterWarmup,
    failoverRuns: o.failoverRuns ?? o.runs,
    keys: o.keys,
    only,
    out: o.out,
    tls,
    auth,
    metrics,
    unary,
    ...(o.frontEnds === undefined ? {} : { frontEnds: o.frontEnds }),
    ...(o.baselineRoot === undefined ? {} : { baselineRoot: o.baselineRoot }),
  };
}

/** The workloads `flags` select, in run order. */
export function workloadsOf(flags: CompareFlags): CompareWorkload[] {
  const all = flags.unary ? UNARY_WORKLOADS : COMPARE_WORKLOADS;
  const others = flags.unary ? COMPARE_WORKLOADS : UNARY_WORKLOADS;
  const picked = all.filter((w) => flags.only.includes(w.id));
  const extra = others.filter(
    (w) => flags.only.includes(w.id) && !picked.some((p) => p.id === w.id),
  );
  return [...picked, ...extra];
}
