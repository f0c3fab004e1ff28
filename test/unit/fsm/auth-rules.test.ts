/**
 * Every auth rule of the state machine (docs/auth.md), as one table run on both stores:
 * the MemoryStore and the LmdbStore in a temporary directory. After each case the LMDB
 * store is reopened and must hold the same auth state, and both stores the same digest.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import {
  type ApplyResult,
  type AuthOp,
  type CommandCaller,
  encodeCommand,
  type FsmCommand,
  LmdbStore,
  MemoryStore,
  type StateMachine,
} from "../../../src/fsm/index.ts";
import { EntryKind } from "../../../src/raft/types.ts";

const KEY = Buffer.alloc(32, 7);
const ROOT: CommandCaller = { user: "root", generation: 1 };
const ALICE: CommandCaller = { user: "alice", generation: 4 };
const BOB: CommandCaller = { user: "bob", generation: 8 };
const RW = { read: true, write: true, list: true };

/** An AuthOp command, by `caller` when given. */
function auth(op: AuthOp, caller?: CommandCaller): FsmCommand {
  return { op: "auth", auth: op, ...(caller ? { caller } : {}) };
}

function put(key: string, caller?: CommandCaller): FsmCommand {
  return { op: "put", key, value: Buffer.from("v"), ...(caller ? { caller } : {}) };
}

const addUser = (name: string, caller?: CommandCaller) =>
  auth({ userAdd: { name, passwordHash: `scrypt$${name}` } }, caller);
const addRole = (name: string, caller?: CommandCaller) => auth({ roleAdd: { name } }, caller);
const grant = (role: string, key: string, prefix: boolean, flags: object, caller?: CommandCaller) =>
  auth(
    {
      roleGrant: {
        role,
        permission: { key, prefix, read: false, write: false, list: false, ...flags },
        admin: false,
      },
    },
    caller,
  );
const grantRole = (name: string, role: string, caller?: CommandCaller) =>
  auth({ userGrantRole: { name, role } }, caller);
const enable = (caller?: CommandCaller, key: Buffer = KEY) =>
  auth({ enable: { tokenKey: key } }, caller);

/**
 * Indexes 1-10: root (gen 1); role writer = read/write/list on prefix "photos/"; alice
 * (gen 4) with writer; role reader = read on key "docs/a"; bob (gen 8) with reader; on.
 */
const BASE: FsmCommand[] = [
  addUser("root"),
  addRole("writer"),
  grant("writer", "photos/", true, RW),
  addUser("alice"),
  grantRole("alice", "writer"),
  addRole("reader"),
  grant("reader", "docs/a", false, { read: true }),
  addUser("bob"),
  grantRole("bob", "reader"),
  enable(),
];

/** One step: a command and the result kind it must get (with a reason matching `reason`). */
interface Step {
  readonly cmd: FsmCommand;
  readonly kind: ApplyResult["kind"];
  readonly reason?: RegExp;
}

interface Case {
  readonly name: string;
  /** Commands before the steps (default BASE; their results are not checked). */
  readonly setup?: readonly FsmCommand[];
  readonly steps: readonly Step[];
  readonly check?: (store: StateMachine) => void;
}

const s = (cmd: FsmCommand, kind: ApplyResult["kind"], reason?: RegExp): Step =>
  reason === undefined ? { cmd, kind } : { cmd, kind, reason };

