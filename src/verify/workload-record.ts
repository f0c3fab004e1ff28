/**
 * What a workload remembers: the history the checker reads (every operation with its
 * call and return time on one monotonic clock) and how many operations completed in
 * each second, so a harness can show throughput before, during and after its faults.
 */
import type { KvInput, KvOperation, KvOutput } from "./kv-model.ts";

/** Width of one throughput bucket. */
export const BUCKET_MS = 1000;

/** An operation that has been invoked and not yet answered. */
export interface PendingOp {
  readonly id: number;
  readonly client: number;
  readonly key: string;
  readonly call: number;
  readonly input: KvInput;
}

/** Counts of a history, split the way a report needs them. */
export interface HistoryCounts {
  readonly total: number;
  /** Operations with a known outcome (they constrain the checker). */
  readonly definite: number;
  /** Timed out or lost: may or may not have taken effect. */
  readonly indeterminate: number;
}

/**
 * Records operations. Times are `performance.now()` minus the recorder's start, rounded
 * to microseconds (rounding can only make two operations look concurrent, which the
 * checker treats permissively, never the reverse).
 */
export class HistoryRecorder {
  private readonly ops: KvOperation[] = [];
  private readonly origin = performance.now();
  private nextId = 0;
  /** Definite completions per {@link BUCKET_MS} since the start. */
  private readonly buckets: number[] = [];

  /** Milliseconds since the recorder started; the history's clock. */
  now(): number {
    return Math.round((performance.now() - this.origin) * 1000) / 1000;
  }

  /** Notes that `client` is about to send `input` for `key`. */
  begin(client: number, key: string, input: KvInput): PendingOp {
    return { id: this.nextId++, client, key, call: this.now(), input };
  }

  /** Records the answer; `output` undefined means the outcome is unknown. */
  end(op: PendingOp, output: KvOutput | undefined): void {
    const ret = output === undefined ? Number.POSITIVE_INFINITY : Math.max(op.call, this.now());
    this.ops.push({ ...op, ret, output });
    if (output !== undefined) this.countCompletion(ret);
  }

  /** The history so far (a copy, sorted by id so it reads in invocation order). */
  history(): KvOperation[] {
    return [...this.ops].sort((a, b) => a.id - b.id);
  }

  /** Counts of every recorded operation, or of those invoked in [from, to). */
  counts(from = 0, to = Number.POSITIVE_INFINITY): HistoryCounts {
    let definite = 0;
    let indeterminate = 0;
    for (const op of this.ops) {
      if (op.call < from || op.call >= to) continue;
      if (op.output === undefined) indeterminate++;
      else definite++;
    }
    return { total: definite + indeterminate, definite, indeterminate };
  }

  /** Definite operations per second that returned in [from, to) (history-clock ms). */
  opsPerSecond(from: number, to: number): number {
    if (to <= from) return 0;
    let n = 0;
    for (const op of this.ops) if (op.output !== undefined && op.ret >= from && op.ret < to) n++;
    return (n * 1000) / (to - from);
  }

  /** Definite completions in each second since the start (index = second). */
  perSecond(): readonly number[] {
    return Array.from(this.buckets, (n) => n ?? 0);
  }

  private countCompletion(ret: number): void {
    const bucket = Math.floor(ret / BUCKET_MS);
    for (let i = this.buckets.length; i <= bucket; i++) this.buckets.push(0);
    this.buckets[bucket] = (this.buckets[bucket] ?? 0) + 1;
  }
}
