/**
 * What the node's auth code reads of the replicated auth state: a structural subset of
 * the state machine's `AuthView` (src/fsm), so tokens, callers and guards can be tested
 * over a plain table and never depend on how the store keeps it.
 */

/** One user as the checks need it. */
export interface AuthUserEntry {
  readonly name: string;
  /** scrypt hash (passwords.ts encoding); "" = no password (client certificate only). */
  readonly passwordHash: string;
  /** Log index of the UserAddOp or last UserPasswdOp: a token names it, see tokens.ts. */
  readonly generation: number;
  readonly roles: readonly string[];
}

/** The replicated auth state as of the node's applied index. */
export interface AuthLookup {
  readonly enabled: boolean;
  /** Signs every token; null until auth was first enabled. */
  readonly tokenKey: Uint8Array | null;
  user(name: string): AuthUserEntry | undefined;
  /** null when allowed; else the missing permission, e.g. "write on photos/a.jpg". */
  missing(user: string, action: AuthAction, key: string): string | null;
  isAdmin(user: string): boolean;
  /** True when a `list` grant of the user could match some key under `dir` (ends in "/"). */
  mayListUnder(user: string, dir: string): boolean;
  /** The S3 access key `accessKey` and its user, while it exists (tokens bound to a key). */
  s3Key(accessKey: string): { readonly user: { readonly name: string } } | undefined;
}

/** What a call wants to do with a key. */
export type AuthAction = "read" | "write" | "list";

/** An authenticated caller, as stamped into commands for the state machine's own check. */
export interface Caller {
  readonly user: string;
  readonly generation: number;
}
