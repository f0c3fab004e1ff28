/**
 * Online defrag of a real LmdbStore (src/fsm/defrag.ts, docs/backup.md#giving-disk-space-back):
 * the store file shrinks after deletes while entries keep being applied and flushed
 * during the defrag; a view opened before it reads on after the swap. Then crash safety,
 * step by step: at each defrag step the data dir is copied as a crash there would leave
 * it (with every commit, and with the store's `flushed()` promises recorded up to that
 * moment); the copy is opened as a node would open it after a crash, the entries after its
 * applied index are replayed (the WAL's job), and the result must equal, record for
 * record, a store that applied every entry without a crash. The copy's applied index must
 * never be behind an index a `flushed()` had already vouched for (the WAL could have been
 * compacted up to it).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, statSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { DirtyRecords, trackWrites } from "../../../src/fsm/defrag.ts";
import {
  DEFRAG_STEPS,
  type DefragStep,
  encodeCommand,
  type FsmCommand,
  LmdbStore,
} from "../../../src/fsm/index.ts";
import { openEnvironment } from "../../../src/fsm/lmdb-env.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { writeChunkBlobs } from "../../support/fsm-entries.ts";
import { seededRandom } from "../../support/rng.ts";

/** Small write-behind batches, so LMDB sees many commits while the defrag runs. */
const WRITE_BEHIND = { entries: 16, bytes: 128 * 1024, ms: 0 };

const CHUNK_BYTES = 32 * 1024;

