/**
 * Users, roles and the auth switch as the state machine holds them (docs/auth.md): part of
 * the replicated state, changed only by AuthOp commands (auth-rules.ts), so every node
 * answers "may alice write photos/a.jpg?" the same way at the same applied index. Kept in
 * memory by both stores (few records); the on-disk store persists the records that
 * changed with each write-behind (auth-records.ts).
 */

/** A key-range permission of a role: one key, or every key starting with `key` (prefix). */
export interface AuthPermission {
  readonly key: string;
  readonly prefix: boolean;
  readonly read: boolean;
  readonly write: boolean;
  readonly list: boolean;
}

/** A user as the state machine holds it. */
export interface AuthUser {
  readonly name: string;
  /** scrypt hash in the encoding of docs/auth.md; "" = no password (client certificate only). */
  readonly passwordHash: string;
  /**
   * Log index of the UserAddOp or last UserPasswdOp that set the user: a token names it,
   * and is void once it changes (password changed, user deleted and re-added).
   */
  readonly generation: number;
  /** Names of the roles granted, sorted. */
  readonly roles: readonly string[];
  /**
   * The user's S3 access keys, sorted by access key (docs/auth.md "S3 access keys"); absent
   * when none (records from before S3 keys have no such field). The secret is kept as
   * given: SigV4 needs it to derive signing keys.
   */
  readonly s3Keys?: readonly S3KeyRecord[];
}

/** An S3 access key of a user and its secret. */
export interface S3KeyRecord {
  readonly accessKey: string;
  readonly secret: string;
}

/** A role: an admin flag and key-range permissions (sorted by key, then prefix). */
export interface AuthRole {
  readonly name: string;
  readonly admin: boolean;
  readonly permissions: readonly AuthPermission[];
}

/** What a permission allows. */
export type AuthAction = "read" | "write" | "list";

/**
 * The read-only view of the auth state the node checks calls against (the applied state
 * of its own state machine). The permission questions answer for an existing user and do
 * not look at `enabled`: the caller checks that auth is on and the user and generation.
 */
export interface AuthView {
  readonly enabled: boolean;
  /** The key that signs tokens (32 bytes); null until auth is first enabled. */
  readonly tokenKey: Uint8Array | null;
  user(name: string): AuthUser | undefined;
  role(name: string): AuthRole | undefined;
  /** Every user, sorted by name. */
  users(): AuthUser[];
  /** Every role, sorted by name, the built-in `root` included. */
  roles(): AuthRole[];
  /** null when allowed; else the missing permission, e.g. "write on photos/a.jpg". */
  missing(user: string, action: AuthAction, key: string): string | null;
  isAdmin(user: string): boolean;
  /** True when a `list` grant of the user could match some key under dir (ends in "/"). */
  mayListUnder(user: string, dir: string): boolean;
  /** The user an S3 access key belongs to, with its secret; undefined for an unknown key. */
  s3Key(accessKey: string): { readonly user: AuthUser; readonly secret: string } | undefined;
}

/** The all-powerful built-in role (and the user that must exist to enable auth). */
export const ROOT = "root";

/** The built-in role `root`: admin, and every permission on every key. */
export const ROOT_ROLE: AuthRole = {
  name: ROOT,
  admin: true,
  permissions: [{ key: "", prefix: true, read: true, write: true, list: true }],
};

/** The switch and the token key as plain data (a record, or part of an image). */
export interface AuthSwitch {
  readonly enabled: boolean;
  /** base64; null until first enabled. */
  readonly tokenKey: string | null;
}

/** The whole auth state as plain data (snapshots of the in-memory store). */
export interface AuthImage extends AuthSwitch {
  readonly users: readonly AuthUser[];
  readonly roles: readonly AuthRole[];
}

/** The auth state of a store that never applied an AuthOp. */
export const NO_AUTH: AuthImage = { enabled: false, tokenKey: null, users: [], roles: [] };

