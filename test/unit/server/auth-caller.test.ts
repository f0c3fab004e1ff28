/**
 * Who is calling: with auth off nobody is asked (credentials ignored, even malformed);
 * with auth on a Bearer token is verified, a client certificate's common name stands in
 * only when the port verifies certificates and no token came, and a token wins over it.
 * The guard then re-checks the caller against the state as it is at the check.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Metadata } from "@grpc/grpc-js";
import { DfsError } from "../../../src/api/errors.ts";
import { AuthGuard } from "../../../src/server/auth/index.ts";
import { AuthTable } from "./auth-table.ts";

const NOW = 1_800_000_000_000;

/** A call as grpc-js hands it over: metadata and (with TLS) the peer certificate. */
function callWith(authorization?: string, cn?: string) {
  const metadata = new Metadata();
  if (authorization !== undefined) metadata.set("authorization", authorization);
  return {
    metadata,
    getAuthContext: () => (cn === undefined ? {} : { sslPeerCertificate: { subject: { CN: cn } } }),
  };
}

const code = (c: string, pattern: RegExp) => (error: unknown) =>
  error instanceof DfsError && error.code === c && pattern.test(error.message);

function setUp(certUsers: boolean) {
  const auth = new AuthTable()
    .addUser("alice", 4)
    .addUser("dfs-client", 6)
    .grant("alice", "write", "a/");
  const guard = new AuthGuard({ auth: () => auth, certUsers, clock: () => NOW });
  return { auth, guard };
}

test("auth off: no caller, credentials ignored, everything allowed", async () => {
  const { auth, guard } = setUp(true);
  auth.enabled = false;
  assert.equal(await guard.caller(callWith("Basic nonsense")), null);
  guard.allow(null, "write", "anything");
  guard.allowAdmin(null);
  assert.equal(guard.listFilter(null), null);
});

test("auth on: no credentials, malformed ones, and a certificate the port did not verify", async () => {
  const { guard } = setUp(false);
  await assert.rejects(
    guard.caller(callWith()),
    code("unauthenticated", /authentication required: auth is on; give --user/),
  );
  await assert.rejects(
    guard.caller(callWith("Basic abc")),
    code("unauthenticated", /not 'Bearer <token>'/),
  );
  await assert.rejects(
    guard.caller(callWith(undefined, "alice")),
    code("unauthenticated", /authentication required/),
  );
});

test("a certificate's common name is the caller; a token wins over it", async () => {
  const { auth, guard } = setUp(true);
  assert.deepEqual(await guard.caller(callWith(undefined, "dfs-client")), {
    user: "dfs-client",
    generation: 6,
  });
  await assert.rejects(
    guard.caller(callWith(undefined, "mallory")),
    code("unauthenticated", /certificate names user mallory/),
  );
  const { token } = await guard.tokens.issue(auth.tokenKey as Uint8Array, "alice", 4, NOW);
  assert.deepEqual(await guard.caller(callWith(`Bearer ${token}`, "dfs-client")), {
    user: "alice",
    generation: 4,
  });
});

test("permissions and admin are checked against the state at the check", async () => {
  const { auth, guard } = setUp(false);
  const alice = { user: "alice", generation: 4 };
  guard.allow(alice, "write", "a/1");
  assert.throws(
    () => guard.allow(alice, "write", "b/1"),
    code("permission_denied", /^user alice lacks write on b\/1$/),
  );
  assert.throws(
    () => guard.allow(alice, "read", "a/1"),
    code("permission_denied", /lacks read on a\/1/),
  );
  assert.throws(
    () => guard.allowAdmin(alice),
    code("permission_denied", /^user alice lacks admin$/),
  );
  auth.admins.add("alice");
  guard.allowAdmin(alice);
  auth.addUser("alice", 9); // password changed after the caller was resolved
  assert.throws(() => guard.allow(alice, "write", "a/1"), code("unauthenticated", /revoked/));
  assert.throws(
    () => guard.allow(null, "write", "a/1"),
    code("unauthenticated", /authentication required/),
  );
});
