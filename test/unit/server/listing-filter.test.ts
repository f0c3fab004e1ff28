/**
 * Listings with auth on show only what the caller may list, over a real MemoryStore and
 * its auth state: a key iff `list` on it, a directory iff some `list` grant could match a
 * key under it, nothing else; pages fill with visible entries and page on correctly.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeCommand, type FsmCommand, MemoryStore } from "../../../src/fsm/index.ts";
import type { ListRequest } from "../../../src/gen/dfs.ts";
import { EntryKind } from "../../../src/raft/types.ts";
import { AuthGuard } from "../../../src/server/auth/index.ts";
import { listPage } from "../../../src/server/listing.ts";

const KEYS = [
  "docs/readme",
  "docs/secret",
  "photos/2025/x",
  "photos/2026/a",
  "photos/2026/b",
  "secret/y",
  "top",
];

function setUp() {
  const store = new MemoryStore();
  let index = 0;
  const apply = (cmd: FsmCommand) => {
    index++;
    const data = encodeCommand(cmd);
    return store.applyEntries([{ index, term: 1, kind: EntryKind.Normal, data }])[0];
  };
  const perm = (key: string, prefix: boolean) => ({
    key,
    prefix,
    read: false,
    write: false,
    list: true,
  });
  for (const key of KEYS) apply({ op: "put", key, value: Buffer.from(key) });
  apply({ op: "auth", auth: { userAdd: { name: "root", passwordHash: "" } } });
  const aliceAdded = apply({ op: "auth", auth: { userAdd: { name: "alice", passwordHash: "" } } });
  apply({ op: "auth", auth: { roleAdd: { name: "viewer" } } });
  apply({
    op: "auth",
    auth: { roleGrant: { role: "viewer", permission: perm("photos/2026/", true), admin: false } },
  });
  apply({
    op: "auth",
    auth: { roleGrant: { role: "viewer", permission: perm("docs/readme", false), admin: false } },
  });
  apply({ op: "auth", auth: { userGrantRole: { name: "alice", role: "viewer" } } });
  assert.equal(aliceAdded?.kind, "auth");
  const enabled = apply({ op: "auth", auth: { enable: { tokenKey: Buffer.alloc(32, 1) } } });
  assert.equal(enabled?.kind, "auth", JSON.stringify(enabled));
  const alice = { user: "alice", generation: store.auth.user("alice")?.generation ?? -1 };
  const guard = new AuthGuard({ auth: () => store.auth });
  return { store, guard, alice };
}

function names(
  store: MemoryStore,
  req: Partial<ListRequest>,
  filter: ReturnType<AuthGuard["listFilter"]>,
) {
  const view = store.openView();
  try {
    const page = listPage(
      view,
      { prefix: "", startAfter: "", limit: 0, recursive: false, serializable: false, ...req },
      filter,
    );
    return { names: page.entries.map((e) => e.name), next: page.nextStartAfter };
  } finally {
    view.close();
  }
}

test("a caller sees only listable keys and directories that could hold them", () => {
  const { store, guard, alice } = setUp();
  const filter = guard.listFilter(alice);
  assert.deepEqual(names(store, {}, filter).names, ["docs/", "photos/"]);
  assert.deepEqual(names(store, { prefix: "photos" }, filter).names, ["photos/2026/"]);
  assert.deepEqual(names(store, { prefix: "docs" }, filter).names, ["docs/readme"]);
  assert.deepEqual(names(store, { prefix: "secret" }, filter).names, []);
  assert.deepEqual(names(store, { recursive: true }, filter).names, [
    "docs/readme",
    "photos/2026/a",
    "photos/2026/b",
  ]);
  // root sees everything, and so does anyone while auth is off.
  const root = guard.listFilter({
    user: "root",
    generation: store.auth.user("root")?.generation ?? -1,
  });
  assert.deepEqual(names(store, { recursive: true }, root).names, KEYS);
});

test("pages fill with visible entries and continue after them", () => {
  const { store, guard, alice } = setUp();
  const filter = guard.listFilter(alice);
  const seen: string[] = [];
  let startAfter = "";
  for (let pages = 0; pages < 10; pages++) {
    const page = names(store, { recursive: true, limit: 1, startAfter }, filter);
    seen.push(...page.names);
    if (page.next === "") break;
    startAfter = page.next;
  }
  assert.deepEqual(seen, ["docs/readme", "photos/2026/a", "photos/2026/b"]);
});

test("a revoked caller or a caller while auth is on without credentials lists nothing", () => {
  const { guard } = setUp();
  assert.throws(() => guard.listFilter(null), /authentication required/);
  assert.throws(() => guard.listFilter({ user: "alice", generation: 999 }), /revoked/);
});
