/**
 * DfsClient's login against a real gRPC server on 127.0.0.1 that plays an auth-enabled
 * node: it issues tokens, refuses calls whose token it scripts as expired or revoked, and
 * records the `authorization` metadata of every call and stream. Checks: a token on every
 * kind of call (unary, BatchStream, Upload, Download) and none on Authenticate; one login
 * for many concurrent calls; a new login and exactly one retry after "token expired",
 * never a loop; no retry after "token revoked" or a wrong password; a BatchStream opened
 * under an old token replaced after renewal.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { Metadata, Server, ServerCredentials, type ServiceError, status } from "@grpc/grpc-js";
import { type DfsError, type DfsErrorCode, ERROR_CODE_METADATA } from "../../../src/api/errors.ts";
import { DfsClient } from "../../../src/client/index.ts";
import {
  type AuthenticateRequest,
  type BatchStreamRequest,
  type DfsServer,
  DfsService,
  type UploadRequest,
} from "../../../src/gen/dfs.ts";

/** A JWT-shaped token whose claims say it lives `ttlS` seconds (no signature needed). */
function tokenFor(n: number, ttlS: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const iat = Math.floor(Date.now() / 1000);
  return `${part({ alg: "HS256" })}.${part({ sub: "alice", gen: 1, iat, exp: iat + ttlS, n })}.sig`;
}

function refusal(code: DfsErrorCode, message: string): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_METADATA, code);
  const grpcStatus = code === "unauthenticated" ? status.UNAUTHENTICATED : status.INTERNAL;
  return { code: grpcStatus, details: message, metadata };
}

/** What the fake node does and saw. */
const node = {
  ttlS: 300,
  issued: 0,
  /** Tokens the node refuses, with the message it refuses them with. */
  refused: new Map<string, string>(),
  /** Every call: its method and the authorization it carried ("" when none). */
  seen: [] as Array<{ method: string; auth: string }>,
  streamsOpened: 0,
  wrongPassword: false,
};

function auth(metadata: Metadata): string {
  const v = metadata.get("authorization")[0];
  return typeof v === "string" ? v.replace(/^Bearer /, "") : "";
}

/** The refusal for a call carrying `token`, if the node refuses it. */
function check(token: string): Partial<ServiceError> | null {
  if (token === "") return refusal("unauthenticated", "authentication required: auth is on");
  const why = node.refused.get(token);
  return why === undefined ? null : refusal("unauthenticated", why);
}

const implementation: Partial<DfsServer> = {
  authenticate: (call, callback) => {
    node.seen.push({ method: "authenticate", auth: auth(call.metadata) });
    const r = call.request as AuthenticateRequest;
    if (node.wrongPassword || r.password !== "pw") {
      callback(refusal("unauthenticated", "wrong user name or password"));
      return;
    }
    const token = tokenFor(++node.issued, node.ttlS);
    callback(null, { token, expiresMs: Date.now() + node.ttlS * 1000 });
  },
  put: (call, callback) => {
    const token = auth(call.metadata);
    node.seen.push({ method: "put", auth: token });
    const refused = check(token);
    if (refused) callback(refused);
    else callback(null, { version: 1, index: 1 });
  },
  batchStream: (call) => {
    node.streamsOpened++;
    const token = auth(call.metadata);
    call.on("error", () => {});
    call.on("end", () => call.end());
    call.on("data", (request: BatchStreamRequest) => {
      node.seen.push({ method: "batchStream", auth: token });
      const refused = check(token);
      if (refused) {
        const error = { code: "unauthenticated", message: refused.details ?? "", leader: "" };
        call.write({ id: request.id, batch: undefined, error });
        return;
      }
      const results = (request.batch?.ops ?? []).map(() => ({ put: { version: 1, index: 1 } }));
      call.write({ id: request.id, batch: { results }, error: undefined });
    });
  },
  upload: (call, callback) => {
    const token = auth(call.metadata);
    node.seen.push({ method: "upload", auth: token });
    const refused = check(token);
    call.on("data", (m: UploadRequest) => {
      if (refused) return;
      if (m.key !== "") call.sendMetadata(new Metadata());
      if (m.done) callback(null, { version: 1, index: 2 });
    });
    if (refused) callback(refused);
  },
  download: (call) => {
    const token = auth(call.metadata);
    node.seen.push({ method: "download", auth: token });
    const refused = check(token);
    if (refused) {
      call.emit("error", refused);
      return;
    }
    const value = Buffer.from("hello");
    const sha256 = createHash("sha256").update(value).digest();
    const info = {
      size: 5,
      sha256,
      version: 1,
      modIndex: 1,
      modTimeMs: 0,
      chunks: 0,
      metadata: {},
    };
    call.write({ info, data: Buffer.alloc(0) });
    call.write({ info: undefined, data: value });
    call.end();
  },
  status: (call, callback) => {
    node.seen.push({ method: "status", auth: auth(call.metadata) });
    callback(refusal("internal", "fake: status not scripted"));
  },
};

