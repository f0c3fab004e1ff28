/**
 * Dfs.S3Credentials (admin only): what an S3 gateway needs to check one request signed
 * with AWS Signature V4 and to act for its signer, without ever holding a secret. Given an
 * access key and the credential scope of the request (date, region, service), the leader
 * answers after a ReadIndex round (so a key deleted a moment ago is unknown) with the user
 * the key belongs to, the SigV4 signing key for that scope, and a token for that user
 * bound to the key (tokens.ts: void once the key is deleted).
 *
 * The signing key is AWS's derivation: HMAC-SHA256 chained from "AWS4" + secret over the
 * date, the region, the service and "aws4_request". It is valid for that one day and
 * scope only, so what the gateway caches is worth less than the secret.
 */
import { createHmac } from "node:crypto";
import { DfsError } from "../api/index.ts";
import type { AuthView } from "../fsm/index.ts";
import type { S3CredentialsRequest, S3CredentialsResponse } from "../gen/dfs.ts";
import type { AuthGuard, CallCredentials } from "./auth/index.ts";
import type { RaftLoop } from "./raft-loop.ts";

/** What the handler needs from its node. */
export interface S3CredentialsDeps {
  readonly loop: Pick<RaftLoop, "linearizableRead">;
  readonly auth: () => AuthView;
  readonly guard: AuthGuard;
  /** The node's clock, for the token's issue time. */
  readonly now: () => number;
}

/** yyyymmdd, as the SigV4 credential scope writes the date. */
const DATE = /^\d{8}$/;
/** Regions and services are short lower-case words (`us-east-1`, `s3`). */
const SCOPE_PART = /^[a-z0-9-]{1,64}$/;
/** Longest access key looked up (ours are 20 characters; anything longer is unknown). */
const MAX_ACCESS_KEY_CHARS = 128;

/** The S3Credentials handler, behind an admin check done here (twice: before and after the read). */
export function s3CredentialsHandler(
  d: S3CredentialsDeps,
): (req: S3CredentialsRequest, call: CallCredentials) => Promise<S3CredentialsResponse> {
  return async (req, call) => {
    checkScope(req);
    const caller = await d.guard.requireAdmin(call);
    await d.loop.linearizableRead();
    d.guard.allowAdmin(caller); // again, against the state the answer is read from
    const auth = d.auth();
    const found = auth.s3Key(req.accessKey);
    if (found === undefined)
      throw new DfsError("not_found", `unknown S3 access key ${req.accessKey}`);
    const signingKey = sigV4SigningKey(found.secret, req.date, req.region, req.service);
    if (!auth.enabled || auth.tokenKey === null)
      return { user: found.user.name, signingKey, token: "", tokenExpiresMs: 0 };
    const { user } = found;
    const issued = await d.guard.tokens.issue(
      auth.tokenKey,
      user.name,
      user.generation,
      d.now(),
      req.accessKey,
    );
    return {
      user: user.name,
      signingKey,
      token: issued.token,
      tokenExpiresMs: issued.expiresMs,
    };
  };
}

/** AWS Signature V4's signing key of `secret` for one date, region and service. */
export function sigV4SigningKey(
  secret: string,
  date: string,
  region: string,
  service: string,
): Buffer {
  const hmac = (key: Buffer | string, data: string) =>
    createHmac("sha256", key).update(data, "utf8").digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
}

function checkScope(req: S3CredentialsRequest): void {
  if (req.accessKey === "" || req.accessKey.length > MAX_ACCESS_KEY_CHARS)
    throw new DfsError("invalid_argument", "S3Credentials needs an access key of 1-128 characters");
  if (!DATE.test(req.date))
    throw new DfsError(
      "invalid_argument",
      `S3 credential date must be yyyymmdd, got ${JSON.stringify(req.date.slice(0, 20))}`,
    );
  if (!SCOPE_PART.test(req.region))
    throw new DfsError(
      "invalid_argument",
      `bad S3 region ${JSON.stringify(req.region.slice(0, 70))}`,
    );
  if (!SCOPE_PART.test(req.service))
    throw new DfsError(
      "invalid_argument",
      `bad S3 service ${JSON.stringify(req.service.slice(0, 70))}`,
    );
}
