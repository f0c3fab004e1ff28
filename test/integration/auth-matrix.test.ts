/**
 * The auth matrix (docs/auth.md "The proof"): every API call against real `dfs server`
 * processes with auth on, with every kind of credential, each cell asserting the exact
 * outcome (success, or the DfsError code and message). Rows: no credentials, a wrong
 * password, an expired token (a node with `--auth-token-ttl 2`), a token revoked by a
 * password change, a token revoked by deleting the user, a read-only role, a write-only
 * role, keys outside the user's grant, and admin. Calls: put, get, stat, delete,
 * compare-and-set, upload, download, list (with its filtering checked entry by entry),
 * rm -r, status, member list, member add, auth change, auth read, snapshot save, defrag. A few CLI rows check the
 * exit code and the one line printed. The client library's own renewal (a user and
 * password outliving a 2 s token) runs against the real node too.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DfsError } from "../../src/api/errors.ts";
import { DfsClient } from "../../src/client/index.ts";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";
import { runDfs } from "../unit/cli/run-dfs.ts";

const PW = { root: "root-pw", reader: "reader-pw", writer: "writer-pw", alice: "alice-pw" };
const VICTIM_PW = "victim-pw";

/** The outcome of one call: "ok", or the error's code and message. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (error) {
    if (error instanceof DfsError) return `${error.code}: ${error.message}`;
    throw error;
  }
}

async function names(c: DfsClient, prefix: string, recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  for await (const e of c.list(prefix, { recursive })) out.push(e.name);
  return out;
}

/** What a call needs (docs/auth.md), which decides each row's expected outcome. */
type Need = "read" | "write" | "list" | "none" | "user" | "admin";

interface Call {
  readonly name: string;
  readonly need: Need;
  /** `base` is the row's own key folder, `m/<row>/`. */
  readonly run: (c: DfsClient, base: string, endpoint: string) => Promise<unknown>;
}

const CALLS: readonly Call[] = [
  { name: "put", need: "write", run: (c, b) => c.put(`${b}put`, Buffer.from("v")) },
  { name: "get", need: "read", run: (c, b) => c.get(`${b}data`) },
  { name: "stat", need: "read", run: (c, b) => c.stat(`${b}data`) },
  { name: "delete", need: "write", run: (c, b) => c.delete(`${b}del`) },
  {
    name: "compare-and-set",
    need: "write",
    run: (c, b) => c.put(`${b}cas`, Buffer.from("v"), { ifVersion: 0 }),
  },
  { name: "upload", need: "write", run: (c, b) => c.upload(`${b}up`, Buffer.alloc(3000, 7)) },
  {
    name: "download",
    need: "read",
    run: async (c, b) => {
      const { chunks } = await c.download(`${b}data`);
      for await (const _ of chunks);
    },
  },
  { name: "list", need: "list", run: (c) => names(c, "m", true) },
  { name: "rm -r", need: "write", run: (c, b) => c.deletePrefix(`${b}tree`) },
  { name: "status", need: "none", run: (c, _b, endpoint) => c.status(endpoint) },
  { name: "member list", need: "user", run: (c) => c.memberList() },
  {
    name: "member add",
    need: "admin",
    run: async (c) => {
      await c.memberAdd({
        id: 90,
        peerAddr: "127.0.0.1:9",
        clientAddr: "127.0.0.1:10",
        learner: true,
      });
      await c.memberRemove(90); // undo, so the next admin row can add it again
    },
  },
  { name: "auth change", need: "admin", run: (c, b) => c.authChange(roleAddFor(b)) },
  { name: "auth read", need: "admin", run: (c) => c.authRead() },
  {
    name: "snapshot save",
    need: "admin",
    run: async (c) => {
      for await (const _message of await c.snapshotSave()) {
        // drain the image: the refusal, if any, arrives as the stream's error
      }
    },
  },
  {
    name: "defrag",
    need: "admin",
    run: (c, _b, endpoint) => c.defragAt(endpoint, new Date(Date.now() + 60_000)),
  },
];

/** A role named after the row, so each admin row adds a new one. */
function roleAddFor(base: string) {
  return { op: "role_add" as const, name: `tmp-${base.split("/")[1]}-${Date.now()}` };
}

/** Every call but Status refused with `message` as unauthenticated. */
function unauthenticated(message: string) {
  return (need: Need) => (need === "none" ? "ok" : `unauthenticated: ${message}`);
}

/** A user whose roles allow `allowed` on its own folder (`m/<row>/`), and nothing else. */
function limited(user: string, allowed: ReadonlySet<Need>) {
  return (need: Need, base: string, call: string) => {
    if (need === "none" || need === "user" || need === "list" || allowed.has(need)) return "ok";
    if (need === "admin") return `permission_denied: user ${user} lacks admin`;
    const key = { get: "data", stat: "data", download: "data", "compare-and-set": "cas" }[
      call as "get"
    ];
    // rm -r is refused at apply, naming the first key it may not write.
    const target = call === "rm -r" ? "tree/a" : (key ?? CALL_KEYS[call] ?? "");
    return `permission_denied: user ${user} lacks ${need} on ${base}${target}`;
  };
}