const CASES: Case[] = [
  {
    name: "auth off: writes need no caller and a caller is ignored",
    setup: [],
    steps: [s(put("a"), "put"), s(put("b", { user: "nobody", generation: 9 }), "put")],
    check: (st) => assert.equal(st.auth.enabled, false),
  },
  {
    name: "enabling needs a user root, and a 32-byte token key",
    setup: [],
    steps: [
      s(enable(), "auth_refused", /without a user root/),
      s(addUser("root"), "auth"),
      s(enable(undefined, Buffer.alloc(16)), "auth_refused", /32 bytes/),
      s(enable(), "auth"),
    ],
    check: (st) => {
      assert.equal(st.auth.enabled, true);
      assert.deepEqual(st.auth.user("root")?.roles, ["root"], "enabling grants root role root");
      assert.deepEqual(Buffer.from(st.auth.tokenKey ?? []), KEY);
    },
  },
  {
    name: "auth on: a write without a caller is unauthenticated",
    steps: [s(put("photos/a"), "unauthenticated", /^authentication required: auth is on/)],
  },
  {
    name: "auth on: unknown user or stale generation is unauthenticated",
    steps: [
      s(put("photos/a", { user: "mallory", generation: 4 }), "unauthenticated", /token revoked/),
      s(put("photos/a", { ...ALICE, generation: 3 }), "unauthenticated", /token revoked/),
    ],
  },
  {
    name: "write needs write on the key (prefix grant)",
    steps: [
      s(put("photos/a", ALICE), "put"),
      s(put("docs/x", ALICE), "permission_denied", /^user alice lacks write on docs\/x$/),
      s(put("photos", ALICE), "permission_denied", /lacks write on photos$/),
      s(put("docs/a", BOB), "permission_denied", /^user bob lacks write on docs\/a$/),
      s(put("anything/at/all", ROOT), "put"),
    ],
    check: (st) => {
      assert.equal(st.get("photos/a")?.version, 1);
      assert.equal(st.get("docs/x"), undefined, "a refused write changes nothing");
    },
  },
  {
    name: "delete and commit_upload need write on their key",
    steps: [
      s(put("docs/a", ROOT), "put"),
      s({ op: "delete", key: "docs/a", caller: BOB }, "permission_denied", /write on docs\/a/),
      s(
        { op: "upload_chunk", uploadId: "u1", seq: 0, data: Buffer.from("xy"), caller: ALICE },
        "chunk",
      ),
      s(
        {
          op: "commit_upload",
          uploadId: "u1",
          key: "docs/b",
          size: 2,
          sha256: Buffer.alloc(32),
          chunks: 1,
          caller: ALICE,
        },
        "permission_denied",
        /lacks write on docs\/b/,
      ),
      // A commit is the last word on its upload: the refused one freed u1.
      s(
        {
          op: "commit_upload",
          uploadId: "u1",
          key: "photos/b",
          size: 2,
          sha256: Buffer.alloc(32),
          chunks: 1,
          caller: ALICE,
        },
        "invalid",
        /u1 holds 0 chunks/,
      ),
      s(
        { op: "upload_chunk", uploadId: "u2", seq: 0, data: Buffer.from("xy"), caller: ALICE },
        "chunk",
      ),
      s(
        {
          op: "commit_upload",
          uploadId: "u2",
          key: "photos/b",
          size: 2,
          sha256: Buffer.alloc(32),
          chunks: 1,
          caller: ALICE,
        },
        "put",
      ),
    ],
    check: (st) => assert.equal(st.get("docs/a")?.version, 1),
  },
  {
    name: "upload_chunk needs a caller with write somewhere; abort_upload is always allowed",
    steps: [
      s({ op: "upload_chunk", uploadId: "u", seq: 0, data: Buffer.from("x") }, "unauthenticated"),
      s(
        { op: "upload_chunk", uploadId: "u", seq: 0, data: Buffer.from("x"), caller: BOB },
        "permission_denied",
        /^user bob lacks write on any key$/,
      ),
      s(
        { op: "upload_chunk", uploadId: "u", seq: 0, data: Buffer.from("x"), caller: ALICE },
        "chunk",
      ),
      s({ op: "abort_upload", uploadId: "u" }, "noop"),
    ],
  },
  {
    name: "rm -r needs write on every key it would delete; if one is not, nothing goes",
    steps: [
      s(put("photos/a", ROOT), "put"),
      s(put("photos/b", ROOT), "put"),
      s(put("photos", ROOT), "put"),
      s(
        { op: "delete_prefix", prefix: "photos", caller: ALICE },
        "permission_denied",
        /write on photos$/,
      ),
      s({ op: "delete", key: "photos", caller: ROOT }, "delete"),
      s({ op: "delete_prefix", prefix: "photos", caller: ALICE }, "delete_prefix"),
      s({ op: "delete_prefix", prefix: "docs", caller: BOB }, "delete_prefix"),
      s({ op: "delete_prefix", prefix: "docs" }, "unauthenticated"),
    ],
    check: (st) => assert.equal(st.size(), 0),
  },
  {
    name: "AuthOps need admin while auth is on",
    steps: [
      s(addRole("x"), "unauthenticated"),
      s(addRole("x", ALICE), "permission_denied", /^user alice lacks admin$/),
      s(addRole("x", ROOT), "auth"),
      s(auth({ roleGrant: { role: "x", admin: true, permission: undefined } }, ROOT), "auth"),
      s(grantRole("bob", "x", ROOT), "auth"),
      s(addRole("y", BOB), "auth"),
    ],
    check: (st) => {
      assert.equal(st.auth.isAdmin("bob"), true);
      assert.equal(st.auth.isAdmin("alice"), false);
      assert.equal(st.auth.isAdmin("root"), true);
    },
  },
  {
    name: "a password change moves the generation: old credentials are void",
    steps: [
      s(auth({ userPasswd: { name: "alice", passwordHash: "scrypt$new" } }, ROOT), "auth"),
      s(put("photos/a", ALICE), "unauthenticated", /token revoked/),
      s(put("photos/a", { user: "alice", generation: 11 }), "put"),
    ],
    check: (st) => {
      assert.equal(st.auth.user("alice")?.generation, 11);
      assert.equal(st.auth.user("alice")?.passwordHash, "scrypt$new");
    },
  },
  {
    name: "deleted and re-added user: a new generation",
    steps: [
      s(auth({ userDelete: { name: "alice" } }, ROOT), "auth"),
      s(put("photos/a", ALICE), "unauthenticated"),
      s(addUser("alice", ROOT), "auth"),
      s(put("photos/a", { user: "alice", generation: 13 }), "permission_denied", /lacks write/),
    ],
    check: (st) => assert.deepEqual(st.auth.user("alice")?.roles, []),
  },
  {
    name: "revoking the permission or the role stops writes at once",
    steps: [
      s(
        auth(
          {
            roleRevoke: {
              role: "writer",
              permission: { key: "photos/", prefix: true, read: false, write: false, list: false },
              admin: false,
            },
          },
          ROOT,
        ),
        "auth",
      ),
      s(put("photos/a", ALICE), "permission_denied"),
      s(grant("writer", "photos/", true, RW, ROOT), "auth"),
      s(put("photos/a", ALICE), "put"),
      s(auth({ userRevokeRole: { name: "alice", role: "writer" } }, ROOT), "auth"),
      s(put("photos/b", ALICE), "permission_denied"),
    ],
  },
  {
    name: "granting the same (key, prefix) replaces its flags; another adds one",
    steps: [
      s(grant("writer", "photos/", true, { read: true }, ROOT), "auth"),
      s(put("photos/a", ALICE), "permission_denied"),
      s(grant("writer", "photos/", false, { write: true }, ROOT), "auth"),
      s(put("photos/", ALICE), "put"),
    ],
    check: (st) => {
      const perms = st.auth.role("writer")?.permissions;
      assert.deepEqual(perms, [
        { key: "photos/", prefix: false, read: false, write: true, list: false },
        { key: "photos/", prefix: true, read: true, write: false, list: false },
      ]);
    },
  },
  {
    name: "deleting a role takes it from its users; re-adding it starts empty",
    steps: [
      s(auth({ roleDelete: { name: "writer" } }, ROOT), "auth"),
      s(put("photos/a", ALICE), "permission_denied"),
      s(addRole("writer", ROOT), "auth"),
      s(put("photos/a", ALICE), "permission_denied"),
    ],
    check: (st) => assert.deepEqual(st.auth.user("alice")?.roles, []),
  },
  {
    name: "root stays: no delete, no losing role root, role root is built in",
    steps: [
      s(auth({ userDelete: { name: "root" } }, ROOT), "auth_refused", /cannot be deleted/),
      s(
        auth({ userRevokeRole: { name: "root", role: "root" } }, ROOT),
        "auth_refused",
        /cannot lose role root/,
      ),
      s(addRole("root", ROOT), "auth_refused", /built in/),
      s(auth({ roleDelete: { name: "root" } }, ROOT), "auth_refused", /built in/),
      s(grant("root", "a", false, RW, ROOT), "auth_refused", /built in/),
      s(grantRole("alice", "root", ROOT), "auth"),
      s(put("anywhere", ALICE), "put"),
    ],
    check: (st) => assert.equal(st.auth.isAdmin("alice"), true),
  },
  {
    name: "refusals: duplicates, unknown names, bad names, empty grants",
    steps: [
      s(addUser("alice", ROOT), "auth_refused", /^user alice already exists$/),
      s(addRole("writer", ROOT), "auth_refused", /^role writer already exists$/),
      s(addUser("bad name", ROOT), "auth_refused", /bad user name/),
      s(addUser("x".repeat(65), ROOT), "auth_refused", /bad user name/),
      s(addRole("", ROOT), "auth_refused", /bad role name/),
      s(grantRole("alice", "nope", ROOT), "auth_refused", /^role nope does not exist$/),
      s(grantRole("nobody", "writer", ROOT), "auth_refused", /^user nobody does not exist$/),
      s(
        auth({ userRevokeRole: { name: "alice", role: "reader" } }, ROOT),
        "auth_refused",
        /does not have role reader/,
      ),
      s(auth({ userDelete: { name: "nobody" } }, ROOT), "auth_refused", /does not exist/),
      s(
        auth({ userPasswd: { name: "nobody", passwordHash: "h" } }, ROOT),
        "auth_refused",
        /does not exist/,
      ),
      s(auth({ roleDelete: { name: "nope" } }, ROOT), "auth_refused", /does not exist/),
      s(grant("writer", "", false, RW, ROOT), "auth_refused", /needs the key/),
      s(grant("writer", "k", false, {}, ROOT), "auth_refused", /at least one of read, write, list/),
      s(
        auth({ roleGrant: { role: "writer", permission: undefined, admin: false } }, ROOT),
        "auth_refused",
        /nothing to grant/,
      ),
      s(
        auth(
          {
            roleRevoke: {
              role: "writer",
              permission: { key: "zz", prefix: false, read: false, write: false, list: false },
              admin: false,
            },
          },
          ROOT,
        ),
        "auth_refused",
        /no permission on key "zz"/,
      ),
      s(
        auth({ userAdd: { name: "long", passwordHash: "h".repeat(1025) } }, ROOT),
        "auth_refused",
        /longer than/,
      ),
      s(auth({}, ROOT), "auth_refused", /empty auth operation/),
      s(grantRole("alice", "writer", ROOT), "auth"), // already held: nothing to do
    ],
    check: (st) => assert.deepEqual(st.auth.user("alice")?.roles, ["writer"]),
  },
  {
    name: "disable: writes need no caller again; enable again with a new key",
    steps: [
      s(auth({ disable: {} }, ROOT), "auth"),
      s(put("x"), "put"),
      s(auth({ userDelete: { name: "root" } }), "auth"),
      s(enable(), "auth_refused", /without a user root/),
      s(addUser("root"), "auth"),
      s(enable(undefined, Buffer.alloc(32, 9)), "auth"),
      s(put("y"), "unauthenticated"),
      s(put("y", { user: "root", generation: 15 }), "put"),
    ],
    check: (st) => assert.deepEqual(Buffer.from(st.auth.tokenKey ?? []), Buffer.alloc(32, 9)),
  },
  {
    name: "enable while on keeps the token key",
    steps: [s(enable(ROOT, Buffer.alloc(32, 1)), "auth")],
    check: (st) => assert.deepEqual(Buffer.from(st.auth.tokenKey ?? []), KEY),
  },
  {
    name: "a refused write is remembered by its session like any result",
    steps: [
      s(
        { ...put("docs/x", ALICE), session: { clientId: "c", sequence: 1, firstIncomplete: 1 } },
        "permission_denied",
      ),
      s(grant("writer", "docs/", true, RW, ROOT), "auth"),
      s(
        { ...put("docs/x", ALICE), session: { clientId: "c", sequence: 1, firstIncomplete: 1 } },
        "permission_denied",
      ),
      s(
        { ...put("docs/x", ALICE), session: { clientId: "c", sequence: 2, firstIncomplete: 2 } },
        "put",
      ),
    ],
  },
];

