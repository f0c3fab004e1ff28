/**
 * Finds the parts of an upload_chunk command payload (proto/command.proto `Command`
 * with `upload_chunk = 5`) without decoding or copying its up to 1 MiB of data, so the
 * write path can cut the bytes out for the blob store and the transport can tell a
 * stored-form chunk (data kept in the node's blob) from a full one, for every entry
 * they see, at the cost of a few varint reads.
 *
 * The scan is exact for payloads the node's encoders write (the operation first, each
 * field once). Anything it cannot read with certainty is reported as `unclear`, and the
 * caller falls back to the generated decoder, so the scan never disagrees with it.
 */
import { Command } from "../gen/command.ts";

/** The stored form's description of a chunk kept in a blob. */
export interface StoredChunkInfo {
  readonly length: number;
  readonly crc32: number;
}

/** Where a chunk command's parts lie in its payload. */
export interface ChunkFrame {
  readonly uploadId: string;
  readonly seq: number;
  /** A view into the payload (empty in the stored form). */
  readonly data: Uint8Array;
  readonly stored: StoredChunkInfo | undefined;
  /** The payload's bytes before and after the upload_chunk field (tag included). */
  readonly before: Uint8Array;
  readonly after: Uint8Array;
}

/** What a payload is: not a chunk command, a chunk command, or not certain (decode it). */
export type ChunkScan =
  | { readonly kind: "none" }
  | { readonly kind: "chunk"; readonly frame: ChunkFrame }
  | { readonly kind: "unclear" };

const NONE: ChunkScan = { kind: "none" };
const UNCLEAR: ChunkScan = { kind: "unclear" };

/** Tags (field number << 3 | wire type) of Command fields that decide the operation. */
const PUT_TAG = 10;
const DELETE_TAG = 18;
const UPLOAD_CHUNK_TAG = 42;

/** Scans a log entry payload for an upload_chunk command. */
export function scanChunkPayload(payload: Uint8Array): ChunkScan {
  const r = new Reader(payload);
  let opStart = -1;
  let opEnd = -1;
  let chunks = 0;
  let otherOp = false;
  while (r.pos < payload.length) {
    const start = r.pos;
    const tag = r.varint();
    if (tag === null) return UNCLEAR;
    if (tag === UPLOAD_CHUNK_TAG) {
      chunks++;
      opStart = start;
    } else if (tag === PUT_TAG || tag === DELETE_TAG) {
      otherOp = true;
    }
    if (!r.skip(tag & 7)) return UNCLEAR;
    if (tag === UPLOAD_CHUNK_TAG) opEnd = r.pos;
  }
  // The generated decoder takes a put or delete first, and merges repeated messages.
  if (chunks === 0 || otherOp) return NONE;
  if (chunks > 1) return UNCLEAR;
  const frame = scanOp(payload, opStart, opEnd);
  return frame === null ? UNCLEAR : { kind: "chunk", frame };
}

/**
 * True when `payload` is a chunk command in the stored form (no data), as the state
 * machine's decoder would read it: the scan decides, or the generated decoder when the
 * scan cannot be sure. Any other payload (not a command at all, say) is false.
 */
export function isStoredChunkPayload(payload: Uint8Array): boolean {
  const scan = scanChunkPayload(payload);
  if (scan.kind === "chunk") return scan.frame.stored !== undefined;
  if (scan.kind === "none") return false;
  try {
    const c = Command.decode(payload);
    return c.put === undefined && c.delete === undefined && c.uploadChunk?.stored !== undefined;
  } catch {
    return false;
  }
}

function scanOp(payload: Uint8Array, opStart: number, opEnd: number): ChunkFrame | null {
  const r = new Reader(payload, opStart);
  r.varint(); // the tag
  const length = r.varint();
  if (length === null) return null;
  const end = r.pos + length;
  let uploadId: string | undefined;
  let seq: number | undefined;
  let data: Uint8Array | undefined;
  let stored: StoredChunkInfo | undefined;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === null) return null;
    if (tag === 10 && uploadId === undefined) uploadId = r.text();
    else if (tag === 16 && seq === undefined) seq = r.varint() ?? undefined;
    else if (tag === 26 && data === undefined) data = r.bytes();
    else if (tag === 34 && stored === undefined) stored = scanStored(r);
    else if ([10, 16, 26, 34].includes(tag) || !r.skip(tag & 7)) return null;
    if (r.failed) return null;
  }
  if (r.pos !== end || (stored !== undefined && data !== undefined && data.length > 0)) return null;
  return {
    uploadId: uploadId ?? "",
    seq: seq ?? 0,
    data: data ?? payload.subarray(0, 0),
    stored,
    before: payload.subarray(0, opStart),
    after: payload.subarray(opEnd),
  };
}

function scanStored(r: Reader): StoredChunkInfo | undefined {
  const sub = r.bytes();
  if (sub === undefined) return undefined;
  const s = new Reader(sub);
  let length = 0;
  let crc32 = 0;
  while (s.pos < sub.length) {
    const tag = s.varint();
    if (tag === 8) length = s.varint() ?? Number.NaN;
    else if (tag === 16) crc32 = s.varint() ?? Number.NaN;
    else if (tag === null || !s.skip(tag & 7)) r.failed = true;
    if (r.failed || s.failed || Number.isNaN(length) || Number.isNaN(crc32)) {
      r.failed = true;
      return undefined;
    }
  }
  // uint32 fields: the generated decoder keeps the low 32 bits.
  return { length: length >>> 0, crc32: crc32 >>> 0 };
}

/** A bounds-checked protobuf reader; `failed` is set by any read past the end. */
class Reader {
  failed = false;
  constructor(
    private readonly buf: Uint8Array,
    public pos = 0,
  ) {}

  /** A varint as a number (exact up to 2^53), or null past the end or over 10 bytes. */
  varint(): number | null {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.buf[this.pos++];
      if (byte === undefined) break;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    this.failed = true;
    return null;
  }

  bytes(): Uint8Array | undefined {
    const length = this.varint();
    if (length === null || this.pos + length > this.buf.length) {
      this.failed = true;
      return undefined;
    }
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  text(): string | undefined {
    const b = this.bytes();
    return b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.length).toString();
  }

  /** Skips a field's value of wire type `wt`; false for a group or unknown type. */
  skip(wt: number): boolean {
    if (wt === 0) return this.varint() !== null;
    if (wt === 1 || wt === 5) {
      this.pos += wt === 1 ? 8 : 4;
      if (this.pos > this.buf.length) this.failed = true;
      return !this.failed;
    }
    if (wt === 2) return this.bytes() !== undefined;
    return false;
  }
}
