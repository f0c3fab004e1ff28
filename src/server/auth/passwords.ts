/**
 * Password hashes for dfs users (docs/auth.md): scrypt with N=2^14, r=8, p=1, a 16-byte
 * random salt and a 32-byte key, encoded `scrypt$14$8$1$<salt b64>$<hash b64>` so the
 * parameters travel with the hash and can be raised later without breaking old users.
 * The leader hashes before proposing (the log and every store only ever hold the hash);
 * both hashing and verifying run `crypto.scrypt` asynchronously, on libuv's thread pool,
 * never on the loop thread, and the comparison is constant-time (`timingSafeEqual`).
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { DfsError } from "../../api/index.ts";

/** log2 of scrypt's cost N: 2^14 takes ~50 ms and 16 MiB here, as etcd's bcrypt cost 10 does. */
export const SCRYPT_LOG_N = 14;
/** scrypt block size r. */
export const SCRYPT_R = 8;
/** scrypt parallelism p. */
export const SCRYPT_P = 1;
/** Random salt bytes per hash: no two users share a hash even with equal passwords. */
export const SALT_BYTES = 16;
/** Derived key bytes. */
export const KEY_BYTES = 32;
/** Longest password accepted, in UTF-8 bytes (bounds the work one login can cause). */
export const MAX_PASSWORD_BYTES = 1024;

/** 128·N·r bytes is what scrypt needs; leave room above it (Node's default cap is 32 MiB). */
const MAXMEM = 64 * 1024 * 1024;

/** Refuses an empty or over-long password with `invalid_argument`. */
export function checkPassword(password: string): void {
  const bytes = Buffer.byteLength(password, "utf8");
  if (bytes < 1 || bytes > MAX_PASSWORD_BYTES) {
    throw new DfsError(
      "invalid_argument",
      `a password is 1-${MAX_PASSWORD_BYTES} bytes, got ${bytes}`,
    );
  }
}

/** Hashes `password` with a fresh salt into the documented encoding. */
export async function hashPassword(password: string): Promise<string> {
  checkPassword(password);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P);
  return encodeHash(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, salt, key);
}

/**
 * Whether `password` matches `encoded`. False (never a throw) for "" (a user without
 * password) and for anything not in the encoding: a damaged hash must not log anyone in.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = decodeHash(encoded);
  if (parsed === null) return false;
  if (Buffer.byteLength(password, "utf8") > MAX_PASSWORD_BYTES) return false;
  const key = await derive(password, parsed.salt, parsed.logN, parsed.r, parsed.p);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/**
 * A hash no password matches, in the same encoding and parameters: verifying against it
 * for an unknown user costs as much as for a known one, so timing does not tell which
 * user names exist.
 */
export const DECOY_HASH = encodeHash(
  SCRYPT_LOG_N,
  SCRYPT_R,
  SCRYPT_P,
  Buffer.alloc(SALT_BYTES),
  Buffer.alloc(KEY_BYTES),
);

/** The fields of an encoded hash. */
interface ParsedHash {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

function encodeHash(logN: number, r: number, p: number, salt: Buffer, key: Buffer): string {
  return `scrypt$${logN}$${r}$${p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Parses the encoding; null if malformed or its parameters are outside sane bounds. */
export function decodeHash(encoded: string): ParsedHash | null {
  const parts = encoded.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return null;
  const [logN, r, p] = parts.slice(1, 4).map(Number);
  if (logN === undefined || r === undefined || p === undefined) return null;
  // Bounds keep a hash from the log from asking for unbounded memory or time.
  if (!inRange(logN, 10, 20) || !inRange(r, 1, 32) || !inRange(p, 1, 16)) return null;
  const salt = Buffer.from(parts[4] ?? "", "base64");
  const key = Buffer.from(parts[5] ?? "", "base64");
  if (salt.length < 8 || key.length < 16) return null;
  return { logN, r, p, salt, key };
}

function inRange(n: number, lo: number, hi: number): boolean {
  return Number.isInteger(n) && n >= lo && n <= hi;
}

function derive(password: string, salt: Buffer, logN: number, r: number, p: number) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { N: 2 ** logN, r, p, maxmem: MAXMEM }, (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}
