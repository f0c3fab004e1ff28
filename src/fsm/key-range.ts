/**
 * Key-range arithmetic for prefix scans (listing, deleting a subtree, store records).
 */

/** The smallest string greater than every string that starts with `prefix`. */
export function nextPrefix(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * LMDB's key order: the keys' UTF-8 bytes, which is code point order, not JavaScript's
 * UTF-16 code unit order (they differ past U+FFFF), so every store lists and digests keys
 * in the same order. Compares code units, moving surrogates (the halves of a code point
 * past U+FFFF) above every other unit, without allocating.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 code unit's rank in code point order: surrogates after U+E000..U+FFFF. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}
