/**
 * A look at an LMDB file before LMDB maps it. LMDB trusts its file: a store truncated by
 * a bad copy or a full disk makes the first read past the end of the mapping kill the
 * process with SIGBUS, and a garbled meta page can point anywhere (SIGSEGV). Neither is
 * an error an operator can act on, so the parts LMDB reads at open are checked here
 * first and anything wrong is one line: StartupError("corrupt").
 *
 * What is checked, from LMDB's on-disk format (mdb.c, `MDB_page_header` and `MDB_meta`;
 * little-endian, 64-bit page numbers, as lmdb-js builds it):
 *
 *     page header (24 bytes): u64 pgno | u64 txnid | u16 pad | u16 flags | u32 lower/upper
 *     meta (after the header): u32 magic 0xBEEFC0DE | u32 version | u64 address
 *       | u64 mapsize | 2 x db (48 bytes: u32 pad = page size for the first | u16 flags
 *       | u16 depth | 3 x u64 page counts | u64 entries | u64 root) | u64 last_pg | u64 txnid
 *
 * Meta copies sit at offset 0 and at one page size, and with lmdb-js's overlapping sync
 * (flag 0x1000) also at half a page. LMDB uses the copy with the highest txnid, so that
 * copy must be sane: its page size a power of two, its roots inside the used pages, and
 * the file long enough to hold every page up to its last used page. Almost always a
 * shorter file is a truncated one, but not quite always: a page allocated at the end and
 * freed again in the same transaction ("loose") can be counted without ever being
 * written. So a short file whose roots are inside it is read whole in a child process
 * (lmdb-probe.mjs): if a page the tree uses is missing, the child dies of SIGBUS and the
 * store is corrupt; if it reads everything, the missing tail was free pages and the
 * store is fine. Only a short file pays for that read.
 *
 * Damage deeper in the tree is left to LMDB's own page checks (MDB_CORRUPTED) and to our
 * per-record checksums (lmdb-records.ts); an error from either at open is "corrupt" too.
 */
import { execFile } from "node:child_process";
import { type FileHandle, open } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { StartupError } from "../api/index.ts";

const PROBE = fileURLToPath(new URL("./lmdb-probe.mjs", import.meta.url));

const PAGE_HEADER_BYTES = 24;
const P_META = 0x08;
const MAGIC = 0xbeefc0de;
const DATA_VERSION = 2;
const OVERLAPPING_SYNC = 0x1000;
/** Offsets inside a meta (after the page header). */
const META = {
  magic: 0,
  version: 4,
  psize: 24,
  flags: 28,
  roots: [64, 112],
  lastPg: 120,
  txnid: 128,
};
const META_BYTES = 136;
const MIN_PAGE = 512;
const MAX_PAGE = 0x10000;

/** One meta copy as read from the file. */
interface MetaCopy {
  readonly offset: number;
  readonly txnid: bigint;
  readonly lastPg: bigint;
  readonly roots: readonly bigint[];
}

/**
 * Checks the LMDB file at `path` (absent or empty: a new store, nothing to check).
 * Throws StartupError: "corrupt" for a damaged or truncated file, "data_dir" when it
 * cannot be read at all (permissions).
 */
export async function checkLmdbFile(path: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new StartupError("data_dir", `cannot read the state store ${path}: ${errorText(err)}`);
  }
  try {
    const size = (await handle.stat()).size;
    if (size === 0) return; // LMDB had not written its first meta yet: a new store
    const finding = await findProblem(handle, size);
    const problem =
      finding === null || typeof finding === "string" ? finding : await probe(path, finding);
    if (problem !== null) {
      throw new StartupError(
        "corrupt",
        `corrupt state store: ${path}: ${problem}; refusing to start ` +
          "(restore this node's data dir, or wipe it and re-add the node)",
      );
    }
  } finally {
    await handle.close();
  }
}

/** A file shorter than its meta says, whose roots are inside it: needs a full read to judge. */
interface ShortFile {
  readonly short: string;
}

