/**
 * Auth against real `dfs server` processes, with raw grpc-js calls and hand-made
 * metadata (docs/auth.md): with auth on, every RPC but Status refuses a call without
 * credentials; forged tokens (another key, a tampered payload, alg "none") and expired
 * ones are refused; a password change or a user's deletion voids its tokens on every
 * node; a login flood for one user hits that user's backoff while the node keeps serving
 * others; a BatchStream whose token is revoked mid-stream stops succeeding at its next
 * request; listings show only what the caller may list.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  type ClientDuplexStream,
  credentials,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { SignJWT } from "jose";
import { ERROR_CODE_METADATA } from "../../src/api/errors.ts";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";
import {
  type AuthChangeRequest,
  type BatchStreamRequest,
  type BatchStreamResponse,
  DfsClient as DfsStub,
  type PutResponse,
} from "../../src/gen/dfs.ts";

const TTL_S = 4;
const ROOT_PW = "root-secret";
const ALICE_PW = "alice-secret";

type Callback = (error: ServiceError | null, response: unknown) => void;
type UnaryMethod = (request: unknown, metadata: Metadata, callback: Callback) => unknown;

/** Metadata carrying `token` (none when undefined). */
function bearer(token: string | undefined): Metadata {
  const md = new Metadata();
  if (token !== undefined) md.set("authorization", `Bearer ${token}`);
  return md;
}

/** A unary call by method name with the given token. */
function call<T>(stub: DfsStub, method: string, request: object, token?: string): Promise<T> {
  const methods = stub as unknown as Record<string, UnaryMethod>;
  return new Promise((resolve, reject) => {
    methods[method]?.call(stub, request, bearer(token), (error, response) =>
      error === null ? resolve(response as T) : reject(error),
    );
  });
}

/** The dfs error code a refused call carried. */
function dfsCode(error: unknown): string | undefined {
  const value = (error as ServiceError).metadata?.get(ERROR_CODE_METADATA)[0];
  return value === undefined ? undefined : String(value);
}

/** A predicate for assert.rejects: gRPC status, dfs code and message. */
function refusedAs(
  code: "unauthenticated" | "permission_denied" | "resource_exhausted",
  detail: RegExp,
) {
  const grpcCode = {
    unauthenticated: status.UNAUTHENTICATED,
    permission_denied: status.PERMISSION_DENIED,
    resource_exhausted: status.RESOURCE_EXHAUSTED,
  }[code];
  return (error: unknown): boolean => {
    const e = error as ServiceError;
    assert.equal(e.code, grpcCode, `status of ${e.details}`);
    assert.equal(dfsCode(e), code);
    assert.match(e.details, detail);
    return true;
  };
}

const put = (key: string, value = "v") => ({
  key,
  value: Buffer.from(value),
  ifVersion: undefined,
  session: undefined,
  metadata: {},
});
const get = (key: string, serializable = false) => ({ key, serializable, offset: 0 });

