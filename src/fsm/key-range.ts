/**
 * Key-range arithmetic for prefix scans (listing, deleting a subtree, store records).
 */

/** The smallest string greater than every string that starts with `prefix`. */
export function nextPrefix(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * LMDB's key order: the keys' UTF-8 bytes, not JavaScript's UTF-16 code units (they differ
 * past U+FFFF), so every store lists and digests keys in the same order.
 */
export function compareKeys(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a), Buffer.from(b));
}
