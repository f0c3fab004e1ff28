/**
 * The segmented write-ahead log: the node's durable record of Raft entries and hard
 * state. Every `save` is one synchronous (O_DSYNC) `writev` — a write plus its fdatasync
 * in one system call (group commit: the caller batches a whole Ready into one call,
 * which is what makes the log fast) — and resolves only once its bytes are durable, as
 * Raft requires before anything that depends on them is sent or applied. A save that
 * changes the term or vote (an election, rare) first writes them to the HARDSTATE file
 * with one more sync, so a damaged last WAL record can never take back a term or vote
 * (hard-state-file.ts).
 */
import { type FileHandle, readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { StartupError } from "../api/index.ts";
import type { Entry, HardState } from "../raft/index.ts";
import { crashPoint } from "./crash-point.ts";
import { isDiskFullError } from "./disk-full.ts";
import {
  coalesceForOneWrite,
  fsyncDir,
  mkdirDurable,
  writeFileAtomic,
  writevFully,
} from "./fsync.ts";
import { HardStateFile, reconcileHardState } from "./hard-state-file.ts";
import { WalCorruptionError, WalStateError } from "./wal-errors.ts";
import { encodeBatch, encodeSegmentHeader, SEGMENT_HEADER_BYTES } from "./wal-record.ts";
import { replaySegments, type SegmentInfo, type WalContents } from "./wal-replay.ts";
import { createSegment, listSegments, openSegmentForAppend, segmentPath } from "./wal-segment.ts";
import { checkEntries, checkHardState } from "./wal-validate.ts";

export { WalCorruptionError, WalStateError } from "./wal-errors.ts";
export type { WalContents } from "./wal-replay.ts";

/**
 * Segment size at which the WAL starts a new file (64 MiB). Large
 * enough that rotation (a create plus a directory sync) is rare; small enough that
 * dropping compacted segments frees space promptly and replay holds one in memory.
 */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/**
 * Told about every durable save, for the node's metrics (append and fsync histograms,
 * bytes written). Called on the hot path: implementations only add numbers.
 */
export interface WalObserver {
  /**
   * A save became durable: `bytes` written, `syncSeconds` spent in the one O_DSYNC write
   * (the data and its fdatasync), `totalSeconds` in the whole save (vote file, rotation).
   */
  saved(bytes: number, syncSeconds: number, totalSeconds: number): void;
}

/** Options of {@link Wal.open}. */
export interface WalOptions {
  /** Rotate to a new segment once the current one holds at least this many bytes. */
  readonly segmentBytes?: number;
  /** Told about every durable save (metrics); absent: nobody. */
  readonly observer?: WalObserver;
}

/** Where the WAL appends next: the open last segment. */
interface Tail {
  handle: FileHandle;
  seq: number;
  size: number;
}

/** Where the durable log ends, and its durable hard state (what a new segment header says). */
interface LogEnd {
  /** Entries at or below this are held by the state machine and may never be rewritten. */
  floor: number;
  index: number;
  term: number;
  hardState: HardState;
}

/** The write-ahead log of one node. Not safe for concurrent `save` calls (asserted). */
export class Wal {
  private saving = false;
  private observer: WalObserver | undefined;
  private closed = false;
  private failure: unknown = null;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private tail: Tail,
    private readonly end: LogEnd,
    private segments: SegmentInfo[],
    private readonly votes: HardStateFile,
    /**
     * The torn tail that opening cut off, if any (never acknowledged, so nothing is lost),
     * for the node to log: a repair is never silent.
     */
    readonly tornTail: {
      readonly file: string;
      readonly offset: number;
      readonly bytes: number;
    } | null = null,
  ) {}

  /**
   * Opens (creating if missing) the WAL in `dir`, replays it and repairs a torn tail.
   * Throws a `StartupError`: `corrupt` ({@link WalCorruptionError}) for damaged records,
   * `data_dir` when the directory cannot be used.
   */
  static async open(
    dir: string,
    options: WalOptions = {},
  ): Promise<{ wal: Wal; contents: WalContents }> {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1) {
      throw new RangeError(`segmentBytes must be a positive integer, got ${segmentBytes}`);
    }
    try {
      const opened = await Wal.replayAndOpen(dir, segmentBytes);
      opened.wal.observer = options.observer;
      return opened;
    } catch (err) {
      if (err instanceof StartupError) throw err;
      throw new StartupError("data_dir", `cannot open WAL in ${dir}: ${errorText(err)}`);
    }
  }

  private static async replayAndOpen(
    dir: string,
    segmentBytes: number,
  ): Promise<{ wal: Wal; contents: WalContents }> {
    await ensureDir(dir);
    let seqs = await dropBeforeFirst(dir, await listSegments(dir));
    if (seqs.length === 0) {
      await (await createSegment(dir, 0)).close();
      seqs = [0];
    }
    const { contents, lastSegmentBytes, segments, tornTail } = await replaySegments(dir, seqs);
    const { file: votes, copies } = await HardStateFile.open(dir, contents.hardState);
    let handle: FileHandle;
    try {
      contents.hardState = reconcileHardState(votes.path, copies, contents.hardState);
      handle = await openSegmentForAppend(dir, seqs.at(-1) ?? 0);
    } catch (err) {
      await votes.close();
      throw err;
    }
    const seq = seqs.at(-1) ?? 0;
    const tail = { handle, seq, size: lastSegmentBytes };
    const last = contents.entries.at(-1);
    const end: LogEnd = {
      floor: contents.offset,
      index: last?.index ?? contents.offset,
      term: last?.term ?? contents.offsetTerm,
      hardState: contents.hardState,
    };
    const wal = new Wal(dir, segmentBytes, tail, end, segments, votes, tornTail);
    // An empty last segment (new, or its header torn by a crash, possibly after its
    // log-start record) gets its header now, so every segment can stand alone once older
    // ones are deleted.
    const lastInfo = segments.at(-1);
    const headerTorn =
      lastInfo !== undefined &&
      lastInfo.prevIndex >= 0 &&
      lastInfo.low === Number.POSITIVE_INFINITY &&
      lastSegmentBytes < SEGMENT_HEADER_BYTES;
    if (lastSegmentBytes === 0 || headerTorn) await wal.writeHeader();
    return { wal, contents };
  }

  /**
   * Appends `entries` (which supersede any earlier entries at index >= entries[0].index:
   * Raft log truncation) and, if non-null, `hardState`, with ONE synchronous write.
   * Resolves only after the data is durable. After a failure the WAL refuses further
   * saves: once fdatasync has failed, what reached the disk is unknown, and only a
   * restart (which replays and repairs) is safe.
   */
  async save(entries: readonly Entry[], hardState: HardState | null): Promise<void> {
    this.assertUsable();
    checkEntries(entries, this.end.index, this.end.floor);
    if (hardState !== null) checkHardState(hardState);
    if (entries.length === 0 && hardState === null) return;
    this.saving = true;
    const started = this.observer === undefined ? 0 : performance.now();
    try {
      await this.append(entries, hardState, started);
    } catch (err) {
      if (!(isDiskFullError(err) && (await this.undoPartialWrite()))) this.failure = err;
      throw err;
    } finally {
      this.saving = false;
    }
  }

  /**
   * After a write failed for lack of space: cut the segment back to its last durable size,
   * so that the same save can be retried once space is freed. Returns false if even that
   * failed (then the WAL stays unusable until a restart repairs it).
   */
  private async undoPartialWrite(): Promise<boolean> {
    try {
      await this.tail.handle.truncate(this.tail.size);
      await this.tail.handle.datasync();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Lets the log forget entries up to `index`, which the state machine holds durably:
   * starts a new segment (so that the current one can go later) and deletes, oldest first,
   * every segment whose entries all lie at or below `index`. A crash part-way leaves a
   * suffix of segments that replays on its own.
   */
  async compact(index: number): Promise<void> {
    await this.exclusive(async () => {
      this.end.floor = Math.max(this.end.floor, index);
      const current = this.segments.at(-1);
      if (current !== undefined && current.prevIndex < index && this.end.index > current.prevIndex)
        await this.rotate(this.end.index, this.end.term);
      crashPoint("compact-rotated");
      await this.deleteCompacted(index);
    });
  }

  /**
   * A snapshot from the leader replaced the log: the log now ends at (index, term) and
   * holds nothing before. Durable when it resolves; older segments are deleted after.
   */
  async reset(index: number, term: number): Promise<void> {
    await this.exclusive(async () => {
      await this.rotate(index, term);
      this.end.index = index;
      this.end.term = term;
      this.end.floor = index;
      crashPoint("reset-rotated");
      await this.deleteBefore(this.segments.length - 1);
    });
  }

  /** Number of segment files (for tests and status). */
  segmentCount(): number {
    return this.segments.length;
  }

  /** Closes the current segment. Every completed `save` is already durable. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.saving) throw new WalStateError("Wal.close called while a save is in progress");
    this.closed = true;
    await this.tail.handle.close();
    await this.votes.close();
  }

  private async append(
    entries: readonly Entry[],
    hardState: HardState | null,
    started: number,
  ): Promise<void> {
    const voted = hardState !== null && (await this.recordVote(hardState));
    if (this.tail.size >= this.segmentBytes) await this.rotate(this.end.index, this.end.term);
    const { buffers, bytes } = encodeBatch(entries, hardState);
    const writeStarted = this.observer === undefined ? 0 : performance.now();
    // The handle is O_DSYNC: durable when the write returns (wal-segment.ts).
    await writevFully(this.tail.handle, coalesceForOneWrite(buffers), this.tail.size);
    if (this.observer !== undefined) {
      const now = performance.now();
      this.observer.saved(bytes, (now - writeStarted) / 1000, (now - started) / 1000);
    }
    this.tail.size += bytes;
    const last = entries.at(-1);
    const first = entries[0];
    const current = this.segments.at(-1);
    if (first !== undefined && current !== undefined)
      current.low = Math.min(current.low, first.index);
    if (last !== undefined) {
      this.end.index = last.index;
      this.end.term = last.term;
    }
    if (hardState !== null) this.end.hardState = hardState;
    if (voted) crashPoint("vote-saved");
  }

  /**
   * A new term or vote goes to the HARDSTATE file (synced) before the WAL write that also
   * carries it, so that the file always holds the newest term and vote that anything
   * could have been sent on (see hard-state-file.ts). A change of commit alone does not.
   * Returns whether it wrote (the `vote-saved` crash point then follows the WAL write).
   */
  private async recordVote(hardState: HardState): Promise<boolean> {
    const current = this.votes.current;
    if (current.term === hardState.term && current.vote === hardState.vote) return false;
    await this.votes.write(hardState.term, hardState.vote);
    crashPoint("hardstate-written");
    return true;
  }

  /**
   * Starts the next segment with its header. The current one is already synced by the
   * save that filled it.
   */
  private async rotate(prevIndex: number, prevTerm: number): Promise<void> {
    const seq = this.tail.seq + 1;
    const handle = await createSegment(this.dir, seq);
    const header = encodeSegmentHeader(prevIndex, prevTerm, this.end.hardState);
    try {
      await writevFully(handle, [header], 0);
    } catch (err) {
      // Out of space for the header: forget the new segment, keep appending to the old.
      await handle.close();
      await unlink(segmentPath(this.dir, seq)).catch(() => {});
      throw err;
    }
    const previous = this.tail.handle;
    this.tail = { handle, seq, size: header.length };
    this.segments.push({ seq, prevIndex, low: Number.POSITIVE_INFINITY });
    await previous.close();
  }

  /** Writes the log-start and hard-state records that open the (empty) tail segment. */
  private async writeHeader(): Promise<void> {
    const header = encodeSegmentHeader(this.end.index, this.end.term, this.end.hardState);
    await writevFully(this.tail.handle, [header], 0);
    this.tail.size = header.length;
    const info = this.segments.at(-1);
    if (info !== undefined && info.seq === this.tail.seq && info.prevIndex < 0)
      this.segments[this.segments.length - 1] = { ...info, prevIndex: this.end.index };
  }

  /**
   * Deletes the segments that compaction to `index` no longer needs: everything before the
   * newest segment replay can start from — one whose header says the log stood at
   * P <= index, with nothing in it or after it written at or below P (a truncating save
   * that reached back would otherwise collide with the start).
   */
  private async deleteCompacted(index: number): Promise<void> {
    let low = Number.POSITIVE_INFINITY;
    for (let i = this.segments.length - 1; i > 0; i--) {
      const segment = this.segments[i] as SegmentInfo;
      low = Math.min(low, segment.low);
      if (segment.prevIndex >= 0 && segment.prevIndex <= index && segment.prevIndex < low) {
        await this.deleteBefore(i);
        return;
      }
    }
  }

  /**
   * Makes segment `position` the first one: records its sequence number durably in
   * {@link FIRST_SEGMENT_FILE} (so a crash part-way never leaves an older segment that
   * replay would start from), then deletes the older segments.
   */
  private async deleteBefore(position: number): Promise<void> {
    const first = this.segments[position];
    if (position <= 0 || first === undefined) return;
    await writeFileAtomic(join(this.dir, FIRST_SEGMENT_FILE), Buffer.from(`${first.seq}\n`));
    for (const old of this.segments.slice(0, position)) {
      await unlink(segmentPath(this.dir, old.seq)).catch(ignoreMissing);
      crashPoint("segment-deleted");
    }
    this.segments = this.segments.slice(position);
    await fsyncDir(this.dir);
  }

  /**
   * Runs a maintenance step under the same rules as a save: one at a time, and poisoned
   * on failure, except for lack of space (a rotation that failed undid itself).
   */
  private async exclusive(step: () => Promise<void>): Promise<void> {
    this.assertUsable();
    this.saving = true;
    try {
      await step();
    } catch (err) {
      if (!isDiskFullError(err)) this.failure = err;
      throw err;
    } finally {
      this.saving = false;
    }
  }

  private assertUsable(): void {
    if (this.closed) throw new WalStateError("Wal.save called after close");
    if (this.saving) throw new WalStateError("Wal.save called while another save is in progress");
    if (this.failure !== null) {
      throw new WalStateError(`WAL unusable after a failed save: ${errorText(this.failure)}`);
    }
  }
}

/**
 * File naming the WAL's first segment: older ones are leftovers of a compaction that a
 * crash interrupted, and are deleted at open instead of replayed.
 */
export const FIRST_SEGMENT_FILE = "FIRST";

/** Drops (and deletes) segments before the recorded first one. */
async function dropBeforeFirst(dir: string, seqs: number[]): Promise<number[]> {
  let text: string;
  try {
    text = await readFile(join(dir, FIRST_SEGMENT_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return seqs;
    throw err;
  }
  const first = Number.parseInt(text, 10);
  if (!Number.isSafeInteger(first) || !seqs.includes(first)) {
    throw new WalCorruptionError(
      join(dir, FIRST_SEGMENT_FILE),
      0,
      `names segment ${text.trim()}, which is not there`,
    );
  }
  for (const seq of seqs.filter((s) => s < first)) await unlink(segmentPath(dir, seq));
  return seqs.filter((s) => s >= first);
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
}

/** Creates the WAL directory if missing and syncs its parent, so a new WAL cannot vanish. */
async function ensureDir(dir: string): Promise<void> {
  try {
    await stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdirDurable(dir);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
