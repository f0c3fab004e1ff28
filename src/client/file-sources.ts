/**
 * Where uploads come from and downloads go: the shapes an upload source may take, and
 * the atomic write of a downloaded file (temporary file, sync, verify, rename).
 */
import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DfsError } from "../api/index.ts";
import { toDfsError } from "./grpc-errors.ts";

/**
 * What to upload: bytes, a function that opens the content (so a failed upload can be
 * retried from the start on the new leader), or a one-shot stream (retried only if it
 * failed before any byte was read).
 */
export type UploadSource =
  | Uint8Array
  | (() => AsyncIterable<Uint8Array>)
  | AsyncIterable<Uint8Array>;

/** A fresh iterable over the source's bytes (bytes and functions can be opened again). */
export function openSource(source: UploadSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array)
    return (async function* () {
      yield source;
    })();
  if (typeof source === "function") return source();
  return source;
}

/** Whether a failed upload can start again from the first byte. */
export function isReplayable(source: UploadSource): boolean {
  return source instanceof Uint8Array || typeof source === "function";
}

/** The error of an upload that failed mid-stream with a source that cannot be re-read. */
export function notRetryable(err: unknown): DfsError {
  const e = toDfsError(err);
  return new DfsError(
    e.code,
    `${e.message} (upload not retried: its source is a stream that cannot be read again; nothing was stored)`,
    e.leaderHint,
  );
}

/** Writes `chunks` to `path` atomically; the partial file is removed on failure. */
export async function writeFileAtomically(
  path: string,
  chunks: AsyncIterable<Buffer>,
  onProgress: (bytes: number) => void,
): Promise<void> {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.dfs-${randomBytes(4).toString("hex")}.partial`,
  );
  const handle = await open(tmp, "wx", 0o644);
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      await handle.write(chunk);
      bytes += chunk.length;
      onProgress(bytes);
    }
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
    await fsyncDir(dirname(path));
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw error; // a local file-system error stays one: the caller can tell it apart
  }
}

/**
 * Syncs a directory so a file renamed into it survives a crash (fsync of the file does
 * not persist its name). A local copy of storage's helper: the client library ships
 * without the server's storage layer.
 */
async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