describe("auth on the node", { timeout: 600_000 }, () => {
  let cluster: LocalCluster;
  let stub: DfsStub;
  const stubs: DfsStub[] = [];

  const open = (address: string): DfsStub => {
    const s = new DfsStub(address, credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    });
    stubs.push(s);
    return s;
  };
  const login = async (user: string, password: string) =>
    call<{ token: string; expiresMs: number }>(stub, "authenticate", { user, password });
  const change = async (request: Partial<AuthChangeRequest>, token?: string) =>
    call<{ index: number }>(stub, "authChange", request, token);
  const rootToken = async () => (await login("root", ROOT_PW)).token;

  before(async () => {
    cluster = await LocalCluster.start({ serverArgs: ["--auth-token-ttl", String(TTL_S)] });
    stub = open(cluster.node(await cluster.waitForLeader()).address);
    // Auth off: everything is open, credentials ignored.
    await call(stub, "put", put("open/before"), "not-even-a-jwt");
    const perm = { prefix: true, read: true, write: true, list: true };
    await change({ userAdd: { name: "root", password: ROOT_PW, noPassword: false } });
    await change({ userAdd: { name: "alice", password: ALICE_PW, noPassword: false } });
    await change({ userAdd: { name: "victim", password: "victim-pw", noPassword: false } });
    await change({ roleAdd: { name: "a-rw" } });
    await change({
      roleGrant: { role: "a-rw", permission: { key: "a/", ...perm }, admin: false },
    });
    await change({ userGrantRole: { name: "alice", role: "a-rw" } });
    await change({ enable: {} });
    for (const node of cluster.nodes) {
      const s = open(node.address);
      await waitFor(`auth on at node ${node.id}`, async () =>
        (await call<{ authEnabled: boolean }>(s, "status", {})).authEnabled ? true : undefined,
      );
    }
    const root = await rootToken();
    for (const key of ["a/1", "b/1", "c/d/1", "open/x"]) await call(stub, "put", put(key), root);
  });
  after(async () => {
    for (const s of stubs) s.close();
    await cluster?.destroy();
  });

  it("refuses every RPC without credentials except Status", async () => {
    const none = refusedAs("unauthenticated", /authentication required/);
    const unary: [string, object][] = [
      ["put", put("a/x")],
      ["get", get("a/1")],
      ["stat", get("a/1")],
      ["delete", { key: "a/1", session: undefined }],
      ["batch", { ops: [{ get: get("a/1") }] }],
      ["deletePrefix", { prefix: "a", session: undefined }],
      ["list", { prefix: "", startAfter: "", limit: 0, recursive: false, serializable: false }],
      ["memberList", {}],
      [
        "memberAdd",
        { id: 9, peerAddress: "127.0.0.1:1", clientAddress: "127.0.0.1:2", learner: true },
      ],
      ["memberPromote", { id: 2 }],
      ["memberRemove", { id: 2 }],
      ["leaderTransfer", { to: 0 }],
      ["authChange", { roleAdd: { name: "sneaky" } }],
      ["authRead", {}],
      ["defrag", {}],
    ];
    for (const [method, request] of unary) {
      await assert.rejects(call(stub, method, request), none, method);
    }
    assert.equal((await call<{ authEnabled: boolean }>(stub, "status", {})).authEnabled, true);
    // Upload: refused at its first message, nothing stored.
    await assert.rejects(
      new Promise<PutResponse>((resolve, reject) => {
        const up = stub.upload(bearer(undefined), (e, r) => (e === null ? resolve(r) : reject(e)));
        up.write({
          metadata: {},
          key: "a/up",
          session: undefined,
          data: Buffer.from("x"),
          done: false,
          sha256: Buffer.alloc(0),
        });
      }),
      none,
    );
    // Download and SnapshotSave: the stream ends with the error.
    for (const stream of [
      () => stub.download(get("a/1"), bearer(undefined)),
      () => stub.snapshotSave({ serializable: false }, bearer(undefined)),
    ]) {
      await assert.rejects(
        new Promise((resolve, reject) => {
          const s = stream();
          s.on("data", () => {});
          s.on("error", reject);
          s.on("end", resolve);
        }),
        none,
      );
    }
    // BatchStream: the request is answered with the error, the stream stays usable.
    const bs = stub.batchStream(bearer(undefined));
    const answer = await batchOnce(bs, { id: 1, batch: { ops: [{ get: get("a/1") }] } });
    assert.equal(answer.error?.code, "unauthenticated");
    bs.end();
    const root = await rootToken();
    await assert.rejects(call(stub, "get", get("a/up"), root), (e) => dfsCode(e) === "not_found");
  });

  it("refuses forged tokens: another key, a tampered payload, alg none", async () => {
    const alice = (await login("alice", ALICE_PW)).token;
    const [header, payload, signature] = alice.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const wrongKey = await new SignJWT({ gen: claims.gen })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(randomBytes(32));
    const tampered = `${header}.${b64({ ...claims, sub: "root" })}.${signature}`;
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...claims, sub: "root" })}.`;
    for (const token of [wrongKey, tampered, none, "garbage"]) {
      await assert.rejects(
        call(stub, "put", put("b/forged"), token),
        refusedAs("unauthenticated", /invalid token/),
      );
      await assert.rejects(
        call(stub, "get", get("b/1"), token),
        refusedAs("unauthenticated", /invalid token/),
      );
    }
    await assert.rejects(
      call(stub, "get", get("b/forged"), await rootToken()),
      (e) => dfsCode(e) === "not_found",
    );
  });

  it("checks permissions per key and admin, and filters listings", async () => {
    const alice = (await login("alice", ALICE_PW)).token;
    await call(stub, "put", put("a/2"), alice);
    await assert.rejects(
      call(stub, "put", put("b/2"), alice),
      refusedAs("permission_denied", /user alice lacks write on b\/2/),
    );
    await assert.rejects(
      call(stub, "get", get("b/1"), alice),
      refusedAs("permission_denied", /user alice lacks read on b\/1/),
    );
    await assert.rejects(
      call(stub, "memberRemove", { id: 3 }, alice),
      refusedAs("permission_denied", /user alice lacks admin/),
    );
    await assert.rejects(
      call(stub, "authRead", {}, alice),
      refusedAs("permission_denied", /lacks admin/),
    );
    await call(stub, "memberList", {}, alice); // any authenticated user
    // Streams: an upload outside the grant is refused at its first message, a download
    // of a key without read is refused; inside the grant both work.
    await assert.rejects(
      upload(stub, "b/up", "x", alice),
      refusedAs("permission_denied", /user alice lacks write on b\/up/),
    );
    await upload(stub, "a/up", "uploaded", alice);
    await assert.rejects(
      download(stub, "b/1", alice),
      refusedAs("permission_denied", /user alice lacks read on b\/1/),
    );
    assert.equal(await download(stub, "a/up", alice), "uploaded");
    const list = await call<{ entries: { name: string }[] }>(
      stub,
      "list",
      { prefix: "", startAfter: "", limit: 0, recursive: false, serializable: false },
      alice,
    );
    assert.deepEqual(
      list.entries.map((e) => e.name),
      ["a/"],
    );
    const recursive = await call<{ entries: { name: string }[] }>(
      stub,
      "list",
      { prefix: "", startAfter: "", limit: 1, recursive: true, serializable: false },
      alice,
    );
    assert.deepEqual(
      recursive.entries.map((e) => e.name),
      ["a/1"],
      "pages fill with visible keys",
    );
    const root = await rootToken();
    // Bad input is invalid_argument before anything is hashed or proposed; a change the
    // state does not allow is precondition_failed with the state machine's reason.
    const coded = (code: string, grpcCode: status) => (e: unknown) =>
      dfsCode(e) === code && (e as ServiceError).code === grpcCode;
    const invalid = coded("invalid_argument", status.INVALID_ARGUMENT);
    const user = (name: string, password: string) => ({ name, password, noPassword: false });
    await assert.rejects(change({ userAdd: user("bad name", "pw") }, root), invalid);
    await assert.rejects(change({ userAdd: user("x".repeat(65), "pw") }, root), invalid);
    await assert.rejects(change({ userAdd: user("eve", "") }, root), invalid);
    await assert.rejects(change({ userAdd: user("eve", "p".repeat(1025)) }, root), invalid);
    await assert.rejects(change({}, root), invalid);
    const refused = coded("precondition_failed", status.FAILED_PRECONDITION);
    await assert.rejects(change({ userAdd: user("alice", "pw") }, root), refused);
    await assert.rejects(change({ userDelete: { name: "root" } }, root), refused);
    const read = await call<{ users: { name: string }[] }>(stub, "authRead", {}, root);
    assert.deepEqual(
      read.users.map((u) => u.name),
      ["alice", "root", "victim"],
    );
  });

  it("an expired token stops working", async () => {
    const { token, expiresMs } = await login("alice", ALICE_PW);
    await call(stub, "get", get("a/1"), token);
    const error = await waitFor(
      "the token to expire",
      async () => {
        try {
          await call(stub, "get", get("a/1"), token);
          return undefined;
        } catch (e) {
          return e;
        }
      },
      (TTL_S + 5) * 1000,
      100,
    );
    refusedAs("unauthenticated", /token expired/)(error);
    assert.ok(Date.now() >= expiresMs - 50, "not before its expiry");
  });

  it("a password change or a deletion revokes tokens on every node", async () => {
    const root = await rootToken();
    const before = (await login("alice", ALICE_PW)).token;
    await change({ userPasswd: { name: "alice", password: "new-pw" } }, root);
    const revoked = refusedAs("unauthenticated", /revoked/);
    await assert.rejects(call(stub, "put", put("a/3"), before), revoked);
    await assert.rejects(login("alice", ALICE_PW), refusedAs("unauthenticated", /wrong user/));
    const afterChange = (await login("alice", "new-pw")).token;
    await call(stub, "put", put("a/3"), afterChange);
    await change({ userDelete: { name: "alice" } }, root);
    await assert.rejects(call(stub, "get", get("a/3"), afterChange), revoked);
    // Every node: a serializable read there is checked against its own applied state.
    for (const node of cluster.nodes) {
      const s = open(node.address);
      await waitFor(`revocation at node ${node.id}`, async () => {
        try {
          await call(s, "get", get("a/3", true), afterChange);
          return undefined;
        } catch (e) {
          return revoked(e) ? true : undefined;
        }
      });
    }
    // Re-added with the same password: the old token still names the old generation.
    await change({ userAdd: { name: "alice", password: "new-pw", noPassword: false } }, root);
    await change({ userGrantRole: { name: "alice", role: "a-rw" } }, root);
    await assert.rejects(call(stub, "get", get("a/3"), afterChange), revoked);
    await call(stub, "get", get("a/3"), (await login("alice", "new-pw")).token);
  });

  it("a login flood hits the user's backoff while the node keeps serving", async () => {
    const guesses = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => login("victim", `guess-${i}`)),
    );
    const codes = guesses.map((g) => (g.status === "rejected" ? dfsCode(g.reason) : "ok"));
    const count = (c: string) => codes.filter((x) => x === c).length;
    console.log(
      `# login flood: ${count("unauthenticated")} wrong, ${count("resource_exhausted")} throttled`,
    );
    assert.equal(count("ok"), 0);
    assert.equal(count("unauthenticated"), 5, "only the free failures ran");
    assert.equal(count("resource_exhausted"), 35);
    // The right password is refused too while the name backs off; others are served.
    await assert.rejects(
      login("victim", "victim-pw"),
      refusedAs("resource_exhausted", /too many failed logins for user victim; retry in \d+ s/),
    );
    const root = await rootToken();
    await call(stub, "put", put("open/during-flood"), root);
    const ok = await waitFor("the backoff to pass", async () => {
      try {
        return await login("victim", "victim-pw");
      } catch (e) {
        if (dfsCode(e) !== "resource_exhausted") throw e;
        return undefined;
      }
    });
    assert.ok(ok.token.length > 0);
  });

  it("an upload whose caller is revoked midway stores nothing", async () => {
    const root = await rootToken();
    await change({ userAdd: { name: "dave", password: "dave-pw", noPassword: false } }, root);
    await change({ userGrantRole: { name: "dave", role: "a-rw" } }, root);
    const dave = (await login("dave", "dave-pw")).token;
    await assert.rejects(
      uploadRevokedMidway(stub, "a/big", dave, () =>
        change({ userPasswd: { name: "dave", password: "dave-pw2" } }, root),
      ),
      refusedAs("unauthenticated", /revoked/),
    );
    await assert.rejects(call(stub, "get", get("a/big"), root), (e) => dfsCode(e) === "not_found");
  });

  it("a BatchStream whose token is revoked mid-stream stops succeeding", async () => {
    const root = await rootToken();
    await change({ userAdd: { name: "carol", password: "carol-pw", noPassword: false } }, root);
    await change({ userGrantRole: { name: "carol", role: "a-rw" } }, root);
    const carol = (await login("carol", "carol-pw")).token;
    const bs = stub.batchStream(bearer(carol));
    const first = await batchOnce(bs, { id: 1, batch: { ops: [{ put: put("a/s1") }] } });
    assert.equal(first.batch?.results[0]?.error, undefined, JSON.stringify(first));
    // Permission revoked: per-op permission_denied.
    await change({ userRevokeRole: { name: "carol", role: "a-rw" } }, root);
    const second = await batchOnce(bs, { id: 2, batch: { ops: [{ put: put("a/s2") }] } });
    assert.equal(second.batch?.results[0]?.error?.code, "permission_denied");
    // Password changed: the whole batch is unauthenticated.
    await change({ userGrantRole: { name: "carol", role: "a-rw" } }, root);
    await change({ userPasswd: { name: "carol", password: "carol-pw2" } }, root);
    const third = await batchOnce(bs, { id: 3, batch: { ops: [{ put: put("a/s3") }] } });
    assert.equal(third.error?.code, "unauthenticated", JSON.stringify(third));
    assert.match(third.error?.message ?? "", /revoked/);
    bs.end();
    for (const key of ["a/s2", "a/s3"]) {
      await assert.rejects(call(stub, "get", get(key), root), (e) => dfsCode(e) === "not_found");
    }
    await call(stub, "get", get("a/s1"), root);
  });
});

