/**
 * The on-disk store applies into memory and writes to LMDB behind (pending-writes.ts).
 * These tests hold it to two promises: every read — a get, a view held across later
 * writes, a listing, a file's chunks — sees exactly what the in-memory reference store
 * sees, wherever the records are; and a crash that loses what was not yet written loses
 * nothing, because replaying the log after the store's durable applied index rebuilds
 * the same state with the same results.
 */
import assert from "node:assert/strict";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { LmdbStore, MemoryStore, type StateView } from "../../../src/fsm/index.ts";
import type { Entry } from "../../../src/raft/types.ts";
import { applyInBatches, randomEntries, uploadEntries } from "../../support/fsm-entries.ts";

async function dataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dfs-wb-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Write-behind only by entry count, so where it happens is reproducible. */
function everyEntries(entries: number) {
  return { entries, bytes: Number.POSITIVE_INFINITY, ms: Number.POSITIVE_INFINITY };
}

/** Write-behind only by bytes (as soon as a batch fills the generation). */
function everyBytes(bytes: number) {
  return { entries: Number.POSITIVE_INFINITY, bytes, ms: Number.POSITIVE_INFINITY };
}

/** One key as a client reads it through a view, as plain data. */
function readKey(view: StateView, key: string): object {
  const v = view.get(key);
  if (v === undefined) throw new Error(`listed key ${key} cannot be read`);
  const chunks = [];
  for (let seq = 0; seq < (v.file?.count ?? 0); seq++)
    chunks.push(view.chunk(v.file?.uploadId as string, seq));
  const value = Buffer.from(v.value).toString("hex");
  return { key, value, version: v.version, modIndex: v.modIndex, size: v.size, chunks };
}

/**
 * Everything a client can read through a view, in listing order (so a key listed twice or
 * out of order shows), plus listings that start mid-way and under a prefix.
 */
function readAll(view: StateView): object {
  return {
    all: [...view.keys("", "")].map((key) => readKey(view, key)),
    fromK1: [...view.keys("k1", "")],
    underK1: [...view.keys("k1", "k1")],
    fromF2: [...view.keys("f/2", "f/")],
  };
}

function withView<T>(store: { openView(): StateView }, read: (view: StateView) => T): T {
  const view = store.openView();
  try {
    return read(view);
  } finally {
    view.close();
  }
}

const streams: [string, (seed: number) => Entry[]][] = [
  ["puts, deletes and sessions", (seed) => randomEntries(seed, 400)],
  ["uploads, files and subtree deletes", (seed) => uploadEntries(seed, 400)],
];

for (const [name, stream] of streams) {
  test(`${name}: reads match the in-memory store after every batch, wherever the records are (6 seeds)`, async (t) => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      // Odd seeds write behind every few entries, even ones when a few KiB are pending.
      const limits = seed % 2 ? everyEntries(1 + ((seed * 5) % 13)) : everyBytes(seed * 700);
      const limit = seed % 2 ? `every ${limits.entries} entries` : `at ${limits.bytes} bytes`;
      const disk = await LmdbStore.open(await dataDir(t), limits);
      const memory = new MemoryStore();
      const entries = stream(seed);
      let held: { view: StateView; expected: object; until: number } | null = null;
      for (let i = 0, batch = 0; i < entries.length; i += 7, batch++) {
        const slice = entries.slice(i, i + 7);
        const at = `seed ${seed}, write-behind ${limit}, entries ${i + 1}..${i + slice.length}`;
        assert.deepEqual(disk.applyEntries(slice), memory.applyEntries(slice), at);
        assert.deepEqual(withView(disk, readAll), withView(memory, readAll), `${at}: views differ`);
        for (const key of withView(memory, (view) => [...view.keys("", "")]))
          assert.equal(disk.get(key)?.version, memory.get(key)?.version, `${at}: get ${key}`);
        if (held !== null && batch === held.until) {
          assert.deepEqual(readAll(held.view), held.expected, `${at}: a held view changed`);
          held.view.close();
          held = null;
        }
        if (held === null && batch % 5 === 0) {
          // Held across the next three batches (and the write-behinds among them).
          held = { view: disk.openView(), expected: withView(memory, readAll), until: batch + 3 };
        }
      }
      held?.view.close();
      assert.equal(disk.digest(), memory.digest(), `seed ${seed}`);
      await disk.close();
    }
  });
}

