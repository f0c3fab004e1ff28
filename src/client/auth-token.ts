/**
 * The client's login: a user name and password exchanged for a short-lived token on first
 * need, renewed before it expires, and dropped when a node says it expired. The token's
 * lifetime is measured on this client's clock from when it asked for it (the token's own
 * `exp - iat`), so a skewed clock between client and node changes nothing.
 * See docs/auth.md "Tokens".
 */
import { DfsError } from "../api/index.ts";

/** A user name and password (`DfsClientOptions.user`, `.password`). */
export interface Login {
  readonly user: string;
  readonly password: string;
}

/** What a node's Authenticate answered. */
export interface IssuedToken {
  /** "" when the node needs none (auth is off). */
  readonly token: string;
  /** When it stops working, ms since the epoch on the issuing node's clock. */
  readonly expiresMs: number;
}

/** Renew this far ahead of expiry at most (a 300 s token: at 270 s). */
export const MAX_RENEW_AHEAD_MS = 30_000;

/**
 * While auth is off a node issues no token; ask again after this long so a cluster that
 * enables auth meanwhile is noticed without a refusal (a refusal also triggers a login).
 */
export const NO_TOKEN_RECHECK_MS = 60_000;

/** The refusals a new login can cure (see {@link TokenHolder.shouldRenew}). */
const RENEWABLE = /token expired|invalid token/i;

/** Asks the leader for a token. */
export type Authenticate = (login: Login) => Promise<IssuedToken>;

/** The token of one client and when to renew it. */
export class TokenHolder {
  private token: string | undefined;
  /** When the node said the token expires (its clock), for {@link issuedToken}. */
  private expiresMs = 0;
  /** Local time (ms) after which the token is renewed before use. */
  private renewAt = 0;
  private pending: Promise<void> | null = null;
  /** Tokens obtained so far; a stream opened under an older one is reopened. */
  private issued = 0;

  /**
   * @param login the credentials; undefined: this client never authenticates
   * @param authenticate asks the leader for a token
   * @param token a token obtained elsewhere: used as is until a node refuses it
   * @param now the local clock (injectable for tests)
   */
  constructor(
    private login: Login | undefined,
    private readonly authenticate: Authenticate,
    token?: string,
    private readonly now: () => number = Date.now,
  ) {
    if (token !== undefined && token !== "") {
      this.token = token;
      this.renewAt = Number.POSITIVE_INFINITY;
    }
  }

  /** True when this client has credentials to log in with. */
  get hasLogin(): boolean {
    return this.login !== undefined;
  }

  /** The user this client logs in as, if any. */
  get user(): string | undefined {
    return this.login?.user;
  }

  /** The token to send now (undefined: none). */
  current(): string | undefined {
    return this.token;
  }

  /** The token held and its expiry as the node gave it ("" and 0 when none). */
  issuedToken(): IssuedToken {
    return { token: this.token ?? "", expiresMs: this.token === undefined ? 0 : this.expiresMs };
  }

  /** Drops the token, so the next {@link ensure} logs in again. */
  invalidate(): void {
    this.token = undefined;
    this.renewAt = 0;
  }

  /** Bumps with every token obtained, so a stream can tell it was opened under an old one. */
  epoch(): number {
    return this.issued;
  }

  /** Makes sure a fresh token is held (logging in at most once for concurrent callers). */
  async ensure(): Promise<void> {
    if (this.login === undefined || this.now() < this.renewAt) return;
    this.pending ??= this.renew(this.login).finally(() => {
      this.pending = null;
    });
    await this.pending;
  }

  /**
   * Called when a call that carried `sent` was refused with `error`: true (and the token
   * dropped, so the next {@link ensure} logs in) when logging in again can help: the token
   * expired, was signed with a key the cluster no longer uses (auth disabled and enabled
   * again), or none was sent. Not for a revoked token: the user was deleted or its
   * password changed, and this client's password is the old one. The caller retries once
   * at most.
   */
  shouldRenew(error: DfsError, sent: string | undefined): boolean {
    if (this.login === undefined || error.code !== "unauthenticated") return false;
    if (sent !== undefined && !RENEWABLE.test(error.message)) return false;
    if (this.token === sent) this.invalidate();
    return true;
  }

  /** The password of this client's own user changed: log in with the new one next time. */
  passwordChanged(user: string, password: string): void {
    if (this.login?.user !== user) return;
    this.login = { user, password };
    this.invalidate();
  }

  private async renew(login: Login): Promise<void> {
    const askedAt = this.now();
    const issued = await this.authenticate(login);
    this.issued++;
    if (issued.token === "") {
      this.token = undefined;
      this.renewAt = askedAt + NO_TOKEN_RECHECK_MS;
      return;
    }
    const lifetime = tokenLifetimeMs(issued.token) ?? Math.max(0, issued.expiresMs - askedAt);
    this.token = issued.token;
    this.expiresMs = issued.expiresMs;
    this.renewAt = askedAt + lifetime - Math.min(lifetime / 4, MAX_RENEW_AHEAD_MS);
  }
}

/**
 * `exp - iat` of a JWT in ms, read without checking the signature (the node checks it;
 * the client only wants to know when to renew); undefined when it is not readable.
 */
export function tokenLifetimeMs(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
      iat?: unknown;
      exp?: unknown;
    };
    const { iat, exp } = claims;
    if (typeof iat !== "number" || typeof exp !== "number" || exp < iat) return undefined;
    return (exp - iat) * 1000;
  } catch {
    return undefined;
  }
}

/** Checks the user and password options: both or neither, neither empty. */
export function loginFrom(user: string | undefined, password: string | undefined) {
  if (user === undefined && password === undefined) return undefined;
  if (user === undefined || user === "") {
    throw new DfsError("invalid_argument", "a password needs a user name");
  }
  if (password === undefined) {
    throw new DfsError("invalid_argument", `no password given for user ${user}`);
  }
  return { user, password };
}
