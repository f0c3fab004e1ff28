/**
 * Checks of what the caller hands to `Wal.save`, before anything is written. A batch
 * that breaks these rules would write a log that replay must reject as corrupt, so it is
 * refused up front, where the bug is, instead of at the next restart.
 */
import type { Entry, HardState } from "../raft/index.ts";
import { WalStateError } from "./wal-errors.ts";
import { ENTRY_FIXED_BYTES, MAX_PAYLOAD_BYTES } from "./wal-record.ts";

/**
 * Entries must be contiguous and ascending, and the first may not leave a gap after the
 * log's last index (`lastIndex`; a log that begins after a snapshot starts with a reset).
 * Starting at or below `lastIndex` is Raft's truncation, but never at or below `floor`:
 * entries the state machine already holds (compacted, or covered by a snapshot).
 */
export function checkEntries(entries: readonly Entry[], lastIndex: number, floor = 0): void {
  const first = entries[0];
  if (first === undefined) return;
  if (first.index > lastIndex + 1) {
    throw new WalStateError(`entry ${first.index} would leave a gap after ${lastIndex}`);
  }
  if (first.index <= floor) {
    throw new WalStateError(`entry ${first.index} would overwrite the compacted log (to ${floor})`);
  }
  entries.forEach((entry, i) => {
    if (entry.index !== first.index + i) {
      throw new WalStateError(`entries not contiguous at ${first.index + i}: got ${entry.index}`);
    }
    checkEntry(entry);
  });
}

function checkEntry(entry: Entry): void {
  if (!isU64(entry.term) || !isU64(entry.index) || entry.index < 1) {
    throw new WalStateError(`invalid entry term ${entry.term} / index ${entry.index}`);
  }
  if (entry.data.length > MAX_PAYLOAD_BYTES - ENTRY_FIXED_BYTES) {
    throw new WalStateError(`entry ${entry.index} too large: ${entry.data.length} bytes`);
  }
}

/** Every field must be a non-negative safe integer, the range the u64 encoding round-trips. */
export function checkHardState(hardState: HardState): void {
  const { term, vote, commit } = hardState;
  if (!isU64(term) || !isU64(vote) || !isU64(commit)) {
    throw new WalStateError(`invalid hard state term ${term} vote ${vote} commit ${commit}`);
  }
}

function isU64(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}