describe("the view answers from users' roles", () => {
  test("missing, isAdmin, mayListUnder, users and roles", () => {
    const store = new MemoryStore();
    applyAll(store, [
      ...BASE,
      grant("reader", "music/", true, { list: true }, ROOT),
      grant("reader", "video/a/b", false, { list: true }, ROOT),
    ]);
    const v = store.auth;
    assert.equal(v.missing("alice", "write", "photos/x"), null);
    assert.equal(v.missing("alice", "read", "photos/x"), null);
    assert.equal(v.missing("alice", "write", "photo"), "write on photo");
    assert.equal(v.missing("bob", "read", "docs/a"), null);
    assert.equal(v.missing("bob", "read", "docs/ab"), "read on docs/ab");
    assert.equal(v.missing("bob", "list", "docs/a"), "list on docs/a");
    assert.equal(v.missing("root", "list", "anything"), null);
    assert.equal(v.missing("nobody", "read", "x"), "read on x");
    assert.equal(v.mayListUnder("bob", "music/"), true, "prefix grant is the dir");
    assert.equal(v.mayListUnder("bob", "music/sub/"), true, "prefix grant above the dir");
    assert.equal(v.mayListUnder("bob", "video/"), true, "a key under the dir");
    assert.equal(v.mayListUnder("bob", "video/a/"), true);
    assert.equal(v.mayListUnder("bob", "video/c/"), false);
    assert.equal(v.mayListUnder("bob", "docs/"), false, "read is not list");
    assert.equal(v.mayListUnder("alice", "photos/"), true);
    assert.equal(v.mayListUnder("alice", ""), true, "the root holds photos/");
    assert.equal(v.mayListUnder("root", "any/"), true);
    assert.deepEqual(
      v.users().map((u) => [u.name, u.generation]),
      [
        ["alice", 4],
        ["bob", 8],
        ["root", 1],
      ],
    );
    assert.deepEqual(
      v.roles().map((r) => r.name),
      ["reader", "root", "writer"],
    );
    assert.equal(v.role("root")?.admin, true);
    assert.equal(v.user("alice")?.passwordHash, "scrypt$alice");
  });
});

