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
  anonymous(): S3Identity | null;
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

  anonymous(): S3Identity | null {
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

/** Renew a mapped user's token this long before it expires. */
const RENEW_BEFORE_MS = 30_000;
/** Bound on cached scopes (one per access key, day, region). */
const MAX_CACHED = 10_000;

/**
 * Keys mapped through the cluster (auth on), cached per scope until the user's token
 * nears its expiry; a client per user, reused while its token is valid.
 */
export class ClusterKeys implements SigningKeySource {
  private readonly cache = new Map<
    string,
    { key: Buffer; identity: S3Identity; renewAt: number }
  >();

  constructor(
    private readonly call: S3CredentialsCall,
    private readonly clientFor: (user: string, token: string) => DfsClient,
    private readonly now: () => number = Date.now,
  ) {}

  async resolve(scope: KeyScope): Promise<{ key: Buffer; identity: S3Identity }> {
    const id = `${scope.accessKey}/${scope.date}/${scope.region}/${scope.service}`;
    const hit = this.cache.get(id);
    if (hit !== undefined && hit.renewAt > this.now()) return hit;
    let answer: S3CredentialsAnswer;
    try {
      answer = await this.call(scope);
    } catch (error) {
      if ((error as { code?: string }).code === "not_found") throw unknownAccessKey();
      throw error;
    }
    if (hit !== undefined) closeLater(hit.identity.client);
    const entry = {
      key: Buffer.from(answer.signingKey),
      identity: { user: answer.user, client: this.clientFor(answer.user, answer.token) },
      renewAt: answer.tokenExpiresMs - RENEW_BEFORE_MS,
    };
    if (this.cache.size >= MAX_CACHED) this.evict();
    this.cache.set(id, entry);
    return entry;
  }

  anonymous(): S3Identity | null {
    return null;
  }

  /** Closes every per-user client. */
  close(): void {
    for (const e of this.cache.values()) e.identity.client.close();
    this.cache.clear();
  }

  private evict(): void {
    for (const [id, e] of this.cache) {
      closeLater(e.identity.client);
      this.cache.delete(id);
      if (this.cache.size < MAX_CACHED / 2) return;
    }
  }
}

/** Requests still running on a replaced client finish before it is closed. */
const CLOSE_GRACE_MS = 10 * 60_000;

function closeLater(client: DfsClient): void {
  setTimeout(() => client.close(), CLOSE_GRACE_MS).unref();
}
