/**
 * Getting value bytes in and out of the CLI. Values are bytes, never text: stdin and
 * files are read raw, output is written exactly (no added newline), and `-o` files
 * appear atomically so a reader never sees half a value.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { ReadStream } from "node:tty";
import { DfsError } from "../api/errors.ts";
import { MAX_VALUE_BYTES } from "../api/limits.ts";
import { UsageError } from "./usage-error.ts";

/** Where a put's value comes from, as given on the command line. */
export interface ValueSource {
  /** The VALUE argument: literal text, `-` for stdin, or absent (stdin too). */
  readonly argument?: string;
  /** `--file PATH`. */
  readonly file?: string;
}

/** File-system errors that mean "this path argument is wrong", not "dfs is broken". */
const PATH_ERRORS = new Set(["ENOENT", "EACCES", "EPERM", "EISDIR", "ENOTDIR", "EROFS"]);

/** Reads the value to put; oversized input fails with `too_large` before being read in full. */
export async function readValue(
  source: ValueSource,
  stdin: Readable = process.stdin,
): Promise<Uint8Array> {
  if (source.file !== undefined && source.argument !== undefined) {
    throw new UsageError("give either VALUE or --file, not both");
  }
  if (source.file !== undefined) return readValueFile(source.file);
  if (source.argument === undefined || source.argument === "-") {
    // A bare `dfs put KEY` at a terminal would otherwise look hung.
    if ((stdin as Partial<ReadStream>).isTTY) {
      process.stderr.write("dfs: reading the value from stdin; end it with Ctrl-D\n");
    }
    return readLimited(stdin);
  }
  return Buffer.from(source.argument, "utf8");
}

async function readValueFile(path: string): Promise<Uint8Array> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`--file ${path} is not a regular file`);
    if (info.size > MAX_VALUE_BYTES) throw tooLarge(`file ${path} is ${info.size} bytes`);
    return await readFile(path);
  } catch (err) {
    throw asPathError(err, `cannot read --file ${path}`);
  }
}

/** Reads a stream up to the value limit; stops (and fails) as soon as it is exceeded. */
async function readLimited(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    total += bytes.byteLength;
    if (total > MAX_VALUE_BYTES) {
      stream.destroy();
      throw tooLarge(`stdin holds more than ${MAX_VALUE_BYTES} bytes`);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(what: string): DfsError {
  return new DfsError("too_large", `${what}; a single put holds at most ${MAX_VALUE_BYTES} bytes`);
}

/**
 * Writes `bytes` to stdout exactly and waits until they are handed to the OS, so the
 * process can exit right after. A reader that went away (EPIPE) is not an error.
 */
export function writeExact(bytes: Uint8Array, out: Writable = process.stdout): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(bytes, (err) => {
      if (err && (err as NodeJS.ErrnoException).code !== "EPIPE") reject(err);
      else resolve();
    });
  });
}

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync,
 * then rename over the target. An interrupted get leaves the old file (or none), never
 * a truncated one.
 */
export async function writeFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw asPathError(err, `cannot write -o ${path}`);
  }
}

function asPathError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && PATH_ERRORS.has(code)) {
    return new UsageError(`${what}: ${(err as Error).message}`);
  }
  return err;
}