for (const kind of ["memory", "lmdb"] as const) {
  describe(`auth rules on the ${kind} store`, () => {
    for (const c of CASES) {
      test(c.name, async (t) => {
        const { store, reopen, close } = await openStore(t, kind);
        const setup = c.setup ?? BASE;
        const setupResults = applyAll(store, setup);
        for (const [i, r] of setupResults.entries())
          assert.ok(
            r.kind !== "auth_refused" && r.kind !== "unauthenticated",
            `setup ${i + 1}: ${JSON.stringify(r)}`,
          );
        let index = setup.length;
        for (const step of c.steps) {
          index++;
          const [result] = store.applyEntries([entry(index, step.cmd)]);
          const where = `step at index ${index} (${JSON.stringify(step.cmd).slice(0, 120)})`;
          assert.equal(result?.kind, step.kind, `${where}: ${JSON.stringify(result)}`);
          if (step.reason) assert.match((result as { reason: string }).reason, step.reason, where);
        }
        c.check?.(store);
        const reference = new MemoryStore();
        applyAll(reference, [...setup, ...c.steps.map((x) => x.cmd)]);
        assert.equal(store.digest(), reference.digest(), "same digest as the memory store");
        const again = await reopen();
        assert.deepEqual(authOf(again), authOf(store), "the auth state survives a restart");
        c.check?.(again);
        await close();
      });
    }
  });
}

