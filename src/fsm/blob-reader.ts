/**
 * Reading a file's chunks from its blob (docs/architecture.md#the-blob-store): a few
 * chunks per read, one large sequential read each time, every chunk checked against its
 * record (length where its place in the file says, CRC-32 of the bytes) before it is
 * handed out. While one read's chunks go out, the next read is already under way (disk
 * and network overlap), so a reader holds at most 2 × {@link READ_CHUNKS} chunks.
 */
import { crc32 } from "node:zlib";
import { FILE_CHUNK_BYTES } from "../api/index.ts";
import type { StateView, StoredValue } from "./state-machine.ts";

/** Chunks read from the blob in one read: 4 MiB, large and sequential, yet bounded. */
export const READ_CHUNKS = 4;

/** A chunk that does not match its record, or a blob that is missing or short. */
export class BlobReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BlobReadError";
  }
}

/**
 * Chunks `first`..`last` of the file `stored` (a value with chunks) from `view`'s blobs,
 * in order, each exactly as long as its place says and CRC-checked. The view must have
 * returned `stored` (which pinned its blob) and stay open until the generator is done.
 */
export async function* readFileChunks(
  view: StateView,
  stored: StoredValue,
  first: number,
  last: number,
): AsyncGenerator<Buffer> {
  const file = stored.file;
  if (file === undefined) throw new Error("readFileChunks: not a chunked file");
  const start = (seq: number): Promise<ReadGroup> | undefined => {
    if (seq > last) return undefined;
    const group = readGroup(view, stored, seq, Math.min(last, seq + READ_CHUNKS - 1));
    // Settled by the loop below, unless the consumer stops first: then nobody waits.
    group.catch(() => {});
    return group;
  };
  // One read ahead: the next group comes off the disk while this one goes out.
  let pending = start(first);
  while (pending !== undefined) {
    const group = await pending;
    pending = start(group.first + group.lengths.length);
    let at = 0;
    for (let i = 0; i < group.lengths.length; i++) {
      const seq = group.first + i;
      const length = group.lengths[i] as number;
      const chunk = group.bytes.subarray(at, at + length);
      at += length;
      if (crc32(chunk) !== view.chunk(file.uploadId, seq).crc32)
        throw new BlobReadError(
          `chunk ${seq} of upload ${file.uploadId}: CRC mismatch in its blob`,
        );
      yield chunk;
    }
  }
}

/** Consecutive chunks read from a blob in one read. */
interface ReadGroup {
  readonly first: number;
  readonly lengths: readonly number[];
  readonly bytes: Buffer;
}

/** Reads chunks `first`..`end` of `stored`'s blob in one read, lengths checked first. */
async function readGroup(
  view: StateView,
  stored: StoredValue,
  first: number,
  end: number,
): Promise<ReadGroup> {
  const file = stored.file as NonNullable<StoredValue["file"]>;
  const lengths: number[] = [];
  for (let s = first; s <= end; s++) lengths.push(expectedLength(view, stored, s));
  const total = lengths.reduce((a, b) => a + b, 0);
  try {
    const bytes = await view.blobs.read(file.uploadId, first * FILE_CHUNK_BYTES, total);
    return { first, lengths, bytes };
  } catch (error) {
    throw new BlobReadError(
      `blob of upload ${file.uploadId}: cannot read chunks ${first}-${end}: ${(error as Error).message}`,
    );
  }
}

/** Reads one chunk (unary reads of one-chunk files). */
export async function readFileChunk(
  view: StateView,
  stored: StoredValue,
  seq: number,
): Promise<Buffer> {
  for await (const chunk of readFileChunks(view, stored, seq, seq)) return chunk;
  throw new BlobReadError(`chunk ${seq} was not read`);
}

/**
 * The length of chunk `seq` by its record, checked to be what its place in the file says
 * (every chunk but the last is exactly {@link FILE_CHUNK_BYTES}): a ranged read trusts that
 * layout, so a chunk that breaks it is an error, never wrong bytes.
 */
function expectedLength(view: StateView, stored: StoredValue, seq: number): number {
  const file = stored.file as NonNullable<StoredValue["file"]>;
  const facts = view.chunk(file.uploadId, seq);
  const expected = Math.min(FILE_CHUNK_BYTES, stored.size - seq * FILE_CHUNK_BYTES);
  if (facts.length !== expected)
    throw new BlobReadError(
      `chunk ${seq} of upload ${file.uploadId} holds ${facts.length} bytes, expected ${expected}`,
    );
  return facts.length;
}