async function tempDir(t: TestContext, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `dfs-defrag-${name}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A reproducible stream: `files` uploads of a few 32 KiB chunks each, then most of them
 * deleted (the space a defrag gives back), then `tail` mixed puts, uploads and deletes
 * (what keeps being applied during the defrag).
 */
function entries(seed: number, files: number, tail: number): Entry[] {
  const rnd = seededRandom(seed);
  const out: Entry[] = [];
  const push = (command: FsmCommand) =>
    out.push({
      index: out.length + 1,
      term: 1,
      kind: EntryKind.Normal,
      data: encodeCommand({ ...command, timeMs: 1_000_000 + out.length }),
    });
  const upload = (name: string, chunks: number) => {
    for (let seq = 0; seq < chunks; seq++) {
      const data = Buffer.alloc(CHUNK_BYTES, (seq + name.length) & 0xff);
      data.write(`${name}:${seq}`);
      push({ op: "upload_chunk", uploadId: uploadIdOf(name), seq, data });
    }
    push({
      op: "commit_upload",
      uploadId: uploadIdOf(name),
      key: `files/${name}`,
      size: chunks * CHUNK_BYTES,
      sha256: createHash("sha256").update(name).digest(),
      chunks,
    });
  };
  for (let i = 0; i < files; i++) upload(`f${i}`, 2 + Math.floor(rnd() * 4));
  for (let i = 0; i < files; i++) if (i % 10 !== 0) push({ op: "delete", key: `files/f${i}` });
  for (let i = 0; i < tail; i++) {
    const roll = rnd();
    if (roll < 0.5) push({ op: "put", key: `k/${i % 40}`, value: Buffer.from(`v${i}`) });
    else if (roll < 0.6) upload(`t${i}`, 1 + Math.floor(rnd() * 2));
    else if (roll < 0.8) push({ op: "delete", key: `k/${Math.floor(rnd() * 40)}` });
    else
      push({
        op: "put",
        key: `s/${i % 7}`,
        value: Buffer.from(`session write ${i}`),
        session: { clientId: `c${i % 3}`, sequence: i + 1, firstIncomplete: i + 1 },
      });
  }
  return out;
}

/** A blob-valid upload id (32 hex digits) for the file `name`. */
function uploadIdOf(name: string): string {
  return createHash("md5").update(name).digest("hex");
}

/** SHA-256 over the store's whole image (every record), as a snapshot would stream it. */
async function imageHash(store: LmdbStore): Promise<string> {
  await store.flushed();
  const source = store.openSnapshot();
  const hash = createHash("sha256");
  try {
    for await (const chunk of source.chunks()) hash.update(chunk);
  } finally {
    source.close();
  }
  return hash.digest("hex");
}

/** Applies `list` in batches of 5, yielding to the loop between batches (the defrag runs). */
async function applySlowly(store: LmdbStore, list: readonly Entry[]): Promise<void> {
  for (let i = 0; i < list.length; i += 5) {
    await writeChunkBlobs(store.blobs, list.slice(i, i + 5));
    store.applyEntries(list.slice(i, i + 5));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test("defrag shrinks the store file while entries keep being applied, and a view reads on", async (t) => {
  const dir = await tempDir(t, "shrink");
  const all = entries(7, 300, 300);
  const split = all.length - 300;
  const store = await LmdbStore.open(dir, WRITE_BEHIND);
  await applySlowly(store, all.slice(0, split)); // the uploads reach LMDB before their deletes
  await store.flushed();
  const file = join(dir, "state", "store.mdb");
  const peak = statSync(file).size;
  const view = store.openView();
  const kept = view.get("files/f0");
  assert.ok(kept?.file !== undefined, "a file that survives the deletes");
  const flushes: Promise<void>[] = [];
  const running = store.defrag();
  await assert.rejects(
    Promise.resolve().then(() => store.defrag()),
    /a defrag is already running/,
  );
  const applying = (async () => {
    for (let i = split; i < all.length; i += 50) {
      await applySlowly(store, all.slice(i, i + 50));
      flushes.push(store.flushed());
    }
  })();
  const report = await running;
  await applying;
  await Promise.all(flushes);
  // The view opened before the defrag still reads the old store's pages.
  const chunk = await view.blobs.read(
    kept.file.uploadId,
    0,
    view.chunk(kept.file.uploadId, 0).length,
  );
  assert.equal(chunk.subarray(0, 4).toString(), "f0:0");
  view.close();
  const after = statSync(file).size;
  process.stdout.write(
    `# store file ${peak} bytes at its peak, ${report.bytesBefore} before, ${after} after the defrag (${report.durationMs.toFixed(0)} ms)\n`,
  );
  assert.equal(report.bytesBefore, peak);
  // Chunks' bytes are in blobs (the store keeps their length and CRC), so the records a
  // delete frees are small: the file still shrinks, by less than when it held the bytes.
  assert.ok(after < peak * 0.75, `store file ${after} bytes, peak ${peak}`);
  const twin = await LmdbStore.open(await tempDir(t, "twin"), WRITE_BEHIND);
  await writeChunkBlobs(twin.blobs, all);
  twin.applyEntries(all);
  assert.equal(
    await imageHash(store),
    await imageHash(twin),
    "same records as a store never defragged",
  );
  const again = await store.defrag(); // the copy is now the store a second defrag copies
  assert.equal(again.bytesBefore, after);
  assert.ok(again.bytesAfter <= after, `${again.bytesAfter} bytes after a second defrag`);
  assert.equal(await imageHash(store), await imageHash(twin), "and after a second defrag");
  await store.close();
  const reopened = await LmdbStore.open(dir, WRITE_BEHIND);
  assert.equal(reopened.appliedIndex, all.length);
  assert.equal(await imageHash(reopened), await imageHash(twin), "and after a reopen");
  assert.deepEqual((await readdir(dir)).sort(), ["blobs", "state"], "no leftover directory");
  await reopened.close();
  await twin.close();
});

