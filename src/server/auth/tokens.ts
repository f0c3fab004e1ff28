/**
 * Auth tokens (docs/auth.md): HS256 JWTs (`jose`) signed with the cluster's replicated
 * token key, claims `sub` (user), `gen` (the user's generation), `iat`, `exp`. Any node
 * verifies one against its applied auth state: signature, expiry, user exists, generation
 * equal. So a token is void once its user is deleted or changes password (the generation
 * moves), and every token dies when the key changes (auth disabled and enabled again).
 * A token issued to an S3 gateway for a request signed with an access key also names the
 * key (`s3k`) and is void once that key is deleted: the gateway may trust a signing key
 * for a minute (src/s3/keys.ts), but every call it makes with the token is refused from
 * the moment the serving node applied the deletion.
 *
 * A signature check costs microseconds plus an async hop through WebCrypto; a hot client
 * sends the same token thousands of times a second. Verified tokens are cached in a
 * bounded map (token → claims), so a call costs one map lookup plus the expiry and
 * generation checks against the current state, which still run every time.
 */
import { errors, jwtVerify, SignJWT } from "jose";
import { DfsError } from "../../api/index.ts";
import { DEFAULT_AUTH_TOKEN_TTL_S } from "../config.ts";
import type { AuthLookup, Caller } from "./auth-lookup.ts";

/** Verified tokens remembered at once (a few hundred bytes each). */
export const TOKEN_CACHE_SIZE = 10_000;

const ALG = "HS256";

/** Claims of a verified token. */
interface Claims {
  readonly user: string;
  readonly generation: number;
  readonly expMs: number;
  /** The S3 access key the token was issued for, if any. */
  readonly s3Key?: string;
}

/** Messages of the `unauthenticated` refusals, one wording everywhere. */
export const TOKEN_EXPIRED = "token expired; log in again";
export const TOKEN_REVOKED = "token revoked (user deleted or password changed); log in again";
export const TOKEN_KEY_DELETED = "S3 access key deleted";
export const TOKEN_INVALID = "invalid token (not signed by this cluster); log in again";

/** Issues and verifies tokens for one node. */
export class Tokens {
  private readonly cache = new Map<string, Claims>();
  /** The key the cached tokens were verified with; a new key empties the cache. */
  private cacheKey: Uint8Array | null = null;

  /**
   * @param audience this node's cluster id (read at each use: a joining node learns it
   *   late). Tokens name it and are refused elsewhere, so a cluster restored from a backup
   *   (same token key, new cluster id) does not honour the old cluster's tokens.
   */
  constructor(
    private readonly ttlS: number = DEFAULT_AUTH_TOKEN_TTL_S,
    private readonly cacheSize: number = TOKEN_CACHE_SIZE,
    private readonly audience: () => string = () => "",
  ) {}

  /** How long a token lives. */
  get ttlMs(): number {
    return this.ttlS * 1000;
  }

  /**
   * A token for `user` at `generation`, expiring `ttlS` after `nowMs`; bound to the S3
   * access key `s3Key` when given (void once the key is deleted).
   */
  async issue(
    key: Uint8Array,
    user: string,
    generation: number,
    nowMs: number,
    s3Key?: string,
  ): Promise<{ token: string; expiresMs: number }> {
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + this.ttlS;
    const jwt = new SignJWT(
      s3Key === undefined ? { gen: generation } : { gen: generation, s3k: s3Key },
    )
      .setProtectedHeader({ alg: ALG, typ: "JWT" })
      .setSubject(user)
      .setIssuedAt(iat)
      .setExpirationTime(exp);
    const audience = this.audience();
    const token = await (audience === "" ? jwt : jwt.setAudience(audience)).sign(key);
    return { token, expiresMs: exp * 1000 };
  }

  /**
   * The caller `token` stands for under `auth` at `nowMs`; throws `unauthenticated`
   * (expired, revoked, or not signed with the current key).
   */
  async verify(auth: AuthLookup, token: string, nowMs: number): Promise<Caller> {
    const claims = this.cached(auth, token) ?? (await this.verifySignature(auth, token, nowMs));
    return checkClaims(auth, claims, nowMs);
  }

  /** Cached claims of `token` under the current key, or undefined. */
  private cached(auth: AuthLookup, token: string): Claims | undefined {
    const key = auth.tokenKey;
    if (key !== this.cacheKey) {
      // Same bytes under a new reference (a reloaded state) keep the cache.
      if (key === null || this.cacheKey === null || !sameBytes(key, this.cacheKey))
        this.cache.clear();
      this.cacheKey = key;
    }
    return this.cache.get(token);
  }

  private async verifySignature(auth: AuthLookup, token: string, nowMs: number): Promise<Claims> {
    const key = auth.tokenKey;
    if (key === null) throw new DfsError("unauthenticated", TOKEN_INVALID);
    let claims: Claims;
    try {
      const audience = this.audience();
      const { payload } = await jwtVerify(token, key, {
        algorithms: [ALG],
        currentDate: new Date(nowMs),
        requiredClaims: ["sub", "exp", "iat"],
        ...(audience === "" ? {} : { audience }),
      });
      const gen = payload.gen;
      const s3k = payload.s3k;
      if (typeof gen !== "number" || !Number.isSafeInteger(gen) || payload.sub === undefined)
        throw new DfsError("unauthenticated", TOKEN_INVALID);
      if (s3k !== undefined && typeof s3k !== "string")
        throw new DfsError("unauthenticated", TOKEN_INVALID);
      claims = {
        user: payload.sub,
        generation: gen,
        expMs: (payload.exp ?? 0) * 1000,
        ...(s3k === undefined ? {} : { s3Key: s3k }),
      };
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new DfsError("unauthenticated", TOKEN_EXPIRED);
      if (error instanceof DfsError) throw error;
      throw new DfsError("unauthenticated", TOKEN_INVALID);
    }
    if (auth.tokenKey === key) this.remember(token, claims);
    return claims;
  }

  private remember(token: string, claims: Claims): void {
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(token, claims);
  }

  /** Tokens cached (tests). */
  get cachedCount(): number {
    return this.cache.size;
  }
}

/** Expiry, existence, generation and the S3 key: checked on every call, cached or not. */
function checkClaims(auth: AuthLookup, claims: Claims, nowMs: number): Caller {
  if (nowMs >= claims.expMs) throw new DfsError("unauthenticated", TOKEN_EXPIRED);
  const user = auth.user(claims.user);
  if (user === undefined || user.generation !== claims.generation)
    throw new DfsError("unauthenticated", TOKEN_REVOKED);
  if (claims.s3Key !== undefined && auth.s3Key(claims.s3Key)?.user.name !== claims.user)
    throw new DfsError("unauthenticated", TOKEN_KEY_DELETED);
  return { user: claims.user, generation: claims.generation };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
