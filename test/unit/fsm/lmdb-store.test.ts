/**
 * The on-disk store against the in-memory one (same rules, so the same results and the
 * same digest for any command sequence), its durability across reopen, snapshot
 * transfer into a fresh store, and detection of a corrupted record.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import {
  encodeCommand,
  type FsmCommand,
  LmdbStore,
  MemoryStore,
  RecordCorruptionError,
  StoreBrokenError,
} from "../../../src/fsm/index.ts";
import { encodeMembership } from "../../../src/raft/index.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { applyInBatches, randomEntries, uploadEntries } from "../../support/fsm-entries.ts";

async function dataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dfs-lmdb-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("the on-disk store gives the in-memory store's results and digest (5 seeds × 600 entries)", async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const dir = await dataDir(t);
    const disk = await LmdbStore.open(dir);
    const memory = new MemoryStore();
    const entries = randomEntries(seed, 600);
    const a = applyInBatches(disk, entries);
    const b = applyInBatches(memory, entries);
    assert.deepEqual(a, b, `seed ${seed}: results differ`);
    assert.equal(disk.digest(), memory.digest(), `seed ${seed}: digests differ`);
    assert.equal(disk.size(), memory.size());
    assert.equal(disk.appliedIndex, 600);
    await disk.close();
  }
});

test("state, applied index and sessions survive reopen; a retried write is still deduplicated", async (t) => {
  const dir = await dataDir(t);
  const entries = randomEntries(9, 300);
  const memory = new MemoryStore();
  applyInBatches(memory, entries);
  let disk = await LmdbStore.open(dir);
  applyInBatches(disk, entries.slice(0, 200));
  await disk.close();
  disk = await LmdbStore.open(dir);
  assert.equal(disk.appliedIndex, 200);
  assert.equal(disk.appliedTerm, entries[199]?.term);
  applyInBatches(disk, entries.slice(200));
  assert.equal(disk.digest(), memory.digest());
  const retry = encodeCommand({
    op: "put",
    key: "dup",
    value: Buffer.from("once"),
    session: { clientId: "z", sequence: 1, firstIncomplete: 1 },
  });
  const first = disk.applyEntries([{ index: 301, term: 9, kind: EntryKind.Normal, data: retry }]);
  await disk.close();
  disk = await LmdbStore.open(dir);
  const again = disk.applyEntries([{ index: 302, term: 9, kind: EntryKind.Normal, data: retry }]);
  assert.deepEqual(again, first, "a retry after restart answers with the original result");
  assert.equal(disk.get("dup")?.version, 1, "and is not applied twice");
  await disk.close();
});

test("entries must continue the applied index", async (t) => {
  const disk = await LmdbStore.open(await dataDir(t));
  const [e1, e2, e3] = randomEntries(1, 3);
  disk.applyEntries([e1 as Entry]);
  assert.throws(() => disk.applyEntries([e3 as Entry]), /entry 3 applied after 1/);
  assert.throws(() => disk.applyEntries([e1 as Entry]), /entry 1 applied after 1/);
  disk.applyEntries([e2 as Entry]);
  assert.equal(disk.appliedIndex, 2);
  await disk.close();
});

test("a snapshot streamed chunk by chunk installs into another store: same digest, same sessions", async (t) => {
  const leader = await LmdbStore.open(await dataDir(t));
  const followerDir = await dataDir(t);
  const follower = await LmdbStore.open(followerDir);
  const entries = randomEntries(4, 2500);
  applyInBatches(leader, entries.slice(0, 2000));
  applyInBatches(follower, randomEntries(77, 50)); // diverged, older state to be replaced
  const source = leader.openSnapshot();
  applyInBatches(leader, entries.slice(2000)); // the image stays at 2000 while the leader goes on
  const receiver = await follower.receiveSnapshot(source.meta);
  const hash = createHash("sha256");
  let chunks = 0;
  for await (const chunk of source.chunks()) {
    hash.update(chunk);
    await receiver.write(chunk);
    chunks++;
  }
  source.close();
  await receiver.finish(hash.digest());
  assert.deepEqual(source.meta, { index: 2000, term: entries[1999]?.term });
  assert.ok(chunks >= 1);
  assert.equal(follower.appliedIndex, 50, "nothing changes before install");
  await assert.rejects(
    follower.installReceived(source.meta),
    /not received/,
    "not before the core accepted it",
  );
  await follower.completeReceived(receiver, () => true);
  await follower.installReceived(source.meta);
  assert.equal(follower.appliedIndex, 2000);
  applyInBatches(follower, entries.slice(2000));
  assert.equal(follower.digest(), leader.digest());
  await follower.close();
  const reopened = await LmdbStore.open(followerDir);
  assert.equal(reopened.appliedIndex, 2500);
  assert.equal(reopened.digest(), leader.digest());
  await reopened.close();
  await leader.close();
});

test("a snapshot with a wrong SHA-256 or a damaged chunk is refused and cannot be installed", async (t) => {
  const leader = await LmdbStore.open(await dataDir(t));
  applyInBatches(leader, randomEntries(5, 100));
  const follower = await LmdbStore.open(await dataDir(t));
  const source = leader.openSnapshot();
  const chunks: Buffer[] = [];
  for await (const c of source.chunks()) chunks.push(c);
  source.close();
  const receiver = await follower.receiveSnapshot(source.meta);
  for (const c of chunks) await receiver.write(c);
  await assert.rejects(receiver.finish(Buffer.alloc(32)), /checksum mismatch/);
  await assert.rejects(follower.installReceived(source.meta), /was not received/);
  const second = await follower.receiveSnapshot(source.meta);
  const damaged = Buffer.from(chunks[0] as Buffer);
  damaged[damaged.length - 1] ^= 0x40; // inside the last record's value: its CRC catches it
  await assert.rejects(async () => second.write(damaged), RecordCorruptionError);
  await second.abort();
  assert.equal(follower.appliedIndex, 0);
  await follower.close();
  await leader.close();
});

test("a corrupted value on disk is an error on read, never wrong bytes, and stops applying", async (t) => {
  const dir = await dataDir(t);
  const store = await LmdbStore.open(dir);
  const marker = Buffer.from("MARKER-0123456789abcdef-".repeat(8));
  const put = encodeCommand({ op: "put", key: "victim", value: marker });
  store.applyEntries([{ index: 1, term: 1, kind: EntryKind.Normal, data: put }]);
  await store.close();
  const file = join(dir, "state", "store.mdb");
  const bytes = await readFile(file);
  const at = bytes.indexOf(marker);
  assert.ok(at > 0, "the marker is on disk");
  bytes[at + 50] ^= 0x01;
  await writeFile(file, bytes);
  const reopened = await LmdbStore.open(dir);
  assert.throws(() => reopened.get("victim"), RecordCorruptionError);
  // Applying over it fails too. With nothing pending the batch is undone exactly; with an
  // earlier batch pending (applied, maybe answered) the store stops rather than undo it.
  const overwrite = encodeCommand({ op: "put", key: "victim", value: Buffer.from("new") });
  const other = encodeCommand({ op: "put", key: "other", value: Buffer.from("x") });
  const entry = (index: number, data: Uint8Array) =>
    ({ index, term: 1, kind: EntryKind.Normal, data }) as const;
  assert.throws(() => reopened.applyEntries([entry(2, overwrite)]), RecordCorruptionError);
  assert.equal(reopened.appliedIndex, 1, "the failed batch was undone");
  reopened.applyEntries([entry(2, other)]);
  assert.throws(() => reopened.applyEntries([entry(3, overwrite)]), StoreBrokenError);
  assert.equal(reopened.appliedIndex, 2, "the applied index never goes back");
  assert.equal(reopened.get("other")?.version, 1, "nor does an applied write");
  assert.throws(() => reopened.applyEntries([entry(3, other)]), StoreBrokenError);
  await reopened.close();
  const restarted = await LmdbStore.open(dir);
  assert.equal(restarted.appliedIndex, 1, "nothing of the broken store's memory was written");
  await restarted.close();
});

test("two transfers at once never mix: the newer one wins whole, the older is refused", async (t) => {
  const a = await LmdbStore.open(await dataDir(t));
  const b = await LmdbStore.open(await dataDir(t));
  applyInBatches(a, randomEntries(11, 300));
  applyInBatches(b, randomEntries(12, 400));
  const follower = await LmdbStore.open(await dataDir(t));
  const sources = [a.openSnapshot(), b.openSnapshot()];
  const images: Buffer[][] = [];
  for (const source of sources) {
    const chunks: Buffer[] = [];
    for await (const c of source.chunks()) chunks.push(c);
    images.push(chunks);
    source.close();
  }
  // Both start in the same tick, as two leaders' streams can.
  const [ra, rb] = await Promise.all(sources.map((s) => follower.receiveSnapshot(s.meta)));
  const sha = (chunks: Buffer[]) => {
    const h = createHash("sha256");
    for (const c of chunks) h.update(c);
    return h.digest();
  };
  await assert.rejects(
    async () => ra?.write(images[0]?.[0] as Buffer),
    /closed/,
    "the superseded transfer stops",
  );
  for (const c of images[1] as Buffer[]) await rb?.write(c);
  await rb?.finish(sha(images[1] as Buffer[]));
  await assert.rejects(
    follower.completeReceived(ra as object, () => true),
    /superseded/,
  );
  await follower.completeReceived(rb as object, () => true);
  await follower.installReceived(sources[1]?.meta as { index: number; term: number });
  assert.equal(follower.digest(), b.digest());
  for (const s of [a, b, follower]) await s.close();
});

test("uploads: both stores agree on results, files and leftover chunks (5 seeds × 400 entries)", async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const disk = await LmdbStore.open(await dataDir(t));
    const memory = new MemoryStore();
    const entries = uploadEntries(seed, 400);
    assert.deepEqual(
      applyInBatches(disk, entries),
      applyInBatches(memory, entries),
      `seed ${seed}`,
    );
    assert.equal(disk.digest(), memory.digest(), `seed ${seed}`);
    await disk.close();
  }
});

test("a committed file replaces the old one atomically and frees its chunks; abandoned uploads are reclaimed", () => {
  const store = new MemoryStore();
  let index = 0;
  const apply = (c: FsmCommand) =>
    store.applyEntries([
      { index: ++index, term: 1, kind: EntryKind.Normal, data: encodeCommand(c) },
    ])[0];
  const chunk = (id: string, seq: number, text: string, timeMs: number) =>
    apply({ op: "upload_chunk", uploadId: id, seq, data: Buffer.from(text), timeMs });
  const commit = (id: string, size: number, chunks: number, timeMs: number) =>
    apply({
      op: "commit_upload",
      uploadId: id,
      key: "f",
      size,
      sha256: Buffer.alloc(32),
      chunks,
      timeMs,
    });
  chunk("a", 0, "aaa", 1000);
  chunk("a", 1, "bb", 1000);
  assert.equal(store.get("f"), undefined, "nothing visible before the commit");
  assert.deepEqual(commit("a", 5, 2, 1000), { kind: "put", version: 1, index: 3 });
  assert.equal(store.get("f")?.size, 5);
  chunk("b", 0, "x", 2000);
  assert.equal(commit("b", 1, 1, 2000)?.kind, "put");
  assert.equal(store.chunkCount(), 1, "the replaced file's chunks are gone");
  assert.equal(chunk("c", 1, "late", 3000)?.kind, "invalid", "chunks arrive in order");
  chunk("c", 0, "never committed", 3000);
  assert.equal(store.chunkCount(), 2);
  apply({ op: "delete", key: "other", timeMs: 3000 + 16 * 60 * 1000 }); // 16 idle minutes later
  assert.equal(store.chunkCount(), 1, "the abandoned upload was reclaimed");
  assert.equal(
    commit("c", 15, 1, 3000 + 16 * 60 * 1000)?.kind,
    "invalid",
    "and cannot be committed",
  );
});

test("the configuration applied is durable with the applied index, in images and after reopen", async (t) => {
  const voters = (ids: number[], removed: number[] = []) => ({
    members: ids.map((id) => ({
      id,
      learner: false,
      peerAddr: `h:${id}0`,
      clientAddr: `h:${id}`,
      identity: "",
    })),
    removed,
  });
  const config = (index: number, m: ReturnType<typeof voters>): Entry => ({
    index,
    term: 1,
    kind: EntryKind.Config,
    data: encodeMembership(m),
  });
  const normal = randomEntries(3, 20);
  const dir = await dataDir(t);
  const leader = await LmdbStore.open(dir);
  const memory = new MemoryStore();
  assert.equal(leader.membership, null, "none before the first configuration entry");
  const three = voters([1, 2, 3]);
  const four = voters([1, 2, 4], [3]);
  const entries = [
    ...normal.slice(0, 10),
    config(11, three),
    ...normal.slice(10).map((e, i) => ({ ...e, index: 12 + i })),
    config(22, four),
  ];
  applyInBatches(leader, entries);
  applyInBatches(memory, entries);
  assert.deepEqual(leader.membership, four);
  assert.deepEqual(memory.membership, four);
  const restored = new MemoryStore();
  restored.restore(memory.snapshot());
  assert.deepEqual(restored.membership, four, "the in-memory image carries it");

  const source = leader.openSnapshot();
  assert.deepEqual(source.meta.membership, four, "the image names the configuration at its index");
  const followerDir = await dataDir(t);
  const follower = await LmdbStore.open(followerDir);
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
  assert.deepEqual(follower.membership, four, "an installed image brings its configuration");
  await follower.close();

  // Reopen: the configuration is where the applied index is (written in one transaction).
  await leader.close();
  const reopened = await LmdbStore.open(dir);
  assert.equal(reopened.appliedIndex, 22);
  assert.deepEqual(reopened.membership, four);
  await reopened.close();
});

test("an image without a configuration record keeps the one the leader announced", async (t) => {
  const leader = await LmdbStore.open(await dataDir(t));
  applyInBatches(leader, randomEntries(5, 30));
  const source = leader.openSnapshot();
  assert.equal(source.meta.membership, undefined, "no configuration entry applied there");
  const announced = {
    members: [{ id: 1, learner: false, peerAddr: "a:1", clientAddr: "a:2", identity: "" }],
    removed: [],
  };
  const meta = { ...source.meta, membership: announced };
  const followerDir = await dataDir(t);
  const follower = await LmdbStore.open(followerDir);
  const receiver = await follower.receiveSnapshot(meta);
  const hash = createHash("sha256");
  for await (const chunk of source.chunks()) {
    hash.update(chunk);
    await receiver.write(chunk);
  }
  source.close();
  await receiver.finish(hash.digest());
  await follower.completeReceived(receiver, () => true);
  await follower.installReceived(meta);
  assert.deepEqual(follower.membership, announced);
  await follower.close();
  const reopened = await LmdbStore.open(followerDir);
  assert.deepEqual(reopened.membership, announced, "durably");
  await reopened.close();
  await leader.close();
});
