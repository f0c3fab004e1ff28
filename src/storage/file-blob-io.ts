/**
 * The real blob store: one file per upload in `<data-dir>/state/blobs/` (see blob-io.ts).
 * Writes are plain positional writes (the page cache absorbs them); `sync` fdatasyncs
 * each named blob and, when one of them is new, the directory, so a blob's name is as
 * durable as its bytes before the WAL record naming them is written. Descriptors are
 * cached (a bounded number, least recently used closed first) because an upload writes
 * its blob a megabyte at a time and a download reads it the same way.
 */
import { constants } from "node:fs";
import { type FileHandle, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { BlobHandles } from "./blob-handles.ts";
import { assertBlobName, BLOB_NAME_PATTERN, type BlobIo } from "./blob-io.ts";
import { fsyncDir, mkdirDurable, writevFully } from "./fsync.ts";
import { FILE_MODE } from "./modes.ts";

/** Descriptors kept open by default: a few dozen uploads and downloads at once. */
export const DEFAULT_MAX_OPEN_BLOBS = 64;

/** {@link BlobIo} over a directory of files. */
export class FileBlobIo implements BlobIo {
  private readonly handles: BlobHandles;
  /** Blobs created since their directory was last synced. */
  private readonly fresh = new Set<string>();
  private dirReady: Promise<void> | null = null;

  constructor(
    /** The blobs directory (created on first write). */
    readonly dir: string,
    maxOpen = DEFAULT_MAX_OPEN_BLOBS,
  ) {
    this.handles = new BlobHandles(maxOpen, (name, create) => this.openBlob(name, create));
  }

  /** See {@link BlobIo.write}. */
  async write(name: string, offset: number, data: Uint8Array): Promise<void> {
    assertBlobName(name);
    await this.handles.use(name, true, (h) => writevFully(h, [data], offset));
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
