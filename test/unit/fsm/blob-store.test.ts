/**
 * The state machine's side of the blob store (docs/architecture.md#the-blob-store): chunk
 * records of (length, CRC-32) and dead-blob records; both chunk forms applied alike on
 * both stores; reads from the blobs, checked; the unlink rules (a)-(d); the start-up
 * check (orphans removed, a missing or short blob refused, named); the move of an older
 * store's chunk records into blobs; snapshot transfer and backup restore with files.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { crc32 } from "node:zlib";
import { FILE_CHUNK_BYTES, StartupError } from "../../../src/api/index.ts";
import {
  decodeChunkFacts,
  decodeDeadBlob,
  encodeChunkFacts,
  encodeDeadBlob,
  parseChunkKey,
} from "../../../src/fsm/blob-records.ts";
import { BlobSpace, DEAD_AGE_DUE_MS } from "../../../src/fsm/blob-space.ts";
import {
  buildStoreFromBackup,
  encodeCommand,
  type FsmCommand,
  ImageTally,
  LmdbStore,
  MemoryStore,
  readFileChunks,
  type StateMachine,
  saveBackupFile,
} from "../../../src/fsm/index.ts";
import { openEnvironment } from "../../../src/fsm/lmdb-env.ts";
import { chunkKey, encodeChunk, RecordCorruptionError } from "../../../src/fsm/lmdb-records.ts";
import { MemoryBlobIo } from "../../../src/fsm/memory-blob-io.ts";
import type { SnapshotSaveResponse } from "../../../src/gen/dfs.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { writeChunkBlobs } from "../../support/fsm-entries.ts";

const ID_A = "a".repeat(32);
const ID_B = "b".repeat(32);
const ID_C = "c".repeat(32);

async function dataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dfs-blobs-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function entry(index: number, command: FsmCommand): Entry {
  return { index, term: 1, kind: EntryKind.Normal, data: encodeCommand(command) };
}

/** A file's bytes: `chunks` 1 MiB chunks and a short last one, distinct per upload. */
function fileBytes(id: string, size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4096)
    data.writeUInt32LE((i * 2654435761 + id.charCodeAt(0)) >>> 0, i);
  return data;
}

/** Entries uploading `data` as `key` under `id` from `index`, in full or stored form. */
function uploadEntries(
  index: number,
  id: string,
  key: string,
  data: Buffer,
  form: "full" | "stored",
): Entry[] {
  const out: Entry[] = [];
  const chunks = Math.ceil(data.length / FILE_CHUNK_BYTES);
  for (let seq = 0; seq < chunks; seq++) {
    const bytes = data.subarray(seq * FILE_CHUNK_BYTES, (seq + 1) * FILE_CHUNK_BYTES);
    const command: FsmCommand =
      form === "full"
        ? { op: "upload_chunk", uploadId: id, seq, data: bytes, timeMs: 1 }
        : {
            op: "upload_chunk",
            uploadId: id,
            seq,
            data: new Uint8Array(0),
            stored: { length: bytes.length, crc32: crc32(bytes) },
            timeMs: 1,
          };
    out.push(entry(index + seq, command));
  }
  const sha256 = createHash("sha256").update(data).digest();
  out.push(
    entry(index + chunks, {
      op: "commit_upload",
      uploadId: id,
      key,
      size: data.length,
      sha256,
      chunks,
      timeMs: 1,
    }),
  );
  return out;
}

/** The bytes of `key` read through a view, from its blob. */
async function readAll(store: StateMachine, key: string): Promise<Buffer> {
  const view = store.openView();
  try {
    const v = view.get(key);
    if (v?.file === undefined) throw new Error(`${key} is not a file`);
    const parts: Buffer[] = [];
    for await (const c of readFileChunks(view, v, 0, v.file.count - 1)) parts.push(c);
    return Buffer.concat(parts);
  } finally {
    view.close();
  }
}

test("chunk and dead-blob records round-trip, and a flipped bit is an error", () => {
  const key = `b${ID_A}/00000003`;
  const facts = { length: 123456, crc32: 0xdeadbeef };
  const raw = encodeChunkFacts(key, facts);
  assert.deepEqual(decodeChunkFacts(key, raw), facts);
  assert.deepEqual(parseChunkKey(key), { uploadId: ID_A, seq: 3 });
  assert.deepEqual(parseChunkKey(chunkKey(ID_A, 17)), { uploadId: ID_A, seq: 17 });
  assert.equal(parseChunkKey("vsomething"), null);
  const flipped = Buffer.from(raw);
  flipped[6] = (flipped[6] as number) ^ 1;
  assert.throws(() => decodeChunkFacts(key, flipped), RecordCorruptionError);
  const dead = { index: 2 ** 40 + 5, bytes: 5 * 2 ** 30 };
  const dk = `d${ID_A}`;
  assert.deepEqual(decodeDeadBlob(dk, encodeDeadBlob(dk, dead)), dead);
  assert.throws(() => decodeDeadBlob(`d${ID_B}`, encodeDeadBlob(dk, dead)), RecordCorruptionError);
});

