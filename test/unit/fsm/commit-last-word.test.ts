/**
 * A commit_upload is the last word on its upload (src/fsm/apply-command.ts): whatever it
 * answers, its upload is gone afterwards, and its blob dead at the commit's index. A
 * large put is a one-chunk upload (src/server/blob-put.ts), so a retried put whose first
 * try already applied must free the retry's blob, not leave it to the 15-minute sweep.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type ApplyResult,
  encodeCommand,
  type FsmCommand,
  MemoryStore,
} from "../../../src/fsm/index.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { blobPutCommands } from "../../../src/server/blob-put.ts";

const SESSION = { clientId: "c1", sequence: 1, firstIncomplete: 1 };

function entries(from: number, commands: readonly FsmCommand[]): Entry[] {
  return commands.map((command, i) => ({
    index: from + i,
    term: 1,
    kind: EntryKind.Normal,
    data: encodeCommand({ ...command, timeMs: 1 }),
  }));
}

function putAs(id: string, value: string, extra: { ifVersion?: number } = {}): FsmCommand[] {
  const put = { key: "k", value: Buffer.from(value), metadata: {}, session: SESSION, ...extra };
  return [...blobPutCommands(put, id)];
}

/** Whether the upload still takes its chunk 1 (it is gone if chunk 1 is out of order). */
function uploadLives(store: MemoryStore, id: string, index: number): boolean {
  const next: FsmCommand = { op: "upload_chunk", uploadId: id, seq: 1, data: Buffer.from("z") };
  return store.applyEntries(entries(index, [next]))[0]?.kind === "chunk";
}

function deadIds(store: MemoryStore): string[] {
  return store.space
    .deadBlobs()
    .map(([id]) => id)
    .sort();
}

test("a retried blob put applies once and frees the retry's upload at its commit", () => {
  const store = new MemoryStore();
  const first = store.applyEntries(entries(1, putAs("a".repeat(32), "one")));
  assert.deepEqual(first[1], { kind: "put", version: 1, index: 2 });
  const retry = store.applyEntries(entries(3, putAs("b".repeat(32), "two")));
  assert.deepEqual(retry[1], first[1], "the duplicate answers the first result");
  assert.equal(store.openView().get("k")?.file?.uploadId, "a".repeat(32), "value unchanged");
  assert.equal(store.openView().get("k")?.version, 1);
  assert.deepEqual(deadIds(store), ["b".repeat(32)], "the retry's blob is dead");
  assert.equal(store.space.deadBlobs()[0]?.[1].index, 4, "dead at the commit's index");
  assert.equal(uploadLives(store, "b".repeat(32), 5), false, "no upload left behind");
});

test("a chunk applied without its commit keeps its upload (the control for uploadLives)", () => {
  const store = new MemoryStore();
  const [chunk] = putAs("e".repeat(32), "abc");
  store.applyEntries(entries(1, [chunk as FsmCommand]));
  assert.equal(uploadLives(store, "e".repeat(32), 2), true);
  assert.deepEqual(deadIds(store), []);
});

test("a refused commit (compare-and-set) leaves no upload either", () => {
  const store = new MemoryStore();
  const results: ApplyResult[] = store.applyEntries(
    entries(1, putAs("c".repeat(32), "x", { ifVersion: 3 })),
  );
  assert.deepEqual(results[1], { kind: "precondition_failed", currentVersion: 0 });
  assert.equal(store.openView().get("k"), undefined);
  assert.deepEqual(deadIds(store), ["c".repeat(32)]);
  assert.equal(uploadLives(store, "c".repeat(32), 3), false);
});

test("a commit that does not match its upload frees the upload too", () => {
  const store = new MemoryStore();
  const [chunk, commit] = putAs("d".repeat(32), "abc");
  const wrong = { ...(commit as FsmCommand & { op: "commit_upload" }), size: 4 };
  const results = store.applyEntries(entries(1, [chunk as FsmCommand, wrong]));
  assert.equal(results[1]?.kind, "invalid");
  assert.deepEqual(deadIds(store), ["d".repeat(32)]);
  assert.equal(uploadLives(store, "d".repeat(32), 3), false);
});
