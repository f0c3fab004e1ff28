/**
 * AWS Signature Version 4 as S3 uses it: the Authorization header form and the
 * presigned-URL form. Parses the request's signing claims, rebuilds the canonical
 * request from what arrived and compares signatures in constant time. The signing key
 * comes from a {@link SigningKeySource}, so the same code serves a static key pair and
 * keys mapped through the cluster's S3Credentials (the secret never reaches the gateway).
 * Reference: docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { S3Error } from "./errors.ts";

/** The algorithm name, in headers, query and strings to sign. */
export const ALGORITHM = "AWS4-HMAC-SHA256";
/** Hex SHA-256 of nothing (the empty payload, the empty chunk). */
export const EMPTY_SHA256 = createHash("sha256").digest("hex");
/** How far a request's clock may be from ours (S3 allows 15 minutes). */
export const MAX_SKEW_MS = 15 * 60_000;

/** What a request claims about its signature. */
export interface SignatureClaims {
  readonly accessKey: string;
  /** YYYYMMDD of the credential scope. */
  readonly date: string;
  readonly region: string;
  readonly service: string;
  /** `x-amz-date` / `X-Amz-Date`: YYYYMMDD'T'HHMMSS'Z'. */
  readonly amzDate: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  /** The payload hash as signed: hex, `UNSIGNED-PAYLOAD` or a `STREAMING-…` marker. */
  readonly payloadHash: string;
  readonly presigned: boolean;
  /** Presigned only: seconds the URL is valid from amzDate. */
  readonly expiresSeconds?: number;
}

/** The request parts a signature covers. */
export interface SignedRequest {
  readonly method: string;
  /** The raw path as sent (percent-encoded). */
  readonly rawPath: string;
  /** The raw query string as sent, without '?'. */
  readonly rawQuery: string;
  readonly headers: IncomingHttpHeaders;
}

/** Parses the signing claims; null for an unsigned (anonymous) request. */
export function parseClaims(req: SignedRequest, query: URLSearchParams): SignatureClaims | null {
  const header = req.headers.authorization;
  if (header !== undefined) return fromHeader(header, req.headers);
  if (query.has("X-Amz-Signature") || query.has("X-Amz-Credential")) return fromQuery(query);
  if (query.has("Signature") || (header ?? "").startsWith("AWS "))
    throw new S3Error("InvalidRequest", "Signature Version 2 is not supported; use SigV4", 400);
  return null;
}

function fromHeader(header: string, headers: IncomingHttpHeaders): SignatureClaims {
  if (!header.startsWith(`${ALGORITHM} `)) {
    if (header.startsWith("AWS "))
      throw new S3Error("InvalidRequest", "Signature Version 2 is not supported; use SigV4", 400);
    throw authMalformed(`unsupported authorization algorithm in "${header.slice(0, 30)}"`);
  }
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = need(fields.get("Credential"), "Credential");
  const amzDate = need(headerValue(headers, "x-amz-date"), "x-amz-date header");
  const payloadHash = need(
    headerValue(headers, "x-amz-content-sha256"),
    "x-amz-content-sha256 header",
  );
  return {
    ...scope(credential),
    amzDate,
    signedHeaders: need(fields.get("SignedHeaders"), "SignedHeaders").split(";"),
    signature: need(fields.get("Signature"), "Signature"),
    payloadHash,
    presigned: false,
  };
}

function fromQuery(query: URLSearchParams): SignatureClaims {
  const algorithm = query.get("X-Amz-Algorithm");
  if (algorithm !== ALGORITHM) throw authMalformed(`X-Amz-Algorithm must be ${ALGORITHM}`);
  const expires = Number(query.get("X-Amz-Expires") ?? "");
  if (!Number.isInteger(expires) || expires < 1 || expires > 604_800)
    throw authMalformed("X-Amz-Expires must be a number of seconds from 1 to 604800");
  return {
    ...scope(need(query.get("X-Amz-Credential") ?? undefined, "X-Amz-Credential")),
    amzDate: need(query.get("X-Amz-Date") ?? undefined, "X-Amz-Date"),
    signedHeaders: need(query.get("X-Amz-SignedHeaders") ?? undefined, "X-Amz-SignedHeaders").split(
      ";",
    ),
    signature: need(query.get("X-Amz-Signature") ?? undefined, "X-Amz-Signature"),
    payloadHash: query.get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD",
    presigned: true,
    expiresSeconds: expires,
  };
}