test("both chunk forms apply alike on both stores; the bytes read back from the blob", async (t) => {
  const data = fileBytes(ID_A, 2 * FILE_CHUNK_BYTES + 777);
  const digests: string[] = [];
  for (const form of ["full", "stored"] as const) {
    const entries = uploadEntries(1, ID_A, "f", data, form);
    const memory = new MemoryStore();
    await memory.blobs.write(ID_A, 0, data);
    memory.applyEntries(entries);
    const disk = await LmdbStore.open(await dataDir(t));
    await disk.blobs.write(ID_A, 0, data);
    disk.applyEntries(entries);
    assert.equal(disk.digest(), memory.digest(), `${form}: the stores agree`);
    assert.deepEqual(await readAll(memory, "f"), data, `${form}: memory store reads`);
    assert.deepEqual(await readAll(disk, "f"), data, `${form}: LMDB store reads`);
    await disk.flushed();
    assert.deepEqual(await readAll(disk, "f"), data, `${form}: from LMDB after the write-behind`);
    digests.push(disk.digest());
    await disk.close();
  }
  assert.equal(digests[0], digests[1], "the forms make the same state");
});

test("a read checks every chunk against its record: a flipped byte in the blob is an error", async (t) => {
  const data = fileBytes(ID_A, FILE_CHUNK_BYTES + 10);
  const store = await LmdbStore.open(await dataDir(t));
  t.after(() => store.close());
  await store.blobs.write(ID_A, 0, data);
  store.applyEntries(uploadEntries(1, ID_A, "f", data, "stored"));
  await store.blobs.write(
    ID_A,
    FILE_CHUNK_BYTES + 3,
    Buffer.from([data[FILE_CHUNK_BYTES + 3] ^ 1]),
  );
  await assert.rejects(readAll(store, "f"), /chunk 1 of upload a+: CRC mismatch/);
  await truncate(join((store.blobs as unknown as { dir: string }).dir, ID_A), 100);
  await assert.rejects(readAll(store, "f"), /cannot read chunks 0-1/);
});

test("unlink rules: durable (a), compacted (b), no pin (c), no earlier stream (d)", async () => {
  const blobs = new MemoryBlobIo();
  let now = 0;
  const space = new BlobSpace(blobs, () => now);
  await blobs.write(ID_A, 0, Buffer.from("x"));
  space.died(ID_A, 10, 1);
  assert.equal(space.dueIndex(), 0, "not due before it has been dead a while");
  now += DEAD_AGE_DUE_MS;
  assert.equal(space.dueIndex(), 10, "due after 5 s");
  assert.deepEqual(await space.reap(10), [], "(a) the store is not durable past its death");
  space.noteDurable(10);
  assert.deepEqual(await space.reap(9), [], "(b) the log is not compacted to its death");
  const unpin = space.pin(ID_A);
  assert.deepEqual(await space.reap(10), [], "(c) a reader pins it");
  unpin();
  const release = space.holdFrom(9);
  assert.deepEqual(await space.reap(10), [], "(d) a stream from before its death runs");
  release();
  const later = space.holdFrom(10);
  assert.deepEqual(await space.reap(10), [ID_A], "a stream from its death on needs it not");
  later();
  assert.equal(await blobs.size(ID_A), undefined, "unlinked");
  assert.equal(space.deadBytes, 0);
  space.died(ID_B, 20, 64 * 1024 * 1024);
  assert.equal(space.dueIndex(), 20, "64 MiB dead is due at once");
  assert.ok(space.revived(ID_B), "taken up again by a chunk of the same upload");
  assert.equal(space.dueIndex(), 0);
});

