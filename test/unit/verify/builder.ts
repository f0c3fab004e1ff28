/**
 * A small DSL for hand-written dfs histories: `b.put(1, [0, 10], "v1", 1)` records that
 * client 1 called put "v1" at 0 and got version 1 back at 10. Omitting the outcome makes
 * the operation indeterminate (ret = +∞).
 */
import type { KvInput, KvOperation, KvOutput } from "../../../src/verify/index.ts";

/** A [call, ret] pair; ret is ignored for indeterminate operations. */
export type Interval = readonly [number, number];

/** Accumulates operations with consecutive ids. */
export class HistoryBuilder {
  constructor(
    private readonly key = "k",
    /** Shared by builders for other keys made with {@link on}. */
    readonly ops: KvOperation[] = [],
  ) {}

  /** A put; `version` undefined = indeterminate. */
  put(client: number, at: Interval, value: string, version?: number): this {
    const output = version === undefined ? undefined : { ok: true as const, version };
    return this.add(client, at, { op: "put", value }, output);
  }

  /** A get that saw `value` at `version`, or absent when value is null. */
  get(client: number, at: Interval, value: string | null, version = 0): this {
    const output: KvOutput = value === null ? { found: false } : { found: true, value, version };
    return this.add(client, at, { op: "get" }, output);
  }

  /** A delete; `existed` undefined = indeterminate. */
  del(client: number, at: Interval, existed?: boolean): this {
    return this.add(client, at, { op: "delete" }, existed === undefined ? undefined : { existed });
  }

  /** A cas; outcome: the new version, false (precondition failed), or undefined. */
  cas(
    client: number,
    at: Interval,
    expectedVersion: number,
    value: string,
    outcome?: number | false,
  ): this {
    const output: KvOutput | undefined =
      outcome === undefined
        ? undefined
        : outcome === false
          ? { ok: false }
          : { ok: true, version: outcome };
    return this.add(client, at, { op: "cas", expectedVersion, value }, output);
  }

  /** A builder for another key appending to the same history. */
  on(key: string): HistoryBuilder {
    return new HistoryBuilder(key, this.ops);
  }

  private add(client: number, at: Interval, input: KvInput, output: KvOutput | undefined): this {
    const ret = output === undefined ? Number.POSITIVE_INFINITY : at[1];
    this.ops.push({ id: this.ops.length, client, key: this.key, call: at[0], ret, input, output });
    return this;
  }
}

/**
 * A pathological key: `n` puts (each "version 1") and `n` deletes (each "existed"), all
 * concurrent, admit C(2n, n) partial orders; a final read of a value nobody wrote makes
 * the search visit all of them before it can report the violation.
 */
export function pathologicalKey(b: HistoryBuilder, n: number): HistoryBuilder {
  for (let i = 0; i < n; i++) {
    b.put(i, [0, 100], `p${i}`, 1);
    b.del(n + i, [0, 100], true);
  }
  return b.get(2 * n, [200, 210], "ghost", 1);
}
