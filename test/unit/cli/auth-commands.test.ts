/**
 * `dfs auth`, `dfs user`, `dfs role` and the global `--user` against a scripted fake node,
 * run as users run them (a child process): what goes on the wire for each command and
 * flag combination, where passwords come from, and the exit code and one line of each
 * refusal (usage 2 before anything is sent, 15 and 16 from the node's answers).
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { AuthChangeRequest, AuthenticateRequest } from "../../../src/gen/dfs.ts";
import { type FakeBehavior, type FakeNode, fakeStatus, startFakeNode } from "./fake-node.ts";
import { assertOneLineError, runDfs } from "./run-dfs.ts";

const running: FakeNode[] = [];

/** A node with auth on that accepts root:pw and applies every change at index 7. */
async function authNode(extra: FakeBehavior = {}): Promise<FakeNode> {
  const node = await startFakeNode({
    authenticate: (r) =>
      r.user === "root" && r.password === "pw"
        ? { value: { token: "tok", expiresMs: Date.now() + 300_000 } }
        : {
            fail: {
              status: status.UNAUTHENTICATED,
              code: "unauthenticated",
              message: "wrong user name or password",
            },
          },
    authChange: () => ({ value: { index: 7 } }),
    ...extra,
  });
  running.push(node);
  return node;
}

/** The AuthChange requests the node received, without the oneof's unset (undefined) arms. */
function changes(node: FakeNode): AuthChangeRequest[] {
  return node.calls
    .filter((c) => c.method === "authChange")
    .map((c) => JSON.parse(JSON.stringify(c.request)) as AuthChangeRequest);
}