/** Reads the whole store in a child process: null if it could, else why it is corrupt. */
async function probe(path: string, finding: ShortFile): Promise<string | null> {
  try {
    await promisify(execFile)(process.execPath, [PROBE, path], { maxBuffer: 1024 * 1024 });
    return null;
  } catch (err) {
    const { signal, code } = err as { signal?: string | null; code?: number | string };
    return `${finding.short}, and reading it failed (${signal ?? `exit ${code}`}): pages it uses are missing`;
  }
}

async function findProblem(handle: FileHandle, size: number): Promise<string | ShortFile | null> {
  const first = await readAt(handle, 0, PAGE_HEADER_BYTES + META_BYTES);
  if (first === null) return `only ${size} bytes, shorter than its first meta page`;
  const header = checkMetaPage(first, 0);
  if (header !== null) return header;
  const psize = first.readUInt32LE(PAGE_HEADER_BYTES + META.psize);
  if (psize < MIN_PAGE || psize > MAX_PAGE || (psize & (psize - 1)) !== 0)
    return `meta page names an impossible page size ${psize}`;
  const flags = first.readUInt16LE(PAGE_HEADER_BYTES + META.flags);
  const offsets = flags & OVERLAPPING_SYNC ? [0, psize / 2, psize] : [0, psize];
  const copies: MetaCopy[] = [];
  for (const offset of offsets) {
    const page = await readAt(handle, offset, PAGE_HEADER_BYTES + META_BYTES);
    if (page === null) return `only ${size} bytes: the meta page at byte ${offset} is cut off`;
    if (offset === psize) {
      const bad = checkMetaPage(page, offset);
      if (bad !== null) return bad;
    }
    copies.push(readMeta(page, offset));
  }
  const latest = copies.reduce((a, b) => (b.txnid > a.txnid ? b : a));
  const lastPg = latest.lastPg;
  if (lastPg < 1n || lastPg > 2n ** 40n)
    return `meta at byte ${latest.offset} names an impossible last page ${lastPg}`;
  for (const root of latest.roots) {
    if (root !== P_INVALID && (root < 2n || root > lastPg))
      return `meta at byte ${latest.offset} names root page ${root} outside pages 2..${lastPg}`;
  }
  const needed = (lastPg + 1n) * BigInt(psize);
  if (BigInt(size) >= needed) return null;
  const short = `truncated: ${size} bytes, but its meta (txn ${latest.txnid}) uses pages up to ${lastPg}, ${needed} bytes`;
  const pagesInFile = BigInt(size) / BigInt(psize);
  if (latest.roots.some((root) => root !== P_INVALID && root >= pagesInFile)) return short;
  return { short };
}

const P_INVALID = 2n ** 64n - 1n;

function checkMetaPage(page: Buffer, offset: number): string | null {
  if ((page.readUInt16LE(18) & P_META) === 0)
    return `the page at byte ${offset} is not a meta page`;
  if (page.readUInt32LE(PAGE_HEADER_BYTES + META.magic) !== MAGIC)
    return `the meta page at byte ${offset} lacks LMDB's magic number (not an LMDB file, or garbled)`;
  const version = page.readUInt32LE(PAGE_HEADER_BYTES + META.version) & 0xffff;
  if (version !== DATA_VERSION)
    return `the meta page at byte ${offset} has format version ${version}, expected ${DATA_VERSION}`;
  return null;
}

function readMeta(page: Buffer, offset: number): MetaCopy {
  const at = (field: number) => page.readBigUInt64LE(PAGE_HEADER_BYTES + field);
  return {
    offset,
    txnid: at(META.txnid),
    lastPg: at(META.lastPg),
    roots: META.roots.map((r) => at(r)),
  };
}

/** `length` bytes at `position`, or null if the file ends before. */
async function readAt(
  handle: FileHandle,
  position: number,
  length: number,
): Promise<Buffer | null> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, position);
  return bytesRead === length ? buf : null;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ");
}
