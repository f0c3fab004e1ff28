/**
 * The gateway's only door into dfs: objects read and written through a DfsClient with
 * their S3 metadata. Kept in one file so the exact client calls (ranged download,
 * metadata on put/upload/stat) live in one place.
 */
import { FILE_CHUNK_BYTES } from "../api/index.ts";
import type { DfsClient, FileInfo, UploadSource } from "../client/index.ts";

/** A stored object as S3 handlers see it. */
export interface ObjectInfo {
  readonly size: number;
  readonly version: number;
  readonly modTimeMs: number;
  readonly sha256: string;
  /** The dfs metadata map (content type, ETag, user metadata; see object-meta.ts). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Values up to this size are written with one put (batched, inline) rather than an upload. */
export const INLINE_MAX_BYTES = 1 << 20;

/** The stored object at `key`; throws DfsError `not_found` when there is none. */
export async function statObject(client: DfsClient, key: string): Promise<ObjectInfo> {
  return objectInfo(await client.stat(key));
}

/** An open read of `length` bytes from `offset` of the object at version `version`. */
export interface OpenObject {
  readonly info: ObjectInfo;
  readonly chunks: AsyncIterable<Buffer>;
}

/**
 * Streams `[offset, offset+length)` of `key` (the whole object without a range). With
 * `ifVersion`, fails `precondition_failed` if the object changed since it was stat'ed,
 * so a range never mixes two versions.
 */
export async function openObject(
  client: DfsClient,
  key: string,
  range?: { offset: number; length: number },
  ifVersion?: number,
): Promise<OpenObject> {
  const { info, chunks } = await client.download(key, {
    ...(range === undefined ? {} : { offset: range.offset, length: range.length }),
    ...(ifVersion === undefined ? {} : { ifVersion }),
  });
  return { info: objectInfo(info), chunks };
}

/**
 * Writes bytes held in memory (≤ {@link INLINE_MAX_BYTES}) with their metadata; with
 * `ifVersion`, only over that version (0: only if absent), else `precondition_failed`.
 */
export async function putObject(
  client: DfsClient,
  key: string,
  value: Uint8Array,
  metadata: Record<string, string>,
  ifVersion?: number,
): Promise<{ version: number }> {
  return client.put(key, value, { metadata, ...(ifVersion === undefined ? {} : { ifVersion }) });
}

/**
 * Streams `source` into an upload; `finalMetadata` is called once the source ended
 * (the ETag is known only then) and merged over `metadata`.
 */
export async function uploadObject(
  client: DfsClient,
  key: string,
  source: UploadSource,
  metadata: Record<string, string>,
  finalMetadata: () => Record<string, string>,
  ifVersion?: number,
): Promise<{ version: number }> {
  // The client wraps a failing source's error; keep the body's own (BadDigest, …) to answer.
  let sourceError: unknown = null;
  const watched = async function* () {
    try {
      yield* coalesced(openSource(source), FILE_CHUNK_BYTES);
    } catch (error) {
      sourceError = error;
      throw error;
    }
  };
  try {
    return await client.upload(key, replayable(source) ? watched : watched(), {
      metadata,
      finalMetadata,
      ...(ifVersion === undefined ? {} : { ifVersion }),
    });
  } catch (error) {
    throw sourceError ?? error;
  }
}

/** The S3 view of a dfs FileInfo. */
export function objectInfo(info: FileInfo): ObjectInfo {
  return {
    size: info.size,
    version: info.version,
    modTimeMs: info.modTimeMs,
    sha256: info.sha256,
    metadata: info.metadata,
  };
}

/**
 * Joins small pieces (an HTTP body arrives in 16–64 KiB pieces) into messages of about
 * `size` bytes, so an upload sends a few large gRPC messages instead of many small ones.
 * Holds at most `size` bytes plus one piece.
 */
export async function* coalesced(
  source: AsyncIterable<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let bytes = 0;
  for await (const piece of source) {
    parts.push(piece);
    bytes += piece.byteLength;
    if (bytes >= size) {
      yield parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts, bytes);
      parts = [];
      bytes = 0;
    }
  }
  if (bytes > 0) yield parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts, bytes);
}

function replayable(source: UploadSource): boolean {
  return source instanceof Uint8Array || typeof source === "function";
}

function openSource(source: UploadSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array)
    return (async function* () {
      yield source;
    })();
  return typeof source === "function" ? source() : source;
}
