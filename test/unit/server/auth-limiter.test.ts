/**
 * Login throttling: five free failures per user name, then a backoff of 1 s doubling to
 * 60 s; a success resets the name; one name's failures never slow another; the table
 * stays bounded. The scrypt gate runs at most its bound at once and refuses past its queue.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DfsError } from "../../../src/api/errors.ts";
import { backoffMs, LoginLimiter } from "../../../src/server/auth/login-limiter.ts";
import { ScryptGate } from "../../../src/server/auth/scrypt-gate.ts";

const exhausted = (pattern: RegExp) => (error: unknown) =>
  error instanceof DfsError && error.code === "resource_exhausted" && pattern.test(error.message);

test("five free failures, then 1 s, 2 s, 4 s ... 60 s", () => {
  const limiter = new LoginLimiter();
  let now = 1_000_000;
  for (let i = 0; i < 4; i++) {
    limiter.check("alice", now);
    limiter.failed("alice", now);
  }
  limiter.check("alice", now);
  limiter.failed("alice", now); // fifth: backoff starts
  assert.throws(() => limiter.check("alice", now), exhausted(/user alice; retry in 1 s/));
  limiter.check("bob", now);
  const waits: number[] = [];
  for (let i = 0; i < 9; i++) {
    let wait = 0;
    while (blocked(limiter, "alice", now)) {
      now += 100;
      wait += 100;
    }
    waits.push(wait);
    limiter.failed("alice", now);
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.equal(backoffMs(1000), 60_000);
});

test("a success resets the name", () => {
  const limiter = new LoginLimiter();
  for (let i = 0; i < 7; i++) limiter.failed("alice", 0);
  assert.throws(() => limiter.check("alice", 0), exhausted(/retry in 4 s/));
  limiter.succeeded("alice");
  limiter.check("alice", 0);
  for (let i = 0; i < 4; i++) limiter.failed("alice", 0);
  limiter.check("alice", 0);
});

test("the table forgets the oldest name past its bound", () => {
  const limiter = new LoginLimiter(100);
  for (let i = 0; i < 10; i++) limiter.failed("target", 0);
  for (let i = 0; i < 1000; i++) limiter.failed(`made-up-${i}`, 0);
  assert.equal(limiter.size, 100);
});

test("the scrypt gate bounds concurrent runs and refuses past its queue", async () => {
  const gate = new ScryptGate(2, 3);
  let running = 0;
  let peak = 0;
  const releases: (() => void)[] = [];
  const work = () =>
    gate.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
    });
  const runs = [work(), work(), work(), work(), work()];
  await assert.rejects(work(), exhausted(/too many logins/));
  const deadline = Date.now() + 5000;
  let finished = 0;
  while (finished < 5) {
    assert.ok(Date.now() < deadline, "gate did not drain");
    const next = releases.shift();
    if (next === undefined) await new Promise((resolve) => setImmediate(resolve));
    else {
      next();
      finished++;
    }
  }
  await Promise.all(runs);
  assert.equal(peak, 2);
  assert.equal(gate.active, 0);
});

function blocked(limiter: LoginLimiter, user: string, now: number): boolean {
  try {
    limiter.check(user, now);
    return false;
  } catch {
    return true;
  }
}

test("a burst of concurrent guesses gets only the free failures, the rest wait and are refused", async () => {
  const limiter = new LoginLimiter();
  const now = () => 5_000;
  let verified = 0;
  const guess = () =>
    limiter.attempt("victim", now, async () => {
      verified++;
      await new Promise((resolve) => setImmediate(resolve));
      return undefined; // wrong password
    });
  const outcomes = await Promise.allSettled(Array.from({ length: 40 }, guess));
  assert.equal(verified, 5, "only the free failures ran scrypt");
  const refusedCount = outcomes.filter(
    (o) => o.status === "rejected" && exhausted(/retry in 1 s/)(o.reason),
  ).length;
  assert.equal(refusedCount, 35);
});

test("concurrent right logins all pass; a verify that throws counts as no failure", async () => {
  const limiter = new LoginLimiter();
  const now = () => 0;
  const ok = await Promise.all(
    Array.from({ length: 20 }, () =>
      limiter.attempt("alice", now, async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return "token";
      }),
    ),
  );
  assert.equal(ok.filter((v) => v === "token").length, 20);
  for (let i = 0; i < 10; i++) {
    await assert.rejects(
      limiter.attempt("alice", now, async () => {
        throw new DfsError("not_leader", "not the leader");
      }),
      (e: unknown) => e instanceof DfsError && e.code === "not_leader",
    );
  }
  limiter.check("alice", 0);
});
