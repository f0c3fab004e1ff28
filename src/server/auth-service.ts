/**
 * The auth RPCs (docs/auth.md): Authenticate, AuthChange and AuthRead.
 *
 * - Authenticate is answered by the leader after a ReadIndex round, so a password changed
 *   a moment ago is not accepted; the scrypt check runs on libuv's pool through a bounded
 *   gate, behind a per-user backoff, and an unknown user costs the same scrypt as a known
 *   one. Auth off: a right password still answers (an empty token: nothing to send), a
 *   wrong one still fails.
 * - AuthChange (admin only once auth is on) hashes passwords on the leader and draws the
 *   token key on enable, so the log holds only hashes and applying stays deterministic;
 *   the command carries its caller and the state machine checks it again at apply.
 * - AuthRead (admin only once auth is on) is linearizable and never shows hashes.
 */
import { randomBytes, randomInt } from "node:crypto";
import { DfsError } from "../api/index.ts";
import {
  type ApplyResult,
  type AuthView,
  encodeCommand,
  S3_ACCESS_KEY_PATTERN,
  TOKEN_KEY_BYTES,
} from "../fsm/index.ts";
import type { AuthOp } from "../gen/command.ts";
import type {
  AuthChangeRequest,
  AuthChangeResponse,
  AuthenticateRequest,
  AuthenticateResponse,
  AuthReadResponse,
} from "../gen/dfs.ts";
import {
  type AuthGuard,
  type CallCredentials,
  type Caller,
  checkPassword,
  DECOY_HASH,
  hashPassword,
  LoginLimiter,
  ScryptGate,
  verifyPassword,
} from "./auth/index.ts";
import { checkName, checkPermission } from "./auth/names.ts";
import type { RaftLoop } from "./raft-loop.ts";
import { authRefusal } from "./request-checks.ts";

/** What the auth RPCs need from the node. */
export interface AuthServiceDeps {
  readonly loop: Pick<RaftLoop, "checkLeader" | "linearizableRead" | "propose">;
  /** The applied auth state. */
  readonly auth: () => AuthView;
  readonly guard: AuthGuard;
  /** The leader's clock, stamped into commands and tokens. */
  readonly now: () => number;
}

/** Refusal of a login, the same words whether the user exists or not. */
export const WRONG_CREDENTIALS = "wrong user name or password";

/** The three handlers, as async functions of request and call. */
export interface AuthService {
  authenticate(req: AuthenticateRequest): Promise<AuthenticateResponse>;
  change(req: AuthChangeRequest, call: CallCredentials): Promise<AuthChangeResponse>;
  read(call: CallCredentials): Promise<AuthReadResponse>;
}

/** Builds the auth RPCs of one node. */
export function authService(d: AuthServiceDeps): AuthService {
  const limiter = new LoginLimiter();
  const gate = new ScryptGate();
  return {
    authenticate: async (req) => {
      if (req.user.length > 64 || Buffer.byteLength(req.password, "utf8") > 1024)
        throw new DfsError("unauthenticated", WRONG_CREDENTIALS);
      // Only the leader answers, though any node could read the state: the failed-login
      // budget is per node, and one node answering keeps it one budget per cluster.
      d.loop.checkLeader();
      const user = await limiter.attempt(req.user, d.now, async () => {
        await d.loop.linearizableRead();
        const found = d.auth().user(req.user);
        const hash =
          found === undefined || found.passwordHash === "" ? DECOY_HASH : found.passwordHash;
        const ok = await gate.run(() => verifyPassword(req.password, hash));
        return ok ? found : undefined;
      });
      if (user === undefined) throw new DfsError("unauthenticated", WRONG_CREDENTIALS);
      const auth = d.auth();
      // The generation read before the scrypt run: a password changed meanwhile voids it.
      if (!auth.enabled || auth.tokenKey === null)
        return { token: "", expiresMs: d.now() + d.guard.tokens.ttlMs };
      return d.guard.tokens.issue(auth.tokenKey, user.name, user.generation, d.now());
    },
    change: async (req, call) => {
      d.loop.checkLeader();
      const caller = await d.guard.requireAdmin(call);
      const op = await toAuthOp(req, gate);
      const { result } = await d.loop.propose(
        encodeCommand({ op: "auth", auth: op, timeMs: d.now(), ...callerField(caller) }),
      );
      const index = changeOutcome(result);
      const added = op.s3KeyAdd;
      return {
        index,
        s3Key:
          added === undefined ? undefined : { accessKey: added.accessKey, secret: added.secret },
      };
    },
    read: async (call) => {
      const caller = await d.guard.requireAdmin(call);
      await d.loop.linearizableRead();
      d.guard.allowAdmin(caller); // again, against the state the read is served from
      return readOut(d.auth());
    },
  };
}