/** Upload messages stay well under the node's message bound. */
const PART = 512 * 1024;
const NONE = Buffer.alloc(0);

/** Sends the first part of an upload, waits until the leader accepted it, then the rest. */
async function uploadRevokedMidway(
  stub: DfsStub,
  key: string,
  token: string,
  revoke: () => Promise<unknown>,
): Promise<PutResponse> {
  const first = randomBytes(1536 * 1024);
  const rest = randomBytes(1536 * 1024);
  const sha256 = createHash("sha256").update(first).update(rest).digest();
  let accepted: () => void = () => {};
  const wasAccepted = new Promise<void>((resolve) => {
    accepted = resolve;
  });
  const done = new Promise<PutResponse>((resolve, reject) => {
    const up = stub.upload(bearer(token), (e, r) => (e === null ? resolve(r) : reject(e)));
    up.on("metadata", () => accepted());
    const send = (data: Buffer, last: boolean) => {
      for (let at = 0; at < data.length; at += PART) {
        const done = last && at + PART >= data.length;
        const part = data.subarray(at, at + PART);
        up.write({
          metadata: {},
          key,
          session: undefined,
          data: part,
          done,
          sha256: done ? sha256 : NONE,
        });
      }
    };
    send(first, false);
    wasAccepted.then(revoke).then(() => {
      send(rest, true);
      up.end();
    }, reject);
  });
  return done;
}