test("a crash loses only what was not written behind, and replaying the log after the store's applied index rebuilds the same state and results", async (t) => {
  for (const seed of [11, 12, 13]) {
    const dir = await dataDir(t);
    const entries = randomEntries(seed, 437);
    const disk = await LmdbStore.open(dir, everyEntries(50));
    const results = applyInBatches(disk, entries);
    assert.equal(disk.appliedIndex, 437);
    // What a kill -9 leaves: the store's file as LMDB last committed it.
    const crashed = await dataDir(t);
    await cp(join(dir, "state"), join(crashed, "state"), {
      recursive: true,
      filter: (path) => !path.endsWith("-lock"),
    });
    await disk.close();
    const reopened = await LmdbStore.open(crashed);
    const durable = reopened.appliedIndex;
    assert.ok(durable < 437, `seed ${seed}: the store was written behind (at ${durable})`);
    assert.ok(durable >= 437 - 56, `seed ${seed}: at most one generation lost (at ${durable})`);
    const replayed = applyInBatches(reopened, entries.slice(durable));
    assert.deepEqual(replayed, results.slice(durable), `seed ${seed}: replayed results differ`);
    const memory = new MemoryStore();
    applyInBatches(memory, entries);
    assert.equal(reopened.digest(), memory.digest(), `seed ${seed}: state differs`);
    await reopened.close();
  }
});

test("an idle store writes behind once its oldest pending write is due, without another apply", async (t) => {
  const dir = await dataDir(t);
  const limits = { entries: Number.POSITIVE_INFINITY, bytes: Number.POSITIVE_INFINITY, ms: 100 };
  let clock = 0;
  const disk = await LmdbStore.open(dir, limits, () => clock);
  applyInBatches(disk, randomEntries(21, 40));
  const durableIndex = async () => {
    const copy = await dataDir(t);
    await cp(join(dir, "state"), join(copy, "state"), {
      recursive: true,
      filter: (path) => !path.endsWith("-lock"),
    });
    const store = await LmdbStore.open(copy);
    const index = store.appliedIndex;
    await store.close();
    return index;
  };
  clock = 99;
  disk.writeBehindIfDue();
  assert.equal(await durableIndex(), 0, "not yet due: every entry is only in memory");
  clock = 100;
  disk.writeBehindIfDue();
  assert.equal(await durableIndex(), 40, "due: written behind without another apply");
  await disk.close();
});

test("a write-behind that fails (a full disk) keeps its session changes for the retry", async (t) => {
  const dir = await dataDir(t);
  const limits = { entries: Number.POSITIVE_INFINITY, bytes: Number.POSITIVE_INFINITY, ms: 100 };
  let clock = 0;
  const disk = await LmdbStore.open(dir, limits, () => clock);
  const entries = randomEntries(31, 60);
  const results = applyInBatches(disk, entries);
  // the store's LMDB handle refuses one transaction, as a full disk does, then recovers
  const db = (disk as unknown as { db: { transactionSync(f: () => void): void } }).db;
  const refused = t.mock.method(
    db,
    "transactionSync",
    () => {
      throw Object.assign(new Error("MDB_MAP_FULL"), { code: "ENOSPC" });
    },
    { times: 1 },
  );
  clock = 100;
  disk.writeBehindIfDue();
  assert.equal(refused.mock.callCount(), 1, "the first write-behind was refused");
  disk.writeBehindIfDue(); // the retry: LMDB as it is
  await disk.close();
  // Reopened, the store answers every command again as a duplicate, from the sessions the
  // retry wrote: exactly as a store that never failed.
  const reopened = await LmdbStore.open(dir);
  assert.equal(reopened.appliedIndex, 60, "the retry wrote the whole generation");
  const again = entries.map((e, i) => ({ ...e, index: 61 + i }));
  const memory = new MemoryStore();
  assert.deepEqual(applyInBatches(memory, entries), results);
  assert.deepEqual(applyInBatches(reopened, again), applyInBatches(memory, again));
  assert.equal(reopened.digest(), memory.digest());
  await reopened.close();
});
