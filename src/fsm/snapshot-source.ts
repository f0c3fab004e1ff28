/**
 * The sending side of a snapshot: one LMDB read transaction gives a consistent image of
 * the whole store at one applied index, streamed record by record in chunks, so the
 * leader never holds it in memory and keeps applying new entries meanwhile. (While the
 * read transaction is open LMDB cannot reuse the pages it sees; the store grows by what
 * is written during the transfer, and shrinks back once it ends.)
 */
import type { RootDatabase, Transaction } from "lmdb";
import type { SnapshotMeta } from "../raft/index.ts";
import {
  decodeMembershipRecord,
  decodeMeta,
  MEMBERSHIP_KEY,
  META_KEY,
  verifyRecord,
} from "./lmdb-records.ts";
import { ImageChunker } from "./snapshot-image.ts";

/** A consistent image of the store, open until {@link SnapshotSource.close}. */
export class SnapshotSource {
  /** The applied index and term the image is at. */
  readonly meta: SnapshotMeta;
  private readonly txn: Transaction;
  private closed = false;

  constructor(private readonly db: RootDatabase<Buffer, string>) {
    this.txn = db.useReadTransaction();
    const raw = db.get(META_KEY, { transaction: this.txn });
    const meta = raw === undefined ? { applied: 0, appliedTerm: 0 } : decodeMeta(raw);
    const members = db.get(MEMBERSHIP_KEY, { transaction: this.txn });
    this.meta = {
      index: meta.applied,
      term: meta.appliedTerm,
      ...(members !== undefined ? { membership: decodeMembershipRecord(members) } : {}),
    };
  }

  /**
   * The image as chunks. Every record's checksum is verified on the way out: a leader
   * must not spread a corruption of its own disk to a follower.
   */
  async *chunks(): AsyncGenerator<Buffer> {
    const chunker = new ImageChunker();
    for (const { key, value } of this.db.getRange({ transaction: this.txn })) {
      if (this.closed) return;
      verifyRecord(key, value);
      const chunk = chunker.add({ key, value });
      if (chunk !== null) yield chunk;
    }
    const last = chunker.flush();
    if (last !== null) yield last;
  }

  /** Releases the read transaction (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.txn.done();
  }
}
