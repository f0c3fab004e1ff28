/**
 * The in-memory view of a node's Raft log: which entries exist, which are durable
 * (`stableIndex`), which are committed and which are applied. The storage layer makes
 * entries durable; this class only tracks what the core may rely on.
 */
import type { Entry } from "./types.ts";

/** Where a restarted log begins: the entries recovered from disk. */
export interface LogInit {
  /** Recovered entries, contiguous and ascending. */
  readonly entries: readonly Entry[];
  /** Index of the entry just before `entries[0]` (0 for a log that was never compacted). */
  readonly offset: number;
  /** Term of the entry at `offset` (0 when offset is 0). */
  readonly offsetTerm: number;
  /** Commit index recovered from the hard state. */
  readonly committed: number;
  /** Highest index the state machine has already applied durably. */
  readonly applied: number;
}

/** What the rest of the core and its tests may read of a log; only Raft changes it. */
export interface LogView {
  readonly stableIndex: number;
  readonly committed: number;
  readonly applied: number;
  compactedTo(): { index: number; term: number };
  firstIndex(): number;
  lastIndex(): number;
  lastTerm(): number;
  termAt(index: number): number | undefined;
  entryAt(index: number): Entry | undefined;
  unstableEntries(): Entry[];
  nextCommittedEntries(maxBytes: number): Entry[];
  hasNextCommittedEntries(): boolean;
}

/** A node's log with its durability, commit and apply cursors. */
export class RaftLog implements LogView {
  private entries: Entry[];
  private offset: number;
  private offsetTerm: number;
  /** Highest index known to be on disk; the node counts itself in quorums only up to here. */
  stableIndex: number;
  /** Highest index known to be committed. */
  committed: number;
  /** Highest index handed to the state machine. */
  applied: number;

  constructor(
    init: LogInit,
    /** Bytes an entry stands for when sizing appends and apply batches (RaftConfig.entryBytes). */
    private readonly sizeOf: (entry: Entry) => number = dataBytes,
  ) {
    this.entries = [...init.entries];
    this.offset = init.offset;
    this.offsetTerm = init.offsetTerm;
    this.stableIndex = this.lastIndex();
    this.committed = Math.min(init.committed, this.lastIndex());
    this.applied = Math.min(init.applied, this.committed);
    if (this.applied < this.offset) this.applied = this.offset;
  }

  /** Index and term of the last entry folded into a snapshot (0, 0 before any). */
  compactedTo(): { index: number; term: number } {
    return { index: this.offset, term: this.offsetTerm };
  }

  /**
   * Drops entries up to `index`, which a durable snapshot (or the durable state machine)
   * already covers. Only applied, durable entries may go.
   */
  compact(index: number): void {
    if (index <= this.offset) return;
    if (index > this.applied || index > this.stableIndex) {
      throw new Error(
        `raft: cannot compact to ${index} (applied ${this.applied}, stable ${this.stableIndex})`,
      );
    }
    const term = this.termAt(index) as number;
    this.entries = this.entries.slice(index - this.offset);
    this.offset = index;
    this.offsetTerm = term;
  }

  /**
   * Replaces the whole log with a snapshot received from the leader: nothing before it is
   * kept, and everything it covers counts as committed, durable and applied (the driver
   * installs the image before applying anything later).
   */
  restore(index: number, term: number): void {
    this.entries = [];
    this.offset = index;
    this.offsetTerm = term;
    this.committed = index;
    this.stableIndex = index;
    this.applied = index;
  }

  /** Index of the first entry still held (after compaction this is offset + 1). */
  firstIndex(): number {
    return this.offset + 1;
  }

  /** Index of the newest entry (or the offset when empty). */
  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  /** Term of the newest entry. */
  lastTerm(): number {
    return this.termAt(this.lastIndex()) ?? 0;
  }

