/**
 * Where the gateway gets the SigV4 signing key of an access key, and who a request then
 * acts as. Auth off: one static key pair (`DFS_S3_ACCESS_KEY`/`DFS_S3_SECRET_KEY`), every
 * request acting through the gateway's own client. Auth on: the cluster maps the access
 * key to a dfs user through the admin-only S3Credentials call, which answers the signing
 * key for one day/region/service (never the secret) and a token of that user; requests
 * then act through a client carrying that token, so the cluster's permissions apply.
 */
import type { DfsClient } from "../client/index.ts";
import { S3Error } from "./errors.ts";
import { signingKey } from "./sigv4.ts";

/** Who a request acts as. */
export interface S3Identity {
  /** The dfs user (null when the cluster's auth is off). */
  readonly user: string | null;
  readonly client: DfsClient;
}

/** The scope a signing key is for. */
export interface KeyScope {
  readonly accessKey: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
}

/** Signing keys and identities by access key. */
export interface SigningKeySource {
  /** The signing key of `scope` and who it acts as; InvalidAccessKeyId when unknown. */
  resolve(scope: KeyScope): Promise<{ key: Buffer; identity: S3Identity }>;
  /** Who an unsigned request acts as; null when anonymous access is refused. */
  anonymous(): Promise<S3Identity | null>;
}

/** Refusal of an access key nobody issued. */
export function unknownAccessKey(): S3Error {
  return new S3Error(
    "InvalidAccessKeyId",
    "The AWS Access Key Id you provided does not exist in our records.",
    403,
  );
}

/** One access key pair, acting through one client (auth off). */
export class StaticKeys implements SigningKeySource {
  private readonly identity: S3Identity;

  constructor(
    private readonly accessKey: string,
    private readonly secret: string,
    client: DfsClient,
    private readonly allowAnonymous: boolean,
  ) {
    this.identity = { user: null, client };
  }

  async resolve(scope: KeyScope): Promise<{ key: Buffer; identity: S3Identity }> {
    if (scope.accessKey !== this.accessKey) throw unknownAccessKey();
    return {
      key: signingKey(this.secret, scope.date, scope.region, scope.service),
      identity: this.identity,
    };
  }

  async anonymous(): Promise<S3Identity | null> {
    return this.allowAnonymous ? this.identity : null;
  }
}

/** What S3Credentials answers (proto S3CredentialsResponse). */
export interface S3CredentialsAnswer {
  readonly user: string;
  readonly signingKey: Uint8Array;
  readonly token: string;
  readonly tokenExpiresMs: number;
}

/** Asks the cluster for the credentials of a scope (admin only; DfsError `not_found` when unknown). */
export type S3CredentialsCall = (scope: KeyScope) => Promise<S3CredentialsAnswer>;

/** How long a mapped signing key is trusted before the cluster is asked again (a deleted key's token is refused at once regardless). */
export const KEY_RECHECK_MS = 60_000;
/** Bound on cached access keys. */
const MAX_CACHED = 10_000;

/** A token for a mapped user, renewed through S3Credentials (DfsClient `tokenSource`). */
export type TokenSource = () => Promise<{ token: string; expiresMs: number }>;

/**
 * Keys mapped through the cluster (auth on). A signing key is trusted for
 * {@link KEY_RECHECK_MS}, then asked again; each access key has one client acting as its
 * user, whose token is renewed through S3Credentials as it nears expiry. The token is
 * bound to the access key (server/auth/tokens.ts), so a deleted key's requests are
 * refused by the cluster at once, whatever is cached here.
 */
export class ClusterKeys implements SigningKeySource {
  private readonly keys = new Map<string, { key: Buffer; user: string; checkedAt: number }>();
  private readonly clients = new Map<string, S3Identity>();

  constructor(
    private readonly call: S3CredentialsCall,
    private readonly clientFor: (tokens: TokenSource) => DfsClient,
    private readonly now: () => number = Date.now,
  ) {}