/** What changed since the last {@link AuthState.takeChanges}; null = deleted. */
export interface AuthChanges {
  /** The switch, when it changed. */
  readonly switch: AuthSwitch | null;
  readonly users: readonly (readonly [string, AuthUser | null])[];
  readonly roles: readonly (readonly [string, AuthRole | null])[];
}

/** The replicated auth state of one store. */
export class AuthState implements AuthView {
  private on = false;
  private key: Uint8Array | null = null;
  private readonly userMap = new Map<string, AuthUser>();
  private readonly roleMap = new Map<string, AuthRole>();
  private switchDirty = false;
  private readonly dirtyUsers = new Set<string>();
  private readonly dirtyRoles = new Set<string>();
  /**
   * Each user's permissions, over all their roles: a listing asks for every entry it
   * shows, so they are gathered once per user until users or roles change.
   */
  private readonly granted = new Map<string, AuthPermission[]>();

  get enabled(): boolean {
    return this.on;
  }

  get tokenKey(): Uint8Array | null {
    return this.key;
  }

  user(name: string): AuthUser | undefined {
    return this.userMap.get(name);
  }

  role(name: string): AuthRole | undefined {
    return name === ROOT ? ROOT_ROLE : this.roleMap.get(name);
  }

  users(): AuthUser[] {
    return [...this.userMap.values()].sort((a, b) => byName(a.name, b.name));
  }

  roles(): AuthRole[] {
    return [ROOT_ROLE, ...this.roleMap.values()].sort((a, b) => byName(a.name, b.name));
  }

  missing(user: string, action: AuthAction, key: string): string | null {
    for (const p of this.permissionsOf(user)) if (p[action] && matches(p, key)) return null;
    return `${action} on ${key}`;
  }

  isAdmin(user: string): boolean {
    return this.rolesOf(user).some((r) => r.admin);
  }

  mayListUnder(user: string, dir: string): boolean {
    return this.permissionsOf(user).some(
      (p) => p.list && (p.key.startsWith(dir) || (p.prefix && dir.startsWith(p.key))),
    );
  }

  s3Key(accessKey: string): { readonly user: AuthUser; readonly secret: string } | undefined {
    for (const user of this.userMap.values())
      for (const k of user.s3Keys ?? [])
        if (k.accessKey === accessKey) return { user, secret: k.secret };
    return undefined;
  }

  /** True when the user may write some key (an upload's chunks name no key yet). */
  mayWriteSomewhere(user: string): boolean {
    return this.permissionsOf(user).some((p) => p.write);
  }

  // ---- changes (auth-rules.ts only) --------------------------------------------------

  /** Turns auth on or off; a new token key replaces the old one (null: keep it). */
  setSwitch(enabled: boolean, tokenKey: Uint8Array | null): void {
    this.on = enabled;
    if (tokenKey !== null) this.key = Uint8Array.from(tokenKey);
    this.switchDirty = true;
  }

  /** Creates or replaces a user. */
  putUser(user: AuthUser): void {
    this.userMap.set(user.name, user);
    this.dirtyUsers.add(user.name);
    this.granted.clear();
  }

  deleteUser(name: string): void {
    this.userMap.delete(name);
    this.dirtyUsers.add(name);
    this.granted.clear();
  }

  /** Creates or replaces a role (never `root`). */
  putRole(role: AuthRole): void {
    this.roleMap.set(role.name, role);
    this.dirtyRoles.add(role.name);
    this.granted.clear();
  }

  deleteRole(name: string): void {
    this.roleMap.delete(name);
    this.dirtyRoles.add(name);
    this.granted.clear();
  }

  // ---- persistence and images ---------------------------------------------------------

