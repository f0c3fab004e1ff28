/**
 * The storage a store gives the state machine's rules (apply-command.ts), and the two
 * value operations every rule shares: replacing or deleting a key frees the chunks of
 * the file it held.
 */
import { type Metadata, sortedMetadata } from "../api/index.ts";
import type { StoredValue, UploadState } from "./state-machine.ts";

/** Where a store keeps its data; the rules never see how. */
export interface KvBackend {
  getValue(key: string): StoredValue | undefined;
  setValue(key: string, value: StoredValue): void;
  /** Returns whether the key existed. */
  deleteValue(key: string): boolean;
  putChunk(uploadId: string, seq: number, data: Uint8Array): void;
  /** Deletes chunks 0..count-1 of an upload. */
  deleteChunks(uploadId: string, count: number): void;
  getUpload(uploadId: string): UploadState | undefined;
  /** Records an upload's progress; null forgets it. */
  setUpload(uploadId: string, state: UploadState | null): void;
  /** Every upload in progress (few: one per client transfer). */
  uploads(): Iterable<readonly [string, UploadState]>;
  /** `prefix` itself if it exists, and every key under `prefix/`. */
  keysUnder(prefix: string): string[];
}

/** Stores `next` under `key`, freeing the chunks of the file it replaces. */
export function replaceValue(
  backend: KvBackend,
  key: string,
  current: StoredValue | undefined,
  next: StoredValue,
): void {
  if (current?.file !== undefined) backend.deleteChunks(current.file.uploadId, current.file.count);
  backend.setValue(key, next);
}

/** Deletes a key and, for a file, its chunks. */
export function deleteKey(backend: KvBackend, key: string): boolean {
  const current = backend.getValue(key);
  if (current?.file !== undefined) backend.deleteChunks(current.file.uploadId, current.file.count);
  return backend.deleteValue(key);
}

/**
 * The metadata field of a value to store: entries in name order (so the record's bytes
 * are the same on every replica whatever order the writer sent), absent when none.
 */
export function keptMetadata(metadata: Metadata | undefined): { metadata?: Metadata } {
  if (metadata === undefined) return {};
  const entries = sortedMetadata(metadata);
  return entries.length === 0 ? {} : { metadata: Object.fromEntries(entries) };
}

/** A value's metadata as text for the stores' digests (name order), so replicas compare it. */
export function metadataText(metadata: Metadata): string {
  return `meta:${JSON.stringify(sortedMetadata(metadata))}`;
}
