/**
 * The auth rules of the state machine (docs/auth.md): who may apply a command, checked at
 * apply against the auth state at the command's own index, and how an AuthOp changes users
 * and roles. The node checks the same before proposing, but only this check is
 * linearizable with the revocation: a write proposed a moment before a revoke committed,
 * and applied after it, is refused here.
 */
import type { AuthOp, S3KeyAddOp, UserAddOp, UserPasswdOp, UserRoleOp } from "../gen/command.ts";
import {
  type AuthPermission,
  type AuthRole,
  type AuthState,
  type AuthUser,
  byName,
  ROOT,
} from "./auth-state.ts";
import type { CommandCaller, FsmCommand } from "./command-types.ts";
import { compareKeys } from "./key-range.ts";
import type { ApplyResult } from "./state-machine.ts";

/** User and role names: what an operator can type and a certificate's CN usually is. */
export const NAME_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;
/** Bytes of the key that signs tokens (HS256). */
export const TOKEN_KEY_BYTES = 32;
/** Longest password hash accepted (the documented scrypt encoding is under 100). */
export const MAX_PASSWORD_HASH_CHARS = 1024;
/** Longest permission key, as for keys (src/api). */
export const MAX_PERMISSION_KEY_BYTES = 1024;
/** An S3 access key: 20 characters, as AWS's, starting with DFS so its origin shows. */
export const S3_ACCESS_KEY_PATTERN = /^DFS[A-Z0-9]{17}$/;
/** An S3 secret: 40 characters of base64, as AWS's. */
export const S3_SECRET_PATTERN = /^[A-Za-z0-9+/]{40}$/;
/** S3 access keys one user may hold (AWS allows 2 per IAM user; rotation needs room). */
export const MAX_S3_KEYS_PER_USER = 16;

/**
 * Why a command may not apply under the auth state now, or null when it may. While auth
 * is on every command needs a known caller of the current generation, writes need `write`
 * on their key (an upload's chunk: on some key), AuthOps need admin; `abort_upload` only
 * frees an upload by its random id and is always allowed. A `delete_prefix` is checked
 * against the keys it would delete by {@link refuseWrites}.
 */
export function authorize(auth: AuthState, command: FsmCommand): ApplyResult | null {
  if (!auth.enabled || command.op === "abort_upload") return null;
  const refused = callerRefusal(auth, command.caller);
  if (refused !== null) return refused;
  const user = (command.caller as CommandCaller).user;
  switch (command.op) {
    case "put":
    case "delete":
    case "commit_upload":
      return deny(user, auth.missing(user, "write", command.key));
    case "upload_chunk":
      return auth.mayWriteSomewhere(user) ? null : deny(user, "write on any key");
    case "delete_prefix":
      return null;
    case "auth":
      return auth.isAdmin(user) ? null : deny(user, "admin");
  }
}

/** Refuses a subtree delete unless the caller may write every key of it (none go then). */
export function refuseWrites(
  auth: AuthState,
  caller: CommandCaller | undefined,
  keys: readonly string[],
): ApplyResult | null {
  if (!auth.enabled) return null;
  const user = caller?.user ?? "";
  // The first refused key in key order: the stores list the keys in different orders, and
  // the reason must be the same on every node.
  let first: string | null = null;
  for (const key of keys)
    if (
      (first === null || compareKeys(key, first) < 0) &&
      auth.missing(user, "write", key) !== null
    )
      first = key;
  return first === null ? null : deny(user, auth.missing(user, "write", first));
}

/** While auth is on: a command without a caller, or with a stale one, is unauthenticated. */
function callerRefusal(auth: AuthState, caller: CommandCaller | undefined): ApplyResult | null {
  if (caller === undefined || caller.user === "")
    return { kind: "unauthenticated", reason: "authentication required: auth is on; give --user" };
  const user = auth.user(caller.user);
  if (user === undefined || user.generation !== caller.generation)
    return {
      kind: "unauthenticated",
      reason: "token revoked (user deleted or password changed)",
    };
  return null;
}

function deny(user: string, missing: string | null): ApplyResult | null {
  return missing === null
    ? null
    : { kind: "permission_denied", reason: `user ${user} lacks ${missing}` };
}

/** Applies an AuthOp committed at `index` (the caller was authorized already). */
export function applyAuthOp(auth: AuthState, index: number, op: AuthOp): ApplyResult {
  const refusal = change(auth, index, op);
  return refusal === null ? { kind: "auth", index } : { kind: "auth_refused", reason: refusal };
}

