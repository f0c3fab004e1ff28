/**
 * Where uploads come from and downloads go: the shapes an upload source may take, and
 * the atomic write of a downloaded file (temporary file, sync, verify, rename).
 */
import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DfsError } from "../api/index.ts";
import { fsyncDir } from "../storage/fsync.ts";
import type { UploadSource } from "./dfs-client.ts";
import { toDfsError } from "./grpc-errors.ts";

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