  /** Term of the entry at `index`, or undefined if it was compacted away or does not exist. */
  termAt(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset || index > this.lastIndex()) return undefined;
    return this.entries[index - this.offset - 1]?.term;
  }

  /** The entry at `index`, if held. */
  entryAt(index: number): Entry | undefined {
    if (index <= this.offset || index > this.lastIndex()) return undefined;
    return this.entries[index - this.offset - 1];
  }

  /** True when this log holds an entry at `index` with `term` (the §5.3 consistency check). */
  matchTerm(index: number, term: number): boolean {
    return this.termAt(index) === term;
  }

  /** The §5.4.1 election restriction: is a log ending at (lastIndex, lastTerm) at least as up to date? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Appends entries, first discarding any held entries at or after `entries[0].index`
   * (a follower's conflicting suffix). Entries must start at or before lastIndex + 1.
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index <= this.committed) {
      throw new Error(`raft: refusing to overwrite committed index ${first.index}`);
    }
    if (first.index > this.lastIndex() + 1) {
      throw new Error(`raft: gap appending ${first.index} after ${this.lastIndex()}`);
    }
    this.entries.length = first.index - this.offset - 1;
    for (const entry of entries) this.entries.push(entry);
    this.stableIndex = Math.min(this.stableIndex, first.index - 1);
  }

  /**
   * Follower side of AppendEntries: if (prevIndex, prevTerm) matches, appends the entries
   * that are new or conflicting and returns the index of the last new entry; else null.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: readonly Entry[]): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) this.append(entries.slice(conflict - prevIndex - 1));
    return lastNew;
  }

  /** First index among `entries` that is missing here or has a different term; 0 if none. */
  private findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * Largest index <= `index` whose term is <= `term` (with that term). Used on both sides
   * of a rejected append to skip over a whole conflicting term in one round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    while (i > this.offset) {
      const t = this.termAt(i) ?? 0;
      if (t <= term) return { index: i, term: t };
      i--;
    }
    return { index: this.offset, term: this.offsetTerm };
  }

  /** Bytes `entry` stands for (RaftConfig.entryBytes), as {@link slice} counts them. */
  bytesOf(entry: Entry): number {
    return this.sizeOf(entry);
  }

  /** Entries in [lo, hi) up to about `maxBytes` of data (always at least one if any). */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = Math.max(lo, this.firstIndex()); i < hi && i <= this.lastIndex(); i++) {
      const entry = this.entries[i - this.offset - 1] as Entry;
      bytes += this.sizeOf(entry);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  /** Entries not yet known to be durable: what the next Ready asks the server to persist. */
  unstableEntries(): Entry[] {
    return this.entries.slice(this.stableIndex - this.offset);
  }

  /** Committed, durable entries not yet applied: what the next Ready hands to the state machine. */
  nextCommittedEntries(maxBytes: number): Entry[] {
    const hi = Math.min(this.committed, this.stableIndex);
    if (hi <= this.applied) return [];
    return this.slice(this.applied + 1, hi + 1, maxBytes);
  }

  /** True when there are committed, durable entries waiting to be applied. */
  hasNextCommittedEntries(): boolean {
    return Math.min(this.committed, this.stableIndex) > this.applied;
  }

  /** Raises the commit index (it never goes back). */
  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new Error(`raft: commit ${index} beyond last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Records that the state machine applied up to `index`. */
  appliedTo(index: number): void {
    if (index < this.applied || index > this.committed) {
      throw new Error(`raft: applied ${index} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
  }

  /**
   * Replaces held entries by the form the driver persisted them in: a chunk entry whose
   * bytes went to the node's blob store, kept as a small "stored form" so the log no
   * longer holds the bytes (issue 22). Only durable entries (index <= stableIndex) are
   * replaced, and only by one of the same index, term and kind: by Log Matching that is
   * the same entry, and anything truncated or superseded meanwhile is left alone.
   * The caller vouches that the data means the same command. Returns how many changed.
   */
  replacePersisted(entries: readonly Entry[]): number {
    let replaced = 0;
    for (const entry of entries) {
      if (entry.index > this.stableIndex) continue;
      const held = this.entryAt(entry.index);
      if (held === undefined || held.term !== entry.term || held.kind !== entry.kind) continue;
      this.entries[entry.index - this.offset - 1] = entry;
      replaced++;
    }
    return replaced;
  }

  /**
   * Records that entries up to (index, term) are durable. Ignored when the entry was
   * replaced meanwhile (a newer leader truncated it while the write was in flight).
   */
  stableTo(index: number, term: number): void {
    if (this.termAt(index) !== term) return;
    if (index > this.stableIndex) this.stableIndex = index;
  }
}

/** The default size of an entry: its payload's length. */
function dataBytes(entry: Entry): number {
  return entry.data.byteLength;
}
