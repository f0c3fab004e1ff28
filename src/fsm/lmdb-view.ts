/**
 * A consistent read-only view of the on-disk store: one LMDB read transaction, plus the
 * generation of pending (applied, not yet written) records current when it opened, which
 * the store never changes while a view reads it (pending-writes.ts). So a file streamed
 * over many seconds comes out whole even if it is overwritten or deleted meanwhile (LMDB
 * keeps the pages the view sees until it closes).
 */
import type { RootDatabase, Transaction } from "lmdb";
import { nextPrefix } from "./key-range.ts";
import { chunkKey, decodeChunk, decodeValue, VALUE_PREFIX } from "./lmdb-records.ts";
import { mergeKeys, type PendingWrites } from "./pending-writes.ts";
import type { StateView, StoredValue } from "./state-machine.ts";

/** A {@link StateView} over one read transaction and one frozen pending generation. */
export class LmdbView implements StateView {
  private readonly txn: Transaction;
  private closed = false;

  constructor(
    private readonly db: RootDatabase<Buffer, string>,
    private readonly pending: PendingWrites,
  ) {
    this.txn = db.useReadTransaction();
    pending.readers++;
  }

  get(key: string): StoredValue | undefined {
    const k = VALUE_PREFIX + key;
    const waiting = this.pending.values.get(k);
    if (waiting !== undefined) return waiting ?? undefined;
    const raw = this.db.get(k, { transaction: this.txn });
    return raw === undefined ? undefined : decodeValue(k, Buffer.from(raw));
  }

  chunk(uploadId: string, seq: number): Uint8Array {
    const k = chunkKey(uploadId, seq);
    const waiting = this.pending.chunks.get(k);
    if (waiting === null) throw new Error(`chunk ${seq} of upload ${uploadId} is missing`);
    if (waiting !== undefined) return waiting;
    const raw = this.db.get(k, { transaction: this.txn });
    if (raw === undefined) throw new Error(`chunk ${seq} of upload ${uploadId} is missing`);
    return decodeChunk(k, Buffer.from(raw));
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
    this.pending.readers--;
    this.txn.done();
  }
}
