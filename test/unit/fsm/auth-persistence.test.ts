/**
 * The auth state as part of the replicated state: both stores agree on random streams of
 * AuthOps and writes by callers, the LMDB store keeps it across restarts (written with
 * the applied index), snapshot images carry it (and a bad auth record in one is refused),
 * a damaged auth record on disk stops the store, and the digest reflects every change.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { AUTH_USER_PREFIX } from "../../../src/fsm/auth-records.ts";
import {
  type CommandCaller,
  encodeCommand,
  type FsmCommand,
  LmdbStore,
  MemoryStore,
  RecordCorruptionError,
  type StateMachine,
} from "../../../src/fsm/index.ts";
import { seal } from "../../../src/fsm/lmdb-records.ts";
import { ImageChunker } from "../../../src/fsm/snapshot-image.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { Rng } from "../../support/rng.ts";

async function dataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dfs-auth-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const USERS = ["root", "alice", "bob", "carol"];
const ROLES = ["root", "w", "r", "admins"];
const KEYS = ["a/1", "a/2", "b/1", "b/2", "c"];

/**
 * A random stream of AuthOps (by root, or by anyone, refused or not) and writes by random
 * callers with a guessed generation: every rule gets exercised, most outcomes are refusals.
 */
function authEntries(seed: number, count: number): Entry[] {
  const rng = new Rng(seed);
  const generations = new Map<string, number>();
  const entries: Entry[] = [];
  const caller = (): CommandCaller | undefined => {
    if (rng.chance(0.1)) return undefined;
    const user = rng.pick(USERS);
    const generation = generations.get(user) ?? 0;
    return { user, generation: rng.chance(0.1) ? generation + 1 : generation };
  };
  for (let index = 1; index <= count; index++) {
    const name = rng.pick(USERS);
    const role = rng.pick(ROLES);
    const perm = {
      key: rng.pick(["a/", "b/", "c", ""]),
      prefix: rng.chance(0.7),
      read: rng.chance(0.5),
      write: rng.chance(0.5),
      list: rng.chance(0.5),
    };
    const ops = [
      () => ({ userAdd: { name, passwordHash: `h${index}` } }),
      () => ({ userDelete: { name } }),
      () => ({ userPasswd: { name, passwordHash: `p${index}` } }),
      () => ({ userGrantRole: { name, role } }),
      () => ({ userRevokeRole: { name, role } }),
      () => ({ roleAdd: { name: role } }),
      () => ({ roleDelete: { name: role } }),
      () => ({ roleGrant: { role, permission: perm, admin: rng.chance(0.2) } }),
      () => ({ roleRevoke: { role, permission: perm, admin: rng.chance(0.2) } }),
      () => ({ enable: { tokenKey: Buffer.alloc(32, index % 256) } }),
      () => ({ disable: {} }),
    ];
    const who = caller();
    const meta = { ...(who ? { caller: who } : {}), timeMs: index * 10 };
    let command: FsmCommand;
    const roll = rng.float();
    if (roll < 0.45) command = { op: "auth", auth: rng.pick(ops)(), ...meta };
    else if (roll < 0.8)
      command = { op: "put", key: rng.pick(KEYS), value: Buffer.from(`v${index}`), ...meta };
    else if (roll < 0.9) command = { op: "delete", key: rng.pick(KEYS), ...meta };
    else command = { op: "delete_prefix", prefix: rng.pick(["a", "b"]), ...meta };
    // Learn generations the way a client would: from the result of its user's add/passwd.
    const op = command.op === "auth" ? command.auth : undefined;
    const set = op?.userAdd?.name ?? op?.userPasswd?.name;
    if (set !== undefined) generations.set(set, index);
    entries.push({ index, term: 1, kind: EntryKind.Normal, data: encodeCommand(command) });
  }
  return entries;
}

test("both stores agree on random AuthOps and writes; LMDB restarts keep auth (8 seeds × 400)", async (t) => {
  const kinds = new Set<string>();
  for (let seed = 1; seed <= 8; seed++) {
    const dir = await dataDir(t);
    const writeBehind = { entries: 1 + (seed % 5), bytes: 1 << 20, ms: 1e9 };
    let disk = await LmdbStore.open(dir, writeBehind);
    const memory = new MemoryStore();
    const entries = authEntries(seed, 400);
    const rng = new Rng(seed * 1000);
    for (let i = 0; i < entries.length; ) {
      const batch = entries.slice(i, i + 1 + rng.int(9));
      const a = disk.applyEntries(batch);
      const b = memory.applyEntries(batch);
      assert.deepEqual(a, b, `seed ${seed} at ${i + 1}: results differ`);
      for (const r of a) kinds.add(r.kind);
      i += batch.length;
      if (rng.chance(0.05)) {
        await disk.close();
        disk = await LmdbStore.open(dir, writeBehind);
        assert.equal(disk.appliedIndex, i, "close writes everything applied");
        assert.equal(disk.digest(), memory.digest(), `seed ${seed}: digest after reopen`);
      }
    }
    assert.equal(disk.digest(), memory.digest(), `seed ${seed}: digests differ`);
    assert.deepEqual(view(disk), view(memory));
    await disk.close();
  }
  for (const kind of ["auth", "auth_refused", "unauthenticated", "permission_denied", "put"])
    assert.ok(kinds.has(kind), `the streams reach ${kind} (saw ${[...kinds].join(", ")})`);
});