test("overwrite and delete kill blobs; the store reaps them once durable and compacted", async (t) => {
  const dir = await dataDir(t);
  let store = await LmdbStore.open(dir);
  const a = fileBytes(ID_A, FILE_CHUNK_BYTES + 5);
  const b = fileBytes(ID_B, 100);
  await store.blobs.write(ID_A, 0, a);
  await store.blobs.write(ID_B, 0, b);
  const first = uploadEntries(1, ID_A, "f", a, "stored");
  const second = uploadEntries(first.length + 1, ID_B, "f", b, "stored");
  store.applyEntries([...first, ...second]);
  const view = store.openView();
  assert.equal(view.get("f")?.file?.uploadId, ID_B);
  const deletion = second.length + first.length + 1;
  store.applyEntries([entry(deletion, { op: "delete", key: "f", timeMs: 2 })]);
  assert.deepEqual(
    store.space
      .deadBlobs()
      .map(([id, d]) => [id, d.index])
      .sort(),
    [
      [ID_A, first.length + 2],
      [ID_B, deletion],
    ],
  );
  assert.deepEqual(await store.reapBlobs(deletion), [], "(a): not durable yet");
  await store.flushed();
  assert.deepEqual(await store.reapBlobs(deletion), [ID_A], "B is pinned by the open view");
  view.close();
  await store.close();
  store = await LmdbStore.open(dir);
  t.after(() => store.close());
  assert.deepEqual(
    store.space.deadBlobs().map(([id]) => id),
    [ID_B],
    "the dead record outlives a restart",
  );
  await store.flushed();
  assert.deepEqual(await store.reapBlobs(deletion), [ID_B]);
  assert.deepEqual(await readdir(join(dir, "blobs")), []);
  assert.deepEqual(store.space.deadBlobs(), []);
});

test("start-up check: orphans go, the log's and dead blobs stay, a missing or short blob is exit 7", async (t) => {
  const dir = await dataDir(t);
  const store = await LmdbStore.open(dir);
  const a = fileBytes(ID_A, FILE_CHUNK_BYTES + 5);
  await store.blobs.write(ID_A, 0, a);
  store.applyEntries(uploadEntries(1, ID_A, "f", a, "stored"));
  for (const id of [ID_B, ID_C, "d".repeat(32)]) await store.blobs.write(id, 0, Buffer.from("o"));
  await store.blobs.write("e".repeat(32), 0, Buffer.from("dead"));
  store.applyEntries(uploadEntries(4, "e".repeat(32), "g", Buffer.from("dead"), "stored"));
  store.applyEntries([entry(6, { op: "delete", key: "g", timeMs: 3 })]);
  const removed = await store.checkBlobs(new Set([ID_C]));
  assert.deepEqual(removed.sort(), [ID_B, "d".repeat(32)], "orphans: named by nothing");
  assert.deepEqual((await readdir(join(dir, "blobs"))).sort(), [ID_A, ID_C, "e".repeat(32)]);
  await truncate(join(dir, "blobs", ID_A), FILE_CHUNK_BYTES);
  await assert.rejects(
    store.checkBlobs(new Set()),
    (e: unknown) =>
      e instanceof StartupError &&
      e.kind === "corrupt" &&
      e.message.includes(`blobs/${ID_A}`) &&
      e.message.includes("key f") &&
      e.message.includes("short"),
  );
  await rm(join(dir, "blobs", ID_A));
  await assert.rejects(store.checkBlobs(new Set()), /blobs\/a+ of key f is missing/);
  await store.close();
});

test("a store written before the blob store moves its chunk records into blobs at open", async (t) => {
  const dir = await dataDir(t);
  const data = fileBytes(ID_A, FILE_CHUNK_BYTES + 9);
  const reference = await LmdbStore.open(await dataDir(t));
  t.after(() => reference.close());
  await reference.blobs.write(ID_A, 0, data);
  reference.applyEntries(uploadEntries(1, ID_A, "f", data, "full"));
  await reference.flushed();
  // Rewrite the reference's LMDB as an older build left it: "c" records with the bytes.
  const { cpSync } = await import("node:fs");
  cpSync(join(reference.storePath, ".."), join(dir, "state"), { recursive: true });
  const db = openEnvironment(join(dir, "state"));
  db.transactionSync(() => {
    for (const { key } of db.getRange({ start: "b", end: "c" })) db.removeSync(key);
    for (let seq = 0; seq < 2; seq++) {
      const k = chunkKey(ID_A, seq);
      db.putSync(
        k,
        encodeChunk(k, data.subarray(seq * FILE_CHUNK_BYTES, (seq + 1) * FILE_CHUNK_BYTES)),
      );
    }
  });
  await db.close();
  const store = await LmdbStore.open(dir);
  t.after(() => store.close());
  assert.deepEqual(await readAll(store, "f"), data);
  assert.equal(store.digest(), reference.digest());
});

/** The image a leader streams, fed to `follower` and installed. */
async function transfer(leader: LmdbStore, follower: LmdbStore): Promise<void> {
  const source = leader.openSnapshot();
  const receiver = await follower.receiveSnapshot(source.meta);
  const hash = createHash("sha256");
  for await (const chunk of source.chunks()) {
    hash.update(chunk);
    await receiver.write(chunk);
  }
  source.close();
  await receiver.finish(hash.digest());
  await follower.completeReceived(receiver, () => true);
  await follower.installReceived(source.meta);
}

