/**
 * `restoreDataDir` (src/server/restore.ts) on real disks: the data dir it prepares is
 * what a node that installed a snapshot at the backup's index would have — a store at
 * that index with the new configuration, a WAL starting right after it whose hard state
 * holds the backup's term, meta.json of a new cluster whose id every member derives alike
 * — and its refusals leave nothing behind.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { encodeCommand, ImageTally, LmdbStore, saveBackupFile } from "../../../src/fsm/index.ts";
import type { SnapshotSaveResponse } from "../../../src/gen/dfs.ts";
import { EntryKind } from "../../../src/raft/types.ts";
import { restoreDataDir } from "../../../src/server/index.ts";
import { recoverLog } from "../../../src/server/recover-log.ts";
import { clusterIdFor, loadOrInitMeta, readNodeMeta, Wal } from "../../../src/storage/index.ts";

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dfs-restore-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const PEERS = [1, 2, 3].map((id) => ({ id, host: "127.0.0.1", port: 7000 + id }));

/** A backup of a store with 40 keys at index 40, term 3. */
async function backup(t: TestContext): Promise<string> {
  const store = await LmdbStore.open(await tempDir(t));
  store.applyEntries(
    Array.from({ length: 40 }, (_, i) => ({
      index: i + 1,
      term: 3,
      kind: EntryKind.Normal,
      data: encodeCommand({ op: "put", key: `k/${i}`, value: Buffer.from(`v${i}`), timeMs: i }),
    })),
  );
  const file = join(await tempDir(t), "b.dfsbak");
  await saveBackupFile(file, stream(store));
  await store.close();
  return file;
}

async function* stream(store: LmdbStore): AsyncGenerator<SnapshotSaveResponse> {
  const source = store.openSnapshot();
  const { index, term } = source.meta;
  const header = {
    index,
    term,
    clusterId: "old",
    members: [],
    nodeId: 1,
    version: "t",
    createdMs: 0,
  };
  yield { header, data: Buffer.alloc(0), trailer: undefined };
  const tally = new ImageTally();
  for await (const chunk of source.chunks()) {
    tally.add(chunk);
    yield { header: undefined, data: chunk, trailer: undefined };
  }
  source.close();
  yield { header: undefined, data: Buffer.alloc(0), trailer: tally.trailer() };
}

test("a restored data dir starts like a node that installed the backup as a snapshot", async (t) => {
  const file = await backup(t);
  const root = await tempDir(t);
  const results = [];
  for (const id of [1, 2]) {
    const dataDir = join(root, `n${id}`);
    results.push(await restoreDataDir({ backup: file, dataDir, id, peers: PEERS }));
  }
  const [one, two] = results;
  assert.equal(one?.clusterId, two?.clusterId, "every member derives the same cluster id");
  assert.notEqual(one?.clusterId, clusterIdFor(PEERS), "not the id a fresh --peers cluster gets");
  assert.equal(one?.clusterId, clusterIdFor(PEERS, one?.backup.sha256));
  assert.notEqual(one?.memberId, two?.memberId, "each data dir its own identity");

  const dataDir = join(root, "n2");
  const meta = await readNodeMeta(dataDir);
  assert.equal(meta?.nodeId, 2);
  assert.equal(meta?.restoredFrom, one?.backup.sha256);
  const { wal, contents } = await Wal.open(join(dataDir, "wal"));
  await wal.close();
  assert.equal(contents.offset, 40);
  assert.equal(contents.offsetTerm, 3);
  assert.deepEqual(contents.entries, []);
  assert.deepEqual(contents.hardState, { term: 3, vote: 0, commit: 40 });
  const store = await LmdbStore.open(dataDir);
  t.after(() => store.close());
  assert.equal(store.appliedIndex, 40);
  assert.equal(store.size(), 40);
  assert.deepEqual(
    store.membership?.members.map((m) => [m.id, m.clientAddr, m.identity, m.learner]),
    PEERS.map((p) => [p.id, `127.0.0.1:${p.port}`, "", false]),
  );
  const recovered = recoverLog(contents, store, dataDir);
  assert.equal(recovered.resetTo, null, "no reset needed: the log already starts there");
  assert.deepEqual(recovered.snapshot, { index: 40, term: 3 });
  assert.equal(recovered.log.offset, 40);
  // meta.json is written last: a restore cut short before it is refused at start.
  await rm(join(root, "n1", "meta.json"));
  await assert.rejects(
    loadOrInitMeta(join(root, "n1"), { clusterId: clusterIdFor(PEERS), nodeId: 1 }),
    (err: unknown) => err instanceof StartupError && err.kind === "corrupt",
  );
});

test("refusals: an id not in the peers, a non-empty dir, a damaged file; nothing is left", async (t) => {
  const file = await backup(t);
  const root = await tempDir(t);
  const kind = (k: string) => (err: unknown) => err instanceof StartupError && err.kind === k;
  await assert.rejects(
    restoreDataDir({ backup: file, dataDir: join(root, "a"), id: 9, peers: PEERS }),
    kind("config"),
  );
  const used = join(root, "used");
  await mkdir(used);
  await writeFile(join(used, "x"), "x");
  await assert.rejects(
    restoreDataDir({ backup: file, dataDir: used, id: 1, peers: PEERS }),
    kind("data_dir"),
  );
  assert.deepEqual(await readdir(used), ["x"]);
  const bytes = await readFile(file);
  bytes[bytes.length >> 1] ^= 0x10;
  const bad = join(root, "bad.dfsbak");
  await writeFile(bad, bytes);
  await assert.rejects(
    restoreDataDir({ backup: bad, dataDir: join(root, "b"), id: 1, peers: PEERS }),
    kind("corrupt"),
  );
  assert.deepEqual((await readdir(root)).sort(), ["bad.dfsbak", "used"]);
});
