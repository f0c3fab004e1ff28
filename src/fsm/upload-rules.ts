/**
 * The rules for files uploaded in chunks. Each chunk is its own log entry, stored as it
 * commits under its upload's id; nothing is visible under the key until the commit entry
 * applies, which swaps the whole file in at once (readers see the old file or the new
 * one, never a mix). An upload that goes quiet for {@link UPLOAD_EXPIRY_MS} by the log's
 * clock is reclaimed with its chunks.
 */
import { chunkFactsOf } from "./blob-records.ts";
import type { FsmCommand } from "./command-types.ts";
import { type KvBackend, keptMetadata, replaceValue } from "./kv-backend.ts";
import type { ApplyResult } from "./state-machine.ts";

/** An upload with no chunk for this long (log clock) is abandoned and reclaimed. */
export const UPLOAD_EXPIRY_MS = 15 * 60 * 1000;

/**
 * Records one chunk as (length, crc32): from its stored form, or computed from its bytes
 * when the entry still carries them (the bytes are in the upload's blob either way: the
 * node wrote them there before the entry reached its WAL). A repeated chunk is ignored,
 * one out of order refused.
 */
export function applyChunk(
  backend: KvBackend,
  nowMs: number,
  c: FsmCommand & { op: "upload_chunk" },
): ApplyResult {
  const upload = backend.getUpload(c.uploadId) ?? { chunks: 0, bytes: 0, lastMs: nowMs };
  if (c.seq < upload.chunks) return { kind: "chunk", received: upload.chunks };
  if (c.seq > upload.chunks) {
    return { kind: "invalid", reason: `chunk ${c.seq} of upload ${c.uploadId} out of order` };
  }
  const facts = c.stored ?? chunkFactsOf(c.data);
  backend.putChunk(c.uploadId, c.seq, facts);
  const next = {
    chunks: upload.chunks + 1,
    bytes: upload.bytes + facts.length,
    lastMs: nowMs,
  };
  backend.setUpload(c.uploadId, next);
  return { kind: "chunk", received: next.chunks };
}

/** Makes a complete upload the content of its key, atomically. */
export function commitUpload(
  backend: KvBackend,
  nowMs: number,
  index: number,
  c: FsmCommand & { op: "commit_upload" },
): ApplyResult {
  const upload = backend.getUpload(c.uploadId) ?? { chunks: 0, bytes: 0, lastMs: nowMs };
  if (upload.chunks !== c.chunks || upload.bytes !== c.size) {
    return {
      kind: "invalid",
      reason: `upload ${c.uploadId} holds ${upload.chunks} chunks / ${upload.bytes} bytes, commit says ${c.chunks} / ${c.size}`,
    };
  }
  const current = backend.getValue(c.key);
  const version = current?.version ?? 0;
  if (c.ifVersion !== undefined && c.ifVersion !== version) {
    abortUpload(backend, c.uploadId, index);
    return { kind: "precondition_failed", currentVersion: version };
  }
  backend.setUpload(c.uploadId, null);
  replaceValue(backend, c.key, current, {
    value: new Uint8Array(0),
    version: version + 1,
    modIndex: index,
    modTimeMs: nowMs,
    size: c.size,
    sha256: c.sha256,
    ...(c.chunks > 0 ? { file: { uploadId: c.uploadId, count: c.chunks } } : {}),
    ...keptMetadata(c.metadata),
  });
  return { kind: "put", version: version + 1, index };
}

/** Drops an unfinished upload and its chunks (applied at `index`: its blob dies there). */
export function abortUpload(backend: KvBackend, uploadId: string, index: number): ApplyResult {
  const upload = backend.getUpload(uploadId);
  if (upload !== undefined) {
    backend.dropBlob(uploadId, upload.chunks, upload.bytes, index);
    backend.setUpload(uploadId, null);
  }
  return { kind: "noop" };
}

/** Reclaims every upload idle for longer than {@link UPLOAD_EXPIRY_MS}. */
export function sweepUploads(backend: KvBackend, nowMs: number, index: number): void {
  const expired = [...backend.uploads()].filter(([, u]) => nowMs - u.lastMs > UPLOAD_EXPIRY_MS);
  for (const [id] of expired) abortUpload(backend, id, index);
}
