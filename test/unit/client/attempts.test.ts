/**
 * Retry pacing of one operation, on a fake clock: every wait is measured exactly in
 * virtual time, and the test takes no real time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DfsError } from "../../../src/api/errors.ts";
import { Attempts } from "../../../src/client/attempts.ts";
import { NO_ANSWER } from "../../../src/client/grpc-errors.ts";
import {
  BACKOFF_MAX_MS,
  Backoff,
  ELECTION_POLL_MS,
  FAST_RETRY_WINDOW_MS,
  type RetryClock,
} from "../../../src/client/retry.ts";
import { seededRandom } from "../../support/rng.ts";

const down = new DfsError("unavailable", "connect ECONNREFUSED");
const electing = new DfsError("not_leader", "not the leader; no leader known");

/** A clock whose sleeps pass at once, moving its time forward by what they asked for. */
class FakeClock implements RetryClock {
  time = 1_000_000;
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.time += ms;
  }
}

/** Fresh attempts on a fake clock, with a seeded jitter. */
function attemptsOn(clock: FakeClock, op: string, timeoutMs: number): Attempts {
  return new Attempts(op, timeoutMs, clock, new Backoff(seededRandom(7)));
}

/** Milliseconds of (virtual) time one pause waits. */
async function timedPause(clock: FakeClock, attempts: Attempts, error: DfsError): Promise<number> {
  const started = clock.now();
  await attempts.pause("127.0.0.1:1", error, false);
  return clock.now() - started;
}

test("right after a failure (a leader just died) every retry comes within the election poll pace", async () => {
  const clock = new FakeClock();
  const attempts = attemptsOn(clock, "put", 60_000);
  for (let i = 0; i < 8; i++) {
    const waited = await timedPause(clock, attempts, i % 2 === 0 ? down : electing);
    assert.ok(waited <= ELECTION_POLL_MS, `attempt ${i} waited ${waited} ms`);
  }
});

test("after the fast window a down node gets the full backoff, an election still the poll pace", async () => {
  const clock = new FakeClock();
  const attempts = attemptsOn(clock, "put", 60_000);
  await timedPause(clock, attempts, down); // first failure: the window starts
  clock.time += FAST_RETRY_WINDOW_MS + 1;
  // Grow the general backoff to its cap (25, 50, 100, 200, 400, 500 ms ceilings).
  for (let i = 0; i < 5; i++) await timedPause(clock, attempts, down);
  const grown = await timedPause(clock, attempts, down);
  assert.ok(grown >= BACKOFF_MAX_MS / 2, `general backoff ${grown} ms should be >= 250`);
  for (let i = 0; i < 3; i++) {
    const waited = await timedPause(clock, attempts, electing);
    assert.ok(waited <= ELECTION_POLL_MS, `waited ${waited} ms while an election ran`);
  }
});

test("no wait runs past the operation's deadline, and the deadline ends the retries", async () => {
  const clock = new FakeClock();
  const started = clock.now();
  const attempts = attemptsOn(clock, "put", 1_000);
  await assert.rejects(async () => {
    for (;;) await attempts.pause("127.0.0.1:1", down, false);
  }, /put: no leader answered within 1000 ms; tried 127\.0\.0\.1:1 \(connect ECONNREFUSED\)/);
  assert.equal(clock.now() - started, 1_000, "all of the deadline is used, none beyond it");
});

test("the final error keeps an endpoint's last answer when the deadline cut the next attempt short", async () => {
  const clock = new FakeClock();
  const full = new DfsError("unavailable", "this node's disk is full: writes are refused");
  const noAnswer = new DfsError("unavailable", NO_ANSWER);
  const attempts = attemptsOn(clock, "get", 30);
  await attempts.pause("127.0.0.1:1", full, false).catch(() => {});
  clock.time += 40; // the last attempt runs into the operation's deadline
  const error = await attempts.pause("127.0.0.1:1", noAnswer, false).then(
    () => assert.fail("the deadline passed: pause must throw"),
    (e: unknown) => e,
  );
  assert.match(String(error), /disk is full/);
  // An endpoint that never answered anything is still reported as such.
  const silent = attemptsOn(clock, "get", 10);
  clock.time += 20;
  await assert.rejects(
    silent.pause("127.0.0.1:2", noAnswer, false),
    /no answer before the deadline/,
  );
});