describe("DfsClient with a user and password", () => {
  let server: Server;
  let address = "";
  const client = (password = "pw") =>
    new DfsClient({ endpoints: [address], timeoutMs: 3000, user: "alice", password });

  before(async () => {
    server = new Server();
    server.addService(DfsService, implementation as DfsServer);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
  });
  after(() => server.forceShutdown());
  beforeEach(() => {
    node.ttlS = 300;
    node.refused.clear();
    node.seen.length = 0;
    node.streamsOpened = 0;
    node.wrongPassword = false;
  });

  it("logs in once and sends the token on unary, stream, upload and download calls", async () => {
    const c = client();
    try {
      await Promise.all([c.put("a", Buffer.from("1")), c.put("b", Buffer.from("2"))]);
      await c.upload("f", Buffer.from("file bytes"));
      const { chunks } = await c.download("f");
      const parts: Buffer[] = [];
      for await (const chunk of chunks) parts.push(chunk);
      assert.equal(Buffer.concat(parts).toString(), "hello");
    } finally {
      c.close();
    }
    const logins = node.seen.filter((s) => s.method === "authenticate");
    assert.equal(logins.length, 1, "one login for concurrent calls");
    assert.equal(logins[0]?.auth, "", "Authenticate carries no token");
    const calls = node.seen.filter((s) => s.method !== "authenticate");
    assert.deepEqual(
      calls.map((s) => s.method),
      ["batchStream", "upload", "download"],
    );
    for (const call of calls) assert.match(call.auth, /^[\w-]+\.[\w-]+\.sig$/, call.method);
  });

  it("a client without a user sends no authorization at all", async () => {
    const c = new DfsClient({ endpoints: [address], timeoutMs: 1000 });
    try {
      await assert.rejects(c.put("a", Buffer.from("1")), { code: "unauthenticated" });
    } finally {
      c.close();
    }
    assert.deepEqual(node.seen, [{ method: "batchStream", auth: "" }]);
  });

  it("status never logs in", async () => {
    const c = client();
    try {
      await assert.rejects(c.status(address), { code: "internal" });
    } finally {
      c.close();
    }
    assert.deepEqual(node.seen, [{ method: "status", auth: "" }]);
  });

  it("after 'token expired' it logs in again and retries the call once", async () => {
    const c = client();
    try {
      await c.put("a", Buffer.from("1"));
      // Refuse the token the client holds now.
      const held = node.seen.at(-1)?.auth ?? "";
      node.refused.set(held, "token expired; log in again");
      await c.put("b", Buffer.from("2"));
    } finally {
      c.close();
    }
    assert.deepEqual(
      node.seen.map((s) => s.method),
      ["authenticate", "batchStream", "batchStream", "authenticate", "batchStream"],
    );
    assert.equal(node.streamsOpened, 2, "the stream opened under the old token is replaced");
  });

  it("never loops: a second 'token expired' is the answer", async () => {
    const c = client();
    node.ttlS = 300;
    const original = implementation.authenticate;
    try {
      // Every token the node issues is refused as expired at once.
      implementation.authenticate = (call, callback) => {
        original?.(call, (error, response) => {
          if (response) node.refused.set(response.token, "token expired; log in again");
          callback(error, response);
        });
      };
      server.removeService(DfsService);
      server.addService(DfsService, implementation as DfsServer);
      await assert.rejects(c.put("a", Buffer.from("1")), (e: DfsError) => {
        assert.equal(e.code, "unauthenticated");
        assert.match(e.message, /token expired/);
        return true;
      });
    } finally {
      implementation.authenticate = original;
      server.removeService(DfsService);
      server.addService(DfsService, implementation as DfsServer);
      c.close();
    }
    assert.deepEqual(
      node.seen.map((s) => s.method),
      ["authenticate", "batchStream", "authenticate", "batchStream"],
    );
  });

  it("a revoked token is not retried", async () => {
    const c = client();
    try {
      await c.put("a", Buffer.from("1"));
      const held = node.seen.at(-1)?.auth ?? "";
      node.refused.set(held, "token revoked (user deleted or password changed); log in again");
      await assert.rejects(c.put("b", Buffer.from("2")), /token revoked/);
    } finally {
      c.close();
    }
    assert.equal(node.seen.filter((s) => s.method === "authenticate").length, 1);
  });

  it("a wrong password fails the call with unauthenticated and sends nothing else", async () => {
    const c = client("nope");
    try {
      await assert.rejects(c.put("a", Buffer.from("1")), (e: DfsError) => {
        assert.equal(e.code, "unauthenticated");
        assert.equal(e.message, "wrong user name or password");
        return true;
      });
    } finally {
      c.close();
    }
    assert.deepEqual(
      node.seen.map((s) => s.method),
      ["authenticate"],
    );
  });

  it("renews a short-lived token before it expires", async () => {
    node.ttlS = 2; // renewed after 1.5 s (a quarter of the lifetime ahead)
    const c = client();
    try {
      await c.put("a", Buffer.from("1"));
      const first = node.seen.at(-1)?.auth ?? "";
      node.refused.set(first, "token expired; log in again");
      await new Promise((resolve) => setTimeout(resolve, 1600)); // the lifetime being measured
      await c.put("b", Buffer.from("2"));
    } finally {
      c.close();
    }
    // Renewed before use: the refused token was never sent again.
    assert.deepEqual(
      node.seen.map((s) => s.method),
      ["authenticate", "batchStream", "authenticate", "batchStream"],
    );
  });

  it("a password without a user, or a user without a password, is invalid_argument", () => {
    assert.throws(() => new DfsClient({ endpoints: [address], password: "x" }), {
      code: "invalid_argument",
    });
    assert.throws(() => new DfsClient({ endpoints: [address], user: "alice" }), {
      code: "invalid_argument",
    });
  });
  it("tokenSource: asked once for concurrent calls, again after 'token expired'; never logs in", async () => {
    let asked = 0;
    const c = new DfsClient({
      endpoints: [address],
      timeoutMs: 3000,
      tokenSource: async () => {
        asked++;
        return { token: tokenFor(1000 + asked, 300), expiresMs: Date.now() + 300_000 };
      },
    });
    try {
      await Promise.all([c.put("a", Buffer.from("1")), c.put("b", Buffer.from("2"))]);
      assert.equal(asked, 1, "one token for concurrent calls");
      const held = node.seen.at(-1)?.auth ?? "";
      const claims = JSON.parse(Buffer.from(held.split(".")[1] ?? "", "base64url").toString());
      assert.equal(claims.n, 1001, "the source's token is what the calls carry");
      node.refused.set(held, "token expired; log in again");
      await c.put("c", Buffer.from("3"));
      assert.equal(asked, 2, "asked again after the refusal");
    } finally {
      c.close();
    }
    assert.ok(!node.seen.some((s) => s.method === "authenticate"), "no login");
    assert.notEqual(
      node.seen.at(-1)?.auth,
      node.seen.at(0)?.auth,
      "the retry carried the new token",
    );
  });

  it("tokenSource with a user and password is invalid_argument", () => {
    assert.throws(
      () =>
        new DfsClient({
          endpoints: [address],
          user: "alice",
          password: "pw",
          tokenSource: async () => ({ token: "", expiresMs: 0 }),
        }),
      { code: "invalid_argument" },
    );
  });
});
