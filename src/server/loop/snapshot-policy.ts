/**
 * Snapshot and compaction policy: every `everyEntries` applied entries (or `everyBytes`)
 * the state machine is made durable as a snapshot, then the core and the log forget the
 * entries before it, keeping a tail for slow followers and whatever a snapshot being
 * streamed still needs. Also installs snapshots received from the leader.
 */
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
}

/** Decides when to snapshot and how far to compact; runs both. */
export class Snapshotter {
  /** Index of the newest durable snapshot (0 before any). */
  private lastSnapshotIndex: number;
  /** Bytes of entries applied since that snapshot. */
  private bytesSinceSnapshot = 0;

  constructor(private readonly d: SnapshotterDeps) {
    this.lastSnapshotIndex = d.node.status().compacted.index;
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
  }

  /** Takes a snapshot if one is due, then compacts the core's log and the WAL behind it. */
  async maybeSnapshot(): Promise<void> {
    const policy = this.d.policy;
    const applied = this.d.fsm.appliedIndex;
    if (policy === undefined || !this.due(policy, applied)) return;
    const term = this.d.node.termAt(applied);
    if (term === undefined) return;
    const meta = { index: applied, term };
    if (!(await this.captured(policy, meta))) return;
    this.taken(applied);
    this.d.node.snapshotTaken(meta);
    await this.compact(this.compactionPoint(policy, applied));
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
        kept += this.d.node.entryAt(i)?.data.length ?? 0;
        if (kept > policy.keepBytes) {
          point = Math.min(i, stableIndex);
          break;
        }
      }
    }
    return Math.min(point, (policy.pinnedIndex?.() ?? Number.POSITIVE_INFINITY) - 1);
  }
}
