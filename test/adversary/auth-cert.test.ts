/**
 * Client certificates as credentials (docs/auth.md), against real processes whose client
 * port requires certificates (`--client-ca`): a call without a token acts as the user
 * named by the certificate's common name (a user without password is fine), with that
 * user's permissions; a token, when present, wins; once that user is deleted the
 * certificate alone is refused.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { ERROR_CODE_METADATA } from "../../src/api/errors.ts";
import { CLIENT_COMMON_NAME } from "../../src/cli/cert-factory.ts";
import { writeClusterCerts } from "../../src/cli/certs-command.ts";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";
import { type AuthChangeRequest, DfsClient as DfsStub } from "../../src/gen/dfs.ts";

type Callback = (error: ServiceError | null, response: unknown) => void;
type UnaryMethod = (request: unknown, metadata: Metadata, callback: Callback) => unknown;

function call<T>(stub: DfsStub, method: string, request: object, token?: string): Promise<T> {
  const md = new Metadata();
  if (token !== undefined) md.set("authorization", `Bearer ${token}`);
  const methods = stub as unknown as Record<string, UnaryMethod>;
  return new Promise((resolve, reject) => {
    methods[method]?.call(stub, request, md, (error, response) =>
      error === null ? resolve(response as T) : reject(error),
    );
  });
}

const put = (key: string) => ({
  key,
  value: Buffer.from("v"),
  ifVersion: undefined,
  session: undefined,
  metadata: {},
});

function refused(grpcCode: status, code: string, detail: RegExp) {
  return (error: unknown): boolean => {
    const e = error as ServiceError;
    assert.equal(e.code, grpcCode, e.details);
    assert.equal(String(e.metadata?.get(ERROR_CODE_METADATA)[0]), code);
    assert.match(e.details, detail);
    return true;
  };
}

describe("client certificates as users", { timeout: 300_000 }, () => {
  let cluster: LocalCluster;
  let certs: string;
  let stub: DfsStub;
  const change = (request: Partial<AuthChangeRequest>, token?: string) =>
    call(stub, "authChange", request, token);

  before(async () => {
    certs = await mkdtemp(join(tmpdir(), "dfs-auth-certs-"));
    await writeClusterCerts(certs, 3);
    cluster = await LocalCluster.start({ certsDir: certs });
    const tls = cluster.clientTls;
    assert.ok(tls?.ca && tls.cert && tls.key);
    stub = new DfsStub(
      cluster.node(await cluster.waitForLeader()).address,
      credentials.createSsl(Buffer.from(tls.ca), Buffer.from(tls.key), Buffer.from(tls.cert)),
    );
    const perm = { key: "c/", prefix: true, read: true, write: true, list: false };
    await change({ userAdd: { name: "root", password: "root-pw", noPassword: false } });
    await change({ userAdd: { name: CLIENT_COMMON_NAME, password: "", noPassword: true } });
    await change({ roleAdd: { name: "c-rw" } });
    await change({ roleGrant: { role: "c-rw", permission: perm, admin: false } });
    await change({ userGrantRole: { name: CLIENT_COMMON_NAME, role: "c-rw" } });
    await change({ enable: {} });
    await waitFor("auth on", async () =>
      (await call<{ authEnabled: boolean }>(stub, "status", {})).authEnabled ? true : undefined,
    );
  });
  after(async () => {
    stub?.close();
    await cluster?.destroy();
    if (certs !== undefined) await rm(certs, { recursive: true, force: true });
  });

  it("the certificate's common name is the caller when no token is sent", async () => {
    await call(stub, "put", put("c/1"));
    await assert.rejects(
      call(stub, "put", put("d/1")),
      refused(status.PERMISSION_DENIED, "permission_denied", /user dfs-client lacks write on d\/1/),
    );
    // A user without password cannot log in with one.
    await assert.rejects(
      call(stub, "authenticate", { user: CLIENT_COMMON_NAME, password: "x" }),
      refused(status.UNAUTHENTICATED, "unauthenticated", /wrong user name or password/),
    );
  });

  it("a token wins over the certificate", async () => {
    const { token } = await call<{ token: string }>(stub, "authenticate", {
      user: "root",
      password: "root-pw",
    });
    await call(stub, "put", put("d/1"), token);
  });

  it("a deleted certificate user is refused", async () => {
    const { token } = await call<{ token: string }>(stub, "authenticate", {
      user: "root",
      password: "root-pw",
    });
    await change({ userDelete: { name: CLIENT_COMMON_NAME } }, token);
    await assert.rejects(
      call(stub, "put", put("c/2")),
      refused(status.UNAUTHENTICATED, "unauthenticated", /certificate names user dfs-client/),
    );
  });
});