test("a snapshot image carries the auth state (LMDB transfer; memory image)", async (t) => {
  const leader = await LmdbStore.open(await dataDir(t));
  const memory = new MemoryStore();
  const entries = authEntries(21, 300);
  leader.applyEntries(entries);
  memory.applyEntries(entries);
  assert.ok(leader.auth.users().length > 0, "the stream created users");
  const followerDir = await dataDir(t);
  const follower = await LmdbStore.open(followerDir);
  follower.applyEntries(authEntries(22, 40)); // a diverged, older state to be replaced
  await install(leader, follower);
  assert.deepEqual(view(follower), view(leader), "installed: same auth state");
  assert.equal(follower.digest(), leader.digest());
  await follower.close();
  const reopened = await LmdbStore.open(followerDir);
  assert.deepEqual(view(reopened), view(leader), "and after a restart");
  await reopened.close();
  await leader.close();

  const copy = new MemoryStore();
  copy.restore(memory.snapshot());
  assert.deepEqual(view(copy), view(memory));
  assert.equal(copy.digest(), memory.digest());
  const more = authEntries(23, 100).map((e) => ({ ...e, index: e.index + 300 }));
  assert.deepEqual(copy.applyEntries(more), memory.applyEntries(more), "and it goes on alike");
});

test("a snapshot image with a bad auth record is refused", async (t) => {
  const leader = await LmdbStore.open(await dataDir(t));
  leader.applyEntries(authEntries(5, 50));
  const source = leader.openSnapshot();
  const follower = await LmdbStore.open(await dataDir(t));
  const receiver = await follower.receiveSnapshot(source.meta);
  const key = `${AUTH_USER_PREFIX}alice`;
  const json = Buffer.from(JSON.stringify({ name: "mallory", passwordHash: "", generation: 1 }));
  const value = seal(key, Buffer.concat([Buffer.alloc(4), json]));
  const chunk = new ImageChunker();
  chunk.add({ key, value });
  await assert.rejects(async () => receiver.write(chunk.flush() as Buffer), RecordCorruptionError);
  await receiver.abort();
  source.close();
  await follower.close();
  await leader.close();
});

test("a damaged auth record on disk stops the store at open", async (t) => {
  const dir = await dataDir(t);
  const store = await LmdbStore.open(dir);
  const marker = "scrypt$MARKER-0123456789abcdef";
  store.applyEntries([
    entry(1, { op: "auth", auth: { userAdd: { name: "root", passwordHash: marker } } }),
  ]);
  await store.close();
  const file = join(dir, "state", "store.mdb");
  const bytes = await readFile(file);
  const at = bytes.indexOf(Buffer.from(marker));
  assert.ok(at > 0, "the record is on disk");
  bytes[at + 10] ^= 0x01;
  await writeFile(file, bytes);
  await assert.rejects(LmdbStore.open(dir), RecordCorruptionError);
});

test("the digest changes with every auth change, on both stores alike", async (t) => {
  const disk = await LmdbStore.open(await dataDir(t));
  const memory = new MemoryStore();
  const root = { user: "root", generation: 1 };
  const steps: FsmCommand[] = [
    { op: "auth", auth: { userAdd: { name: "root", passwordHash: "h" } } },
    { op: "auth", auth: { roleAdd: { name: "w" } } },
    {
      op: "auth",
      auth: {
        roleGrant: {
          role: "w",
          permission: { key: "a/", prefix: true, read: true, write: false, list: false },
          admin: false,
        },
      },
    },
    { op: "auth", auth: { userGrantRole: { name: "root", role: "w" } } },
    { op: "auth", auth: { enable: { tokenKey: Buffer.alloc(32, 1) } } },
    { op: "auth", auth: { userPasswd: { name: "root", passwordHash: "h2" } }, caller: root },
    { op: "auth", auth: { disable: {} }, caller: { user: "root", generation: 6 } },
  ];
  const seen = new Set([memory.digest()]);
  assert.equal(disk.digest(), memory.digest(), "no auth: both digest alike");
  for (const [i, cmd] of steps.entries()) {
    const e = entry(i + 1, cmd);
    assert.equal(disk.applyEntries([e])[0]?.kind, "auth");
    memory.applyEntries([e]);
    const digest = memory.digest();
    assert.ok(!seen.has(digest), `step ${i + 1} changed the digest`);
    seen.add(digest);
    assert.equal(disk.digest(), digest, `step ${i + 1}: both stores`);
  }
  await disk.close();
});

async function install(leader: LmdbStore, follower: LmdbStore): Promise<void> {
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

function entry(index: number, cmd: FsmCommand): Entry {
  return { index, term: 1, kind: EntryKind.Normal, data: encodeCommand(cmd) };
}

/** The auth view as plain data. */
function view(store: StateMachine) {
  const a = store.auth;
  return JSON.parse(
    JSON.stringify({
      enabled: a.enabled,
      tokenKey: a.tokenKey === null ? null : Buffer.from(a.tokenKey).toString("hex"),
      users: a.users(),
      roles: a.roles(),
    }),
  );
}
