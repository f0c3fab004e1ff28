/**
 * Telling a torn tail from corruption. A crash in the middle of a write leaves the last
 * segment ending in a partial record, possibly padded with zeros by the file system;
 * that record was never acknowledged and may be cut off. Anything else that fails to
 * parse may hold acknowledged data and must stop the node.
 */
import {
  ENTRY_FIXED_BYTES,
  HARD_STATE_BYTES,
  HEADER_BYTES,
  RecordType,
  readFrame,
  readU64,
} from "./wal-record.ts";

/**
 * True when the invalid record at `offset` of the LAST segment is a torn write: only
 * zero bytes follow its end (when its length is readable and fits), and no plausible
 * valid record starts anywhere after its header.
 *
 * Why the scan: the length field is not covered by the checksum. A bit flip that makes
 * an acknowledged record's length run past EOF looks exactly like a torn record unless
 * we notice the valid records that still follow it. A record is plausible if its framing
 * and checksum are valid and, for an entry, its index could continue the log replayed so
 * far (`lastIndex`, 0 if empty); that filter keeps the scan cheap on ordinary data.
 */
// Module-local copies for the per-byte scan: an imported binding can compile to a getter
// call (tsx emits CommonJS-style exports), which made the scan 10x slower.
const HEADER = HEADER_BYTES;
const ENTRY = RecordType.Entry;
const HARD_STATE = RecordType.HardState;

export function isTornTail(
  buf: Buffer,
  offset: number,
  end: number | null,
  lastIndex: number,
): boolean {
  if (end !== null && !isAllZero(buf, end)) return false;
  for (let p = offset + HEADER; p + HEADER <= buf.length; p++) {
    if (isPlausibleRecord(buf, p, lastIndex)) return false;
  }
  return true;
}

function isAllZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

function isPlausibleRecord(buf: Buffer, p: number, lastIndex: number): boolean {
  const type = buf[p + HEADER - 1]; // checked first: it rejects almost every offset
  if (type !== ENTRY && type !== HARD_STATE) return false;
  const length = buf.readUInt32LE(p);
  if (p + HEADER_BYTES + length > buf.length) return false;
  if (type === HARD_STATE && length !== HARD_STATE_BYTES) return false;
  if (type === ENTRY) {
    if (length < ENTRY_FIXED_BYTES) return false;
    if (!isPlausibleIndex(readU64(buf, p + HEADER_BYTES + 8), lastIndex)) return false;
  }
  return readFrame(buf, p).ok;
}

/** The first entry after a lost record is at most two past the last good one. */
function isPlausibleIndex(index: number, lastIndex: number): boolean {
  if (index < 1) return false;
  return lastIndex === 0 || index <= lastIndex + 2;
}
