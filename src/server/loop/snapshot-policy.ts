/**
 * Snapshot and compaction policy: every `everyEntries` applied entries (or `everyBytes`)
 * the state machine is made durable as a snapshot, then the core and the log forget the
 * entries before it, keeping a tail for slow followers and whatever a snapshot being
 * streamed still needs. Also installs snapshots received from the leader. Dead blobs
 * (fsm/blob-space.ts) make a snapshot due too, and compaction go far enough to free
 * them; their files are unlinked once the log is durably compacted past their death.
 */
import { entryLogicalBytes } from "../../fsm/index.ts";
import type { SnapshotMeta } from "../../raft/index.ts";
import type { DiskFullGuard } from "./disk-full-guard.ts";
import type { LogWriter, LoopCore, LoopStateMachine, SnapshotPolicy } from "./ports.ts";

/** What the snapshotter needs from the loop. */
export interface SnapshotterDeps {
  readonly node: Pick<LoopCore, "status" | "termAt" | "entryAt" | "snapshotTaken" | "compact">;
  readonly wal: LogWriter;
  readonly fsm: Pick<LoopStateMachine, "appliedIndex">;
  readonly guard: DiskFullGuard;
  /** Absent: snapshots are off and the log is never compacted. */
  readonly policy?: SnapshotPolicy;
  /** The loop's clock (ms): paces snapshots that dead blobs ask for. */
  readonly now?: () => number;
}

/** A snapshot for dead blobs that could not free them all is retried after this long. */
const BLOB_RETRY_MS = 1_000;

/** Decides when to snapshot and how far to compact; runs both. */
export class Snapshotter {
  /** Index of the newest durable snapshot (0 before any). */
  private lastSnapshotIndex: number;
  /** Bytes of entries applied since that snapshot. */
  private bytesSinceSnapshot = 0;
  /** Index the WAL (not only the core) is durably compacted to. */
  private walCompacted: number;
  /** When the last snapshot for dead blobs was taken (loop clock). */
  private blobSnapshotAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly d: SnapshotterDeps) {
    this.lastSnapshotIndex = d.node.status().compacted.index;
    this.walCompacted = this.lastSnapshotIndex;
  }

  /** Counts bytes the state machine just applied (for `everyBytes`). */
  noteApplied(bytes: number): void {
    this.bytesSinceSnapshot += bytes;
  }

  /**
   * A snapshot from the leader replaces our state: install it durably, then record in the
   * log that it starts after the snapshot (a crash between the two is repaired at start:
   * the state machine is ahead of the log).
   */
  async install(meta: SnapshotMeta): Promise<void> {
    const policy = this.d.policy;
    if (policy === undefined) {
      throw new Error(`snapshot ${meta.index}@${meta.term} to install but snapshots are off`);
    }
    await policy.store.install(meta);
    // The store already holds the snapshot durably; resetting the log may wait for space.
    await this.d.guard.retry(async () => this.d.wal.reset?.(meta.index, meta.term));
    this.taken(meta.index);
    this.walCompacted = Math.max(this.walCompacted, meta.index);
    await policy.reapBlobs?.(this.walCompacted);
  }

  /** Takes a snapshot if one is due, then compacts the core's log and the WAL behind it. */
  async maybeSnapshot(): Promise<void> {
    const policy = this.d.policy;
    const applied = this.d.fsm.appliedIndex;
    if (policy === undefined) return;
    const blobIndex = this.blobsDue(policy, applied);
    if (!this.due(policy, applied) && blobIndex === 0) {
      if (policy.reapBlobs !== undefined) await policy.reapBlobs(this.walCompacted);
      return;
    }
    const term = this.d.node.termAt(applied);
    if (term === undefined) return;
    const meta = { index: applied, term };
    if (!(await this.captured(policy, meta))) return;
    this.taken(applied);
    this.d.node.snapshotTaken(meta);
    await this.compact(Math.max(this.compactionPoint(policy, applied), this.bounded(blobIndex)));
    await policy.reapBlobs?.(this.walCompacted);
  }

  /**
   * The death index dead blobs want the log compacted to, when that asks for a snapshot
   * now (beyond the WAL's compaction, and not retried within {@link BLOB_RETRY_MS}); else 0.
   */
  private blobsDue(policy: SnapshotPolicy, applied: number): number {
    const due = Math.min(policy.blobsDue?.() ?? 0, applied);
    if (due <= this.walCompacted) return 0;
    const now = this.d.now?.() ?? 0;
    if (now - this.blobSnapshotAt < BLOB_RETRY_MS) return 0;
    this.blobSnapshotAt = now;
    return due;
  }

  /** `index`, but never past what the WAL holds durably nor a snapshot stream's pin. */
  private bounded(index: number): number {
    const pinned = this.d.policy?.pinnedIndex?.() ?? Number.POSITIVE_INFINITY;
    return Math.min(index, this.d.node.status().stableIndex, pinned - 1);
  }

  private taken(index: number): void {
    this.lastSnapshotIndex = index;
    this.bytesSinceSnapshot = 0;
  }

  /**
   * Captures a snapshot; false if the disk is too full to write the store now (nothing is
   * compacted then; the next applied batch tries again).
   */
  private async captured(policy: SnapshotPolicy, meta: SnapshotMeta): Promise<boolean> {
    try {
      await policy.store.capture(meta);
      return true;
    } catch (error) {
      if (!(await this.d.guard.postponable(error as Error, "snapshot"))) throw error;
      return false;
    }
  }

  private async compact(to: number): Promise<void> {
    if (to <= this.d.node.status().compacted.index) return;
    this.d.node.compact(to);
    try {
      await this.d.wal.compact?.(to);
      this.walCompacted = Math.max(this.walCompacted, to);
    } catch (error) {
      // No room for a new segment: keep the old ones; the next snapshot compacts further.
      if (!(await this.d.guard.postponable(error as Error, "log compaction"))) throw error;
    }
  }

  private due(policy: SnapshotPolicy, applied: number): boolean {
    if (applied - this.lastSnapshotIndex >= policy.everyEntries) return true;
    return policy.everyBytes !== undefined && this.bytesSinceSnapshot >= policy.everyBytes;
  }

  /** Where to compact to: keep `keepEntries` (at most `keepBytes`), never past a pin. */
  private compactionPoint(policy: SnapshotPolicy, applied: number): number {
    const { stableIndex, compacted } = this.d.node.status();
    let point = Math.min(applied - policy.keepEntries, stableIndex);
    if (policy.keepBytes !== undefined) {
      let kept = 0;
      for (let i = applied; i > Math.max(point, compacted.index); i--) {
        // A chunk's stored form is small, but the entry stands for its blob's megabyte.
        const entry = this.d.node.entryAt(i);
        kept += entry === undefined ? 0 : entryLogicalBytes(entry);
        if (kept > policy.keepBytes) {
          point = Math.min(i, stableIndex);
          break;
        }
      }
    }
    return Math.min(point, (policy.pinnedIndex?.() ?? Number.POSITIVE_INFINITY) - 1);
  }
}
