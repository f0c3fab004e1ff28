/**
 * Tokens: a token issued for (user, generation) verifies until it expires, the user is
 * deleted or its generation moves, or the cluster's key changes; forged ones (another
 * key, a tampered payload, alg "none") never verify; the cache never lets a token outlive
 * any of those, and stays bounded.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SignJWT } from "jose";
import { DfsError } from "../../../src/api/errors.ts";
import { Tokens } from "../../../src/server/auth/tokens.ts";
import { AuthTable } from "./auth-table.ts";

const T0 = 1_800_000_000_000;

const refused = (pattern: RegExp) => (error: unknown) =>
  error instanceof DfsError && error.code === "unauthenticated" && pattern.test(error.message);

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

test("a fresh token verifies, from the cache too, until it expires", async () => {
  const auth = new AuthTable().addUser("alice", 12);
  const tokens = new Tokens(60);
  const { token, expiresMs } = await tokens.issue(auth.tokenKey as Uint8Array, "alice", 12, T0);
  assert.equal(expiresMs, T0 + 60_000);
  assert.deepEqual(await tokens.verify(auth, token, T0 + 1000), { user: "alice", generation: 12 });
  assert.equal(tokens.cachedCount, 1);
  assert.deepEqual(await tokens.verify(auth, token, T0 + 59_999), {
    user: "alice",
    generation: 12,
  });
  await assert.rejects(tokens.verify(auth, token, T0 + 60_000), refused(/token expired/));
  // Not cached yet, expired on first sight: refused by the signature check's own clock.
  const fresh = new Tokens(60);
  await assert.rejects(fresh.verify(auth, token, T0 + 61_000), refused(/token expired/));
});

test("a changed generation or a deleted user revokes a cached token", async () => {
  const auth = new AuthTable().addUser("alice", 5);
  const tokens = new Tokens();
  const { token } = await tokens.issue(auth.tokenKey as Uint8Array, "alice", 5, T0);
  await tokens.verify(auth, token, T0);
  auth.addUser("alice", 9); // password changed at index 9
  await assert.rejects(tokens.verify(auth, token, T0), refused(/revoked/));
  auth.users.delete("alice");
  await assert.rejects(tokens.verify(auth, token, T0), refused(/revoked/));
  auth.addUser("alice", 5); // the same generation again (never happens: indexes grow)
  assert.equal((await tokens.verify(auth, token, T0)).user, "alice");
});

test("another key, a tampered payload and alg none never verify", async () => {
  const auth = new AuthTable().addUser("alice", 1).addUser("root", 1);
  const tokens = new Tokens();
  const other = await tokens.issue(new Uint8Array(32).fill(8), "alice", 1, T0);
  await assert.rejects(tokens.verify(auth, other.token, T0), refused(/invalid token/));
  const { token } = await tokens.issue(auth.tokenKey as Uint8Array, "alice", 1, T0);
  const [header, , signature] = token.split(".");
  const tampered = `${header}.${b64url({ sub: "root", gen: 1, iat: T0 / 1000, exp: T0 / 1000 + 300 })}.${signature}`;
  await assert.rejects(tokens.verify(auth, tampered, T0), refused(/invalid token/));
  const none = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ sub: "root", gen: 1, iat: T0 / 1000, exp: T0 / 1000 + 300 })}.`;
  await assert.rejects(tokens.verify(auth, none, T0), refused(/invalid token/));
  await assert.rejects(tokens.verify(auth, "garbage", T0), refused(/invalid token/));
  assert.equal(tokens.cachedCount, 0, "nothing forged is cached");
});

test("a new cluster key voids cached tokens; auth never enabled voids all", async () => {
  const auth = new AuthTable().addUser("alice", 1);
  const tokens = new Tokens();
  const { token } = await tokens.issue(auth.tokenKey as Uint8Array, "alice", 1, T0);
  await tokens.verify(auth, token, T0);
  auth.tokenKey = new Uint8Array(32).fill(7); // same bytes, new array: still valid
  await tokens.verify(auth, token, T0);
  auth.tokenKey = new Uint8Array(32).fill(9);
  await assert.rejects(tokens.verify(auth, token, T0), refused(/invalid token/));
  auth.tokenKey = null;
  await assert.rejects(tokens.verify(auth, token, T0), refused(/invalid token/));
});

test("the cache is bounded", async () => {
  const auth = new AuthTable();
  const tokens = new Tokens(300, 3);
  const key = auth.tokenKey as Uint8Array;
  for (let i = 0; i < 5; i++) {
    auth.addUser(`u${i}`, 1);
    await tokens.verify(auth, (await tokens.issue(key, `u${i}`, 1, T0)).token, T0);
  }
  assert.equal(tokens.cachedCount, 3);
});

test("a token names its cluster: another cluster with the same key refuses it", async () => {
  // A cluster restored from a backup keeps the token key but gets a new cluster id.
  const auth = new AuthTable().addUser("alice", 3);
  const key = auth.tokenKey as Uint8Array;
  const old = new Tokens(60, undefined, () => "cluster-old");
  const restored = new Tokens(60, undefined, () => "cluster-new");
  const { token } = await old.issue(key, "alice", 3, T0);
  assert.equal((await old.verify(auth, token, T0)).user, "alice");
  await assert.rejects(restored.verify(auth, token, T0), refused(/invalid token/));
  const own = await restored.issue(key, "alice", 3, T0);
  assert.equal((await restored.verify(auth, own.token, T0)).user, "alice");
});

test("a token issued for an S3 access key dies with the key, cached or not", async () => {
  const auth = new AuthTable().addUser("alice", 5);
  auth.s3Keys.set("AKIAEXAMPLE", "alice");
  const tokens = new Tokens(600);
  const key = auth.tokenKey as Uint8Array;
  const { token } = await tokens.issue(key, "alice", 5, T0, "AKIAEXAMPLE");
  const plain = (await tokens.issue(key, "alice", 5, T0)).token;
  assert.deepEqual(await tokens.verify(auth, token, T0), { user: "alice", generation: 5 });
  auth.s3Keys.delete("AKIAEXAMPLE");
  await assert.rejects(tokens.verify(auth, token, T0 + 1), refused(/S3 access key deleted/));
  await assert.rejects(new Tokens(600).verify(auth, token, T0 + 1), refused(/key deleted/));
  assert.deepEqual(await tokens.verify(auth, plain, T0 + 1), { user: "alice", generation: 5 });
  // The same key id given to another user later does not revive it.
  auth.addUser("bob", 9);
  auth.s3Keys.set("AKIAEXAMPLE", "bob");
  await assert.rejects(tokens.verify(auth, token, T0 + 2), refused(/key deleted/));
  // A key claim that is not a string is refused, even signed with the cluster's key.
  const odd = await new SignJWT({ gen: 5, s3k: 7 })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject("alice")
    .setIssuedAt(Math.floor(T0 / 1000))
    .setExpirationTime(Math.floor(T0 / 1000) + 600)
    .sign(key);
  await assert.rejects(new Tokens(600).verify(auth, odd, T0), refused(/invalid token/));
});
