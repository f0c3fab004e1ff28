/**
 * Metadata kept with a value or file: a small map of strings the writer attaches (a
 * content type, S3 user metadata, an ETag) and every reader gets back verbatim. Bounded
 * so it stays a small part of a value record and of a log entry: one rule here, checked
 * by the client before sending and by the node before proposing.
 */
import { DfsError } from "./errors.ts";

/** A value's or file's metadata: names to strings. */
export type Metadata = Readonly<Record<string, string>>;

/** Most entries a value's metadata may hold. */
export const MAX_METADATA_ENTRIES = 64;

/** Most UTF-8 bytes of all names and values together. */
export const MAX_METADATA_BYTES = 8 * 1024;

/** Names: printable ASCII without spaces, as HTTP header names and S3 metadata keys are. */
const NAME = /^[\x21-\x7e]+$/;

/** Control characters are refused in values (they cannot travel in an HTTP header). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why `metadata` breaks the rules above, or null when it is fine. */
export function metadataProblem(metadata: Metadata): string | null {
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA_ENTRIES)
    return `metadata has ${entries.length} entries; the limit is ${MAX_METADATA_ENTRIES}`;
  let bytes = 0;
  for (const [name, value] of entries) {
    if (typeof value !== "string") return `metadata ${JSON.stringify(name)} is not a string`;
    if (!NAME.test(name))
      return `metadata name ${JSON.stringify(name.slice(0, 100))} must be printable ASCII without spaces`;
    if (CONTROL.test(value))
      return `metadata ${JSON.stringify(name)} has a control character in its value`;
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (bytes > MAX_METADATA_BYTES)
    return `metadata is ${bytes} bytes; the limit is ${MAX_METADATA_BYTES}`;
  return null;
}

/** Throws `invalid_argument` when `metadata` breaks the rules of {@link metadataProblem}. */
export function checkMetadata(metadata: Metadata): void {
  const problem = metadataProblem(metadata);
  if (problem !== null) throw new DfsError("invalid_argument", problem);
}

/** The entries in name order: how a store keeps them, so every replica holds equal bytes. */
export function sortedMetadata(metadata: Metadata): [string, string][] {
  return Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