/** Makes the change; returns why it does not hold instead (then nothing changed). */
function change(auth: AuthState, index: number, op: AuthOp): string | null {
  if (op.enable !== undefined) return enable(auth, op.enable.tokenKey);
  if (op.disable !== undefined) {
    if (auth.enabled) auth.setSwitch(false, null);
    return null;
  }
  if (op.userAdd !== undefined) return userAdd(auth, index, op.userAdd);
  if (op.userDelete !== undefined) return userDelete(auth, op.userDelete.name);
  if (op.userPasswd !== undefined) return userPasswd(auth, index, op.userPasswd);
  if (op.userGrantRole !== undefined) return userGrantRole(auth, op.userGrantRole);
  if (op.userRevokeRole !== undefined) return userRevokeRole(auth, op.userRevokeRole);
  if (op.roleAdd !== undefined) return roleAdd(auth, op.roleAdd.name);
  if (op.roleDelete !== undefined) return roleDelete(auth, op.roleDelete.name);
  if (op.roleGrant !== undefined) {
    const { role, permission, admin } = op.roleGrant;
    return roleGrant(auth, role, permission, admin);
  }
  if (op.roleRevoke !== undefined) {
    const { role, permission, admin } = op.roleRevoke;
    return roleRevoke(auth, role, permission, admin);
  }
  if (op.s3KeyAdd !== undefined) return s3KeyAdd(auth, op.s3KeyAdd);
  if (op.s3KeyDelete !== undefined) return s3KeyDelete(auth, op.s3KeyDelete.accessKey);
  return "empty auth operation";
}

function enable(auth: AuthState, tokenKey: Uint8Array): string | null {
  if (tokenKey.byteLength !== TOKEN_KEY_BYTES)
    return `token key must be ${TOKEN_KEY_BYTES} bytes, not ${tokenKey.byteLength}`;
  const root = auth.user(ROOT);
  if (root === undefined) return "auth cannot be enabled without a user root; add it first";
  if (auth.enabled) return null; // already on: its tokens stay valid
  if (!root.roles.includes(ROOT)) auth.putUser({ ...root, roles: withName(root.roles, ROOT) });
  auth.setSwitch(true, tokenKey);
  return null;
}

function userAdd(auth: AuthState, index: number, op: UserAddOp): string | null {
  const bad = badName("user", op.name) ?? badHash(op.passwordHash);
  if (bad !== null) return bad;
  if (auth.user(op.name) !== undefined) return `user ${op.name} already exists`;
  auth.putUser({ name: op.name, passwordHash: op.passwordHash, generation: index, roles: [] });
  return null;
}

function userDelete(auth: AuthState, name: string): string | null {
  if (auth.user(name) === undefined) return `user ${name} does not exist`;
  if (name === ROOT && auth.enabled)
    return "user root cannot be deleted while auth is enabled (nobody could administer the cluster)";
  auth.deleteUser(name);
  return null;
}

function userPasswd(auth: AuthState, index: number, op: UserPasswdOp): string | null {
  const user = auth.user(op.name);
  if (user === undefined) return `user ${op.name} does not exist`;
  const bad = badHash(op.passwordHash);
  if (bad !== null) return bad;
  auth.putUser({ ...user, passwordHash: op.passwordHash, generation: index });
  return null;
}

function userGrantRole(auth: AuthState, op: UserRoleOp): string | null {
  const user = auth.user(op.name);
  if (user === undefined) return `user ${op.name} does not exist`;
  if (auth.role(op.role) === undefined) return `role ${op.role} does not exist`;
  if (!user.roles.includes(op.role))
    auth.putUser({ ...user, roles: withName(user.roles, op.role) });
  return null;
}

function userRevokeRole(auth: AuthState, op: UserRoleOp): string | null {
  const user = auth.user(op.name);
  if (user === undefined) return `user ${op.name} does not exist`;
  if (!user.roles.includes(op.role)) return `user ${op.name} does not have role ${op.role}`;
  if (op.name === ROOT && op.role === ROOT && auth.enabled)
    return "user root cannot lose role root while auth is enabled (nobody could administer the cluster)";
  auth.putUser(withoutRole(user, op.role));
  return null;
}

function roleAdd(auth: AuthState, name: string): string | null {
  const bad = badName("role", name) ?? (name === ROOT ? "role root is built in" : null);
  if (bad !== null) return bad;
  if (auth.role(name) !== undefined) return `role ${name} already exists`;
  auth.putRole({ name, admin: false, permissions: [] });
  return null;
}

function roleDelete(auth: AuthState, name: string): string | null {
  if (name === ROOT) return "role root is built in and cannot be deleted";
  if (auth.role(name) === undefined) return `role ${name} does not exist`;
  auth.deleteRole(name);
  // As etcd does: users lose the deleted role (a role re-added later starts empty).
  for (const user of auth.users())
    if (user.roles.includes(name)) auth.putUser(withoutRole(user, name));
  return null;
}