/** A store of the given kind; reopen() gives the LMDB store after a restart (memory: an image round trip). */
async function openStore(t: TestContext, kind: "memory" | "lmdb") {
  if (kind === "memory") {
    const store = new MemoryStore();
    return {
      store,
      reopen: async () => {
        const copy = new MemoryStore();
        copy.restore(store.snapshot());
        return copy;
      },
      close: async () => {},
    };
  }
  const dir = await mkdtemp(join(tmpdir(), "dfs-auth-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let store = await LmdbStore.open(dir);
  const first = store;
  return {
    store: first as StateMachine,
    reopen: async () => {
      await store.close();
      store = await LmdbStore.open(dir);
      return store;
    },
    close: () => store.close(),
  };
}

function entry(index: number, cmd: FsmCommand) {
  return { index, term: 1, kind: EntryKind.Normal, data: encodeCommand(cmd) };
}

function applyAll(store: StateMachine, cmds: readonly FsmCommand[]): ApplyResult[] {
  const from = store.appliedIndex + 1;
  return store.applyEntries(cmds.map((c, i) => entry(from + i, c)));
}

/** Everything the auth view shows, as plain data. */
function authOf(store: StateMachine) {
  const a = store.auth;
  return {
    enabled: a.enabled,
    tokenKey: a.tokenKey === null ? null : Buffer.from(a.tokenKey).toString("hex"),
    users: JSON.parse(JSON.stringify(a.users())),
    roles: JSON.parse(JSON.stringify(a.roles())),
  };
}
