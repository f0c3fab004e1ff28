/**
 * `dfs bench`: load a running cluster the way etcd's `benchmark` tool does, through the
 * client library, and report ops/s, MB/s, latency percentiles and errors (or JSON). The
 * load generator itself lives in src/loadgen (shipped with the command), and `npm run
 * bench` drives dfs and etcd with the very same loop.
 */
import { type Command, Option } from "commander";
import { DfsError, MAX_VALUE_BYTES } from "../api/index.ts";
import {
  DfsTarget,
  formatRunJson,
  formatRunReport,
  type LoadSpec,
  parseSize,
  prefill,
  runLoad,
  type StopRule,
  type Workload,
} from "../loadgen/index.ts";
import {
  addClientOptions,
  type ClientFlags,
  clientTlsFrom,
  intFlag,
  loginOf,
  parseEndpoints,
} from "./options.ts";
import { UsageError } from "./usage-error.ts";
import { writeExact } from "./value-io.ts";

/** Per-operation deadline of the bench client: long, so overload shows as latency. */
export const BENCH_TIMEOUT_MS = 30_000;

interface BenchFlags extends ClientFlags {
  readonly workload: Workload;
  readonly conc: number;
  readonly size: string;
  readonly ops?: number;
  readonly seconds?: string;
  readonly keys: number;
  readonly consistency: "linearizable" | "serializable";
  readonly readPercent: number;
  readonly warmup: string;
  readonly prefill: boolean;
  readonly json?: boolean;
}

/** Registers `bench` on `program`. */
export function addBenchCommand(program: Command): void {
  const command = program
    .command("bench")
    .description("load the cluster with N concurrent clients; print ops/s, MB/s, latency, errors")
    .addOption(
      new Option("--workload <kind>", "operation mix")
        .choices(["put", "get", "mixed", "delete"])
        .default("put"),
    )
    .addOption(
      new Option("--conc <n>", "operations in flight")
        .argParser(intFlag("--conc", 1, 10_000))
        .default(16),
    )
    .option("--size <bytes>", "value size: 256, 4KiB, 1MiB", "256")
    .addOption(
      new Option("--ops <n>", "stop after N measured operations")
        .argParser(intFlag("--ops", 1, 1_000_000_000))
        .conflicts("seconds"),
    )
    .option("--seconds <s>", "measure for S seconds (default 10)")
    .addOption(
      new Option("--keys <n>", "key space: bench/0 .. bench/N-1")
        .argParser(intFlag("--keys", 1, 100_000_000))
        .default(1000),
    )
    .addOption(
      new Option("--consistency <level>", "of gets")
        .choices(["linearizable", "serializable"])
        .default("linearizable"),
    )
    .addOption(
      new Option("--read-percent <p>", "mixed: share of gets")
        .argParser(intFlag("--read-percent", 0, 100))
        .default(50),
    )
    .option("--warmup <s>", "unmeasured seconds before the window", "1")
    .option("--no-prefill", "get/mixed/delete: do not write every key first")
    .option("--json", "print one JSON object");
  addClientOptions(command, BENCH_TIMEOUT_MS).action(async (flags: BenchFlags) => {
    const spec = specOf(flags);
    const target = new DfsTarget(
      parseEndpoints(flags.endpoints),
      flags.timeout,
      clientTlsFrom(flags),
      loginOf(flags),
    );
    try {
      if (flags.prefill && spec.workload !== "put") {
        await prefill(target, spec.keys, spec.valueSize, spec.concurrency);
      }
      const result = await runLoad(target, spec);
      const text = flags.json ? formatRunJson(spec, result) : formatRunReport(spec, result);
      await writeExact(Buffer.from(text));
      if (result.ops === 0 && result.errors > 0) {
        const first = Object.keys(result.errorKinds)[0] ?? "unknown error";
        throw new DfsError(
          "unavailable",
          `every operation failed (${result.errors}), e.g. ${first}`,
        );
      }
    } finally {
      target.close();
    }
  });
}

/** Turns the flags into a load spec, rejecting impossible combinations as usage errors. */
function specOf(flags: BenchFlags): LoadSpec {
  const valueSize = parseSize(flags.size);
  if (valueSize === undefined || valueSize > MAX_VALUE_BYTES) {
    throw new UsageError(
      `--size '${flags.size}' is not a size up to ${MAX_VALUE_BYTES} bytes (e.g. 256, 4KiB, 1MiB)`,
    );
  }
  return {
    workload: flags.workload,
    concurrency: flags.conc,
    valueSize,
    keys: flags.keys,
    serializable: flags.consistency === "serializable",
    readPercent: flags.readPercent,
    stop: stopRule(flags),
    warmupMs: seconds("--warmup", flags.warmup, true) * 1000,
  };
}

function stopRule(flags: BenchFlags): StopRule {
  if (flags.ops !== undefined) return { kind: "ops", ops: flags.ops };
  return { kind: "seconds", seconds: seconds("--seconds", flags.seconds ?? "10", false) };
}

function seconds(flag: string, text: string, zeroOk: boolean): number {
  const n = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isFinite(n) && (n > 0 || (zeroOk && n === 0)) && n <= 24 * 3600) return n;
  throw new UsageError(`${flag} '${text}' is not a number of seconds`);
}
