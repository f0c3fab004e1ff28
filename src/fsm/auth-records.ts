/**
 * How the on-disk store keeps the auth state (auth-state.ts) in LMDB: one record per user
 * and per role plus one for the switch, each sealed with the CRC of lmdb-records.ts and
 * written in the write-behind transaction that records the applied index (so the auth
 * state on disk is always the one at that index). They are ordinary records, so snapshot
 * images carry them. Few and small: loaded whole into memory at open.
 *
 *     switch  AUTH_SWITCH_KEY         → u32 crc | JSON {enabled, tokenKey (base64 | null)}
 *     user    AUTH_USER_PREFIX + name → u32 crc | JSON AuthUser
 *     role    AUTH_ROLE_PREFIX + name → u32 crc | JSON AuthRole
 */
import type { RootDatabase } from "lmdb";
import type { AuthChanges, AuthImage, AuthRole, AuthSwitch, AuthUser } from "./auth-state.ts";
import { nextPrefix } from "./key-range.ts";
import { RecordCorruptionError, seal, verifyRecord } from "./lmdb-records.ts";

/** Key of the switch record (absent until auth is first changed). */
export const AUTH_SWITCH_KEY = "\u0000auth";
/** Prefix of user records. */
export const AUTH_USER_PREFIX = "\u0000auth-user/";
/** Prefix of role records. */
export const AUTH_ROLE_PREFIX = "\u0000auth-role/";

type Db = RootDatabase<Buffer, string>;

/** Reads the whole auth state from the store's records, verifying each. */
export function readAuth(db: Db): AuthImage {
  const raw = db.get(AUTH_SWITCH_KEY);
  const switched = raw === undefined ? { enabled: false, tokenKey: null } : decodeSwitch(raw);
  return {
    ...switched,
    users: readAll(db, AUTH_USER_PREFIX),
    roles: readAll(db, AUTH_ROLE_PREFIX),
  };
}

/** Inside a write transaction: saves what changed (null = deleted). */
export function writeAuthChanges(db: Db, changes: AuthChanges): void {
  if (changes.switch !== null)
    db.putSync(AUTH_SWITCH_KEY, encodeJson(AUTH_SWITCH_KEY, changes.switch));
  for (const [name, user] of changes.users) put(db, AUTH_USER_PREFIX + name, user);
  for (const [name, role] of changes.roles) put(db, AUTH_ROLE_PREFIX + name, role);
}

/**
 * Verifies an auth record received in a snapshot image (a record that is not one passes):
 * a bad one is refused before it can become a follower's auth state.
 */
export function checkAuthRecord(key: string, value: Buffer): void {
  if (key === AUTH_SWITCH_KEY) decodeSwitch(value);
  else if (key.startsWith(AUTH_USER_PREFIX) || key.startsWith(AUTH_ROLE_PREFIX))
    decodeNamed(key, value);
}

function put(db: Db, key: string, value: AuthUser | AuthRole | null): void {
  if (value === null) db.removeSync(key);
  else db.putSync(key, encodeJson(key, value));
}

function readAll<T extends AuthUser | AuthRole>(db: Db, prefix: string): T[] {
  const range = db.getRange({ start: prefix, end: nextPrefix(prefix) });
  return [...range].map(({ key, value }) => decodeNamed(key, value) as T);
}

function encodeJson(key: string, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  const buf = Buffer.allocUnsafe(4 + json.length);
  json.copy(buf, 4);
  return seal(key, buf);
}

function decodeJson(key: string, buf: Buffer): Record<string, unknown> {
  verifyRecord(key, buf);
  try {
    const value: unknown = JSON.parse(buf.subarray(4).toString());
    if (typeof value === "object" && value !== null) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new RecordCorruptionError(key, "not an auth record");
}

function decodeSwitch(buf: Buffer): AuthSwitch {
  const v = decodeJson(AUTH_SWITCH_KEY, buf);
  if (typeof v.enabled !== "boolean" || !(v.tokenKey === null || typeof v.tokenKey === "string"))
    throw new RecordCorruptionError(AUTH_SWITCH_KEY, "not an auth switch record");
  return { enabled: v.enabled, tokenKey: v.tokenKey };
}

/** A user or role record: its name must be the one its key names. */
function decodeNamed(key: string, buf: Buffer): AuthUser | AuthRole {
  const v = decodeJson(key, buf);
  const prefix = key.startsWith(AUTH_USER_PREFIX) ? AUTH_USER_PREFIX : AUTH_ROLE_PREFIX;
  if (v.name !== key.slice(prefix.length))
    throw new RecordCorruptionError(key, "names another user or role");
  return v as unknown as AuthUser | AuthRole;
}
