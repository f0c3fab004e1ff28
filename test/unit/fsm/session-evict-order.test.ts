/**
 * When a client's remembered results pass their bound, the lowest sequence numbers go
 * first even when the writes were applied out of order (a client with many writes in
 * flight: retries and several connections commit them in any order), so the answers kept
 * are always the newest (found by mutation testing of SessionTable.evict,
 * docs/mutation/fsm-and-storage.md). The order is drawn from a seeded Rng.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeCommand, MemoryStore } from "../../../src/fsm/index.ts";
import { MAX_SESSION_RESULTS, type SessionsImage } from "../../../src/fsm/sessions.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { applyInBatches } from "../../support/fsm-entries.ts";
import { Rng } from "../../support/rng.ts";

const SEED = 25;

test(`out-of-order writes past the bound forget the lowest sequences (seed ${SEED})`, () => {
  const rng = new Rng(SEED);
  const seqs = Array.from({ length: MAX_SESSION_RESULTS + 50 }, (_, i) => i + 1);
  for (let i = seqs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [seqs[i], seqs[j]] = [seqs[j] as number, seqs[i] as number];
  }
  const entries: Entry[] = seqs.map((seq, i) => ({
    index: i + 1,
    term: 1,
    kind: EntryKind.Normal,
    data: encodeCommand({
      op: "put",
      key: `k/${seq}`,
      value: Buffer.from(`v${seq}`),
      session: { clientId: "busy", sequence: seq, firstIncomplete: 1 },
      timeMs: 1000 + i,
    }),
  }));
  const store = new MemoryStore();
  applyInBatches(store, entries);
  const image = JSON.parse(Buffer.from(store.snapshot()).toString()) as {
    sessions: SessionsImage;
  };
  const kept = (image.sessions.clients.find((c) => c.id === "busy")?.results ?? []).map(
    ([seq]) => seq,
  );
  assert.ok(kept.length < seqs.length, "the bound was passed: some results were forgotten");
  const lowestKept = Math.min(...kept);
  const forgotten = seqs.filter((s) => !kept.includes(s));
  assert.ok(
    forgotten.every((s) => s < lowestKept),
    `forgotten ${forgotten.filter((s) => s >= lowestKept).slice(0, 5)} at or above the lowest kept ${lowestKept} (replay: node --import tsx --test test/unit/fsm/session-evict-order.test.ts)`,
  );
  assert.ok(kept.includes(Math.max(...seqs)), "the newest is kept");
  assert.ok(
    kept.length >= MAX_SESSION_RESULTS * 0.75 && kept.length <= MAX_SESSION_RESULTS,
    `${kept.length} results kept: an eviction forgets the lowest quarter, no more`,
  );
});
