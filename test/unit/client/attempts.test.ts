import assert from "node:assert/strict";
import { test } from "node:test";
import { DfsError } from "../../../src/api/errors.ts";
import { Attempts } from "../../../src/client/attempts.ts";
import { NO_ANSWER } from "../../../src/client/grpc-errors.ts";
import {
  BACKOFF_MAX_MS,
  ELECTION_POLL_MS,
  FAST_RETRY_WINDOW_MS,
  sleep,
} from "../../../src/client/retry.ts";

const down = new DfsError("unavailable", "connect ECONNREFUSED");
const electing = new DfsError("not_leader", "not the leader; no leader known");
/**
 * Slack for late timers on a busy machine; kept below 100 ms so that the old pacing (a
 * 5th backoff step waits 200–400 ms) still fails the bound.
 */
const SLACK_MS = 90;

/** Milliseconds one pause takes. */
async function timedPause(attempts: Attempts, error: DfsError): Promise<number> {
  const started = performance.now();
  await attempts.pause("127.0.0.1:1", error, false);
  return performance.now() - started;
}

test("right after a failure (a leader just died) every retry comes within the election poll pace", async () => {
  const attempts = new Attempts("put", 60_000);
  for (let i = 0; i < 8; i++) {
    const waited = await timedPause(attempts, i % 2 === 0 ? down : electing);
    assert.ok(waited < ELECTION_POLL_MS + SLACK_MS, `attempt ${i} waited ${waited} ms`);
  }
});

test("after the fast window a down node gets the full backoff, an election still the poll pace", async () => {
  let clock = 0;
  const attempts = new Attempts("put", 60_000, () => clock);
  await timedPause(attempts, down); // first failure: the window starts
  clock += FAST_RETRY_WINDOW_MS + 1;
  // Grow the general backoff to its cap (25, 50, 100, 200, 400, 500 ms ceilings).
  for (let i = 0; i < 5; i++) await timedPause(attempts, down);
  const grown = await timedPause(attempts, down);
  assert.ok(grown >= BACKOFF_MAX_MS / 2 - 5, `general backoff ${grown} ms should be >= 250`);
  for (let i = 0; i < 3; i++) {
    const waited = await timedPause(attempts, electing);
    assert.ok(waited < ELECTION_POLL_MS + SLACK_MS, `waited ${waited} ms while an election ran`);
  }
});

test("the final error keeps an endpoint's last answer when the deadline cut the next attempt short", async () => {
  const full = new DfsError("unavailable", "this node's disk is full: writes are refused");
  const noAnswer = new DfsError("unavailable", NO_ANSWER);
  const attempts = new Attempts("get", 30);
  await attempts.pause("127.0.0.1:1", full, false).catch(() => {});
  await sleep(40); // the last attempt runs into the operation's deadline
  const error = await attempts.pause("127.0.0.1:1", noAnswer, false).then(
    () => assert.fail("the deadline passed: pause must throw"),
    (e: unknown) => e,
  );
  assert.match(String(error), /disk is full/);
  // An endpoint that never answered anything is still reported as such.
  const silent = new Attempts("get", 10);
  await sleep(20);
  await assert.rejects(
    silent.pause("127.0.0.1:2", noAnswer, false),
    /no answer before the deadline/,
  );
});
