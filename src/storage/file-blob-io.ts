/**
 * The real blob store: one file per upload in `<data-dir>/state/blobs/` (see blob-io.ts).
 * Writes are plain positional writes (the page cache absorbs them); `sync` fdatasyncs
 * each named blob and, when one of them is new, the directory, so a blob's name is as
 * durable as its bytes before the WAL record naming them is written. Descriptors are
 * cached (a bounded number, least recently used closed first) because an upload writes
 * its blob a megabyte at a time and a download reads it the same way.
 *
 * Whole chunks go to the disk by direct I/O (O_DIRECT, through an aligned slot, see
 * aligned-slots.ts): three nodes sharing one disk write each byte three times, and through
 * the page cache three writers got 123–299 MB/s in total here (the kernel's copies and
 * writeback under load) against 718–1098 MB/s direct (bench/README.md, "The disk's
 * limit"). It also keeps file data out of the page cache that the node's resident set is
 * judged by. The fdatasync in `sync` is unchanged: a direct write is on the device but
 * its extent and size (and the device's write cache) are durable only after it. A tail
 * shorter than a block, and any file system that refuses O_DIRECT (tmpfs), takes the
 * page cache as before.
 *
 * Large reads come off the disk the same way (a download's sequential reads of a few
 * chunks): O_DIRECT into an aligned read slot, then one copy out. Uncached, one 4 MiB
 * read at a time came at 300-560 MiB/s through the page cache here and 800-1200 MiB/s
 * direct (bench/README.md, "Session 7"), and the blobs are written direct, so they are
 * rarely in the page cache to begin with. A read the slots cannot take (small, not
 * block-aligned, or refused by the file system) takes the page cache.
 */
