/**
 * The on-disk store's write-behind buffer: what was applied but not yet written to LMDB.
 * Applying a committed entry needs no disk write of its own — the entry is already
 * durable in the WAL of a majority, and a restart replays the WAL after the store's
 * durable applied index — so the store applies into memory and writes many batches to
 * LMDB in one transaction with one fdatasync (etcd's backend does the same: a batch
 * interval of 100 ms or 10,000 operations). The limits are checked as entries are applied
 * and on every tick of the node's loop, so an idle node's store catches up too. Reads look
 * here first, then in LMDB.
 *
 * One generation of pending writes is never changed once a view reads it: the store
 * starts a new generation instead (after writing this one to LMDB), so a view sees a
 * frozen generation over the LMDB read transaction it opened at the same moment.
 */
import type { ChunkFacts, DeadBlob } from "./blob-records.ts";
import { compareKeys } from "./key-range.ts";
import type { StoredValue, UploadState } from "./state-machine.ts";

/** When the pending generation is written to LMDB: whichever limit is reached first. */
export interface WriteBehindLimits {
  /** Applied entries it holds. */
  readonly entries: number;
  /** Bytes of values and chunks it holds. */
  readonly bytes: number;
  /** Age of its oldest write, in ms. */
  readonly ms: number;
}

/**
 * etcd's batch limits for entries and age (10,000 operations, 100 ms: they bound how much
 * WAL a restart replays). Bytes: large values gain nothing from waiting — the disk writes
 * every byte anyway, and a burst of many MiB written at once delays the WAL's fdatasync on
 * the same disk (measured: 1 MiB puts at 16 in flight 41–50/s with 8–32 MiB bursts, 52–55/s
 * writing each batch as it is applied) — so past 1 MiB a generation is written at once.
 */
export const DEFAULT_WRITE_BEHIND: WriteBehindLimits = {
  entries: 10_000,
  bytes: 1024 * 1024,
  ms: 100,
};

/** Bytes counted per record besides its contents (key, metadata, map entry). */
const RECORD_OVERHEAD_BYTES = 128;

/** Applied writes not yet in LMDB, keyed by their LMDB record keys; null = deleted. */
export class PendingWrites {
  /** Value records ("v" + key). */
  readonly values = new Map<string, StoredValue | null>();
  /** Chunk records (blobChunkKey): their bytes are in the blobs, not here. */
  readonly chunks = new Map<string, ChunkFacts | null>();
  /** Dead-blob records ("d" + id): null = the record goes (the blob was taken up again). */
  readonly dead = new Map<string, DeadBlob | null>();
  /** Upload records ("u" + id). */
  readonly uploads = new Map<string, UploadState | null>();
  /** Entries applied into this generation. */
  entries = 0;
  /** Approximate bytes held (values, chunks, per-record overhead). */
  bytes = 0;
  /** When the first entry was applied into it (the store's clock), or null while empty. */
  firstAppliedAt: number | null = null;
  /** Views reading this generation: while any is open it must not change. */
  readers = 0;

  private sortedPresent: string[] | null = null;

  constructor(private readonly limits: WriteBehindLimits = DEFAULT_WRITE_BEHIND) {}

  /** Nothing applied into this generation yet. */
  get isEmpty(): boolean {
    return this.entries === 0;
  }

  /** An empty generation with the same limits. */
  next(): PendingWrites {
    return new PendingWrites(this.limits);
  }

  /** Counts entries applied into this generation at `now`. */
  noteApplied(count: number, now: number): void {
    this.entries += count;
    this.firstAppliedAt ??= now;
  }

  /**
   * Keys of the pending value records that exist (not deletions), in LMDB's order: kept
   * until the next write, so a listing that scans once per directory sorts them once.
   */
  presentValueKeys(): readonly string[] {
    this.sortedPresent ??= [...this.values]
      .filter(([, v]) => v !== null)
      .map(([k]) => k)
      .sort(compareKeys);
    return this.sortedPresent;
  }

  setValue(k: string, v: StoredValue | null): void {
    this.values.set(k, v);
    this.sortedPresent = null;
    this.bytes += RECORD_OVERHEAD_BYTES + (v?.value.byteLength ?? 0);
  }

  setChunk(k: string, facts: ChunkFacts | null): void {
    this.chunks.set(k, facts);
    this.bytes += RECORD_OVERHEAD_BYTES;
  }

  setDead(k: string, dead: DeadBlob | null): void {
    this.dead.set(k, dead);
    this.bytes += RECORD_OVERHEAD_BYTES;
  }

  setUpload(k: string, u: UploadState | null): void {
    this.uploads.set(k, u);
    this.bytes += RECORD_OVERHEAD_BYTES;
  }

  /** Whether this generation holds as many bytes as it should. */
  get isFull(): boolean {
    return this.bytes >= this.limits.bytes;
  }

  /** Whether this generation should be written to LMDB now. */
  isDue(now: number): boolean {
    if (this.isEmpty) return false;
    if (this.entries >= this.limits.entries || this.isFull) return true;
    return now - (this.firstAppliedAt ?? now) >= this.limits.ms;
  }
}

/**
 * Merges value record keys from LMDB (ascending, from a range scan of [start, end)) with
 * the pending generation's in that range: pending deletions hide LMDB keys, pending
 * writes add theirs, in LMDB's order.
 */
export function* mergeKeys(
  stored: Iterable<string>,
  pending: PendingWrites,
  start: string,
  end: string,
): Generator<string> {
  const added = pending.presentValueKeys();
  let i = firstAtOrAfter(added, start);
  const inRange = () => i < added.length && compareKeys(added[i] as string, end) < 0;
  for (const key of stored) {
    while (inRange() && compareKeys(added[i] as string, key) < 0) yield added[i++] as string;
    if (added[i] === key) i++;
    if (pending.values.get(key) !== null) yield key;
  }
  while (inRange()) yield added[i++] as string;
}

/** Index of the first of the sorted `keys` at or after `key` (binary search). */
function firstAtOrAfter(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid] as string, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
