/**
 * HTTP Range and conditional requests as S3 applies them to GetObject and HeadObject:
 * one byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`), 416 when it starts past the end,
 * and If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since (412 / 304).
 */
import type { IncomingHttpHeaders } from "node:http";
import { S3Error } from "./errors.ts";

/** A resolved byte range: `length` bytes from `offset`. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/**
 * The range `header` asks of an object of `size` bytes: null for the whole object (no
 * header, a syntax this gateway ignores as RFC 9110 allows, or several ranges, which S3
 * does not serve), or an S3Error InvalidRange (416) when it is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null) return null;
  const [, first, last] = m as unknown as [string, string, string];
  if (first === "" && last === "") return null;
  if (first === "") {
    const n = Number(last);
    if (n === 0 || size === 0) throw invalidRange(size);
    return { offset: Math.max(0, size - n), length: Math.min(n, size) };
  }
  const a = Number(first);
  if (last !== "" && Number(last) < a) return null;
  if (a >= size) throw invalidRange(size);
  const b = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { offset: a, length: b - a + 1 };
}

function invalidRange(size: number): S3Error {
  return new S3Error("InvalidRange", "The requested range is not satisfiable", 416, {
    ActualObjectSize: String(size),
  });
}

/** What the conditionals decide: serve, or answer 304 Not Modified. (412 is thrown.) */
export type ConditionalOutcome = "serve" | "not-modified";

/** Applies the conditional headers to an object with `etag` (quoted) and `modTimeMs`. */
export function checkConditionals(
  headers: IncomingHttpHeaders,
  etag: string,
  modTimeMs: number,
  prefix = "if-",
): ConditionalOutcome {
  const h = (name: string) => {
    const v = headers[`${prefix}${name}`];
    return Array.isArray(v) ? v[0] : v;
  };
  const modified = Math.floor(modTimeMs / 1000) * 1000;
  const ifMatch = h("match");
  const ifNoneMatch = h("none-match");
  const ifModifiedSince = date(h("modified-since"));
  const ifUnmodifiedSince = date(h("unmodified-since"));
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, etag)) throw preconditionFailed(`${prefix}match`);
  } else if (ifUnmodifiedSince !== null && modified > ifUnmodifiedSince) {
    throw preconditionFailed(`${prefix}unmodified-since`);
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, etag)) return "not-modified";
  } else if (ifModifiedSince !== null && modified <= ifModifiedSince) {
    return "not-modified";
  }
  return "serve";
}

/** True when a list of entity tags (`"a", "b"`, `*`) names `etag`. */
export function etagMatches(list: string, etag: string): boolean {
  const want = bare(etag);
  return list.split(",").some((t) => t.trim() === "*" || bare(t) === want);
}

function bare(tag: string): string {
  return tag.trim().replace(/^W\//, "").replace(/^"|"$/g, "");
}

function date(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}

function preconditionFailed(header: string): S3Error {
  return new S3Error(
    "PreconditionFailed",
    "At least one of the pre-conditions you specified did not hold",
    412,
    { Condition: header },
  );
}
