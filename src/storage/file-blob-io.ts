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
 */
import { constants } from "node:fs";
import { type FileHandle, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { AlignedSlots, isDirectWritable } from "./aligned-slots.ts";
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
    if (o.direct === false) this.slots = null;
  }

  /** Writes that went to the disk by direct I/O so far (tests, metrics). */
  get directWrites(): number {
    return this.directWriteCount;
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

  /** See {@link BlobIo.read}. */
  async read(name: string, offset: number, length: number): Promise<Buffer> {
    assertBlobName(name);
    const out = Buffer.allocUnsafe(length);
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
    return out;
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
