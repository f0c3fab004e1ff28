/**
 * A second, independent copy of the node's term and vote: `wal/HARDSTATE`.
 *
 * Why: the WAL writes the hard state as its last record, and a crash can tear the last
 * record, so replay must forgive a bad checksum at the very end of the log. A bit flip
 * in an acknowledged last record looks the same, and dropping it would bring the node
 * back with an older term or vote than it acted on: it could vote twice in one term.
 * Term and vote change rarely (elections only), so they are also kept here, written
 * and synced BEFORE the WAL save that carries them, and so before any message that
 * depends on them is sent. One extra sync per election, none per put.
 *
 * The file has two fixed slots, each in its own 4 KiB block so a torn write of one can
 * never touch the other, written alternately (like TigerBeetle's superblock copies):
 *
 *     slot (little-endian): u32 magic "DFSH" | u32 crc32(seq..vote) | u64 seq | u64 term | u64 vote
 *
 * A write goes to the slot the newest one is NOT in, so a torn write can only damage the
 * slot being written, while the other still holds the previous value — and that value is
 * all anyone was told, since the write had not returned. At open, the newest intact slot
 * and the WAL's hard state are reconciled (see {@link reconcileHardState}).
 */
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { HardState } from "../raft/index.ts";
import { writeFileAtomic } from "./fsync.ts";
import { WalCorruptionError } from "./wal-errors.ts";
import { readU64 } from "./wal-record.ts";

/** Name of the file inside the WAL directory. */
export const HARD_STATE_FILE = "HARDSTATE";
/** Each slot starts a block of this size: a torn write stays inside one block. */
export const SLOT_BYTES = 4096;
const MAGIC = 0x48534644; // "DFSH" read as a little-endian u32
/** Bytes of a slot that carry data. */
export const SLOT_DATA_BYTES = 32;
const TWO_32 = 2 ** 32;

/** Term and vote as one slot holds them; `seq` orders writes (the higher is newer). */
export interface VoteRecord {
  readonly seq: number;
  readonly term: number;
  readonly vote: number;
}

/** What the file held at open: its newest intact slot, and which slots failed their check. */
export interface HardStateCopies {
  /** null when neither slot is intact. */
  readonly newest: VoteRecord | null;
  readonly badSlots: readonly number[];
}

/** Encodes one slot (its data part; the rest of the block stays as it is). */
export function encodeSlot(record: VoteRecord): Buffer {
  const buf = Buffer.alloc(SLOT_DATA_BYTES);
  buf.writeUInt32LE(MAGIC, 0);
  writeU64(buf, 8, record.seq);
  writeU64(buf, 16, record.term);
  writeU64(buf, 24, record.vote);
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
  return buf;
}

/** Decodes a slot; null if its magic, checksum or values are wrong. */
export function decodeSlot(buf: Buffer): VoteRecord | null {
  if (buf.length < SLOT_DATA_BYTES || buf.readUInt32LE(0) !== MAGIC) return null;
  if (buf.readUInt32LE(4) !== crc32(buf.subarray(8, SLOT_DATA_BYTES))) return null;
  const seq = readU64(buf, 8);
  const term = readU64(buf, 16);
  const vote = readU64(buf, 24);
  if (seq < 0 || term < 0 || vote < 0) return null;
  return { seq, term, vote };
}

