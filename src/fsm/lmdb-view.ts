/**
 * A consistent read-only view of the on-disk store: one LMDB read transaction, so a file
 * streamed over many seconds comes out whole even if it is overwritten or deleted
 * meanwhile (LMDB keeps the pages the view sees until it closes).
 */
import type { RootDatabase, Transaction } from "lmdb";
import { chunkKey, decodeChunk, decodeValue, VALUE_PREFIX } from "./lmdb-records.ts";
import type { StateView, StoredValue } from "./state-machine.ts";

/** A {@link StateView} over one read transaction. */
export class LmdbView implements StateView {
  private readonly txn: Transaction;
  private closed = false;

  constructor(private readonly db: RootDatabase<Buffer, string>) {
    this.txn = db.useReadTransaction();
  }

  get(key: string): StoredValue | undefined {
    const k = VALUE_PREFIX + key;
    const raw = this.db.get(k, { transaction: this.txn });
    return raw === undefined ? undefined : decodeValue(k, Buffer.from(raw));
  }

  chunk(uploadId: string, seq: number): Uint8Array {
    const k = chunkKey(uploadId, seq);
    const raw = this.db.get(k, { transaction: this.txn });
    if (raw === undefined) throw new Error(`chunk ${seq} of upload ${uploadId} is missing`);
    return decodeChunk(k, Buffer.from(raw));
  }

  *keys(from: string, prefix: string): Iterable<string> {
    const range = this.db.getKeys({ start: VALUE_PREFIX + from, transaction: this.txn });
    for (const key of range) {
      if (!key.startsWith(VALUE_PREFIX + prefix)) return;
      yield key.slice(VALUE_PREFIX.length);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.txn.done();
  }
}
