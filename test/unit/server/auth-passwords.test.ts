/**
 * Password hashes: the documented encoding and parameters, a fresh salt each time,
 * verification that accepts only the password, refuses damaged or foreign encodings
 * without throwing, and compares in constant time (timingSafeEqual, checked by reading
 * the equal-length path: a wrong password of any length costs one full scrypt).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DfsError } from "../../../src/api/errors.ts";
import {
  DECOY_HASH,
  decodeHash,
  hashPassword,
  MAX_PASSWORD_BYTES,
  verifyPassword,
} from "../../../src/server/auth/passwords.ts";

test("hash encoding is scrypt$14$8$1$<16-byte salt>$<32-byte key>", async () => {
  const hash = await hashPassword("correct horse");
  const parts = hash.split("$");
  assert.deepEqual(parts.slice(0, 4), ["scrypt", "14", "8", "1"]);
  assert.equal(Buffer.from(parts[4] ?? "", "base64").length, 16);
  assert.equal(Buffer.from(parts[5] ?? "", "base64").length, 32);
  assert.notEqual(await hashPassword("correct horse"), hash, "salted");
});

test("verify accepts the password and nothing else", async () => {
  const hash = await hashPassword("pässwörd");
  assert.equal(await verifyPassword("pässwörd", hash), true);
  assert.equal(await verifyPassword("passwörd", hash), false);
  assert.equal(await verifyPassword("pässwörd ", hash), false);
  assert.equal(await verifyPassword("", hash), false);
  assert.equal(await verifyPassword("x".repeat(MAX_PASSWORD_BYTES + 1), hash), false);
});

test("no password matches a user without one, the decoy, or a damaged hash", async () => {
  const hash = await hashPassword("pw");
  const parts = hash.split("$");
  assert.equal(await verifyPassword("pw", ""), false);
  assert.equal(await verifyPassword("", ""), false);
  assert.equal(await verifyPassword("pw", DECOY_HASH), false);
  assert.equal(await verifyPassword("pw", hash.replace("scrypt$14", "scrypt$31")), false);
  assert.equal(await verifyPassword("pw", hash.replace("scrypt$", "bcrypt$")), false);
  assert.equal(await verifyPassword("pw", parts.slice(0, 5).join("$")), false);
  const key = Buffer.from(parts[5] ?? "", "base64");
  key[0] = (key[0] ?? 0) ^ 1;
  assert.equal(
    await verifyPassword("pw", [...parts.slice(0, 5), key.toString("base64")].join("$")),
    false,
  );
  assert.notEqual(decodeHash(DECOY_HASH), null, "the decoy costs a real scrypt");
});

test("hashing refuses empty and over-long passwords", async () => {
  const bad = (error: unknown) => error instanceof DfsError && error.code === "invalid_argument";
  await assert.rejects(hashPassword(""), bad);
  await assert.rejects(hashPassword("x".repeat(MAX_PASSWORD_BYTES + 1)), bad);
  assert.match(await hashPassword("x".repeat(MAX_PASSWORD_BYTES)), /^scrypt\$/);
});
