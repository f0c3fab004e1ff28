/**
 * Key-range arithmetic for prefix scans (listing, deleting a subtree, store records).
 */

/** The smallest string greater than every string that starts with `prefix`. */
export function nextPrefix(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
