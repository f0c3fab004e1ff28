/**
 * Getting bytes in and out of the CLI. Values are bytes, never text: stdin and files are
 * streamed raw (any size), output is written exactly (no added newline), and `-o` files
 * appear atomically (the client library writes a temporary file, verifies, renames).
 */
import { constants, createReadStream } from "node:fs";
import { access, stat } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import type { ReadStream } from "node:tty";
import { DfsError, FILE_CHUNK_BYTES, MAX_VALUE_BYTES } from "../api/index.ts";
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

/** What a put sends: a literal value (one unary put), or a stream (an upload of any size). */
export type PutSource =
  | { readonly kind: "literal"; readonly bytes: Uint8Array }
  | {
      readonly kind: "stream";
      /** A function for a file (re-readable, so a failed upload can start over), else stdin. */
      readonly open: (() => AsyncIterable<Uint8Array>) | AsyncIterable<Uint8Array>;
      /** Bytes to send, when known (a file), for the progress bar. */
      readonly size: number | undefined;
    };

/** Decides where a put's bytes come from; a bad --file is a usage error before any network. */
export async function uploadSource(
  source: ValueSource,
  stdin: Readable = process.stdin,
): Promise<PutSource> {
  if (source.file !== undefined && source.argument !== undefined) {
    throw new UsageError("give either VALUE or --file, not both");
  }
  if (source.file !== undefined) return fileSource(source.file);
  if (source.argument === undefined || source.argument === "-") {
    // A bare `dfs put KEY` at a terminal would otherwise look hung.
    if ((stdin as Partial<ReadStream>).isTTY) {
      process.stderr.write("dfs: reading the value from stdin; end it with Ctrl-D\n");
    }
    return { kind: "stream", open: stdin, size: undefined };
  }
  const bytes = Buffer.from(source.argument, "utf8");
  if (bytes.length > MAX_VALUE_BYTES) {
    throw new DfsError(
      "too_large",
      `VALUE is ${bytes.length} bytes; pass larger data with --file or stdin`,
    );
  }
  return { kind: "literal", bytes };
}

async function fileSource(path: string): Promise<PutSource> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`--file ${path} is not a regular file`);
    await access(path, constants.R_OK);
    const open = () => createReadStream(path, { highWaterMark: FILE_CHUNK_BYTES });
    return { kind: "stream", open, size: info.size };
  } catch (err) {
    throw asPathError(err, `cannot read --file ${path}`);
  }
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

/** A failure writing `-o PATH` that is the path's fault becomes a usage error naming it. */
export function asOutputError(err: unknown, path: string): unknown {
  return asPathError(err, `cannot write -o ${path}`);
}

function asPathError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && PATH_ERRORS.has(code)) {
    return new UsageError(`${what}: ${(err as Error).message}`);
  }
  return err;
}
