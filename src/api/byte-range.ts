/**
 * Byte ranges of a value or file: which bytes a ranged read returns, and which 1 MiB
 * chunks hold them. One implementation, so the node (which reads only those chunks), the
 * client and the CLI agree on every edge: the first byte, the last, a range across a
 * chunk boundary, an empty range, a range past the end.
 */
import { DfsError } from "./errors.ts";

/** Bytes `start` (inclusive) to `end` (exclusive) of a content. */
export interface ByteSpan {
  readonly start: number;
  readonly end: number;
}

/** Which chunks hold a span: `first`..`last` inclusive (none when last < first). */
export interface ChunkSpan {
  readonly first: number;
  readonly last: number;
}

/**
 * The span of a read of `length` bytes (absent: to the end) from `offset` of a content of
 * `size` bytes. `offset` may equal `size` (an empty read); a length past the end is cut
 * at the end, as HTTP ranges are.
 * @throws DfsError `invalid_argument` for a negative or fractional offset or length, or
 * an offset past the end
 */
export function resolveSpan(size: number, offset: number, length?: number): ByteSpan {
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new DfsError(
      "invalid_argument",
      `range offset must be a whole number >= 0, got ${offset}`,
    );
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0))
    throw new DfsError(
      "invalid_argument",
      `range length must be a whole number >= 0, got ${length}`,
    );
  if (offset > size)
    throw new DfsError(
      "invalid_argument",
      `range offset ${offset} is past the end (the content has ${size} bytes)`,
    );
  const end = length === undefined ? size : Math.min(size, offset + length);
  return { start: offset, end };
}

/** The chunks of `chunkBytes` each that hold `span` (chunk i holds bytes i*chunkBytes...). */
export function chunksOf(span: ByteSpan, chunkBytes: number): ChunkSpan {
  if (span.end <= span.start) return { first: 0, last: -1 };
  return {
    first: Math.floor(span.start / chunkBytes),
    last: Math.floor((span.end - 1) / chunkBytes),
  };
}

/** The part of chunk `seq` (of `chunkBytes`) that lies in `span`, as offsets into the chunk. */
export function sliceOfChunk(span: ByteSpan, seq: number, chunkBytes: number): ByteSpan {
  const base = seq * chunkBytes;
  return {
    start: Math.max(0, span.start - base),
    end: Math.min(chunkBytes, span.end - base),
  };
}