test("a snapshot carries files' bytes from the leader's blobs into the follower's", async (t) => {
  const leader = await LmdbStore.open(await dataDir(t));
  t.after(() => leader.close());
  const followerDir = await dataDir(t);
  const follower = await LmdbStore.open(followerDir);
  t.after(() => follower.close());
  const a = fileBytes(ID_A, 3 * FILE_CHUNK_BYTES + 1);
  const entries = uploadEntries(1, ID_A, "f", a, "full");
  await writeChunkBlobs(leader.blobs, entries);
  leader.applyEntries(entries);
  // The follower held another file, which the image does not name.
  const c = fileBytes(ID_C, 10);
  await follower.blobs.write(ID_C, 0, c);
  follower.applyEntries(uploadEntries(1, ID_C, "old", c, "stored"));
  await transfer(leader, follower);
  assert.deepEqual(await readAll(follower, "f"), a);
  assert.equal(follower.digest(), leader.digest());
  assert.deepEqual(
    follower.space.deadBlobs().map(([id, d]) => [id, d.index]),
    [[ID_C, leader.appliedIndex]],
    "the replaced store's blob is dead at the snapshot's index",
  );
  assert.deepEqual(await follower.reapBlobs(leader.appliedIndex), [ID_C]);
  assert.deepEqual(await readdir(join(followerDir, "blobs")), [ID_A]);
});

test("a snapshot source keeps the blobs it streams even if they die meanwhile (rule d)", async (t) => {
  const store = await LmdbStore.open(await dataDir(t));
  t.after(() => store.close());
  const a = fileBytes(ID_A, FILE_CHUNK_BYTES + 3);
  await store.blobs.write(ID_A, 0, a);
  store.applyEntries(uploadEntries(1, ID_A, "f", a, "stored"));
  const source = store.openSnapshot();
  store.applyEntries([entry(4, { op: "delete", key: "f", timeMs: 2 })]);
  await store.flushed();
  assert.deepEqual(await store.reapBlobs(4), [], "held by the stream from index 3");
  const tally = new ImageTally();
  for await (const chunk of source.chunks()) tally.add(chunk);
  source.close();
  assert.equal(tally.keys, 1);
  assert.deepEqual(await store.reapBlobs(4), [ID_A]);
});

test("a backup of a store with files restores with its files' bytes in the new data dir", async (t) => {
  const store = await LmdbStore.open(await dataDir(t));
  t.after(() => store.close());
  const a = fileBytes(ID_A, 2 * FILE_CHUNK_BYTES + 12345);
  const b = fileBytes(ID_B, 4000);
  const entries = [
    ...uploadEntries(1, ID_A, "dir/a", a, "full"),
    ...uploadEntries(5, ID_B, "dir/b", b, "full"),
  ];
  await writeChunkBlobs(store.blobs, entries);
  store.applyEntries(entries);
  const file = join(await dataDir(t), "b.dfsbak");
  await saveBackupFile(file, backupStream(store));
  const restoredDir = await dataDir(t);
  const members = {
    members: [
      { id: 1, learner: false, peerAddr: "127.0.0.1:2", clientAddr: "127.0.0.1:1", identity: "" },
    ],
    removed: [],
  };
  await buildStoreFromBackup(file, join(restoredDir, "state"), members);
  assert.deepEqual((await readdir(join(restoredDir, "blobs"))).sort(), [ID_A, ID_B]);
  const restored = await LmdbStore.open(restoredDir);
  t.after(() => restored.close());
  assert.deepEqual(await restored.checkBlobs(new Set()), [], "nothing orphaned");
  assert.deepEqual(await readAll(restored, "dir/a"), a);
  assert.deepEqual(await readAll(restored, "dir/b"), b);
  assert.equal(restored.digest(), store.digest());
  await writeFile(join(restoredDir, "blobs", ID_B), "short");
  await assert.rejects(restored.checkBlobs(new Set()), /blobs\/b+ of key dir\/b is short/);
});

async function* backupStream(store: LmdbStore): AsyncGenerator<SnapshotSaveResponse> {
  const source = store.openSnapshot();
  try {
    const header = {
      index: source.meta.index,
      term: source.meta.term,
      clusterId: "0123456789abcdef",
      members: [],
      nodeId: 1,
      version: "test",
      createdMs: 1,
    };
    yield { header, data: Buffer.alloc(0), trailer: undefined };
    const tally = new ImageTally();
    for await (const chunk of source.chunks()) {
      tally.add(chunk);
      yield { header: undefined, data: chunk, trailer: undefined };
    }
    yield { header: undefined, data: Buffer.alloc(0), trailer: tally.trailer() };
  } finally {
    source.close();
  }
}