  async resolve(scope: KeyScope): Promise<{ key: Buffer; identity: S3Identity }> {
    const id = `${scope.accessKey}/${scope.date}/${scope.region}/${scope.service}`;
    let hit = this.keys.get(id);
    if (hit === undefined || this.now() - hit.checkedAt > KEY_RECHECK_MS) {
      const answer = await this.ask(scope);
      hit = { key: Buffer.from(answer.signingKey), user: answer.user, checkedAt: this.now() };
      if (this.keys.size >= MAX_CACHED) this.keys.clear();
      this.keys.set(id, hit);
    }
    return { key: hit.key, identity: this.identity(scope, hit.user) };
  }

  async anonymous(): Promise<S3Identity | null> {
    return null;
  }

  /** Closes every per-user client. */
  close(): void {
    for (const identity of this.clients.values()) identity.client.close();
    this.clients.clear();
    this.keys.clear();
  }

  private identity(scope: KeyScope, user: string): S3Identity {
    const id = `${scope.accessKey}/${user}`;
    let identity = this.clients.get(id);
    if (identity === undefined) {
      const tokens: TokenSource = async () => {
        const a = await this.ask(scope);
        return { token: a.token, expiresMs: a.tokenExpiresMs };
      };
      if (this.clients.size >= MAX_CACHED) this.evictClients();
      identity = { user, client: this.clientFor(tokens) };
      this.clients.set(id, identity);
    }
    return identity;
  }

  private async ask(scope: KeyScope): Promise<S3CredentialsAnswer> {
    try {
      return await this.call(scope);
    } catch (error) {
      if ((error as { code?: string }).code === "not_found") throw unknownAccessKey();
      throw error;
    }
  }

  private evictClients(): void {
    for (const [id, identity] of this.clients) {
      closeLater(identity.client);
      this.clients.delete(id);
      if (this.clients.size < MAX_CACHED / 2) return;
    }
  }
}

/** Requests still running on an evicted client finish before it is closed. */
const CLOSE_GRACE_MS = 10 * 60_000;

function closeLater(client: DfsClient): void {
  setTimeout(() => client.close(), CLOSE_GRACE_MS).unref();
}

/** How long the cluster's auth switch is trusted before asking again. */
export const AUTH_RECHECK_MS = 5_000;
/** An unknown access key makes the gateway ask again if its answer is older than this. */
const AUTH_FRESH_MS = 500;

/**
 * Follows the cluster's auth switch: static keys (or anonymous) while auth is off,
 * access keys mapped through S3Credentials once it is on — so `dfs auth enable` on a
 * running cluster turns the gateway's static key off within {@link AUTH_RECHECK_MS}.
 */
export class AutoKeys implements SigningKeySource {
  private known: { enabled: boolean; at: number } | null = null;

  constructor(
    private readonly authEnabled: () => Promise<boolean>,
    private readonly off: SigningKeySource,
    /** null when the gateway has no admin user to map keys with. */
    private readonly on: SigningKeySource | null,
    private readonly now: () => number = Date.now,
  ) {}

  async resolve(scope: KeyScope): Promise<{ key: Buffer; identity: S3Identity }> {
    const source = await this.current();
    try {
      return await source.resolve(scope);
    } catch (error) {
      // A key unknown to the static pair may be a dfs user's key of a cluster whose auth
      // was just turned on: look again now (at most every AUTH_FRESH_MS), not in 5 s.
      const stale = this.known !== null && this.now() - this.known.at > AUTH_FRESH_MS;
      if (source !== this.off || !stale || !(error instanceof S3Error)) throw error;
      this.known = null;
      const again = await this.current();
      if (again === this.off) throw error;
      return again.resolve(scope);
    }
  }

  async anonymous(): Promise<S3Identity | null> {
    return (await this.current()).anonymous();
  }

  private async current(): Promise<SigningKeySource> {
    if (this.known === null || this.now() - this.known.at > AUTH_RECHECK_MS)
      this.known = { enabled: await this.authEnabled(), at: this.now() };
    if (!this.known.enabled) return this.off;
    if (this.on === null)
      throw new S3Error(
        "AccessDenied",
        "the cluster's auth is on and this gateway has no admin user to map access keys (start it with --user)",
        403,
      );
    return this.on;
  }
}
