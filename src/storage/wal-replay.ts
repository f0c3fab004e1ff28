/**
 * Replaying the WAL at startup: segments in order, one in memory at a time, applying
 * Raft's log-truncation rule, cutting off a torn tail and refusing anything else that
 * does not parse.
 */
import { open, readFile } from "node:fs/promises";
import { EMPTY_HARD_STATE, type Entry, type HardState } from "../raft/index.ts";
import { WalCorruptionError } from "./wal-errors.ts";
import { decodePayload, RecordType, readFrame, type WalRecord } from "./wal-record.ts";
import { segmentName, segmentPath } from "./wal-segment.ts";
import { isTornTail } from "./wal-tail.ts";

/** What a WAL holds: the latest hard state and the log, contiguous and ascending. */
export interface WalContents {
  hardState: HardState;
  entries: Entry[];
  /** Index of the entry just before `entries[0]`: what compaction or a snapshot dropped. */
  offset: number;
  /** Term of the entry at `offset` (0 when offset is 0). */
  offsetTerm: number;
}

/** One segment as replay found it. */
export interface SegmentInfo {
  readonly seq: number;
  /**
   * The log's last index when the segment was started (its log-start record); -1 for a
   * segment without one (written before compaction existed). Every entry of every OLDER
   * segment has an index at or below it, which is what lets compaction delete them.
   */
  readonly prevIndex: number;
  /**
   * Lowest entry index written in the segment (Infinity if none). A truncating save can
   * write below the segment's prevIndex; compaction must not delete the segments such a
   * write reaches back into.
   */
  low: number;
}

/** The outcome of a replay: contents, and the byte size of the last segment after repair. */
export interface ReplayResult {
  readonly contents: WalContents;
  readonly lastSegmentBytes: number;
  readonly segments: SegmentInfo[];
  /** A torn tail that was cut off, for the log: file, offset and bytes dropped; null if none. */
  readonly tornTail: {
    readonly file: string;
    readonly offset: number;
    readonly bytes: number;
  } | null;
}

/**
 * Replays segments `seqs` (ascending, non-empty) of `dir`. Why the last segment is special:
 * it is the only one a crash can have left half-written, because a new segment is only
 * started after every earlier save was synced.
 */
export async function replaySegments(dir: string, seqs: readonly number[]): Promise<ReplayResult> {
  const log = new ReplayLog();
  let lastSegmentBytes = 0;
  let tornTail: ReplayResult["tornTail"] = null;
  const segments: SegmentInfo[] = [];
  for (const [i, seq] of seqs.entries()) {
    checkSequence(dir, seqs, i);
    const isLast = i === seqs.length - 1;
    log.segmentStart = -1;
    log.segmentLow = Number.POSITIVE_INFINITY;
    const path = segmentPath(dir, seq);
    const { validEnd, size } = await replaySegment(path, log, isLast);
    lastSegmentBytes = validEnd;
    if (validEnd < size) tornTail = { file: path, offset: validEnd, bytes: size - validEnd };
    segments.push({ seq, prevIndex: log.segmentStart, low: log.segmentLow });
  }
  const { hardState, entries, offset, offsetTerm } = log;
  const contents = { hardState, entries, offset, offsetTerm };
  return { contents, lastSegmentBytes, segments, tornTail };
}

function checkSequence(dir: string, seqs: readonly number[], i: number): void {
  const seq = seqs[i] ?? 0;
  const previous = seqs[i - 1];
  if (previous !== undefined && seq !== previous + 1) {
    const reason = `segment ${segmentName(previous + 1)} is missing`;
    throw new WalCorruptionError(segmentPath(dir, seq), 0, reason);
  }
}

/** Replays one segment into `log`; returns its valid length (after torn-tail repair) and size. */
async function replaySegment(
  path: string,
  log: ReplayLog,
  isLast: boolean,
): Promise<{ validEnd: number; size: number }> {
  const buf = await readFile(path);
  const validEnd = scanRecords(buf, path, log, isLast);
  if (validEnd < buf.length) await truncateDurably(path, validEnd);
  return { validEnd, size: buf.length };
}

/** Applies every record of `buf`; returns where a torn tail starts, or `buf.length`. */
function scanRecords(buf: Buffer, path: string, log: ReplayLog, isLast: boolean): number {
  let offset = 0;
  while (offset < buf.length) {
    const frame = readFrame(buf, offset);
    if (!frame.ok) {
      if (isLast && isTornTail(buf, offset, frame.end, log.lastIndex)) return offset;
      throw new WalCorruptionError(path, offset, describeInvalid(frame.reason, isLast));
    }
    const decoded = decodePayload(frame.type, frame.payload);
    if (!decoded.ok) throw new WalCorruptionError(path, offset, decoded.reason);
    const gap = log.apply(decoded.record, offset === 0);
    if (gap !== null) throw new WalCorruptionError(path, offset, gap);
    offset = frame.end;
  }
  return offset;
}

function describeInvalid(reason: string, isLast: boolean): string {
  return isLast
    ? `${reason}, and data follows it, so it is not a torn write`
    : `${reason} in a segment that is not the last, so it is not a torn write`;
}

async function truncateDurably(path: string, length: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The log as replay builds it. An entry at index i replaces every entry at or after i
 * (the leader overwrote a conflicting suffix) and must not leave a gap. A log-start record
 * that does not continue the log replayed so far (a snapshot replaced the log, or older
 * segments were deleted) starts the log afresh after its (prevIndex, prevTerm).
 */
class ReplayLog {
  entries: Entry[] = [];
  hardState: HardState = EMPTY_HARD_STATE;
  offset = 0;
  offsetTerm = 0;
  /** prevIndex of the current segment's log-start record, -1 if it has none. */
  segmentStart = -1;
  /** Lowest entry index in the current segment. */
  segmentLow = Number.POSITIVE_INFINITY;

  get lastIndex(): number {
    return this.offset + this.entries.length;
  }

  get lastTerm(): number {
    return this.entries.at(-1)?.term ?? this.offsetTerm;
  }

  /** Applies one record; returns why it cannot be applied (a gap), or null. */
  apply(record: WalRecord, atSegmentStart: boolean): string | null {
    if (record.type === RecordType.HardState) {
      this.hardState = record.hardState;
      return null;
    }
    if (record.type === RecordType.LogStart) {
      if (!atSegmentStart) return "log-start record in the middle of a segment";
      this.segmentStart = record.prevIndex;
      this.startAt(record.prevIndex, record.prevTerm);
      return null;
    }
    return this.appendEntry(record.entry);
  }

  private startAt(prevIndex: number, prevTerm: number): void {
    if (this.lastIndex === prevIndex && this.lastTerm === prevTerm) return;
    this.entries = [];
    this.offset = prevIndex;
    this.offsetTerm = prevTerm;
  }

  private appendEntry(entry: Entry): string | null {
    const last = this.lastIndex;
    if (entry.index > last + 1) {
      return `gap in the log: entry ${entry.index} after ${last}`;
    } else if (entry.index <= this.offset) {
      return `entry ${entry.index} overwrites the compacted log (which ends at ${this.offset})`;
    }
    this.entries.length = entry.index - this.offset - 1;
    this.entries.push(entry);
    this.segmentLow = Math.min(this.segmentLow, entry.index);
    return null;
  }
}
