/**
 * `dfs get --range`: byte ranges written as HTTP writes them (RFC 9110), so they read the
 * same as a `Range: bytes=` header or `curl -r`. `A-B` is bytes A to B inclusive, `A-`
 * from A to the end, `-N` the last N bytes. Turned into the client's offset and length
 * here; a suffix needs the size first, so the command stats the key and pins the version.
 */
import { UsageError } from "./usage-error.ts";

/** A parsed `--range`. */
export type RangeFlag =
  /** Bytes `start` to `end` inclusive (absent: to the end). */
  | { readonly kind: "from"; readonly start: number; readonly end?: number }
  /** The last `count` bytes. */
  | { readonly kind: "suffix"; readonly count: number };

/** Parses `A-B`, `A-` or `-N`; a usage error (exit 2) for anything else. */
export function parseRangeFlag(text: string): RangeFlag {
  const m = /^(\d*)-(\d*)$/.exec(text);
  const bad = () =>
    new UsageError(`--range must be A-B, A- or -N (byte offsets, inclusive), got '${text}'`);
  if (m === null) throw bad();
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") throw bad();
  const start = a === "" ? undefined : Number(a);
  const end = b === "" ? undefined : Number(b);
  if (
    (start !== undefined && !Number.isSafeInteger(start)) ||
    (end !== undefined && !Number.isSafeInteger(end))
  )
    throw bad();
  if (start === undefined) return { kind: "suffix", count: end as number };
  if (end !== undefined && end < start)
    throw new UsageError(`--range ${text}: the last byte comes before the first`);
  return end === undefined ? { kind: "from", start } : { kind: "from", start, end };
}

/**
 * The client's offset and length for `range` over a content of `size` bytes (needed only
 * for a suffix; give undefined otherwise). A suffix longer than the content is all of it.
 */
export function rangeOffsets(
  range: RangeFlag,
  size: number | undefined,
): { offset: number; length?: number } {
  if (range.kind === "from")
    return range.end === undefined
      ? { offset: range.start }
      : { offset: range.start, length: range.end - range.start + 1 };
  const total = size ?? 0;
  const count = Math.min(range.count, total);
  return { offset: total - count, length: count };
}
