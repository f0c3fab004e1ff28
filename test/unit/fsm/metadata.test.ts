/**
 * Metadata kept with values and files (docs/architecture.md "Metadata"): both stores keep
 * it through put and commit_upload, in name order, and drop it on an overwrite without;
 * the LMDB store keeps it across a restart; snapshot images (LMDB transfer, memory image)
 * carry it; digests see it. And the data-dir compatibility: a value record written before
 * metadata existed decodes as it did, and a value without metadata is written byte for
 * byte as before.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import {
  decodeCommand,
  encodeCommand,
  type FsmCommand,
  LmdbStore,
  MemoryStore,
  type StateMachine,
  type StoredValue,
} from "../../../src/fsm/index.ts";
import { decodeValue, encodeValue, seal } from "../../../src/fsm/lmdb-records.ts";
import { Command } from "../../../src/gen/command.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { writeChunkBlobs } from "../../support/fsm-entries.ts";

/** The upload of the test file (a blob name: 32 hex digits). */
const UPLOAD_ID = "00112233445566778899aabbccddeeff";

async function dataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dfs-meta-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function entry(index: number, cmd: FsmCommand): Entry {
  return { index, term: 1, kind: EntryKind.Normal, data: encodeCommand(cmd) };
}

const META = { "x-amz-meta-b": "two", "content-type": "image/jpeg", "x-amz-meta-a": "één" };
const SORTED = { "content-type": "image/jpeg", "x-amz-meta-a": "één", "x-amz-meta-b": "two" };

/** put with metadata, a file upload with metadata, then an overwrite without. */
function stream(): Entry[] {
  const chunk = Buffer.alloc(100, 7);
  const sha = createHash("sha256").update(chunk).digest();
  return [
    entry(1, { op: "put", key: "v", value: Buffer.from("hello"), metadata: META, timeMs: 1 }),
    entry(2, { op: "upload_chunk", uploadId: UPLOAD_ID, seq: 0, data: chunk, timeMs: 2 }),
    entry(3, {
      op: "commit_upload",
      uploadId: UPLOAD_ID,
      key: "f",
      size: 100,
      sha256: sha,
      chunks: 1,
      metadata: { etag: '"abc"' },
      timeMs: 3,
    }),
    entry(4, { op: "put", key: "plain", value: Buffer.from("x"), timeMs: 4 }),
    entry(5, { op: "put", key: "gone", value: Buffer.from("1"), metadata: META, timeMs: 5 }),
    entry(6, { op: "put", key: "gone", value: Buffer.from("2"), timeMs: 6 }),
  ];
}

function metadataOf(store: StateMachine) {
  const of = (key: string) => {
    const m = store.get(key)?.metadata;
    return m === undefined ? undefined : { ...m };
  };
  return { v: of("v"), f: of("f"), plain: of("plain"), gone: of("gone") };
}

const EXPECTED = { v: SORTED, f: { etag: '"abc"' }, plain: undefined, gone: undefined };

test("both stores keep metadata in name order, drop it on an overwrite without, and digest it", async (t) => {
  const dir = await dataDir(t);
  const disk = await LmdbStore.open(dir);
  const memory = new MemoryStore();
  const entries = stream();
  assert.deepEqual(disk.applyEntries(entries), memory.applyEntries(entries));
  assert.deepEqual(metadataOf(memory), EXPECTED);
  assert.deepEqual(metadataOf(disk), EXPECTED);
  assert.deepEqual(Object.keys(memory.get("v")?.metadata ?? {}), Object.keys(SORTED));
  assert.equal(disk.digest(), memory.digest());
  // The same stream without metadata digests differently.
  const bare = new MemoryStore();
  bare.applyEntries(
    entries.map((e) => {
      const c = decodeCommand(e.data) as FsmCommand;
      const { metadata: _, ...rest } = c as FsmCommand & { metadata?: unknown };
      return { ...e, data: encodeCommand(rest as FsmCommand) };
    }),
  );
  assert.notEqual(bare.digest(), memory.digest());
  await disk.close();
  const reopened = await LmdbStore.open(dir);
  assert.deepEqual(metadataOf(reopened), EXPECTED, "after a restart");
  assert.equal(reopened.digest(), memory.digest());
  await reopened.close();
});

