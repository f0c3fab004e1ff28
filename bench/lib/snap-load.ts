/**
 * The write load of the snapshot benchmark: the project's closed-loop load generator
 * (src/loadgen, the same loop as `dfs bench`) over one shared DfsClient, with a
 * counter so progress can be sampled while the run is going.
 */

import type { KvTarget } from "../../src/loadgen/index.ts";
import { DfsTarget, type LoadResult, runLoad } from "../../src/loadgen/index.ts";

/** Per-operation deadline: long, so overload shows as latency rather than errors. */
const OP_TIMEOUT_MS = 30_000;

/** The shape of every write load in this benchmark. */
export interface PutLoad {
  readonly ops: number;
  readonly concurrency: number;
  readonly valueSize: number;
  readonly keys: number;
}

/** A target that counts completed and failed operations as they happen. */
export class CountingTarget implements KvTarget {
  readonly name: string;
  done = 0;
  failed = 0;

  constructor(private readonly inner: KvTarget) {
    this.name = inner.name;
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    try {
      await this.inner.put(key, value);
      this.done++;
    } catch (error) {
      this.failed++;
      throw error;
    }
  }

  get(key: string, serializable: boolean): Promise<number | null> {
    return this.inner.get(key, serializable);
  }

  delete(key: string): Promise<boolean> {
    return this.inner.delete(key);
  }

  close(): void {
    this.inner.close();
  }
}

/** A running put load: `counter` advances while `result` is pending. */
export interface RunningLoad {
  readonly counter: CountingTarget;
  readonly result: Promise<LoadResult>;
}

/** Starts `load` (puts, no warm-up) against `endpoints`; the target closes when it ends. */
export function startPuts(endpoints: readonly string[], load: PutLoad): RunningLoad {
  const counter = new CountingTarget(new DfsTarget(endpoints, OP_TIMEOUT_MS));
  const result = runLoad(counter, {
    workload: "put",
    concurrency: load.concurrency,
    valueSize: load.valueSize,
    keys: load.keys,
    serializable: false,
    readPercent: 0,
    stop: { kind: "ops", ops: load.ops },
    warmupMs: 0,
  }).finally(() => counter.close());
  return { counter, result };
}

/** Runs `load` to the end; throws if more than 1% of the operations failed. */
export async function writePuts(endpoints: readonly string[], load: PutLoad): Promise<LoadResult> {
  const result = await startPuts(endpoints, load).result;
  checkErrors(result, load.ops);
  return result;
}

/** Throws when a load mostly failed (a broken cluster must not pass as a measurement). */
export function checkErrors(result: LoadResult, ops: number): void {
  if (result.errors > ops / 100) {
    throw new Error(
      `${result.errors} of ${ops} puts failed, e.g. ${JSON.stringify(result.errorKinds)}`,
    );
  }
}
