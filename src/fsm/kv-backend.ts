/**
 * The storage a store gives the state machine's rules (apply-command.ts), and the two
 * value operations every rule shares: replacing or deleting a key frees the chunks of
 * the file it held.
 */
import { type Metadata, sortedMetadata } from "../api/index.ts";
import type { ChunkFacts } from "./blob-records.ts";
import type { StoredValue, UploadState } from "./state-machine.ts";

/** Where a store keeps its data; the rules never see how. */
export interface KvBackend {
  getValue(key: string): StoredValue | undefined;
  setValue(key: string, value: StoredValue): void;
  /** Returns whether the key existed. */
  deleteValue(key: string): boolean;
  /** Records chunk `seq` of an upload: its bytes are in the upload's blob, checked by `facts`. */
  putChunk(uploadId: string, seq: number, facts: ChunkFacts): void;
  /**
   * Deletes chunks 0..count-1 of an upload and marks its blob (holding `bytes`) dead at
   * `index`, the entry being applied (blob-space.ts says when its file goes).
   */
  dropBlob(uploadId: string, count: number, bytes: number, index: number): void;
  getUpload(uploadId: string): UploadState | undefined;
  /** Records an upload's progress; null forgets it. */
  setUpload(uploadId: string, state: UploadState | null): void;
  /** Every upload in progress (few: one per client transfer). */
  uploads(): Iterable<readonly [string, UploadState]>;
  /** `prefix` itself if it exists, and every key under `prefix/`. */
  keysUnder(prefix: string): string[];
}

/** Stores `next` under `key` (applied at `next.modIndex`), freeing the file it replaces. */
export function replaceValue(
  backend: KvBackend,
  key: string,
  current: StoredValue | undefined,
  next: StoredValue,
): void {
  if (current?.file !== undefined) dropFile(backend, current, next.modIndex);
  backend.setValue(key, next);
}

/** Deletes a key (applied at `index`) and, for a file, its chunks and blob. */
export function deleteKey(backend: KvBackend, key: string, index: number): boolean {
  const current = backend.getValue(key);
  if (current?.file !== undefined) dropFile(backend, current, index);
  return backend.deleteValue(key);
}

function dropFile(backend: KvBackend, value: StoredValue, index: number): void {
  const file = value.file as NonNullable<StoredValue["file"]>;
  backend.dropBlob(file.uploadId, file.count, value.size, index);
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
