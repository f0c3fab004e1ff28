/**
 * S3 access keys in the replicated auth state (docs/auth.md "S3 access keys"): added to a
 * user, unique across the cluster, looked up by key, kept through a password change and
 * role changes, gone with the user, deleted alone; malformed keys and secrets refused;
 * both stores agree and digest every change; the LMDB store keeps them across a restart
 * and a snapshot image carries them; user records from before S3 keys decode unchanged.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import {
  type ApplyResult,
  encodeCommand,
  type FsmCommand,
  LmdbStore,
  MAX_S3_KEYS_PER_USER,
  MemoryStore,
} from "../../../src/fsm/index.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";

async function dataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dfs-s3keys-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const KEY1 = "DFSAAAAAAAAAAAAAAAA1";
const KEY2 = "DFSAAAAAAAAAAAAAAAA2";
const SECRET = "abcdefghijABCDEFGHIJ0123456789+/abcdefgh";

let next = 1;
function entry(cmd: FsmCommand): Entry {
  return { index: next++, term: 1, kind: EntryKind.Normal, data: encodeCommand(cmd) };
}
const auth = (op: object): FsmCommand => ({ op: "auth", auth: op });
const add = (user: string, accessKey: string, secret = SECRET) =>
  auth({ s3KeyAdd: { user, accessKey, secret } });

function applyBoth(stores: { disk: LmdbStore; memory: MemoryStore }, cmd: FsmCommand): ApplyResult {
  const e = entry(cmd);
  const [a] = stores.disk.applyEntries([e]);
  const [b] = stores.memory.applyEntries([e]);
  assert.deepEqual(a, b);
  assert.equal(stores.disk.digest(), stores.memory.digest());
  return a as ApplyResult;
}

test("keys are added, unique, looked up, kept by passwd, deleted, and go with their user", async (t) => {
  next = 1;
  const dir = await dataDir(t);
  const stores = { disk: await LmdbStore.open(dir), memory: new MemoryStore() };
  const refused = (cmd: FsmCommand, reason: RegExp) => {
    const r = applyBoth(stores, cmd);
    assert.equal(r.kind, "auth_refused");
    assert.match((r as { reason: string }).reason, reason);
  };
  applyBoth(stores, auth({ userAdd: { name: "alice", passwordHash: "h" } }));
  applyBoth(stores, auth({ userAdd: { name: "bob", passwordHash: "h" } }));
  const before = stores.memory.digest();
  refused(add("carol", KEY1), /user carol does not exist/);
  refused(add("alice", "AKIAAAAAAAAAAAAAAAAA"), /bad S3 access key/);
  refused(add("alice", "DFSaaaaaaaaaaaaaaaa1"), /bad S3 access key/);
  refused(add("alice", KEY1, "short"), /bad S3 secret/);
  assert.equal(stores.memory.digest(), before, "refusals change nothing");

  assert.equal(applyBoth(stores, add("alice", KEY1)).kind, "auth");
  assert.notEqual(stores.memory.digest(), before, "a key changes the digest");
  refused(add("bob", KEY1), /S3 access key DFSAAAAAAAAAAAAAAAA1 already exists/);
  assert.equal(applyBoth(stores, add("alice", KEY2)).kind, "auth");
  for (const s of [stores.disk, stores.memory]) {
    assert.equal(s.auth.s3Key(KEY2)?.user.name, "alice");
    assert.equal(s.auth.s3Key(KEY2)?.secret, SECRET);
    assert.equal(s.auth.s3Key("DFSAAAAAAAAAAAAAAAA3"), undefined);
    assert.deepEqual(
      s.auth.user("alice")?.s3Keys?.map((k) => k.accessKey),
      [KEY1, KEY2],
    );
  }
  applyBoth(stores, auth({ userPasswd: { name: "alice", passwordHash: "h2" } }));
  applyBoth(stores, auth({ roleAdd: { name: "r" } }));
  applyBoth(stores, auth({ userGrantRole: { name: "alice", role: "r" } }));
  assert.equal(stores.memory.auth.s3Key(KEY1)?.user.name, "alice", "kept by passwd and roles");

  await stores.disk.close();
  stores.disk = await LmdbStore.open(dir);
  assert.equal(stores.disk.digest(), stores.memory.digest(), "after a restart");
  assert.equal(stores.disk.auth.s3Key(KEY1)?.secret, SECRET);

  assert.equal(applyBoth(stores, auth({ s3KeyDelete: { accessKey: KEY1 } })).kind, "auth");
  refused(auth({ s3KeyDelete: { accessKey: KEY1 } }), /does not exist/);
  assert.equal(stores.memory.auth.s3Key(KEY1), undefined);
  assert.equal(stores.memory.auth.s3Key(KEY2)?.user.name, "alice");
  applyBoth(stores, auth({ s3KeyDelete: { accessKey: KEY2 } }));
  assert.equal(stores.memory.auth.user("alice")?.s3Keys, undefined, "no keys: field gone");

  applyBoth(stores, add("bob", KEY1));
  applyBoth(stores, auth({ userDelete: { name: "bob" } }));
  assert.equal(stores.memory.auth.s3Key(KEY1), undefined, "gone with its user");
  applyBoth(stores, auth({ userAdd: { name: "bob", passwordHash: "h" } }));
  assert.equal(stores.memory.auth.s3Key(KEY1), undefined, "a re-added user starts without");
  await stores.disk.close();
});

test("a user holds at most MAX_S3_KEYS_PER_USER keys", () => {
  next = 1;
  const memory = new MemoryStore();
  memory.applyEntries([entry(auth({ userAdd: { name: "alice", passwordHash: "h" } }))]);
  for (let i = 0; i < MAX_S3_KEYS_PER_USER; i++) {
    const key = `DFS${String(i).padStart(17, "0")}`;
    assert.equal(memory.applyEntries([entry(add("alice", key))])[0]?.kind, "auth");
  }
  const [r] = memory.applyEntries([entry(add("alice", "DFSZZZZZZZZZZZZZZZZZ"))]);
  assert.equal(r?.kind, "auth_refused");
});

test("with auth on, only an admin may add or delete keys (checked at apply)", () => {
  next = 1;
  const memory = new MemoryStore();
  memory.applyEntries([
    entry(auth({ userAdd: { name: "root", passwordHash: "h" } })),
    entry(auth({ userAdd: { name: "alice", passwordHash: "h" } })),
    entry(auth({ enable: { tokenKey: Buffer.alloc(32, 1) } })),
  ]);
  const [denied] = memory.applyEntries([
    entry({ ...add("alice", KEY1), caller: { user: "alice", generation: 2 } }),
  ]);
  assert.deepEqual(denied, { kind: "permission_denied", reason: "user alice lacks admin" });
  const [ok] = memory.applyEntries([
    entry({ ...add("alice", KEY1), caller: { user: "root", generation: 1 } }),
  ]);
  assert.equal(ok?.kind, "auth");
  const copy = new MemoryStore();
  copy.restore(memory.snapshot());
  assert.equal(copy.auth.s3Key(KEY1)?.user.name, "alice", "the memory image carries keys");
  assert.equal(copy.digest(), memory.digest());
});
