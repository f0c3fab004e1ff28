/**
 * The bound on a client's remembered session results (30k writes without advancing
 * firstIncomplete used to cost a node 66 MiB). Past it the oldest results are
 * forgotten, and exactly-once still holds: a retry of a remembered write gets its
 * original answer, a retry of a forgotten one gets `session_expired` and is never
 * applied again, on the in-memory and the on-disk store alike, across a snapshot and a
 * reopen.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { encodeCommand, type FsmCommand, LmdbStore, MemoryStore } from "../../../src/fsm/index.ts";
import {
  MAX_SESSION_RESULT_BYTES,
  MAX_SESSION_RESULTS,
  type SessionsImage,
} from "../../../src/fsm/sessions.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { applyInBatches } from "../../support/fsm-entries.ts";

const WRITES = 3 * MAX_SESSION_RESULTS;

/** Write `seq` of client "stuck", which never advances firstIncomplete past 1. */
function stuckPut(index: number, seq: number): Entry {
  const command: FsmCommand = {
    op: "put",
    key: `k/${seq}`,
    value: Buffer.from(`v${seq}`),
    session: { clientId: "stuck", sequence: seq, firstIncomplete: 1 },
    timeMs: 1000 + index,
  };
  return { index, term: 1, kind: EntryKind.Normal, data: encodeCommand(command) };
}

function stuckEntries(): Entry[] {
  return Array.from({ length: WRITES }, (_, i) => stuckPut(i + 1, i + 1));
}

function rememberedOf(store: MemoryStore): number[] {
  const image = JSON.parse(Buffer.from(store.snapshot()).toString()) as {
    sessions: SessionsImage;
  };
  const client = image.sessions.clients.find((c) => c.id === "stuck");
  return client?.results.map(([seq]) => seq) ?? [];
}

test("a client that never advances keeps at most MAX_SESSION_RESULTS results; exactly-once holds", () => {
  const store = new MemoryStore();
  applyInBatches(store, stuckEntries());
  const remembered = rememberedOf(store);
  assert.ok(remembered.length <= MAX_SESSION_RESULTS, `${remembered.length} results remembered`);
  assert.ok(
    remembered.length >= MAX_SESSION_RESULTS * 0.75,
    `${remembered.length} results remembered: at most a quarter is forgotten at once`,
  );
  const oldestKept = WRITES - remembered.length + 1;
  assert.equal(Math.min(...remembered), oldestKept, "the oldest went first");

  let index = WRITES;
  const retry = (seq: number) => store.apply(++index, stuckPut(0, seq).data);
  assert.deepEqual(retry(WRITES), { kind: "put", version: 1, index: WRITES }, "original answer");
  assert.deepEqual(retry(oldestKept), { kind: "put", version: 1, index: oldestKept });
  assert.deepEqual(retry(1), { kind: "session_expired" }, "forgotten: never applied twice");
  assert.deepEqual(retry(oldestKept - 1), { kind: "session_expired" });
  for (const seq of [1, oldestKept - 1, oldestKept, WRITES])
    assert.equal(store.get(`k/${seq}`)?.version, 1, `k/${seq} was applied once`);
  assert.deepEqual(
    store.apply(++index, stuckPut(0, WRITES + 1).data),
    { kind: "put", version: 1, index },
    "new writes of the client still apply",
  );
});

test("results that carry text are bounded by bytes too", () => {
  const store = new MemoryStore();
  const longId = "u".repeat(2000);
  for (let seq = 1; seq <= 400; seq++) {
    // A commit of an upload that holds nothing: refused, with a reason quoting the id.
    const result = store.apply(
      seq,
      encodeCommand({
        op: "commit_upload",
        uploadId: `${longId}${seq}`,
        key: "f",
        size: 1,
        sha256: new Uint8Array(32),
        chunks: 1,
        session: { clientId: "stuck", sequence: seq, firstIncomplete: 1 },
        timeMs: 1000,
      }),
    );
    assert.equal(result.kind, "invalid");
  }
  const remembered = rememberedOf(store).length;
  assert.ok(remembered < 400, `${remembered} results remembered`);
  assert.ok(remembered >= (MAX_SESSION_RESULT_BYTES * 0.75) / 2200, `${remembered} remembered`);
});

test("the bound is the same on disk, across reopen and through a snapshot", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "dfs-session-limits-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const entries = stuckEntries();
  const memory = new MemoryStore();
  let disk = await LmdbStore.open(dir);
  assert.deepEqual(applyInBatches(disk, entries), applyInBatches(memory, entries));
  await disk.close();
  disk = await LmdbStore.open(dir);
  t.after(() => disk.close());
  const restored = new MemoryStore();
  restored.restore(memory.snapshot());
  const next = WRITES + 1;
  const oldestKept = Math.min(...rememberedOf(memory));
  assert.ok(oldestKept > WRITES - MAX_SESSION_RESULTS, `oldest kept ${oldestKept}`);
  const retries = [1, oldestKept - 1, oldestKept, WRITES];
  const tail = retries.map((seq, i) => ({ ...stuckPut(next + i, seq), index: next + i }));
  const fromDisk = disk.applyEntries(tail);
  assert.deepEqual(fromDisk, memory.applyEntries(tail));
  assert.deepEqual(fromDisk, restored.applyEntries(tail));
  assert.deepEqual(
    fromDisk.map((r) => r.kind),
    ["session_expired", "session_expired", "put", "put"],
  );
  assert.equal(disk.digest(), memory.digest());
});