import { constants } from "node:fs";
import { type FileHandle, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { AlignedSlots, DIRECT_ALIGN, isDirectWritable } from "./aligned-slots.ts";
import { BlobHandles } from "./blob-handles.ts";
import { assertBlobName, BLOB_NAME_PATTERN, type BlobIo } from "./blob-io.ts";
import { fsyncDir, mkdirDurable, writevFully } from "./fsync.ts";
import { FILE_MODE } from "./modes.ts";

/** Descriptors kept open by default: a few dozen uploads and downloads at once. */
export const DEFAULT_MAX_OPEN_BLOBS = 64;

/** Direct writes in flight per store (each holds a 1 MiB aligned slot: 8 MiB in all). */
const DIRECT_SLOTS = 8;
/** A slot holds one whole chunk. */
const DIRECT_SLOT_BYTES = 1024 * 1024;

/** Direct reads in flight per store (each holds a read slot: 8 MiB in all). */
const READ_SLOTS = 2;
/** A read slot holds one download read ahead (fsm/blob-reader.ts: 4 chunks). */
const READ_SLOT_BYTES = 4 * 1024 * 1024;
/** Reads smaller than this take the page cache (a unary get of a small tail, a probe). */
const DIRECT_READ_MIN_BYTES = 256 * 1024;

/** How a {@link FileBlobIo} writes whole chunks. */
export interface FileBlobIoOptions {
  /** Descriptors kept open ({@link DEFAULT_MAX_OPEN_BLOBS}). */
  readonly maxOpen?: number;
  /** Direct I/O for aligned writes when the file system allows it (true). */
  readonly direct?: boolean;
}

/** {@link BlobIo} over a directory of files. */
export class FileBlobIo implements BlobIo {
  private readonly handles: BlobHandles;
  /** O_DIRECT descriptors of the same files, for whole chunks. */
  private readonly directHandles: BlobHandles;
  /** Blobs created since their directory was last synced. */
  private readonly fresh = new Set<string>();
  private dirReady: Promise<void> | null = null;
  /** Aligned memory for direct writes: made on the first one; null once direct I/O is off. */
  private slots: AlignedSlots | null | undefined;
  private directWriteCount = 0;
  /** O_DIRECT read-only descriptors, for large aligned reads. */
  private readonly directReadHandles: BlobHandles;
  /** Aligned memory for direct reads: made on the first one; null once direct reads are off. */
  private readSlots: AlignedSlots | null | undefined;
  private directReadCount = 0;

  constructor(
    /** The blobs directory (created on first write). */
    readonly dir: string,
    o: FileBlobIoOptions = {},
  ) {
    const maxOpen = o.maxOpen ?? DEFAULT_MAX_OPEN_BLOBS;
    this.handles = new BlobHandles(maxOpen, (name, create) => this.openBlob(name, create));
    this.directHandles = new BlobHandles(maxOpen, (name) =>
      open(join(this.dir, name), constants.O_WRONLY | constants.O_DIRECT),
    );
    this.directReadHandles = new BlobHandles(maxOpen, (name) =>
      open(join(this.dir, name), constants.O_RDONLY | constants.O_DIRECT),
    );
    if (o.direct === false) {
      this.slots = null;
      this.readSlots = null;
    }
  }

  /** Writes that went to the disk by direct I/O so far (tests, metrics). */
  get directWrites(): number {
    return this.directWriteCount;
  }

  /** Reads (slot-sized pieces) that came off the disk by direct I/O so far (tests). */
  get directReads(): number {
    return this.directReadCount;
  }

  /** See {@link BlobIo.write}: direct I/O for a whole aligned chunk, else the page cache. */
  async write(name: string, offset: number, data: Uint8Array): Promise<void> {
    assertBlobName(name);
    if (isDirectWritable(offset, data.byteLength, DIRECT_SLOT_BYTES)) {
      const slots = this.directSlots();
      if (slots !== null && (await this.writeDirect(slots, name, offset, data))) return;
    }
    await this.handles.use(name, true, (h) => writevFully(h, [data], offset));
  }

  /** The slots, made on first use; null when direct I/O is off or cannot be had. */
  private directSlots(): AlignedSlots | null {
    if (this.slots === undefined) {
      try {
        this.slots = new AlignedSlots(DIRECT_SLOTS, DIRECT_SLOT_BYTES);
      } catch {
        this.slots = null; // no aligned memory (address space limit): the page cache it is
      }
    }
    return this.slots;
  }

  /**
   * Copies `data` into an aligned slot and writes it with O_DIRECT; false (nothing
   * written, direct I/O off from now on) when the file system refuses it.
   */
  private async writeDirect(
    slots: AlignedSlots,
    name: string,
    offset: number,
    data: Uint8Array,
  ): Promise<boolean> {
    // Created (and noted as new, for the directory sync) as every blob is.
    await this.handles.use(name, true, async () => undefined);
    const slot = await slots.acquire();
    try {
      slot.set(data);
      const length = data.byteLength;
      await this.directHandles.use(name, false, async (h) => {
        let done = 0;
        while (done < length) {
          const { bytesWritten } = await h.write(slot, done, length - done, offset + done);
          if (bytesWritten === 0) throw new Error(`blob ${name}: a direct write made no progress`);
          done += bytesWritten;
        }
      });
      this.directWriteCount++;
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException | null)?.code !== "EINVAL") throw error;
      this.slots = null; // O_DIRECT refused here: every later write takes the page cache
      await this.directHandles.closeAll();
      return false;
    } finally {
      slots.release(slot);
    }
  }

  /** See {@link BlobIo.sync}: fdatasync each blob, then the directory if one is new. */
  async sync(names: readonly string[]): Promise<void> {
    const unique = [...new Set(names)];
    for (const name of unique) assertBlobName(name);
    await Promise.all(unique.map((name) => this.handles.use(name, false, (h) => h.datasync())));
    if (!unique.some((name) => this.fresh.has(name))) return;
    for (const name of unique) this.fresh.delete(name);
    await fsyncDir(this.dir);
  }

  /** See {@link BlobIo.read}: large aligned reads direct, slot by slot, else the page cache. */
  async read(name: string, offset: number, length: number): Promise<Buffer> {
    assertBlobName(name);
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    if (offset % DIRECT_ALIGN === 0 && length >= DIRECT_READ_MIN_BYTES) {
      const slots = this.directReadSlots();
      if (slots !== null) done = await this.readDirect(slots, name, offset, out);
    }
    if (done < length) await this.readBuffered(name, offset + done, out.subarray(done));
    return out;
  }

  /** The read slots, made on first use; null when direct I/O is off or cannot be had. */
  private directReadSlots(): AlignedSlots | null {
    if (this.readSlots === undefined) {
      try {
        this.readSlots = new AlignedSlots(READ_SLOTS, READ_SLOT_BYTES);
      } catch {
        this.readSlots = null; // no aligned memory (address space limit): the page cache it is
      }
    }
    return this.readSlots;
  }

  /**
   * Fills `out` from `offset` with O_DIRECT reads through a slot, a slot at a time, and
   * returns how many bytes it filled: all of them, or fewer when the file system refused
   * O_DIRECT (direct reads off from now on) or a read came back short of a block, and
   * the caller reads the rest through the page cache (which also reports a short blob).
   */
  private async readDirect(
    slots: AlignedSlots,
    name: string,
    offset: number,
    out: Buffer,
  ): Promise<number> {
    let done = 0;
    while (done < out.length) {
      const want = Math.min(READ_SLOT_BYTES, out.length - done);
      // Whole blocks: a read past the end of the file just comes back short.
      const asked = Math.ceil(want / DIRECT_ALIGN) * DIRECT_ALIGN;
      const slot = await slots.acquire();
      try {
        const got = await this.directReadHandles.use(name, false, async (h) => {
          let n = 0;
          while (n < want) {
            const { bytesRead } = await h.read(slot, n, asked - n, offset + done + n);
            n += bytesRead;
            if (bytesRead === 0 || n % DIRECT_ALIGN !== 0) break;
          }
          return Math.min(n, want);
        });
        slot.copy(out, done, 0, got);
        done += got;
        this.directReadCount++;
        if (got < want) return done;
      } catch (error) {
        if ((error as NodeJS.ErrnoException | null)?.code !== "EINVAL") throw error;
        this.readSlots = null; // O_DIRECT refused here: every later read takes the page cache
        await this.directReadHandles.closeAll();
        return done;
      } finally {
        slots.release(slot);
      }
    }
    return done;
  }

  /** Fills `out` from `offset` through the page cache; throws if the blob ends first. */
  private async readBuffered(name: string, offset: number, out: Buffer): Promise<void> {
    const length = out.length;
    await this.handles.use(name, false, async (h) => {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await h.read(out, done, length - done, offset + done);
        if (bytesRead === 0) {
          throw new Error(
            `blob ${name} ends before ${offset + length} (read ${done} of ${length} bytes at ${offset})`,
          );
        }
        done += bytesRead;
      }
    });
  }

  /** See {@link BlobIo.size}. */
  async size(name: string): Promise<number | undefined> {
    assertBlobName(name);
    try {
      return (await stat(join(this.dir, name))).size;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** See {@link BlobIo.unlink}. */
  async unlink(name: string): Promise<void> {
    assertBlobName(name);
    await this.handles.forget(name);
    await this.directHandles.forget(name);
    await this.directReadHandles.forget(name);
    this.fresh.delete(name);
    try {
      await unlink(join(this.dir, name));
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    await fsyncDir(this.dir);
  }

  /** See {@link BlobIo.list}; files that are not blobs (a stray temp file) are left out. */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => BLOB_NAME_PATTERN.test(n)).sort();
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  /** See {@link BlobIo.closeAll}. */
  async closeAll(): Promise<void> {
    await this.handles.closeAll();
    await this.directHandles.closeAll();
    await this.directReadHandles.closeAll();
    this.fresh.clear();
    this.dirReady = null;
  }

  /** Opens a blob read-write; when missing, creates it (remembering it is new) or throws. */
  private async openBlob(name: string, create: boolean): Promise<FileHandle> {
    const path = join(this.dir, name);
    try {
      return await open(path, constants.O_RDWR);
    } catch (error) {
      if (!create || !isMissing(error)) throw error;
    }
    this.dirReady ??= mkdirDurable(this.dir);
    await this.dirReady.catch((error: unknown) => {
      this.dirReady = null;
      throw error;
    });
    const flags = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL;
    const handle = await open(path, flags, FILE_MODE).catch(async (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return open(path, constants.O_RDWR);
      throw error;
    });
    this.fresh.add(name);
    return handle;
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === "ENOENT";
}
