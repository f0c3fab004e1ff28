/**
 * Listing keys like a directory tree, one page at a time, from a consistent view. One
 * level: keys directly under the prefix, and each deeper path once as a directory
 * ("a/b/"), skipping the directory's whole subtree in one seek — so listing a level with
 * a million files below it reads one key per directory, not a million.
 *
 * With auth on, a page holds only what the caller may list (docs/auth.md): a key iff the
 * caller has `list` on it, a directory iff some `list` grant could match a key under it.
 * Hidden entries are skipped while paging, so pages keep their size and no other name
 * leaks (a hidden directory's subtree is still skipped in one seek).
 */
import { nextPrefix, type StateView, type StoredValue } from "../fsm/index.ts";
import type { FileInfo, ListEntry, ListRequest, ListResponse } from "../gen/dfs.ts";
import type { ListFilter } from "./auth/index.ts";

/** Page size when the client asks for none, and the most it may ask for. */
export const LIST_DEFAULT_LIMIT = 1000;
export const LIST_MAX_LIMIT = 10_000;

/** What clients see of a stored value or file. */
export function fileInfo(v: StoredValue): FileInfo {
  return {
    size: v.size,
    sha256: Buffer.from(v.sha256),
    version: v.version,
    modIndex: v.modIndex,
    modTimeMs: v.modTimeMs,
    chunks: v.file?.count ?? 0,
    metadata: { ...v.metadata },
  };
}

/** One page of `req`'s listing, showing only what `filter` lets through (null: all). */
export function listPage(
  view: StateView,
  req: ListRequest,
  filter: ListFilter | null = null,
): ListResponse {
  const limit = Math.min(req.limit === 0 ? LIST_DEFAULT_LIMIT : req.limit, LIST_MAX_LIMIT);
  const base = req.prefix === "" ? "" : `${req.prefix}/`;
  let from = req.startAfter === "" ? base : after(req.startAfter);
  const entries: ListEntry[] = [];
  for (;;) {
    const next = scan(view, base, from, req.recursive, entries, limit, filter);
    if (next === null) break;
    from = next;
  }
  const full = entries.length >= limit;
  return { entries, nextStartAfter: full ? (entries.at(-1)?.name ?? "") : "" };
}

/**
 * Adds entries from `from` on; returns where to continue after skipping a directory's
 * subtree, or null when the range or the page is exhausted.
 */
function scan(
  view: StateView,
  base: string,
  from: string,
  recursive: boolean,
  entries: ListEntry[],
  limit: number,
  filter: ListFilter | null,
): string | null {
  for (const key of view.keys(from, base)) {
    if (entries.length >= limit) return null;
    const slash = recursive ? -1 : key.indexOf("/", base.length);
    if (slash >= 0) {
      const dir = key.slice(0, slash + 1);
      if (filter === null || filter.dir(dir))
        entries.push({ name: dir, isDir: true, info: undefined });
      return nextPrefix(dir);
    }
    if (filter !== null && !filter.key(key)) continue;
    const stored = view.get(key);
    if (stored !== undefined) entries.push({ name: key, isDir: false, info: fileInfo(stored) });
  }
  return null;
}

/** The first key after `name` (after a whole directory when `name` is one). */
function after(name: string): string {
  return name.endsWith("/") ? nextPrefix(name) : `${name}\u0000`;
}