/** The key each write call touches in the row's folder. */
const CALL_KEYS: Record<string, string> = { put: "put", delete: "del", upload: "up" };

/** Row name → client factory and expected outcome per call. */
interface Row {
  readonly name: string;
  /** The client for the `i`-th call. */
  readonly client: (i: number) => Promise<DfsClient>;
  readonly expect: (need: Need, base: string, call: string) => string;
  /** What `ls -r m` shows this row (when it may call it at all). */
  readonly listed?: (all: readonly string[]) => string[];
}

describe("auth matrix: every call × every kind of credential", { timeout: 900_000 }, () => {
  let cluster: LocalCluster;
  /** A one-node cluster whose tokens live 2 s, for the expired-token row. */
  let shortLived: LocalCluster;
  const clients: DfsClient[] = [];
  const make = (cl: LocalCluster, options: Partial<ConstructorParameters<typeof DfsClient>[0]>) => {
    const c = new DfsClient({ endpoints: cl.endpoints(), timeoutMs: 15_000, ...options });
    clients.push(c);
    return c;
  };
  const as = (user: keyof typeof PW, cl = cluster) => make(cl, { user, password: PW[user] });
  /** Tokens of the victims, taken before their revocation. */
  const revoked = { passwd: "", deleted: "" };
  let expiredToken = "";

  /** Users, roles and keys, made while auth is off; then auth on. */
  async function setUp(cl: LocalCluster, rows: readonly string[]): Promise<void> {
    const open = make(cl, {});
    for (const [user, password] of Object.entries(PW)) {
      await open.authChange({ op: "user_add", name: user, password });
    }
    for (const i of CALLS.keys()) {
      await open.authChange({ op: "user_add", name: `wrong${i}`, password: "theirs" });
    }
    for (const [role, key, actions] of [
      ["m-read", "m/", { read: true, write: false, list: false }],
      ["m-write", "m/", { read: false, write: true, list: false }],
      ["alice-own", "m/alice/", { read: true, write: true, list: true }],
    ] as const) {
      await open.authChange({ op: "role_add", name: role });
      await open.authChange({
        op: "role_grant",
        role,
        permission: { key, prefix: true, ...actions },
      });
    }
    await open.authChange({ op: "user_grant_role", name: "reader", role: "m-read" });
    await open.authChange({ op: "user_grant_role", name: "writer", role: "m-write" });
    await open.authChange({ op: "user_grant_role", name: "alice", role: "alice-own" });
    await open.put("m/alice/own", Buffer.from("mine"));
    for (const row of rows) {
      for (const key of ["data", "del", "tree/a", "tree/b"]) {
        await open.put(`m/${row}/${key}`, Buffer.from(`${row} ${key}`));
      }
    }
    await open.authChange({ op: "enable" });
  }

  before(async () => {
    [cluster, shortLived] = await Promise.all([
      LocalCluster.start(),
      LocalCluster.start({ size: 1, serverArgs: ["--auth-token-ttl", "2"] }),
    ]);
    await setUp(
      cluster,
      ROWS.map((r) => r.name),
    );
    await setUp(shortLived, ["expired"]);
    const root = as("root");
    for (const [victim, how] of [
      ["victim1", "passwd"],
      ["victim2", "deleted"],
    ] as const) {
      await root.authChange({ op: "user_add", name: victim, password: VICTIM_PW });
      await root.authChange({ op: "user_grant_role", name: victim, role: "root" });
      const token = (await make(cluster, { user: victim, password: VICTIM_PW }).authenticate())
        .token;
      revoked[how] = token;
    }
    await root.authChange({ op: "user_passwd", name: "victim1", password: "changed" });
    await root.authChange({ op: "user_delete", name: "victim2" });
    const issued = await as("root", shortLived).authenticate();
    expiredToken = issued.token;
    const probe = make(shortLived, { token: expiredToken });
    await waitFor(
      "the 2 s token to expire",
      async () => /token expired/.test(await outcome(probe.stat("m/expired/data"))) || undefined,
    );
  });

  after(async () => {
    for (const c of clients) c.close();
    await Promise.all([cluster?.destroy(), shortLived?.destroy()]);
  });

  const ROWS: readonly Row[] = [
    {
      name: "none",
      client: async () => make(cluster, {}),
      expect: unauthenticated("authentication required: auth is on; give --user"),
    },
    {
      // A user of its own per call: five failed logins for one name start its backoff
      // (docs/auth.md "Rate limit"), which would answer resource_exhausted instead.
      name: "wrong",
      client: async (i) => make(cluster, { user: `wrong${i}`, password: "not-theirs" }),
      expect: unauthenticated("wrong user name or password"),
    },
    {
      name: "passwd",
      client: async () => make(cluster, { token: revoked.passwd }),
      expect: unauthenticated("token revoked (user deleted or password changed); log in again"),
    },
    {
      name: "deleted",
      client: async () => make(cluster, { token: revoked.deleted }),
      expect: unauthenticated("token revoked (user deleted or password changed); log in again"),
    },
    {
      name: "reader",
      client: async () => as("reader"),
      expect: limited("reader", new Set(["read"])),
      listed: () => [],
    },
    {
      name: "writer",
      client: async () => as("writer"),
      expect: limited("writer", new Set(["write"])),
      listed: () => [],
    },
    {
      name: "outside",
      client: async () => as("alice"),
      expect: limited("alice", new Set()),
      listed: () => ["m/alice/own"],
    },
    {
      name: "admin",
      client: async () => as("root"),
      expect: () => "ok",
      listed: (all) => [...all],
    },
  ];

  for (const row of ROWS) {
    it(`row ${row.name}`, async () => {
      const c = await row.client(0);
      const base = `m/${row.name}/`;
      const endpoint = cluster.endpoints()[0] as string;
      const got: string[] = [];
      const want: string[] = [];
      for (const [i, call] of CALLS.entries()) {
        const ci = i === 0 ? c : await row.client(i);
        got.push(`${call.name} → ${await outcome(call.run(ci, base, endpoint))}`);
        want.push(`${call.name} → ${row.expect(call.need, base, call.name)}`);
      }
      assert.deepEqual(got, want);
      if (row.listed !== undefined) {
        const all = await names(as("root"), "m", true);
        assert.deepEqual(await names(c, "m", true), row.listed(all), "recursive listing");
        const top = await names(c, "m", false);
        assert.deepEqual(top, [...new Set(row.listed(all).map((k) => `m/${k.split("/")[1]}/`))]);
      }
    });
  }

  it("row expired (--auth-token-ttl 2): every call but status refused", async () => {
    assert.notEqual(expiredToken, "");
    const c = make(shortLived, { token: expiredToken });
    const endpoint = shortLived.endpoints()[0] as string;
    const got: string[] = [];
    const want: string[] = [];
    for (const call of CALLS) {
      got.push(`${call.name} → ${await outcome(call.run(c, "m/expired/", endpoint))}`);
      want.push(`${call.name} → ${unauthenticated("token expired; log in again")(call.need)}`);
    }
    assert.deepEqual(got, want);
  });

  it("a client with a password outlives its 2 s tokens, and re-logs in once when refused", async () => {
    const c = as("root", shortLived);
    await c.put("m/expired/renewed", Buffer.from("1"));
    const until = Date.now() + 2500;
    await waitFor("two token lifetimes of puts", async () => {
      await c.put("m/expired/renewed", Buffer.from("2"));
      return Date.now() > until || undefined;
    });
    // Holding an expired token: refused once as expired, logs in, the call succeeds.
    const stale = make(shortLived, { token: expiredToken, user: "root", password: PW.root });
    assert.equal(await outcome(stale.get("m/expired/renewed")), "ok");
  });

  it("CLI rows: exit code and the one line", async () => {
    const endpoints = ["--endpoints", cluster.endpoints().join(",")];
    const cases: Array<[string[], number, string]> = [
      [["get", "m/reader/data", "--user", `reader:${PW.reader}`], 0, ""],
      [["put", "m/x", "v"], 16, "dfs: error: authentication required: auth is on; give --user"],
      [["get", "m/x", "--user", "alice:bad"], 16, "dfs: error: wrong user name or password"],
      [
        ["put", "m/reader/x", "v", "--user", `reader:${PW.reader}`],
        15,
        "dfs: error: user reader lacks write on m/reader/x",
      ],
      [["user", "list", "--user", `alice:${PW.alice}`], 15, "dfs: error: user alice lacks admin"],
      [["status", "--json"], 0, ""],
    ];
    for (const [args, code, line] of cases) {
      const run = await runDfs([...args, ...endpoints]);
      assert.equal(run.code, code, `${args.join(" ")}: ${run.stderr}`);
      assert.equal(run.stderr.trim(), line, args.join(" "));
    }
    const ls = await runDfs(["ls", "-r", "m", "--user", `alice:${PW.alice}`, ...endpoints]);
    assert.equal(ls.stdout.toString(), "m/alice/own\n");
    const env = { DFS_USER: "root", DFS_PASSWORD: PW.root };
    const users = await runDfs(["user", "list", ...endpoints], { env });
    assert.equal(users.code, 0, users.stderr);
    assert.match(users.stdout.toString(), /^alice\nreader\nroot\n/);
    // verify's workers and its readers bound to each node all log in.
    const verify = await runDfs(["verify", "--seconds", "2", "--workers", "2", ...endpoints], {
      env,
    });
    assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);
    assert.doesNotMatch(verify.stdout.toString(), /unexpected errors/, "bound readers refused");
  });
});
