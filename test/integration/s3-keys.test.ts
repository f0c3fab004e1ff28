/**
 * S3 access keys and S3Credentials on three real processes with auth on (docs/auth.md
 * "S3 access keys"): an admin adds a key for alice (through the library and through
 * `dfs user s3-key add`), S3Credentials answers alice's name, the SigV4 signing key of
 * the secret for the asked scope, and a token that acts as alice (her grant allows, the
 * rest is refused) through a client's `tokenSource`; alice herself may not call it, nor
 * manage keys; a deleted key is not found at once; `dfs user get` lists key ids only.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { DfsError } from "../../src/api/errors.ts";
import { DfsClient } from "../../src/client/index.ts";
import { LocalCluster } from "../../src/cluster/index.ts";
import { runDfs } from "../unit/cli/run-dfs.ts";

const PW = { root: "root-pw", alice: "alice-pw" };
const SCOPE = { date: "20261207", region: "us-east-1", service: "s3" };

async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (error) {
    if (error instanceof DfsError) return `${error.code}: ${error.message}`;
    throw error;
  }
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const h = (k: Buffer | string, d: string) => createHmac("sha256", k).update(d).digest();
  return h(h(h(h(`AWS4${secret}`, date), region), service), "aws4_request");
}

describe("S3 access keys and S3Credentials on real processes", { timeout: 300_000 }, () => {
  let cluster: LocalCluster;
  const clients: DfsClient[] = [];
  const make = (options: Partial<ConstructorParameters<typeof DfsClient>[0]>) => {
    const c = new DfsClient({ endpoints: cluster.endpoints(), timeoutMs: 15_000, ...options });
    clients.push(c);
    return c;
  };
  let root: DfsClient;
  let alice: DfsClient;

  before(async () => {
    cluster = await LocalCluster.start();
    const open = make({});
    for (const [name, password] of Object.entries(PW))
      await open.authChange({ op: "user_add", name, password });
    await open.authChange({ op: "role_add", name: "own" });
    await open.authChange({
      op: "role_grant",
      role: "own",
      permission: { key: "alice/", prefix: true, read: true, write: true, list: true },
    });
    await open.authChange({ op: "user_grant_role", name: "alice", role: "own" });
    await open.authChange({ op: "enable" });
    root = make({ user: "root", password: PW.root });
    alice = make({ user: "alice", password: PW.alice });
  });
  after(async () => {
    for (const c of clients) c.close();
    await cluster?.destroy();
  });

  it("an admin adds a key; S3Credentials maps it to alice with the right signing key and a working token", async () => {
    const { s3Key } = await root.authChange({ op: "s3_key_add", user: "alice" });
    assert.ok(s3Key);
    assert.match(s3Key.accessKey, /^DFS[A-Z0-9]{17}$/);
    assert.match(s3Key.secret, /^[A-Za-z0-9+/]{40}$/);
    const creds = await root.s3Credentials({ accessKey: s3Key.accessKey, ...SCOPE });
    assert.equal(creds.user, "alice");
    assert.deepEqual(
      Buffer.from(creds.signingKey),
      signingKey(s3Key.secret, SCOPE.date, SCOPE.region, SCOPE.service),
    );
    assert.ok(creds.token.length > 0 && creds.tokenExpiresMs > Date.now());
    let asked = 0;
    const gateway = make({
      tokenSource: async () => {
        asked++;
        const c = await root.s3Credentials({ accessKey: s3Key.accessKey, ...SCOPE });
        return { token: c.token, expiresMs: c.tokenExpiresMs };
      },
    });
    await gateway.put("alice/x", Buffer.from("via gateway"));
    assert.equal((await alice.get("alice/x")).value.toString(), "via gateway");
    assert.equal(
      await outcome(gateway.put("other/x", Buffer.from("no"))),
      "permission_denied: user alice lacks write on other/x",
    );
    assert.equal(asked, 1, "one token for several calls");
    const { users } = await root.authRead();
    assert.deepEqual(users.find((u) => u.name === "alice")?.s3AccessKeys, [s3Key.accessKey]);

    // A gateway holding the token it was given for the key (it may trust the key's
    // signing key for a minute): every call with it is refused once the key is deleted.
    const held = make({
      tokenSource: async () => ({ token: creds.token, expiresMs: creds.tokenExpiresMs }),
    });
    assert.equal(await outcome(held.put("alice/held", Buffer.from("before"))), "ok");
    await root.authChange({ op: "s3_key_delete", accessKey: s3Key.accessKey });
    assert.equal(
      await outcome(root.s3Credentials({ accessKey: s3Key.accessKey, ...SCOPE })),
      `not_found: unknown S3 access key ${s3Key.accessKey}`,
    );
    assert.equal(
      await outcome(held.put("alice/held", Buffer.from("after"))),
      "unauthenticated: S3 access key deleted",
    );
    assert.equal((await alice.get("alice/held")).value.toString(), "before");
  });

  it("non-admins may neither ask for credentials nor manage keys; bad scopes are refused", async () => {
    const { s3Key } = await root.authChange({ op: "s3_key_add", user: "alice" });
    assert.ok(s3Key);
    assert.equal(
      await outcome(alice.s3Credentials({ accessKey: s3Key.accessKey, ...SCOPE })),
      "permission_denied: user alice lacks admin",
    );
    assert.equal(
      await outcome(alice.authChange({ op: "s3_key_add", user: "alice" })),
      "permission_denied: user alice lacks admin",
    );
    assert.equal(
      await outcome(alice.authChange({ op: "s3_key_delete", accessKey: s3Key.accessKey })),
      "permission_denied: user alice lacks admin",
    );
    const anonymous = make({});
    assert.match(
      await outcome(anonymous.s3Credentials({ accessKey: s3Key.accessKey, ...SCOPE })),
      /^unauthenticated: /,
    );
    assert.match(
      await outcome(
        root.s3Credentials({ accessKey: s3Key.accessKey, ...SCOPE, date: "2026-12-07" }),
      ),
      /^invalid_argument: S3 credential date must be yyyymmdd/,
    );
    assert.match(
      await outcome(root.authChange({ op: "s3_key_add", user: "nobody" })),
      /^precondition_failed: user nobody does not exist/,
    );
  });

  it("dfs user s3-key add prints key and secret once; user get lists the id; delete removes it", async () => {
    const flags = ["--endpoints", cluster.endpoints().join(","), "--user", `root:${PW.root}`];
    const added = await runDfs(["user", "s3-key", "add", "alice", "--json", ...flags]);
    assert.equal(added.code, 0, added.stderr);
    const { accessKey, secret } = JSON.parse(added.stdout.toString()) as Record<string, string>;
    assert.match(accessKey ?? "", /^DFS[A-Z0-9]{17}$/);
    const creds = await root.s3Credentials({ accessKey: accessKey as string, ...SCOPE });
    assert.deepEqual(
      Buffer.from(creds.signingKey),
      signingKey(secret as string, SCOPE.date, SCOPE.region, SCOPE.service),
    );
    const got = await runDfs(["user", "get", "alice", ...flags]);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout.toString(), new RegExp(`s3 access keys: .*${accessKey}`));
    assert.ok(!got.stdout.toString().includes(secret as string), "never the secret");
    const del = await runDfs(["user", "s3-key", "delete", accessKey as string, ...flags]);
    assert.equal(del.code, 0, del.stderr);
    assert.match(
      await outcome(root.s3Credentials({ accessKey: accessKey as string, ...SCOPE })),
      /^not_found/,
    );
    const asAlice = await runDfs([
      "user",
      "s3-key",
      "add",
      "alice",
      "--endpoints",
      cluster.endpoints().join(","),
      "--user",
      `alice:${PW.alice}`,
    ]);
    assert.equal(asAlice.code, 15, "permission denied");
  });
});
