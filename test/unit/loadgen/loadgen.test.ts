/** The closed-loop load generator against an in-memory target with a fixed latency. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type LoadSpec, prefill, runLoad } from "../../../src/loadgen/loadgen.ts";
import type { KvTarget } from "../../../src/loadgen/target.ts";

/** A map behind a fixed delay; counts concurrent calls and can fail every n-th put. */
class FakeTarget implements KvTarget {
  readonly name = "fake";
  readonly data = new Map<string, number>();
  inFlight = 0;
  maxInFlight = 0;
  calls = 0;

  constructor(
    private readonly delayMs: number,
    private readonly failEvery = 0,
  ) {}

  private async enter<T>(body: () => T): Promise<T> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      return body();
    } finally {
      this.inFlight--;
    }
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.enter(() => {
      if (this.failEvery > 0 && this.calls % this.failEvery === 0) throw new Error("injected");
      this.data.set(key, value.byteLength);
    });
  }

  get(key: string): Promise<number | null> {
    return this.enter(() => this.data.get(key) ?? null);
  }

  delete(key: string): Promise<boolean> {
    return this.enter(() => this.data.delete(key));
  }

  close(): void {}
}

const BASE: LoadSpec = {
  workload: "put",
  concurrency: 4,
  valueSize: 100,
  keys: 50,
  serializable: false,
  readPercent: 50,
  stop: { kind: "ops", ops: 40 },
  warmupMs: 0,
};

describe("runLoad", () => {
  test("an operation limit counts exactly that many operations, with the set concurrency", async () => {
    const target = new FakeTarget(2);
    const r = await runLoad(target, BASE);
    assert.equal(r.ops, 40);
    assert.equal(r.errors, 0);
    assert.equal(target.maxInFlight, 4);
    assert.ok(r.latency.p50 >= 1.5, `p50 ${r.latency.p50}`);
    assert.ok(Math.abs(r.mbPerSec - (40 * 100) / 1e6 / r.seconds) < 1e-9);
  });

  test("a time limit measures throughput over the window and calls the hooks at its edges", async () => {
    const target = new FakeTarget(5);
    const edges: number[] = [];
    const r = await runLoad(
      target,
      { ...BASE, concurrency: 8, stop: { kind: "seconds", seconds: 0.3 }, warmupMs: 50 },
      { onStart: () => edges.push(performance.now()), onEnd: () => edges.push(performance.now()) },
    );
    assert.equal(edges.length, 2);
    assert.ok(r.seconds >= 0.29 && r.seconds < 0.6, `window ${r.seconds}`);
    // 8 in flight at >= 5 ms each: at most 1600/s; a closed loop keeps well above 100/s.
    assert.ok(r.opsPerSec > 100 && r.opsPerSec <= 1700, `ops/s ${r.opsPerSec}`);
    assert.equal(r.ops, Math.round(r.opsPerSec * r.seconds));
    assert.ok(target.calls > r.ops, "warm-up operations are not counted");
  });

  test("failures are counted as errors, not as operations, and remembered by message", async () => {
    const target = new FakeTarget(1, 4);
    const r = await runLoad(target, { ...BASE, concurrency: 1, stop: { kind: "ops", ops: 20 } });
    assert.equal(r.ops + r.errors, 20);
    assert.equal(r.errors, 5);
    assert.deepEqual(r.errorKinds, { injected: 5 });
  });

  test("gets of missing keys and deletes of missing keys are not-found answers", async () => {
    const target = new FakeTarget(1);
    await prefill(target, 10, 7, 3);
    assert.equal(target.data.size, 10);
    const gets = await runLoad(target, { ...BASE, workload: "get", keys: 20 });
    assert.equal(gets.ops, 40);
    assert.ok(gets.notFound > 0 && gets.notFound < 40, `not found ${gets.notFound}`);
    const deletes = await runLoad(target, {
      ...BASE,
      workload: "delete",
      keys: 10,
      concurrency: 2,
      stop: { kind: "ops", ops: 15 },
    });
    assert.equal(deletes.ops, 15);
    assert.equal(deletes.notFound, 5, "the second pass finds every key gone");
    assert.equal(target.data.size, 0);
  });

  test("mixed honours the read percentage", async () => {
    const target = new FakeTarget(0);
    const all = await runLoad(target, {
      ...BASE,
      workload: "mixed",
      readPercent: 100,
      stop: { kind: "ops", ops: 30 },
    });
    assert.equal(all.ops, 30);
    assert.equal(target.data.size, 0, "100% reads write nothing");
  });
});
