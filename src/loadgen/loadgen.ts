/**
 * The closed-loop load generator (the model of etcd's `benchmark` tool): `concurrency`
 * workers share one target, each issuing its next operation as soon as the previous one
 * returns. A warm-up runs first and is not measured; the window that follows is timed
 * with `performance.now()` per operation.
 *
 * Counting. With a time limit, an operation counts if it completes inside the window
 * (unbiased in steady state, even for slow operations with many in flight). With an
 * operation limit, exactly the operations issued after the warm-up count and the window
 * ends when the last of them completes.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { type LatencySummary, SampleBuffer, summarize } from "./stats.ts";
import { benchKey, type KvTarget } from "./target.ts";

/** The operation mix of a run. */
export type Workload = "put" | "get" | "mixed" | "delete";

/** When the measured window ends. */
export type StopRule =
  | { readonly kind: "seconds"; readonly seconds: number }
  | { readonly kind: "ops"; readonly ops: number };

/** Everything that defines one measured run. */
export interface LoadSpec {
  readonly workload: Workload;
  /** Operations in flight (workers). */
  readonly concurrency: number;
  /** Bytes per put value. */
  readonly valueSize: number;
  /** Size of the key space: keys `bench/0` .. `bench/<keys-1>`. */
  readonly keys: number;
  /** Gets may be served stale by any node (etcd: serializable range). */
  readonly serializable: boolean;
  /** For `mixed`: percentage of operations that are gets (the rest are puts). */
  readonly readPercent: number;
  readonly stop: StopRule;
  /** Unmeasured run time before the window opens, in milliseconds. */
  readonly warmupMs: number;
}

/** Called exactly at the window's edges, e.g. to read server CPU counters. */
export interface WindowHooks {
  readonly onStart?: () => void;
  readonly onEnd?: () => void;
}

/** Measured outcome of one run. */
export interface LoadResult {
  /** Successful operations in the window (not-found answers included). */
  readonly ops: number;
  /** Operations that failed (timeouts, unavailable, ...). */
  readonly errors: number;
  /** Gets of a missing key and deletes of a missing key (answered, not failed). */
  readonly notFound: number;
  /** Length of the window in seconds. */
  readonly seconds: number;
  readonly opsPerSec: number;
  /** Value bytes moved per second (put values sent plus get values received), in MB (1e6). */
  readonly mbPerSec: number;
  /** Latency of the successful operations, in ms. */
  readonly latency: LatencySummary;
  /** Distinct error messages with their counts (at most a few kept). */
  readonly errorKinds: Readonly<Record<string, number>>;
}

/** Distinct error messages remembered per run; the rest are only counted. */
const MAX_ERROR_KINDS = 5;

/** Pause after a failed operation, so a down cluster does not turn workers into a busy loop. */
const ERROR_PAUSE_MS = 5;

/** One operation's result: bytes of value moved and whether the key was missing. */
interface OpOutcome {
  readonly bytes: number;
  readonly missing: boolean;
}

/** Runs `spec` against `target` and returns what the window measured. */
export async function runLoad(
  target: KvTarget,
  spec: LoadSpec,
  hooks: WindowHooks = {},
): Promise<LoadResult> {
  return new LoadRun(target, spec, hooks).run();
}

/** Writes every key of the key space once (so gets find values), `concurrency` at a time. */
export async function prefill(
  target: KvTarget,
  keys: number,
  valueSize: number,
  concurrency: number,
): Promise<void> {
  const value = randomBytes(valueSize);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < keys; i = next++) await target.put(benchKey(i), value);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys) }, worker));
}

type Phase = "warmup" | "measuring" | "done";

/** State of one run; one instance per {@link runLoad} call. */
class LoadRun {
  private phase: Phase = "warmup";
  private windowStart = 0;
  private windowEnd = 0;
  private readonly latencies = new SampleBuffer();
  private errors = 0;
  private notFound = 0;
  private bytes = 0;
  private issuedInWindow = 0;
  private pendingInWindow = 0;
  private nextDeleteSlot = 0;
  private readonly errorKinds: Record<string, number> = {};
  private readonly value: Uint8Array;
  private finished: () => void = () => undefined;