function scope(credential: string) {
  const parts = credential.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request")
    throw authMalformed(`bad credential scope "${credential}"`);
  const [accessKey, date, region, service] = parts as [string, string, string, string];
  if (!/^\d{8}$/.test(date)) throw authMalformed(`bad date in credential "${credential}"`);
  return { accessKey, date, region, service };
}

/**
 * Checks the request's time: `x-amz-date` parses, matches the scope date and is within
 * {@link MAX_SKEW_MS} of `nowMs` (presigned: not yet expired).
 */
export function checkTime(claims: SignatureClaims, nowMs: number): void {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(claims.amzDate);
  if (m === null) throw authMalformed(`bad x-amz-date "${claims.amzDate}"`);
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const t = Date.UTC(year, month - 1, day, hour, minute, second);
  if (!claims.amzDate.startsWith(claims.date))
    throw authMalformed("the credential scope date does not match x-amz-date");
  if (claims.presigned) {
    if (t - nowMs > MAX_SKEW_MS)
      throw new S3Error("AccessDenied", "Request is not valid yet (X-Amz-Date in the future)", 403);
    if (nowMs > t + (claims.expiresSeconds ?? 0) * 1000)
      throw new S3Error("AccessDenied", "Request has expired", 403);
    return;
  }
  if (Math.abs(nowMs - t) > MAX_SKEW_MS)
    throw new S3Error(
      "RequestTimeTooSkewed",
      "The difference between the request time and the server's time is too large.",
      403,
    );
}

/** The SigV4 signing key: HMAC chain "AWS4"+secret → date → region → service → aws4_request. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, date);
  return hmac(hmac(hmac(kDate, region), service), "aws4_request");
}

/** The credential scope string `date/region/service/aws4_request`. */
export function scopeOf(c: Pick<SignatureClaims, "date" | "region" | "service">): string {
  return `${c.date}/${c.region}/${c.service}/aws4_request`;
}

/** Throws SignatureDoesNotMatch unless the request's signature is right under `key`. */
export function verifySignature(req: SignedRequest, claims: SignatureClaims, key: Buffer): void {
  const canonical = canonicalRequest(req, claims);
  const toSign = [
    ALGORITHM,
    claims.amzDate,
    scopeOf(claims),
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  const expected = hmac(key, toSign).toString("hex");
  if (!sameHex(expected, claims.signature))
    throw new S3Error(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      403,
    );
}

/** The canonical request of SigV4 for S3 (path encoded once, not normalised). */
export function canonicalRequest(req: SignedRequest, claims: SignatureClaims): string {
  const headers = claims.signedHeaders.map((name) => {
    const value = name === "host" ? req.headers.host : req.headers[name];
    if (value === undefined) throw authMalformed(`signed header ${name} is missing`);
    const text = Array.isArray(value) ? value.join(",") : value;
    return `${name}:${text.trim().replace(/\s+/g, " ")}\n`;
  });
  return [
    req.method,
    canonicalPath(req.rawPath),
    canonicalQuery(req.rawQuery, claims.presigned),
    headers.join(""),
    claims.signedHeaders.join(";"),
    claims.presigned ? "UNSIGNED-PAYLOAD" : claims.payloadHash,
  ].join("\n");
}

function canonicalPath(rawPath: string): string {
  return rawPath
    .split("/")
    .map((segment) => uriEncode(safeDecode(segment)))
    .join("/");
}

function canonicalQuery(rawQuery: string, presigned: boolean): string {
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const k = safeDecode((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, " "));
    const v = eq < 0 ? "" : safeDecode(part.slice(eq + 1).replace(/\+/g, " "));
    if (presigned && k === "X-Amz-Signature") continue;
    pairs.push([uriEncode(k), uriEncode(v)]);
  }
  pairs.sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
  );
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** AWS's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex). */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** HMAC-SHA256. */
export function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/** Constant-time comparison of two hex strings. */
export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b.toLowerCase(), "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === "") throw authMalformed(`${what} is missing`);
  return value;
}

function authMalformed(message: string): S3Error {
  return new S3Error("AuthorizationHeaderMalformed", message, 400);
}
