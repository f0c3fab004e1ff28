/**
 * When a dead blob's file may go (docs/architecture.md#the-blob-store). A blob dies when
 * its upload is aborted or expires, or its file is overwritten or deleted; the entry
 * whose apply killed it is its death index. Its file is unlinked only when ALL hold:
 *
 *  (a) the store that no longer references it is durable past the death index (a crash
 *      cannot bring back a store that names it);
 *  (b) the log (core and WAL) is compacted up to the death index, so no retained entry
 *      names its chunks (no follower is sent them from it, no restart replays them);
 *  (c) no reader pins it (a download streaming an older view of the store);
 *  (d) no snapshot or backup stream that started at an index below the death index runs.
 *
 * Dead bytes also decide when to snapshot and compact ({@link BlobSpace.dueIndex}), so
 * space comes back soon after a delete even when nothing else is written.
 */
import type { BlobIo } from "../storage/index.ts";
import type { DeadBlob } from "./blob-records.ts";

/** Past this many dead bytes a snapshot and compaction are due at once. */
export const DEAD_BYTES_DUE = 64 * 1024 * 1024;
/** A blob dead this long makes a snapshot and compaction due. */
export const DEAD_AGE_DUE_MS = 5_000;

/** A dead blob with when (this node's clock) it died. */
interface Dying extends DeadBlob {
  readonly since: number;
}

/** Dead blobs, readers' pins and streams' holds of one store; unlinks what may go. */
export class BlobSpace {
  private readonly dead = new Map<string, Dying>();
  private readonly pins = new Map<string, number>();
  private readonly holds = new Map<number, number>();
  private durable = 0;
  private reaping: Promise<string[]> | null = null;

  constructor(
    /** The node's blobs. */
    readonly blobs: BlobIo,
    /** This node's clock in ms (ages dead blobs; not part of the replicated state). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Dead blobs found in the store at start: due at once (their age is unknown). */
  load(dead: Iterable<readonly [string, DeadBlob]>): void {
    for (const [id, d] of dead) this.dead.set(id, { ...d, since: this.now() - DEAD_AGE_DUE_MS });
  }

  /**
   * The store went back to what its disk holds (a rolled-back apply, an installed
   * snapshot): exactly `dead` are dead now; those already known keep their age.
   */
  replaceDead(dead: Iterable<readonly [string, DeadBlob]>): void {
    const before = new Map(this.dead);
    this.dead.clear();
    for (const [id, d] of dead)
      this.dead.set(id, { ...d, since: before.get(id)?.since ?? this.now() });
  }

  /** Applying entry `index` killed blob `id` holding `bytes`. */
  died(id: string, index: number, bytes: number): void {
    this.dead.set(id, { index, bytes, since: this.now() });
  }

  /** An upload took up blob `id` again (a chunk of a reused id): it is not dead. */
  revived(id: string): boolean {
    return this.dead.delete(id);
  }

  /** Whether blob `id` is dead (and not yet unlinked). */
  isDead(id: string): boolean {
    return this.dead.has(id);
  }

  /** Dead blobs not yet unlinked, with their bytes and death index. */
  deadBlobs(): (readonly [string, DeadBlob])[] {
    return [...this.dead].map(([id, d]) => [id, { index: d.index, bytes: d.bytes }] as const);
  }

  /** Bytes of dead blobs not yet unlinked. */
  get deadBytes(): number {
    let total = 0;
    for (const d of this.dead.values()) total += d.bytes;
    return total;
  }

  /** Keeps blob `id` on disk until the returned release is called (rule c). */
  pin(id: string): () => void {
    this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.pins.get(id) ?? 1) - 1;
      if (left === 0) this.pins.delete(id);
      else this.pins.set(id, left);
    };
  }

  /** A stream of the store at `index` runs until the returned release is called (rule d). */
  holdFrom(index: number): () => void {
    this.holds.set(index, (this.holds.get(index) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.holds.get(index) ?? 1) - 1;
      if (left === 0) this.holds.delete(index);
      else this.holds.set(index, left);
    };
  }

  /** The store is durable through `index` (rule a). */
  noteDurable(index: number): void {
    this.durable = Math.max(this.durable, index);
  }

  /**
   * The log index a snapshot and compaction should reach to free dead blobs now: the
   * highest death index once dead bytes reach {@link DEAD_BYTES_DUE}, else that of the
   * blobs dead for {@link DEAD_AGE_DUE_MS}; 0 when nothing is due.
   */
  dueIndex(): number {
    const all = this.deadBytes >= DEAD_BYTES_DUE;
    const cutoff = this.now() - DEAD_AGE_DUE_MS;
    let due = 0;
    for (const d of this.dead.values()) if (all || d.since <= cutoff) due = Math.max(due, d.index);
    return due;
  }

  /** Whether blob `id`, dead at `d`, may be unlinked with the log compacted to `compacted`. */
  private mayGo(id: string, d: DeadBlob, compacted: number): boolean {
    if (d.index > this.durable || d.index > compacted) return false;
    if (this.pins.has(id)) return false;
    for (const start of this.holds.keys()) if (start < d.index) return false;
    return true;
  }

  /**
   * Unlinks every dead blob that may go with the log compacted (core and WAL, durably)
   * to `compacted`; returns their ids (the store then forgets their records). One reap
   * at a time: a call during another waits for it and returns nothing more.
   */
  async reap(compacted: number): Promise<string[]> {
    if (this.reaping !== null) {
      await this.reaping.catch(() => {});
      return [];
    }
    const run = this.unlinkEligible(compacted);
    this.reaping = run;
    try {
      return await run;
    } finally {
      this.reaping = null;
    }
  }

  private async unlinkEligible(compacted: number): Promise<string[]> {
    const gone: string[] = [];
    for (const [id, d] of [...this.dead]) {
      // Checked again right before each unlink: a pin may have come meanwhile.
      if (this.dead.get(id) !== d || !this.mayGo(id, d, compacted)) continue;
      this.dead.delete(id);
      try {
        await this.blobs.unlink(id);
      } catch (error) {
        this.dead.set(id, d);
        throw error;
      }
      gone.push(id);
    }
    return gone;
  }
}