describe("dfs auth, user and role", () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((n) => n.stop()));
  });

  test("--user NAME:PASSWORD logs in and the change carries the token", async () => {
    const node = await authNode();
    const run = await runDfs([
      "role",
      "grant",
      "photos-rw",
      "--prefix",
      "photos/",
      "--read",
      "--list",
      "--user",
      "root:pw",
      "--endpoints",
      node.address,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout.toString(),
      'ok: role photos-rw granted read,list prefix "photos/" (index 7)\n',
    );
    const login = node.calls[0];
    assert.equal(login?.method, "authenticate");
    assert.deepEqual(login?.request as AuthenticateRequest, { user: "root", password: "pw" });
    const grant = node.calls[1];
    assert.equal(grant?.authorization, "Bearer tok");
    assert.deepEqual(changes(node), [
      {
        roleGrant: {
          role: "photos-rw",
          admin: false,
          permission: { key: "photos/", prefix: true, read: true, write: false, list: true },
        },
      },
    ]);
  });

  test("DFS_USER and DFS_PASSWORD stand for --user; revoke by --key", async () => {
    const node = await authNode();
    const run = await runDfs(
      ["role", "revoke", "r1", "--key", "a.txt", "--endpoints", node.address],
      {
        env: { DFS_USER: "root", DFS_PASSWORD: "pw" },
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(changes(node), [
      {
        roleRevoke: {
          role: "r1",
          admin: false,
          permission: { key: "a.txt", prefix: false, read: false, write: false, list: false },
        },
      },
    ]);
  });

  test("user add takes the password from stdin with --password-stdin", async () => {
    const node = await authNode();
    const run = await runDfs(
      ["user", "add", "bob", "--password-stdin", "--endpoints", node.address],
      {
        stdin: Buffer.from("s3:cret\n"),
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.toString(), "ok: user bob added (index 7)\n");
    assert.deepEqual(changes(node), [
      { userAdd: { name: "bob", password: "s3:cret", noPassword: false } },
    ]);
    assert.equal(node.calls[0]?.authorization, "", "no --user: no token");
  });

  test("user add --no-password adds a certificate-only user", async () => {
    const node = await authNode();
    const run = await runDfs(["user", "add", "svc", "--no-password", "--endpoints", node.address]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(changes(node), [{ userAdd: { name: "svc", password: "", noPassword: true } }]);
  });

  test("user passwd --password, grant-role, delete, auth enable", async () => {
    const node = await authNode();
    const base = ["--user", "root:pw", "--endpoints", node.address];
    for (const args of [
      ["user", "passwd", "bob", "--password", "n3w"],
      ["user", "grant-role", "bob", "photos-rw"],
      ["user", "revoke-role", "bob", "photos-rw"],
      ["user", "delete", "bob"],
      ["role", "add", "r2"],
      ["role", "grant", "r2", "--admin"],
      ["role", "delete", "r2"],
      ["auth", "enable"],
      ["auth", "disable"],
    ]) {
      const run = await runDfs([...args, ...base]);
      assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stdout.toString(), /^ok: .* \(index 7\)/);
    }
    assert.deepEqual(changes(node), [
      { userPasswd: { name: "bob", password: "n3w" } },
      { userGrantRole: { name: "bob", role: "photos-rw" } },
      { userRevokeRole: { name: "bob", role: "photos-rw" } },
      { userDelete: { name: "bob" } },
      { roleAdd: { name: "r2" } },
      { roleGrant: { role: "r2", admin: true } },
      { roleDelete: { name: "r2" } },
      { enable: {} },
      { disable: {} },
    ]);
  });

  test("no password and no terminal: exit 2 before anything is sent", async () => {
    const node = await authNode();
    for (const [args, env, pattern] of [
      [["get", "k", "--user", "root"], {}, /no password for user root: give --user root:PASSWORD/],
      [["ls"], { DFS_USER: "root" }, /no password for user root/],
      [["user", "add", "bob"], {}, /no password for user bob: give --password or --password-stdin/],
      [["user", "add", "b c", "--password", "x"], {}, /user name 'b c' is not 1-64 characters/],
      [["put", "k", "v", "--user", "root:"], {}, /the password of root is empty/],
      [["role", "grant", "r", "--read"], {}, /need --prefix P or --key K/],
      [
        ["role", "grant", "r", "--key", "a", "--prefix", "b", "--read"],
        {},
        /either --prefix or --key/,
      ],
      [["role", "revoke", "r", "--key", "a", "--write"], {}, /do not apply/],
      [["user", "passwd", "bob", "--password", "x", "--password-stdin"], {}, /not both/],
    ] as const) {
      const run = await runDfs([...args, "--endpoints", node.address], { env });
      assertOneLineError(run, 2, pattern);
    }
    assert.deepEqual(node.calls, []);
  });

  test("a wrong password is exit 16, a missing permission exit 15, one line each", async () => {
    const denied = await authNode({
      authChange: () => ({
        fail: {
          status: status.PERMISSION_DENIED,
          code: "permission_denied",
          message: "user alice lacks admin",
        },
      }),
    });
    const wrong = await runDfs([
      "role",
      "add",
      "r",
      "--user",
      "root:bad",
      "--endpoints",
      denied.address,
    ]);
    assertOneLineError(wrong, 16, /^dfs: error: wrong user name or password$/);
    const lacking = await runDfs([
      "role",
      "add",
      "r",
      "--user",
      "root:pw",
      "--endpoints",
      denied.address,
    ]);
    assertOneLineError(lacking, 15, /^dfs: error: user alice lacks admin$/);
  });

  test("user get, role get and auth status print what the node holds", async () => {
    const node = await authNode({
      authRead: () => ({
        value: {
          enabled: true,
          users: [{ name: "alice", roles: ["photos-rw"], hasPassword: true }],
          roles: [
            {
              name: "photos-rw",
              admin: false,
              permissions: [{ key: "photos/", prefix: true, read: true, write: true, list: false }],
            },
            { name: "root", admin: true, permissions: [] },
          ],
        },
      }),
      status: () => ({ value: fakeStatus({ id: 2, role: "leader", authEnabled: true }) }),
    });
    const base = ["--user", "root:pw", "--endpoints", node.address];
    const user = await runDfs(["user", "get", "alice", ...base]);
    assert.equal(user.stdout.toString(), "user: alice\npassword: yes\nroles: photos-rw\n");
    const role = await runDfs(["role", "get", "photos-rw", ...base]);
    assert.equal(
      role.stdout.toString(),
      'role: photos-rw\nadmin: no\npermissions:\n  read,write prefix "photos/"\n',
    );
    const roles = await runDfs(["role", "list", ...base]);
    assert.equal(roles.stdout.toString(), "photos-rw\nroot\n");
    const missing = await runDfs(["user", "get", "nobody", ...base]);
    assertOneLineError(missing, 1, /user nobody does not exist/);
    const auth = await runDfs(["auth", "status", "--endpoints", node.address]);
    assert.equal(auth.stdout.toString(), "auth: enabled\n");
    const json = await runDfs(["auth", "status", "--json", "--endpoints", node.address]);
    assert.deepEqual(JSON.parse(json.stdout.toString()), { enabled: true, node: 2 });
  });
});
