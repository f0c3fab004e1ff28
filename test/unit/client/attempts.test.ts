import assert from "node:assert/strict";
import { test } from "node:test";
import { DfsError } from "../../../src/api/errors.ts";
import { Attempts } from "../../../src/client/attempts.ts";
import { BACKOFF_MAX_MS, ELECTION_POLL_MS } from "../../../src/client/retry.ts";

/** Milliseconds one pause takes. */
async function timedPause(attempts: Attempts, error: DfsError): Promise<number> {
  const started = performance.now();
  await attempts.pause("127.0.0.1:1", error, false);
  return performance.now() - started;
}

test("while a node knows no leader the client polls at the election pace, not the grown backoff", async () => {
  const attempts = new Attempts("put", 60_000);
  const down = new DfsError("unavailable", "connect ECONNREFUSED");
  // Grow the general backoff to its cap first (25, 50, 100, 200, 400, 500 ms ceilings).
  for (let i = 0; i < 6; i++) await timedPause(attempts, down);
  const grown = await timedPause(attempts, down);
  assert.ok(grown >= BACKOFF_MAX_MS / 2 - 5, `general backoff ${grown} ms should be >= 250`);

  const electing = new DfsError("not_leader", "not the leader; no leader known");
  for (let i = 0; i < 3; i++) {
    const waited = await timedPause(attempts, electing);
    assert.ok(waited < ELECTION_POLL_MS + 50, `waited ${waited} ms while an election ran`);
  }
});