  constructor(
    private readonly target: KvTarget,
    private readonly spec: LoadSpec,
    private readonly hooks: WindowHooks,
  ) {
    this.value = randomBytes(spec.valueSize);
  }

  async run(): Promise<LoadResult> {
    const done = new Promise<void>((resolve) => {
      this.finished = resolve;
    });
    let warmup: NodeJS.Timeout | undefined;
    if (this.spec.warmupMs > 0) warmup = setTimeout(() => this.openWindow(), this.spec.warmupMs);
    else this.openWindow();
    const workers = Array.from({ length: this.spec.concurrency }, () => this.worker());
    await done;
    clearTimeout(warmup);
    await Promise.all(workers);
    return this.result();
  }

  private openWindow(): void {
    this.hooks.onStart?.();
    this.windowStart = performance.now();
    this.phase = "measuring";
    const stop = this.spec.stop;
    if (stop.kind === "seconds") setTimeout(() => this.closeWindow(), stop.seconds * 1000);
  }

  private closeWindow(): void {
    if (this.phase === "done") return;
    this.windowEnd = performance.now();
    this.phase = "done";
    this.hooks.onEnd?.();
    this.finished();
  }

  private async worker(): Promise<void> {
    const stop = this.spec.stop;
    while (this.phase !== "done") {
      const inOpsWindow = stop.kind === "ops" && this.phase === "measuring";
      if (inOpsWindow) {
        if (this.issuedInWindow >= stop.ops) return;
        this.issuedInWindow++;
        this.pendingInWindow++;
      }
      const started = performance.now();
      let outcome: OpOutcome | Error;
      try {
        outcome = await this.operation();
      } catch (err) {
        outcome = err instanceof Error ? err : new Error(String(err));
      }
      const ended = performance.now();
      const counts =
        stop.kind === "ops" ? inOpsWindow : this.phase === "measuring" && ended >= this.windowStart;
      if (counts) this.record(outcome, ended - started);
      if (outcome instanceof Error) await sleep(ERROR_PAUSE_MS);
      if (inOpsWindow && --this.pendingInWindow === 0 && this.issuedInWindow >= stop.ops) {
        this.closeWindow();
      }
    }
  }

  private record(outcome: OpOutcome | Error, ms: number): void {
    if (outcome instanceof Error) {
      this.errors++;
      const kind = outcome.message.slice(0, 160);
      if (kind in this.errorKinds || Object.keys(this.errorKinds).length < MAX_ERROR_KINDS) {
        this.errorKinds[kind] = (this.errorKinds[kind] ?? 0) + 1;
      }
      return;
    }
    this.latencies.push(ms);
    this.bytes += outcome.bytes;
    if (outcome.missing) this.notFound++;
  }

  private async operation(): Promise<OpOutcome> {
    const { workload, keys, readPercent } = this.spec;
    const key = benchKey(Math.floor(Math.random() * keys));
    const read = workload === "get" || (workload === "mixed" && Math.random() * 100 < readPercent);
    if (workload === "delete") {
      const slot = this.nextDeleteSlot++ % keys;
      const existed = await this.target.delete(benchKey(slot));
      return { bytes: 0, missing: !existed };
    }
    if (read) {
      const size = await this.target.get(key, this.spec.serializable);
      return { bytes: size ?? 0, missing: size === null };
    }
    await this.target.put(key, this.value);
    return { bytes: this.value.byteLength, missing: false };
  }

  private result(): LoadResult {
    const seconds = (this.windowEnd - this.windowStart) / 1000;
    const ops = this.latencies.length;
    return {
      ops,
      errors: this.errors,
      notFound: this.notFound,
      seconds,
      opsPerSec: seconds > 0 ? ops / seconds : 0,
      mbPerSec: seconds > 0 ? this.bytes / 1e6 / seconds : 0,
      latency: summarize(this.latencies.toArray()),
      errorKinds: this.errorKinds,
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