/** Uploads `content` under `key` in one message. */
function upload(stub: DfsStub, key: string, content: string, token: string): Promise<PutResponse> {
  return new Promise((resolve, reject) => {
    const up = stub.upload(bearer(token), (e, r) => (e === null ? resolve(r) : reject(e)));
    const data = Buffer.from(content);
    const sha256 = createHash("sha256").update(data).digest();
    up.write({ metadata: {}, key, session: undefined, data, done: true, sha256 });
    up.end();
  });
}

/** Downloads `key` as text. */
function download(stub: DfsStub, key: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = stub.download(get(key), bearer(token));
    s.on("data", (m: { data: Buffer }) => chunks.push(m.data));
    s.on("error", reject);
    s.on("end", () => resolve(Buffer.concat(chunks).toString()));
  });
}

/** Sends one request on a BatchStream and waits for its answer. */
function batchOnce(
  stream: ClientDuplexStream<BatchStreamRequest, BatchStreamResponse>,
  request: BatchStreamRequest,
): Promise<BatchStreamResponse> {
  return new Promise((resolve, reject) => {
    const onData = (response: BatchStreamResponse) => {
      if (response.id !== request.id) return;
      stream.off("data", onData);
      stream.off("error", reject);
      resolve(response);
    };
    stream.on("data", onData);
    stream.once("error", reject);
    stream.write(request);
  });
}
