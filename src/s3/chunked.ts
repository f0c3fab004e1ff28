/**
 * The aws-chunked body encoding (`Content-Encoding: aws-chunked`) that S3 clients use to
 * stream a payload of known length with per-chunk signatures
 * (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`) or with a trailing checksum and no
 * signatures (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, the default of recent SDKs):
 *
 *     <hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n
 *     [<trailer>:<value>\r\n ...][x-amz-trailer-signature:<sig>\r\n]\r\n
 *
 * Decoded as it streams: data is yielded as it arrives, never waiting for a whole chunk.
 */
import { createHash, type Hash } from "node:crypto";
import { S3Error } from "./errors.ts";
import { EMPTY_SHA256, hmac, sameHex } from "./sigv4.ts";

/** How to check chunk signatures: the seed signature (the request's) and the key. */
export interface ChunkSigning {
  readonly seedSignature: string;
  readonly key: Buffer;
  readonly amzDate: string;
  readonly scope: string;
}

/** Where the decoded trailers go once the body ended (lower-case names). */
export type TrailerSink = (trailers: ReadonlyMap<string, string>) => void;

const MAX_LINE = 4096;

/**
 * Decodes `input` (the raw request body); yields the payload bytes. Throws an S3Error
 * for bad framing (IncompleteBody) or a wrong chunk signature (SignatureDoesNotMatch)
 * — before yielding the bad chunk's last byte, so a consumer never commits it.
 */
export async function* decodeAwsChunked(
  input: AsyncIterable<Buffer>,
  signing: ChunkSigning | null,
  onTrailers: TrailerSink,
): AsyncGenerator<Buffer> {
  const reader = new ByteReader(input[Symbol.asyncIterator]());
  let previous = signing?.seedSignature ?? "";
  for (;;) {
    const header = await reader.line();
    if (header === null) throw incomplete("body ended before its last chunk");
    const [sizeText, ...exts] = header.split(";");
    const size = Number.parseInt(sizeText ?? "", 16);
    if (!/^[0-9a-fA-F]+$/.test(sizeText ?? "") || !Number.isSafeInteger(size))
      throw incomplete(`bad chunk header "${header.slice(0, 80)}"`);
    const sent = exts.find((e) => e.startsWith("chunk-signature="))?.slice(16);
    if (signing !== null && sent === undefined) throw badChunkSignature("a chunk is unsigned");
    const hash: Hash | null = signing === null ? null : createHash("sha256");
    let left = size;
    while (left > 0) {
      const data = await reader.take(left);
      if (data === null) throw incomplete("body ended inside a chunk");
      left -= data.length;
      hash?.update(data);
      if (left === 0 && signing !== null && hash !== null && sent !== undefined) {
        previous = checkChunk(signing, previous, hash.digest("hex"), sent);
      }
      yield data;
    }
    if (size === 0) {
      if (signing !== null && sent !== undefined)
        previous = checkChunk(signing, previous, EMPTY_SHA256, sent);
      const trailers = await readTrailers(reader);
      if (signing !== null && trailers.size > 0) checkTrailer(signing, previous, trailers);
      onTrailers(trailers);
      return;
    }
    const crlf = await reader.line();
    if (crlf !== "") throw incomplete("chunk data not followed by CRLF");
  }
}

async function readTrailers(reader: ByteReader): Promise<Map<string, string>> {
  const trailers = new Map<string, string>();
  for (;;) {
    const line = await reader.line();
    if (line === null || line === "") return trailers;
    const colon = line.indexOf(":");
    if (colon <= 0) throw incomplete(`bad trailer line "${line.slice(0, 80)}"`);
    trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
}

function checkChunk(s: ChunkSigning, previous: string, dataHash: string, sent: string): string {
  const toSign = [
    "AWS4-HMAC-SHA256-PAYLOAD",
    s.amzDate,
    s.scope,
    previous,
    EMPTY_SHA256,
    dataHash,
  ].join("\n");
  const expected = hmac(s.key, toSign).toString("hex");
  if (!sameHex(expected, sent)) throw badChunkSignature("a chunk signature does not match");
  return expected;
}

function checkTrailer(s: ChunkSigning, previous: string, trailers: Map<string, string>): void {
  const sent = trailers.get("x-amz-trailer-signature");
  if (sent === undefined) throw badChunkSignature("the trailer is unsigned");
  trailers.delete("x-amz-trailer-signature");
  const canonical = [...trailers].map(([k, v]) => `${k}:${v}\n`).join("");
  const toSign = [
    "AWS4-HMAC-SHA256-TRAILER",
    s.amzDate,
    s.scope,
    previous,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  if (!sameHex(hmac(s.key, toSign).toString("hex"), sent))
    throw badChunkSignature("the trailer signature does not match");
}

/** Reads lines and byte runs from a stream of buffers without copying payload bytes. */
class ByteReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** The next CRLF-terminated line without its CRLF; null at the end of the input. */
  async line(): Promise<string | null> {
    for (;;) {
      const at = this.buffer.indexOf("\r\n");
      if (at >= 0) {
        const text = this.buffer.subarray(0, at).toString("latin1");
        this.buffer = this.buffer.subarray(at + 2);
        return text;
      }
      if (this.buffer.length > MAX_LINE) throw incomplete("chunk header line too long");
      if (!(await this.fill())) {
        if (this.buffer.length === 0) return null;
        const text = this.buffer.toString("latin1");
        this.buffer = Buffer.alloc(0);
        return text;
      }
    }
  }

  /** Up to `max` bytes (at least one); null at the end of the input. */
  async take(max: number): Promise<Buffer | null> {
    if (this.buffer.length === 0 && !(await this.fill())) return null;
    const n = Math.min(max, this.buffer.length);
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    return true;
  }
}

function incomplete(message: string): S3Error {
  return new S3Error("IncompleteBody", `aws-chunked body: ${message}`, 400);
}

function badChunkSignature(message: string): S3Error {
  return new S3Error("SignatureDoesNotMatch", `aws-chunked body: ${message}`, 403);
}
