/**
 * The request payload as handlers read it: decoded from aws-chunked when sent so, with
 * every integrity claim the client made checked on the way — the signed SHA-256
 * (`x-amz-content-sha256`), chunk signatures, `Content-MD5`, `x-amz-checksum-*` in a
 * header or a trailer — and the MD5 kept for the ETag. Every check runs before the last
 * byte is handed over, so a consumer that commits only at the end commits nothing bad.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { type Checksum, checksumAlgorithmOf, expectChecksum, newChecksum } from "./checksums.ts";
import { type ChunkSigning, decodeAwsChunked } from "./chunked.ts";
import { S3Error } from "./errors.ts";
import type { SignatureClaims } from "./sigv4.ts";
import { scopeOf } from "./sigv4.ts";

/** The verified payload of one request. */
export interface RequestBody {
  readonly body: AsyncIterable<Buffer>;
  /** Payload length when the client announced it (decoded length for aws-chunked). */
  readonly contentLength: number | undefined;
  /** Hex MD5 of the payload once read to the end. */
  md5(): string;
}

/** Wraps `req`'s body according to how it was signed (`claims` null: anonymous). */
export function requestBody(
  req: IncomingMessage,
  claims: SignatureClaims | null,
  key: Buffer | null,
): RequestBody {
  // An anonymous request may still frame its body (unsigned aws-chunked with trailers).
  const mode = claims?.payloadHash ?? header(req, "x-amz-content-sha256") ?? "UNSIGNED-PAYLOAD";
  if (claims === null && mode.startsWith("STREAMING-AWS4-HMAC-SHA256"))
    throw new S3Error("InvalidRequest", `an unsigned request cannot send ${mode}`, 400);
  const streaming = mode.startsWith("STREAMING-");
  if (
    streaming &&
    !/^STREAMING-(AWS4-HMAC-SHA256-PAYLOAD(-TRAILER)?|UNSIGNED-PAYLOAD-TRAILER)$/.test(mode)
  )
    throw new S3Error("InvalidArgument", `unsupported x-amz-content-sha256 ${mode}`, 400);
  const signed = streaming && mode.startsWith("STREAMING-AWS4-HMAC-SHA256");
  const signing: ChunkSigning | null =
    signed && claims !== null && key !== null
      ? { seedSignature: claims.signature, key, amzDate: claims.amzDate, scope: scopeOf(claims) }
      : null;
  const lengthHeader = streaming
    ? header(req, "x-amz-decoded-content-length")
    : header(req, "content-length");
  const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
  const md5 = createHash("md5");
  let md5Hex: string | null = null;
  const checks = headerChecks(req);
  const trailerNames = (header(req, "x-amz-trailer") ?? "")
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "");
  const trailerSums = new Map<string, Checksum>();
  for (const name of trailerNames) {
    const algorithm = checksumAlgorithmOf(name);
    if (algorithm !== null) trailerSums.set(name, newChecksum(algorithm));
  }
  const payloadSha = /^[0-9a-f]{64}$/i.test(mode) ? createHash("sha256") : null;
  let trailers: ReadonlyMap<string, string> = new Map();
  const raw = req as AsyncIterable<Buffer>;
  const source = streaming
    ? decodeAwsChunked(raw, signing, (t) => {
        trailers = t;
      })
    : raw;

  async function* body(): AsyncGenerator<Buffer> {
    let size = 0;
    let held: Buffer | null = null;
    for await (const piece of source) {
      if (held !== null) yield held;
      md5.update(piece);
      payloadSha?.update(piece);
      for (const c of checks) c.sum.update(piece);
      for (const c of trailerSums.values()) c.update(piece);
      size += piece.length;
      held = piece;
    }
    if (contentLength !== undefined && size !== contentLength)
      throw new S3Error(
        "IncompleteBody",
        `You did not provide the number of bytes specified by the Content-Length HTTP header (${size} of ${contentLength})`,
        400,
      );
    if (payloadSha !== null && payloadSha.digest("hex") !== mode.toLowerCase())
      throw new S3Error(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        400,
      );
    const digest = md5.digest();
    md5Hex = digest.toString("hex");
    for (const c of checks)
      expectChecksum(
        c.name,
        c.sent,
        c.name === "Content-MD5" ? digest.toString("base64") : c.sum.base64(),
      );
    for (const [name, sum] of trailerSums) {
      const sent = trailers.get(name);
      if (sent === undefined)
        throw new S3Error("InvalidRequest", `trailer ${name} was announced but not sent`, 400);
      expectChecksum(name, sent, sum.base64());
    }
    if (held !== null) yield held;
  }

  return {
    body: body(),
    contentLength,
    md5: () => {
      if (md5Hex === null) throw new Error("bodyMd5() called before the body was read");
      return md5Hex;
    },
  };
}

/** Checksums the client sent in headers, to verify at the end. */
function headerChecks(req: IncomingMessage): { name: string; sent: string; sum: Checksum }[] {
  const out: { name: string; sent: string; sum: Checksum }[] = [];
  const contentMd5 = header(req, "content-md5");
  if (contentMd5 !== undefined)
    out.push({
      name: "Content-MD5",
      sent: contentMd5,
      sum: { update: () => {}, base64: () => "" },
    });
  for (const name of Object.keys(req.headers)) {
    if (!name.startsWith("x-amz-checksum-")) continue;
    // x-amz-checksum-mode, -type, -algorithm are settings, not values.
    const algorithm = checksumAlgorithmOf(name);
    const sent = header(req, name);
    if (algorithm !== null && sent !== undefined)
      out.push({ name, sent, sum: newChecksum(algorithm) });
  }
  return out;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
