/**
 * The node's permission checks (docs/auth.md), one object every handler asks: who is
 * calling, and may they do this. Writes are checked here before they are proposed (a
 * fast refusal) and again by the state machine at apply, against the auth state at that
 * index (the command carries the caller). Reads are checked here after their ReadIndex
 * wait, against the applied state that then serves them, so a read after a revocation
 * committed is refused.
 */
import { DfsError } from "../../api/index.ts";
import type { AuthAction, AuthLookup, Caller } from "./auth-lookup.ts";
import { AUTH_REQUIRED, type CallCredentials, CallerResolver } from "./caller.ts";
import { TOKEN_REVOKED, Tokens } from "./tokens.ts";

const NO_CALLER: Promise<Caller | null> = Promise.resolve(null);

/** What decides which entries of a listing the caller sees. */
export interface ListFilter {
  key(name: string): boolean;
  /** `dir` ends in "/". */
  dir(name: string): boolean;
}

/** How the node's guard is set up. */
export interface AuthGuardOptions {
  /** The applied auth state, read afresh on every check. */
  readonly auth: () => AuthLookup;
  /** Token lifetime in seconds (`--auth-token-ttl`). */
  readonly tokenTtlS?: number;
  /** This node's cluster id, which its tokens name (see Tokens); "" while unknown. */
  readonly clusterId?: () => string;
  /** Whether the client port verifies client certificates (`--client-ca`). */
  readonly certUsers?: boolean;
  readonly clock?: () => number;
}

/** Answers "who" and "may they" for one node. */
export class AuthGuard {
  /** Issues and verifies this node's tokens (Authenticate uses it to issue). */
  readonly tokens: Tokens;
  private readonly resolver: CallerResolver;
  private readonly auth: () => AuthLookup;

  constructor(options: AuthGuardOptions) {
    this.auth = options.auth;
    this.tokens = new Tokens(options.tokenTtlS, undefined, options.clusterId);
    this.resolver = new CallerResolver(this.tokens, options.certUsers === true, options.clock);
  }

  /** Whether auth is on now (StatusResponse.authEnabled). */
  get enabled(): boolean {
    return this.auth().enabled;
  }

  /** The caller of `call`; null while auth is off. Throws `unauthenticated`. */
  caller(call: CallCredentials): Promise<Caller | null> {
    const auth = this.auth();
    if (!auth.enabled) return NO_CALLER; // the whole cost of auth while it is off
    return this.resolver.resolve(auth, call);
  }

  /**
   * Throws unless `caller` may do `action` on `key` under the state as it is now: auth
   * off allows all; a caller resolved while auth was off, a deleted user or a changed
   * password are `unauthenticated`; a missing grant is `permission_denied`.
   */
  allow(caller: Caller | null, action: AuthAction, key: string): void {
    const auth = this.auth();
    if (!auth.enabled) return;
    const user = this.current(auth, caller);
    const missing = auth.missing(user, action, key);
    if (missing !== null) throw new DfsError("permission_denied", `user ${user} lacks ${missing}`);
  }

  /** Throws unless the caller of `call` is an administrator (or auth is off). */
  async requireAdmin(call: CallCredentials): Promise<Caller | null> {
    const caller = await this.caller(call);
    this.allowAdmin(caller);
    return caller;
  }

  /** As {@link requireAdmin} for a caller already resolved. */
  allowAdmin(caller: Caller | null): void {
    const auth = this.auth();
    if (!auth.enabled) return;
    const user = this.current(auth, caller);
    if (!auth.isAdmin(user)) throw new DfsError("permission_denied", `user ${user} lacks admin`);
  }

  /** Throws unless some valid user calls (or auth is off): MemberList. */
  async requireUser(call: CallCredentials): Promise<Caller | null> {
    return this.caller(call);
  }

  /** Which listing entries `caller` sees; null when every entry is visible. */
  listFilter(caller: Caller | null): ListFilter | null {
    const auth = this.auth();
    if (!auth.enabled) return null;
    const user = this.current(auth, caller);
    // No shortcut for admins: the admin flag grants the admin RPCs, not keys (only the
    // role root has both, and missing() answers for it).
    return {
      key: (name) => auth.missing(user, "list", name) === null,
      dir: (name) => auth.mayListUnder(user, name),
    };
  }

  /** The caller's name if it is still valid under `auth`; throws `unauthenticated` if not. */
  private current(auth: AuthLookup, caller: Caller | null): string {
    if (caller === null) throw new DfsError("unauthenticated", AUTH_REQUIRED);
    const user = auth.user(caller.user);
    if (user === undefined || user.generation !== caller.generation)
      throw new DfsError("unauthenticated", TOKEN_REVOKED);
    return caller.user;
  }
}
