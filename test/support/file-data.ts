/**
 * Helpers for file tests: hashing, and reading a whole download into memory (the test
 * files are small enough; the product itself never does this).
 */
import { createHash } from "node:crypto";
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
