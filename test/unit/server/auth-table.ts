/**
 * A plain in-memory auth state for the node's auth unit tests: users with a generation,
 * per-user grants, an admin set. The real one is the state machine's AuthView; the
 * node's code only reads the AuthLookup subset, which this implements directly.
 */
import type { AuthAction, AuthLookup, AuthUserEntry } from "../../../src/server/auth/index.ts";

/** A mutable auth table. */
export class AuthTable implements AuthLookup {
  enabled = true;
  tokenKey: Uint8Array | null = new Uint8Array(32).fill(7);
  readonly users = new Map<string, AuthUserEntry>();
  /** user → action → key prefixes granted. */
  readonly grants = new Map<string, { action: AuthAction; prefix: string }[]>();
  readonly admins = new Set<string>();
  /** S3 access key → its user's name. */
  readonly s3Keys = new Map<string, string>();

  addUser(name: string, generation: number, passwordHash = ""): this {
    this.users.set(name, { name, passwordHash, generation, roles: [] });
    return this;
  }

  grant(user: string, action: AuthAction, prefix: string): this {
    const list = this.grants.get(user) ?? [];
    list.push({ action, prefix });
    this.grants.set(user, list);
    return this;
  }

  user(name: string): AuthUserEntry | undefined {
    return this.users.get(name);
  }

  missing(user: string, action: AuthAction, key: string): string | null {
    const ok = (this.grants.get(user) ?? []).some(
      (g) => g.action === action && key.startsWith(g.prefix),
    );
    return ok ? null : `${action} on ${key}`;
  }

  isAdmin(user: string): boolean {
    return this.admins.has(user);
  }

  s3Key(accessKey: string): { readonly user: { readonly name: string } } | undefined {
    const name = this.s3Keys.get(accessKey);
    return name === undefined ? undefined : { user: { name } };
  }

  mayListUnder(user: string, dir: string): boolean {
    return (this.grants.get(user) ?? []).some(
      (g) => g.action === "list" && (g.prefix.startsWith(dir) || dir.startsWith(g.prefix)),
    );
  }
}