test("snapshot images carry metadata (LMDB transfer and memory image)", async (t) => {
  const leader = await LmdbStore.open(await dataDir(t));
  await writeChunkBlobs(leader.blobs, stream());
  leader.applyEntries(stream());
  const follower = await LmdbStore.open(await dataDir(t));
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
  assert.deepEqual(metadataOf(follower), EXPECTED);
  assert.equal(follower.digest(), leader.digest());
  await follower.close();
  await leader.close();

  const memory = new MemoryStore();
  memory.applyEntries(stream());
  const copy = new MemoryStore();
  copy.restore(memory.snapshot());
  assert.deepEqual(metadataOf(copy), EXPECTED);
  assert.equal(copy.digest(), memory.digest());
});

/** The value record as the build before metadata wrote it (lmdb-records.ts of 6c89aca). */
function oldEncodeValue(key: string, v: Parameters<typeof encodeValue>[1]): Buffer {
  const id = Buffer.from(v.file?.uploadId ?? "");
  const buf = Buffer.alloc(74 + id.length + v.value.byteLength);
  const u64 = (at: number, n: number) => {
    buf.writeUInt32LE(n % 2 ** 32, at);
    buf.writeUInt32LE(Math.floor(n / 2 ** 32), at + 4);
  };
  u64(4, v.version);
  u64(12, v.modIndex);
  u64(20, v.modTimeMs);
  u64(28, v.size);
  buf.set(v.sha256, 36);
  buf.writeUInt32LE(v.file?.count ?? 0, 68);
  buf.writeUInt16LE(id.length, 72);
  id.copy(buf, 74);
  buf.set(v.value, 74 + id.length);
  return seal(key, buf);
}

test("records of existing data dirs decode as before; values without metadata encode as before", () => {
  const base = {
    version: 3,
    modIndex: 2 ** 40 + 7,
    modTimeMs: 1_760_000_000_000,
    size: 5,
    sha256: Buffer.alloc(32, 9),
    value: Buffer.from("hello"),
  };
  const file = {
    ...base,
    value: new Uint8Array(0),
    size: 3 * 1024 * 1024,
    file: { uploadId: "0123456789abcdef0123456789abcdef", count: 3 },
  };
  const values: StoredValue[] = [base, file];
  for (const v of values) {
    const old = oldEncodeValue("vk", v);
    assert.deepEqual(encodeValue("vk", v), old, "byte for byte as before");
    const back = decodeValue("vk", old);
    assert.equal(back.metadata, undefined);
    assert.deepEqual(Buffer.from(back.value), Buffer.from(v.value));
    assert.deepEqual(back.file, v.file);
    assert.equal(back.modIndex, v.modIndex);
    const withMeta = decodeValue("vk", encodeValue("vk", { ...v, metadata: SORTED }));
    assert.deepEqual({ ...withMeta.metadata }, SORTED);
    assert.deepEqual(Buffer.from(withMeta.value), Buffer.from(v.value));
    assert.deepEqual(withMeta.file, v.file);
  }
});

test("a put with metadata round-trips through the log encoding; one without keeps the exact encoder", () => {
  const put: FsmCommand = {
    op: "put",
    key: "k",
    value: Buffer.from("v"),
    ifVersion: 2,
    metadata: { a: "1" },
    timeMs: 5,
  };
  const back = decodeCommand(encodeCommand(put));
  assert.deepEqual(back, { ...put, value: back?.op === "put" ? back.value : null });
  const plain: FsmCommand = { op: "put", key: "k", value: Buffer.from("v"), timeMs: 5 };
  const generated = Command.encode({
    put: { key: "k", value: Buffer.from("v"), ifVersion: undefined, metadata: {} },
    timeMs: 5,
    session: undefined,
    caller: undefined,
  } as unknown as Command).finish();
  assert.deepEqual(Buffer.from(encodeCommand(plain)), Buffer.from(generated));
  assert.equal((decodeCommand(encodeCommand(plain)) as { metadata?: unknown }).metadata, undefined);
});