/** The two-slot file of one WAL directory. Not safe for concurrent writes (the WAL serializes). */
export class HardStateFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private newest: VoteRecord,
  ) {}

  /**
   * Opens the file in `dir`, creating it (atomically, both slots holding `initial`) if
   * missing: a new WAL, or one written before this file existed. Returns what it held.
   */
  static async open(
    dir: string,
    initial: HardState,
  ): Promise<{ file: HardStateFile; copies: HardStateCopies }> {
    const path = join(dir, HARD_STATE_FILE);
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDWR | constants.O_DSYNC);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      await create(path, { seq: 1, term: initial.term, vote: initial.vote });
      handle = await open(path, constants.O_RDWR | constants.O_DSYNC);
    }
    try {
      const copies = await readCopies(handle, path);
      const newest = copies.newest ?? { seq: 0, term: 0, vote: 0 };
      return { file: new HardStateFile(path, handle, newest), copies };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** The newest term and vote written (or found at open). */
  get current(): VoteRecord {
    return this.newest;
  }

  /**
   * Durably records `term` and `vote` in the slot the newest copy is not in; resolves once
   * synced (the file is O_DSYNC). On failure the newest copy is still the previous one.
   */
  async write(term: number, vote: number): Promise<void> {
    const record = { seq: this.newest.seq + 1, term, vote };
    const data = encodeSlot(record);
    let at = 0;
    while (at < data.length) {
      const { bytesWritten } = await this.handle.write(
        data,
        at,
        data.length - at,
        slotOffset(record.seq) + at,
      );
      if (bytesWritten <= 0) throw new Error(`write of ${HARD_STATE_FILE} wrote ${bytesWritten}`);
      at += bytesWritten;
    }
    this.newest = record;
  }

  /** Closes the file; every completed write is already durable. */
  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * The term and vote the node comes back with: the newest of the file's intact slot and the
 * WAL's hard state (the commit index only the WAL knows). Because the file is written
 * before the WAL, the file is never legitimately older than the WAL, and:
 *
 * - the file newer than the WAL: a crash between the two writes, or the WAL's last
 *   hard-state record was lost (torn, or flipped and taken for torn): the file has the
 *   value that may have been acted on;
 * - the file older than the WAL, or both slots damaged: a slot whose write had completed
 *   (the WAL write after it returned) was damaged later. That is not a torn write, so it
 *   is corruption: refuse to start, naming the file and the slot.
 */
export function reconcileHardState(
  path: string,
  copies: HardStateCopies,
  wal: HardState,
): HardState {
  const newest = copies.newest;
  if (newest === null) {
    throw new WalCorruptionError(path, 0, "both copies of the term and vote fail their checksums");
  }
  if (covers(newest, wal)) return { term: newest.term, vote: newest.vote, commit: wal.commit };
  const damaged = copies.badSlots.map((s) => `slot at byte ${s * SLOT_BYTES}`).join(", ");
  throw new WalCorruptionError(
    path,
    (copies.badSlots[0] ?? 0) * SLOT_BYTES,
    `its newest intact copy says term ${newest.term} vote ${newest.vote}, older than the WAL's ` +
      `term ${wal.term} vote ${wal.vote}, which is written after it` +
      (damaged === "" ? " (was the file replaced by an older copy?)" : ` (damaged: ${damaged})`),
  );
}

/** True when `file` is at least as new as `wal`: a later term, or the same term and vote. */
function covers(file: VoteRecord, wal: HardState): boolean {
  if (file.term !== wal.term) return file.term > wal.term;
  return file.vote === wal.vote || wal.vote === 0;
}

async function create(path: string, record: VoteRecord): Promise<void> {
  const buf = Buffer.alloc(2 * SLOT_BYTES);
  encodeSlot(record).copy(buf, slotOffset(record.seq));
  encodeSlot({ ...record, seq: record.seq - 1 }).copy(buf, slotOffset(record.seq - 1));
  await writeFileAtomic(path, buf);
}

async function readCopies(handle: FileHandle, path: string): Promise<HardStateCopies> {
  const buf = Buffer.alloc(2 * SLOT_BYTES);
  const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
  if (bytesRead < SLOT_BYTES + SLOT_DATA_BYTES) {
    throw new WalCorruptionError(
      path,
      bytesRead,
      `only ${bytesRead} bytes, shorter than two slots`,
    );
  }
  let newest: VoteRecord | null = null;
  const badSlots: number[] = [];
  for (const slot of [0, 1]) {
    const record = decodeSlot(buf.subarray(slot * SLOT_BYTES, slot * SLOT_BYTES + SLOT_DATA_BYTES));
    if (record === null || slotOffset(record.seq) !== slot * SLOT_BYTES) badSlots.push(slot);
    else if (newest === null || record.seq > newest.seq) newest = record;
  }
  return { newest, badSlots };
}

/** Where the slot for write number `seq` starts: writes alternate between the two. */
function slotOffset(seq: number): number {
  return (seq % 2) * SLOT_BYTES;
}

function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}