  /** What changed since the last call (and forgets that it did): an on-disk store saves it. */
  takeChanges(): AuthChanges {
    const changes: AuthChanges = {
      switch: this.switchDirty ? this.switchImage() : null,
      users: [...this.dirtyUsers].map((n) => [n, this.userMap.get(n) ?? null] as const),
      roles: [...this.dirtyRoles].map((n) => [n, this.roleMap.get(n) ?? null] as const),
    };
    this.clearDirty();
    return changes;
  }

  /** Marks taken changes as unsaved again (the write that was to save them failed). */
  requeueChanges(changes: AuthChanges): void {
    if (changes.switch !== null) this.switchDirty = true;
    for (const [name] of changes.users) this.dirtyUsers.add(name);
    for (const [name] of changes.roles) this.dirtyRoles.add(name);
  }

  /** The whole state as plain data. */
  toImage(): AuthImage {
    return {
      ...this.switchImage(),
      users: this.users(),
      roles: this.roles().filter((r) => r !== ROOT_ROLE),
    };
  }

  /** Replaces the state with an image's (or a store's records); nothing is left unsaved. */
  loadImage(image: AuthImage): void {
    this.on = image.enabled;
    this.key =
      image.tokenKey === null ? null : new Uint8Array(Buffer.from(image.tokenKey, "base64"));
    this.userMap.clear();
    this.roleMap.clear();
    for (const u of image.users) this.userMap.set(u.name, u);
    for (const r of image.roles) if (r.name !== ROOT) this.roleMap.set(r.name, r);
    this.clearDirty();
    this.granted.clear();
  }

  /**
   * The state as text for the stores' digests ("" while it was never used, so a store
   * without auth digests as before): equal on every replica at the same applied index.
   */
  fingerprint(): string {
    if (!this.on && this.key === null && this.userMap.size === 0 && this.roleMap.size === 0)
      return "";
    const key = this.key === null ? "-" : Buffer.from(this.key).toString("hex");
    const users = this.users().map(
      (u) =>
        `${u.name}:${u.generation}:${u.passwordHash}:${u.roles.join(",")}${s3KeysText(u.s3Keys)}`,
    );
    const roles = this.roles().map(
      (r) =>
        `${r.name}:${r.admin}:${r.permissions.map((p) => `${p.key}|${p.prefix}|${p.read}|${p.write}|${p.list}`).join(";")}`,
    );
    return `auth:${this.on}:${key}:users:${users.join("\n")}:roles:${roles.join("\n")}`;
  }

  private switchImage(): AuthSwitch {
    const tokenKey = this.key === null ? null : Buffer.from(this.key).toString("base64");
    return { enabled: this.on, tokenKey };
  }

  private clearDirty(): void {
    this.switchDirty = false;
    this.dirtyUsers.clear();
    this.dirtyRoles.clear();
  }

  private rolesOf(user: string): AuthRole[] {
    const roles: AuthRole[] = [];
    for (const name of this.userMap.get(user)?.roles ?? []) {
      const role = this.role(name);
      if (role !== undefined) roles.push(role);
    }
    return roles;
  }

  private permissionsOf(user: string): AuthPermission[] {
    if (!this.userMap.has(user)) return []; // never cache unknown names: no unbounded growth
    let permissions = this.granted.get(user);
    if (permissions === undefined) {
      permissions = this.rolesOf(user).flatMap((r) => r.permissions);
      this.granted.set(user, permissions);
    }
    return permissions;
  }
}

/** Whether a permission covers a key: the key itself, or every key under a prefix grant. */
export function matches(p: AuthPermission, key: string): boolean {
  return p.prefix ? key.startsWith(p.key) : key === p.key;
}

/** Name order (plain code-unit order: names are ASCII). */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A user's S3 keys for the fingerprint ("" when none, so users without keys print as before). */
function s3KeysText(keys: readonly S3KeyRecord[] | undefined): string {
  if (keys === undefined || keys.length === 0) return "";
  return `:s3:${keys.map((k) => `${k.accessKey}=${k.secret}`).join(",")}`;
}
