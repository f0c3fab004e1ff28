/**
 * A consistent read-only view of the on-disk store: one LMDB read transaction, plus the
 * generation of pending (applied, not yet written) records current when it opened, which
 * the store never changes while a view reads it (pending-writes.ts). So a file streamed
 * over many seconds comes out whole even if it is overwritten or deleted meanwhile (LMDB
 * keeps the pages the view sees until it closes, and every file the view returns has its
 * blob pinned until then: blob-space.ts rule c).
 */
import type { RootDatabase, Transaction } from "lmdb";
import type { BlobIo } from "../storage/index.ts";
import { blobChunkKey, type ChunkFacts, decodeChunkFacts } from "./blob-records.ts";
import type { BlobSpace } from "./blob-space.ts";
import { nextPrefix } from "./key-range.ts";
import { decodeValue, VALUE_PREFIX } from "./lmdb-records.ts";
import { mergeKeys, type PendingWrites } from "./pending-writes.ts";
import type { StateView, StoredValue } from "./state-machine.ts";

/** A {@link StateView} over one read transaction and one frozen pending generation. */
export class LmdbView implements StateView {
  private readonly txn: Transaction;
  private closed = false;
  private readonly unpins: (() => void)[] = [];
  readonly blobs: BlobIo;

  constructor(
    private readonly db: RootDatabase<Buffer, string>,
    private readonly pending: PendingWrites,
    private readonly space: BlobSpace,
  ) {
    this.txn = db.useReadTransaction();
    pending.readers++;
    this.blobs = space.blobs;
  }

  get(key: string): StoredValue | undefined {
    const k = VALUE_PREFIX + key;
    const waiting = this.pending.values.get(k);
    const value =
      waiting !== undefined
        ? (waiting ?? undefined)
        : this.decoded(k, this.db.get(k, { transaction: this.txn }));
    if (value?.file !== undefined && !this.closed)
      this.unpins.push(this.space.pin(value.file.uploadId));
    return value;
  }

  chunk(uploadId: string, seq: number): ChunkFacts {
    const k = blobChunkKey(uploadId, seq);
    const waiting = this.pending.chunks.get(k);
    if (waiting === null) throw new Error(`chunk ${seq} of upload ${uploadId} is missing`);
    if (waiting !== undefined) return waiting;
    const raw = this.db.get(k, { transaction: this.txn });
    if (raw === undefined) throw new Error(`chunk ${seq} of upload ${uploadId} is missing`);
    return decodeChunkFacts(k, Buffer.from(raw));
  }

  private decoded(k: string, raw: Buffer | undefined): StoredValue | undefined {
    return raw === undefined ? undefined : decodeValue(k, Buffer.from(raw));
  }

  *keys(from: string, prefix: string): Iterable<string> {
    const start = VALUE_PREFIX + from;
    const end = nextPrefix(VALUE_PREFIX + prefix);
    const stored = this.db.getKeys({ start, end, transaction: this.txn });
    for (const key of mergeKeys(stored, this.pending, start, end)) {
      if (!key.startsWith(VALUE_PREFIX + prefix)) return;
      yield key.slice(VALUE_PREFIX.length);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const unpin of this.unpins.splice(0)) unpin();
    this.pending.readers--;
    this.txn.done();
  }
}
