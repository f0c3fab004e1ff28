/**
 * Shrinking a failing swarm schedule (test/sim/shrink.ts): it keeps exactly the steps the
 * failure needs, cuts the fault phase after the last one, and stays within its run budget.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ScheduledFault } from "../../sim/nemesis.ts";
import { type Candidate, shrinkSchedule } from "../../sim/shrink.ts";

function steps(n: number): ScheduledFault[] {
  return Array.from({ length: n }, (_, i) => ({
    at: 100 * (i + 1),
    fault: { kind: "heal" },
    choices: i,
  }));
}

/** Fails while the schedule holds every step whose `choices` is listed. */
function failsWith(needed: readonly number[]) {
  let runs = 0;
  const tryRun = async (c: Candidate): Promise<string | null> => {
    runs++;
    const have = new Set(c.schedule.map((s) => s.choices));
    return needed.every((n) => have.has(n)) ? `needs ${needed.join(",")}` : null;
  };
  return { tryRun, runs: () => runs };
}

describe("shrinking a fault schedule", () => {
  it("keeps only the steps the failure needs and cuts the fault phase", async () => {
    const probe = failsWith([3, 17, 18]);
    const shrunk = await shrinkSchedule(
      { schedule: steps(40), faultMs: 20_000 },
      "x",
      probe.tryRun,
    );
    assert.deepEqual(
      shrunk.schedule.map((s) => s.choices),
      [3, 17, 18],
    );
    assert.equal(shrunk.faultMs, 1900 + 200, "the fault phase ends 200 ms after the last step");
    assert.equal(shrunk.failure, "needs 3,17,18");
    assert.equal(shrunk.runs, probe.runs());
  });

  it("a failure that needs no fault shrinks to the empty schedule", async () => {
    const shrunk = await shrinkSchedule(
      { schedule: steps(10), faultMs: 20_000 },
      "x",
      failsWith([]).tryRun,
    );
    assert.equal(shrunk.schedule.length, 0);
    assert.equal(shrunk.faultMs, 200);
  });

  it("stops at the run budget with the smallest failing schedule found so far", async () => {
    const probe = failsWith([0, 5, 9]);
    const shrunk = await shrinkSchedule(
      { schedule: steps(64), faultMs: 20_000 },
      "x",
      probe.tryRun,
      5,
    );
    assert.equal(probe.runs(), 5);
    assert.ok(shrunk.schedule.length < 64 && shrunk.schedule.length >= 3);
    for (const n of [0, 5, 9]) assert.ok(shrunk.schedule.some((s) => s.choices === n));
  });
});