function roleGrant(
  auth: AuthState,
  name: string,
  permission: AuthPermission | undefined,
  admin: boolean,
): string | null {
  const role = editableRole(auth, name);
  if (typeof role === "string") return role;
  if (permission === undefined && !admin) return "nothing to grant: give a permission or admin";
  const bad = permission === undefined ? null : badPermission(permission);
  if (bad !== null) return bad;
  const kept = role.permissions.filter(
    (p) => permission === undefined || !samePlace(p, permission),
  );
  const permissions =
    permission === undefined ? kept : [...kept, plainPermission(permission)].sort(byPlace);
  auth.putRole({ name, admin: role.admin || admin, permissions });
  return null;
}

function roleRevoke(
  auth: AuthState,
  name: string,
  permission: AuthPermission | undefined,
  admin: boolean,
): string | null {
  const role = editableRole(auth, name);
  if (typeof role === "string") return role;
  if (permission === undefined && !admin) return "nothing to revoke: give a permission or admin";
  const permissions = role.permissions.filter(
    (p) => permission === undefined || !samePlace(p, permission),
  );
  if (permission !== undefined && permissions.length === role.permissions.length)
    return `role ${name} has no permission on ${place(permission)}`;
  auth.putRole({ name, admin: role.admin && !admin, permissions });
  return null;
}

/** Adds an S3 access key to a user: the key must be new to the whole cluster. */
function s3KeyAdd(auth: AuthState, op: S3KeyAddOp): string | null {
  const user = auth.user(op.user);
  if (user === undefined) return `user ${op.user} does not exist`;
  if (!S3_ACCESS_KEY_PATTERN.test(op.accessKey))
    return `bad S3 access key ${JSON.stringify(op.accessKey.slice(0, 40))}: 20 characters of A-Z 0-9 starting with DFS`;
  if (!S3_SECRET_PATTERN.test(op.secret)) return "bad S3 secret: 40 characters of A-Z a-z 0-9 + /";
  if (auth.s3Key(op.accessKey) !== undefined) return `S3 access key ${op.accessKey} already exists`;
  const keys = user.s3Keys ?? [];
  if (keys.length >= MAX_S3_KEYS_PER_USER)
    return `user ${op.user} has ${MAX_S3_KEYS_PER_USER} S3 access keys already; delete one first`;
  const next = [...keys, { accessKey: op.accessKey, secret: op.secret }].sort((a, b) =>
    byName(a.accessKey, b.accessKey),
  );
  auth.putUser({ ...user, s3Keys: next });
  return null;
}

/** Removes an S3 access key from the user it belongs to. */
function s3KeyDelete(auth: AuthState, accessKey: string): string | null {
  const found = auth.s3Key(accessKey);
  if (found === undefined) return `S3 access key ${accessKey.slice(0, 40)} does not exist`;
  const keys = (found.user.s3Keys ?? []).filter((k) => k.accessKey !== accessKey);
  const { s3Keys: _, ...rest } = found.user;
  auth.putUser(keys.length === 0 ? rest : { ...rest, s3Keys: keys });
  return null;
}

/** The role to change, or why it cannot be. */
function editableRole(auth: AuthState, name: string): AuthRole | string {
  if (name === ROOT) return "role root is built in and holds every permission";
  return auth.role(name) ?? `role ${name} does not exist`;
}

function badName(what: "user" | "role", name: string): string | null {
  return NAME_PATTERN.test(name)
    ? null
    : `bad ${what} name ${JSON.stringify(name.slice(0, 80))}: 1-64 characters of A-Z a-z 0-9 _ . @ -`;
}

function badHash(hash: string): string | null {
  return hash.length > MAX_PASSWORD_HASH_CHARS
    ? `password hash longer than ${MAX_PASSWORD_HASH_CHARS} characters`
    : null;
}

function badPermission(p: AuthPermission): string | null {
  if (!p.prefix && p.key === "") return "a permission on one key needs the key (or --prefix)";
  if (Buffer.byteLength(p.key) > MAX_PERMISSION_KEY_BYTES)
    return `permission key longer than ${MAX_PERMISSION_KEY_BYTES} bytes`;
  if (!p.read && !p.write && !p.list)
    return "a permission grants at least one of read, write, list";
  return null;
}

function samePlace(a: AuthPermission, b: AuthPermission): boolean {
  return a.key === b.key && a.prefix === b.prefix;
}

function byPlace(a: AuthPermission, b: AuthPermission): number {
  return byName(a.key, b.key) || Number(a.prefix) - Number(b.prefix);
}

function place(p: AuthPermission): string {
  return p.prefix ? `prefix ${JSON.stringify(p.key)}` : `key ${JSON.stringify(p.key)}`;
}

/** Only the permission's own fields (a decoded message may carry more). */
function plainPermission(p: AuthPermission): AuthPermission {
  return { key: p.key, prefix: p.prefix, read: p.read, write: p.write, list: p.list };
}

function withName(names: readonly string[], name: string): string[] {
  return [...names, name].sort(byName);
}

function withoutRole(user: AuthUser, role: string): AuthUser {
  return { ...user, roles: user.roles.filter((r) => r !== role) };
}