/** `{caller}` for a command, or nothing while auth is off. */
export function callerField(caller: Caller | null): { caller?: Caller } {
  return caller === null ? {} : { caller };
}

/** The replicated op for a request: names checked, passwords hashed, the key drawn. */
async function toAuthOp(req: AuthChangeRequest, gate: ScryptGate): Promise<AuthOp> {
  const hash = (password: string) => {
    checkPassword(password);
    return gate.run(() => hashPassword(password));
  };
  if (req.enable) return { enable: { tokenKey: randomBytes(TOKEN_KEY_BYTES) } };
  if (req.disable) return { disable: {} };
  if (req.userAdd) {
    const { name, password, noPassword } = req.userAdd;
    checkName("user", name);
    if (noPassword && password !== "")
      throw new DfsError("invalid_argument", "give a password or no_password, not both");
    return { userAdd: { name, passwordHash: noPassword ? "" : await hash(password) } };
  }
  if (req.userDelete) {
    checkName("user", req.userDelete.name);
    return { userDelete: { name: req.userDelete.name } };
  }
  if (req.userPasswd) {
    const { name, password } = req.userPasswd;
    checkName("user", name);
    return { userPasswd: { name, passwordHash: await hash(password) } };
  }
  const userRole = req.userGrantRole ?? req.userRevokeRole;
  if (userRole) {
    checkName("user", userRole.name);
    checkName("role", userRole.role);
    const op = { name: userRole.name, role: userRole.role };
    return req.userGrantRole ? { userGrantRole: op } : { userRevokeRole: op };
  }
  if (req.roleAdd) {
    checkName("role", req.roleAdd.name);
    return { roleAdd: { name: req.roleAdd.name } };
  }
  if (req.roleDelete) {
    checkName("role", req.roleDelete.name);
    return { roleDelete: { name: req.roleDelete.name } };
  }
  const grant = req.roleGrant ?? req.roleRevoke;
  if (grant) {
    checkName("role", grant.role);
    const permission =
      grant.admin && grant.permission === undefined ? undefined : checkPermission(grant.permission);
    const op = { role: grant.role, permission, admin: grant.admin };
    return req.roleGrant ? { roleGrant: op } : { roleRevoke: op };
  }
  if (req.s3KeyAdd) {
    checkName("user", req.s3KeyAdd.user);
    return { s3KeyAdd: { user: req.s3KeyAdd.user, ...newS3Key() } };
  }
  if (req.s3KeyDelete) {
    const { accessKey } = req.s3KeyDelete;
    if (!S3_ACCESS_KEY_PATTERN.test(accessKey))
      throw new DfsError(
        "invalid_argument",
        `bad S3 access key ${JSON.stringify(accessKey.slice(0, 40))}: 20 characters of A-Z 0-9 starting with DFS`,
      );
    return { s3KeyDelete: { accessKey } };
  }
  throw new DfsError("invalid_argument", "empty auth change");
}

/** Characters of an access key after its "DFS" (AWS's alphabet: upper case and digits). */
const ACCESS_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/**
 * A new access key and secret, drawn on the leader (so the log carries them and applying
 * stays deterministic): "DFS" + 17 uniform characters, and 30 random bytes in base64 (40
 * characters, as AWS secrets are).
 */
function newS3Key(): { accessKey: string; secret: string } {
  let accessKey = "DFS";
  while (accessKey.length < 20)
    accessKey += ACCESS_KEY_ALPHABET[randomInt(ACCESS_KEY_ALPHABET.length)];
  return { accessKey, secret: randomBytes(30).toString("base64") };
}

/** The index an auth change applied at, or the typed error its result stands for. */
function changeOutcome(result: ApplyResult): number {
  switch (result.kind) {
    case "auth":
      return result.index;
    case "auth_refused":
      throw new DfsError("precondition_failed", result.reason);
    case "unauthenticated":
    case "permission_denied":
      throw authRefusal(result);
    default:
      throw new DfsError("internal", `unexpected apply result ${result.kind}`);
  }
}

/** Users and roles as AuthRead shows them (no hashes, no key). */
function readOut(auth: AuthView): AuthReadResponse {
  return {
    enabled: auth.enabled,
    users: auth.users().map((u) => ({
      name: u.name,
      roles: [...u.roles],
      hasPassword: u.passwordHash !== "",
      s3AccessKeys: (u.s3Keys ?? []).map((k) => k.accessKey),
    })),
    roles: auth.roles().map((r) => ({
      name: r.name,
      admin: r.admin,
      permissions: r.permissions.map((p) => ({ ...p })),
    })),
  };
}
