/** Percentiles, medians and latency summaries of the benchmark. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { median, percentile, SampleBuffer, summarize } from "../../../src/loadgen/stats.ts";

describe("percentile (nearest rank)", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  test("of 1..100 is the value itself", () => {
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 90), 90);
    assert.equal(percentile(hundred, 99), 99);
    assert.equal(percentile(hundred, 100), 100);
    assert.equal(percentile(hundred, 0.5), 1);
  });

  test("always returns an observed sample, rounding the rank up", () => {
    const xs = [10, 20, 30, 40];
    assert.equal(percentile(xs, 50), 20); // rank ceil(2) = 2
    assert.equal(percentile(xs, 51), 30); // rank ceil(2.04) = 3
    assert.equal(percentile(xs, 99), 40);
    assert.equal(percentile([7], 1), 7);
    assert.equal(percentile([7], 100), 7);
  });

  test("p99 of 1000 samples ignores the 10 worst, not 11", () => {
    const xs = Array.from({ length: 1000 }, (_, i) => (i < 990 ? 1 : 500));
    assert.equal(percentile(xs, 99), 1);
    assert.equal(percentile(xs, 99.1), 500);
  });

  test("is NaN without samples and rejects p outside (0, 100]", () => {
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.throws(() => percentile([1], 0), RangeError);
    assert.throws(() => percentile([1], 101), RangeError);
    assert.throws(() => percentile([1], Number.NaN), RangeError);
  });
});

describe("median", () => {
  test("odd, even, unsorted, empty", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([5]), 5);
    assert.ok(Number.isNaN(median([])));
  });

  test("skips NaN (a run without operations) instead of poisoning the result", () => {
    assert.equal(median([Number.NaN, 10, 30]), 20);
    assert.ok(Number.isNaN(median([Number.NaN])));
  });

  test("does not reorder its input", () => {
    const xs = [3, 1, 2];
    median(xs);
    assert.deepEqual(xs, [3, 1, 2]);
  });
});

describe("summarize and SampleBuffer", () => {
  test("summarizes samples recorded in any order, across buffer growth", () => {
    const buffer = new SampleBuffer();
    for (let i = 5000; i >= 1; i--) buffer.push(i / 10); // 0.1 .. 500.0 ms, descending
    assert.equal(buffer.length, 5000);
    const s = summarize(buffer.toArray());
    assert.equal(s.p50, 250);
    assert.equal(s.p90, 450);
    assert.equal(s.p99, 495);
    assert.equal(s.max, 500);
    assert.ok(Math.abs(s.mean - 250.05) < 1e-9);
  });

  test("is all NaN for no samples", () => {
    const s = summarize(new SampleBuffer().toArray());
    for (const v of Object.values(s)) assert.ok(Number.isNaN(v));
  });
});
