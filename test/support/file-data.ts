/**
 * Helpers for file tests: hashing, and reading a whole download into memory (the test
 * files are small enough; the product itself never does this).
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DfsClient } from "../../src/client/index.ts";

/** Hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Downloads `key` (verified by the client library) into one buffer. */
export async function downloadAll(
  client: DfsClient,
  key: string,
  serializable = false,
): Promise<Buffer> {
  const { chunks } = await client.download(key, { serializable });
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

/**
 * The blob file of a node's data dir holding `probe` (a file's chunk bytes live in its
 * upload's blob, `<data-dir>/blobs/<uploadId>`, since issue 22), with the probe's offset
 * and the file's bytes; null when no blob holds it.
 */
export async function findInBlobs(
  dataDir: string,
  probe: Uint8Array,
): Promise<{ file: string; at: number; bytes: Buffer } | null> {
  const dir = join(dataDir, "blobs");
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const file = join(dir, name);
    const bytes = await readFile(file);
    const at = bytes.indexOf(probe);
    if (at >= 0) return { file, at, bytes };
  }
  return null;
}
