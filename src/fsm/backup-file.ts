/**
 * The backup file (`dfs snapshot save`): the snapshot image of a whole store, framed with
 * what a restore needs to know and sealed so that any change is refused. Integers are
 * little-endian; the layout (docs/backup.md#the-backup-file-format):
 *
 *     magic    "DFSBAK01" (8 bytes)
 *     frame*   u8 kind | u32 length | payload
 *                kind 1 header   SnapshotHeader (proto/dfs.proto), exactly once, first
 *                kind 2 data     one snapshot image chunk (snapshot-image.ts), any number
 *                kind 3 trailer  SnapshotTrailer (proto/dfs.proto), exactly once, last
 *     seal     SHA-256 of every byte before it (32 bytes), then the end of the file
 *
 * The seal covers magic, header, data and trailer, so a flipped bit anywhere, a cut or
 * an appended byte is found; the trailer's counts are checked against the records too,
 * and every record carries its own CRC (lmdb-records.ts), so a damaged file is refused
 * before anything is built from it. Frames are read one at a time: memory stays at about
 * one image chunk whatever the store's size.
 */
import { createHash, type Hash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { StartupError } from "../api/index.ts";
import { SnapshotHeader, SnapshotTrailer } from "../gen/dfs.ts";

/** The first 8 bytes of every backup file (format version 1). */
export const BACKUP_MAGIC = Buffer.from("DFSBAK01", "latin1");

/** Frame kinds. */
export const FrameKind = { header: 1, data: 2, trailer: 3 } as const;

/** Bytes of a frame's kind and length. */
const FRAME_HEAD_BYTES = 5;
/** Bytes of the seal. */
export const SEAL_BYTES = 32;
/**
 * Largest frame a reader accepts: image chunks are about 1 MiB (one record may exceed
 * the target a little), so a length past this is damage, refused before allocating it.
 */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** One frame of a backup, in file order. */
export type BackupFrame =
  | { readonly kind: "header"; readonly header: SnapshotHeader }
  | { readonly kind: "data"; readonly chunk: Buffer }
  /** `seal`: the file's SHA-256 in hex, set by the reader once it checked it. */
  | { readonly kind: "trailer"; readonly trailer: SnapshotTrailer; readonly seal?: string };

/** A damaged or truncated backup: exit code "corrupt", one line naming file and reason. */
export function backupCorrupt(path: string, reason: string): StartupError {
  return new StartupError("corrupt", `backup ${path} is damaged: ${reason}; it cannot be used`);
}

/** Appends frames to an open file, hashing every byte for the seal. */
export class BackupFileWriter {
  private readonly hash: Hash = createHash("sha256");
  /** Bytes written so far. */
  bytes = 0;

  constructor(private readonly handle: FileHandle) {}

  /** Writes the magic; call once, first. */
  async begin(): Promise<void> {
    await this.put([BACKUP_MAGIC]);
  }

  /** Writes one frame. */
  async frame(frame: BackupFrame): Promise<void> {
    const payload = framePayload(frame);
    const head = Buffer.allocUnsafe(FRAME_HEAD_BYTES);
    head.writeUInt8(FrameKind[frame.kind], 0);
    head.writeUInt32LE(payload.length, 1);
    await this.put([head, payload]);
  }

  /** Writes the seal (after the trailer) and returns it as hex. */
  async seal(): Promise<string> {
    const digest = this.hash.digest();
    await this.handle.write(digest);
    this.bytes += digest.length;
    return digest.toString("hex");
  }

  private async put(parts: Buffer[]): Promise<void> {
    for (const p of parts) this.hash.update(p);
    const total = parts.reduce((n, p) => n + p.length, 0);
    this.bytes += total;
    let written = (await this.handle.writev(parts)).bytesWritten;
    // writev may write less than asked (a huge buffer, a signal): finish what is left.
    if (written < total) {
      const all = Buffer.concat(parts);
      while (written < total) written += (await this.handle.write(all, written)).bytesWritten;
    }
  }
}

function framePayload(frame: BackupFrame): Buffer {
  switch (frame.kind) {
    case "header":
      return Buffer.from(SnapshotHeader.encode(frame.header).finish());
    case "trailer":
      return Buffer.from(SnapshotTrailer.encode(frame.trailer).finish());
    case "data":
      return frame.chunk;
  }
}

/**
 * Reads the frames of the backup at `path` in order, checking the framing as it goes and
 * the seal at the end: the last frame is yielded only once the whole file proved intact,
 * so a consumer that reaches the trailer has read an undamaged file. Throws
 * {@link backupCorrupt} (exit 7) for any damage or truncation.
 */
export async function* readBackupFrames(
  path: string,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<BackupFrame> {
  const handle = await openBackup(path);
  try {
    const size = (await handle.stat()).size;
    const reader = new FrameReader(handle, path, size, onBytes);
    yield* reader.frames();
  } finally {
    await handle.close();
  }
}

async function openBackup(path: string): Promise<FileHandle> {
  try {
    return await open(path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new StartupError("config", `cannot read backup ${path}: ${code || String(err)}`);
  }
}

class FrameReader {
  private readonly hash: Hash = createHash("sha256");
  private position = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
    private readonly size: number,
    private readonly onBytes?: (bytes: number) => void,
  ) {}

  async *frames(): AsyncGenerator<BackupFrame> {
    if (this.size < BACKUP_MAGIC.length + SEAL_BYTES)
      throw this.corrupt(`only ${this.size} bytes (truncated?)`);
    const magic = await this.read(BACKUP_MAGIC.length);
    if (!magic.equals(BACKUP_MAGIC)) throw this.corrupt("not a dfs backup (bad magic)");
    let index = 0;
    for (;;) {
      const frame = await this.next(index++);
      if (frame.kind === "trailer") {
        yield { ...frame, seal: await this.checkSeal() };
        return;
      }
      yield frame;
    }
  }

  private async next(index: number): Promise<BackupFrame> {
    if (this.position + FRAME_HEAD_BYTES + SEAL_BYTES > this.size)
      throw this.corrupt(`truncated at byte ${this.position} (no trailer)`);
    const head = await this.read(FRAME_HEAD_BYTES);
    const kind = head.readUInt8(0);
    const length = head.readUInt32LE(1);
    if (length > MAX_FRAME_BYTES || this.position + length + SEAL_BYTES > this.size)
      throw this.corrupt(`frame at byte ${this.position - FRAME_HEAD_BYTES} runs past the end`);
    const payload = await this.read(length);
    if ((index === 0) !== (kind === FrameKind.header))
      throw this.corrupt(`frame ${index} has kind ${kind}; the header must come first, once`);
    if (kind === FrameKind.header)
      return { kind: "header", header: this.decode(payload, SnapshotHeader, "header") };
    if (kind === FrameKind.data) return { kind: "data", chunk: payload };
    if (kind === FrameKind.trailer)
      return { kind: "trailer", trailer: this.decode(payload, SnapshotTrailer, "trailer") };
    throw this.corrupt(`unknown frame kind ${kind} at byte ${this.position - length - 5}`);
  }

  /** Decodes a header or trailer; damage that protobuf notices is "corrupt" too. */
  private decode<T>(payload: Buffer, codec: { decode(b: Uint8Array): T }, what: string): T {
    try {
      return codec.decode(payload);
    } catch (err) {
      throw this.corrupt(`unreadable ${what}: ${String(err)}`);
    }
  }

  private async checkSeal(): Promise<string> {
    if (this.position + SEAL_BYTES !== this.size)
      throw this.corrupt(
        `${this.size - this.position - SEAL_BYTES} unexpected bytes after the trailer`,
      );
    const expected = this.hash.digest();
    const { buffer } = await this.handle.read(
      Buffer.alloc(SEAL_BYTES),
      0,
      SEAL_BYTES,
      this.position,
    );
    if (!buffer.equals(expected))
      throw this.corrupt("SHA-256 seal mismatch (the file was changed after it was written)");
    return expected.toString("hex");
  }

  private async read(length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.handle.read(buf, got, length - got, this.position + got);
      if (bytesRead === 0) throw this.corrupt(`truncated at byte ${this.position + got}`);
      got += bytesRead;
    }
    this.position += length;
    this.hash.update(buf);
    this.onBytes?.(this.position);
    return buf;
  }

  private corrupt(reason: string): StartupError {
    return backupCorrupt(this.path, reason);
  }
}