for (const step of DEFRAG_STEPS) {
  test(`a crash at defrag step '${step}' leaves a store that replays to the same records`, async (t) => {
    const dir = await tempDir(t, "live");
    const crashed = await tempDir(t, "crash");
    const all = entries(11, 120, 400);
    const split = all.length - 400;
    const store = await LmdbStore.open(dir, WRITE_BEHIND);
    await applySlowly(store, all.slice(0, split));
    let vouched = 0; // the highest index a resolved flushed() made durable
    let atCrash: { applied: number; vouched: number } | null = null;
    store.afterDefragStep = (reached: DefragStep) => {
      if (reached !== step || atCrash !== null) return;
      cpSync(dir, join(crashed, "d"), { recursive: true });
      atCrash = { applied: store.appliedIndex, vouched };
    };
    // Every batch is followed by a flush whose promise vouches for the index it covered,
    // as the node's snapshot does before compacting its WAL: some land inside the swap.
    const applying = (async () => {
      for (let i = split; i < all.length; i += 5) {
        await writeChunkBlobs(store.blobs, all.slice(i, i + 5));
        store.applyEntries(all.slice(i, i + 5));
        const index = store.appliedIndex;
        void store.flushed().then(() => {
          vouched = Math.max(vouched, index);
        });
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await store.defrag();
    await applying;
    assert.ok(atCrash !== null, `step ${step} was reached`);
    const at = atCrash as { applied: number; vouched: number };
    const twin = await LmdbStore.open(await tempDir(t, "twin"), WRITE_BEHIND);
    await writeChunkBlobs(twin.blobs, all);
    twin.applyEntries(all);
    const expected = await imageHash(twin);
    assert.equal(await imageHash(store), expected, "the live store, after the defrag");
    await store.close();
    // The node restarts on the data dir as the crash left it and replays its WAL.
    const restarted = await LmdbStore.open(join(crashed, "d"), WRITE_BEHIND);
    const from = restarted.appliedIndex;
    assert.ok(
      from >= at.vouched,
      `store at ${from} after the crash, but flushed() had vouched for ${at.vouched}`,
    );
    assert.ok(from <= at.applied, `store at ${from}, beyond what was applied (${at.applied})`);
    await writeChunkBlobs(restarted.blobs, all.slice(from));
    restarted.applyEntries(all.slice(from));
    assert.equal(await imageHash(restarted), expected, "the same records as the twin");
    assert.deepEqual(
      (await readdir(join(crashed, "d"))).sort(),
      ["blobs", "state"],
      "leftovers of the interrupted defrag are gone",
    );
    process.stdout.write(
      `# step ${step}: restarted at ${from} (applied ${at.applied}, vouched ${at.vouched}); replayed ${all.length - from}\n`,
    );
    await restarted.close();
    await twin.close();
  });
}

test("the catch-up copies a bounded turn at a time: 256 records or 4 MiB, at least one", () => {
  const dirty = new DirtyRecords();
  for (let i = 0; i < 10; i++) dirty.add(`c${i}`, 1024 * 1024); // ten 1 MiB chunks
  assert.equal(dirty.fitsOneTurn, false);
  assert.deepEqual(dirty.takeTurn(), ["c0", "c1", "c2"], "3 MiB and their overhead: under 4 MiB");
  dirty.add("c0", 0); // written again (removed): waits again
  assert.equal(dirty.count, 8);
  for (let i = 0; i < 300; i++) dirty.add(`v${i}`, 10);
  const turns: number[] = [];
  while (!dirty.fitsOneTurn) turns.push(dirty.takeTurn().length);
  assert.ok(
    turns.every((n) => n >= 1 && n <= 256),
    `turns ${turns}`,
  );
  const big = new DirtyRecords();
  big.add("huge", 8 * 1024 * 1024);
  assert.deepEqual(big.takeTurn(), ["huge"], "a record over the budget still goes, alone");
  assert.equal(big.count, 0);
  assert.equal(big.fitsOneTurn, true);
});

test("every write to the environment is recorded while tracked, whatever wrote it", async (t) => {
  const db = openEnvironment(await tempDir(t, "track"));
  t.after(() => db.close());
  db.putSync("before", Buffer.from("x"));
  const dirty = new DirtyRecords();
  const untrack = trackWrites(db, dirty);
  db.transactionSync(() => {
    db.putSync("a/1", Buffer.alloc(10));
    db.removeSync("before");
  });
  db.putSync("b/any-new-record-kind", Buffer.alloc(3));
  await db.put("c/async", Buffer.alloc(5));
  untrack();
  db.putSync("after", Buffer.from("y"));
  assert.deepEqual(dirty.drain().sort(), ["a/1", "b/any-new-record-kind", "before", "c/async"]);
  assert.equal(db.get("after")?.toString(), "y", "writes work after untracking");
  assert.equal(Object.hasOwn(db, "put"), false, "the environment's own methods are back");
});
