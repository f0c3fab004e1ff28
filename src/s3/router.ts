/**
 * Dispatch of S3 operations. S3 names an operation by method, by what the path
 * addresses (service, bucket, object) and by marker query parameters (`?uploads`,
 * `?partNumber=&uploadId=`, `?list-type=2`, `?delete`) or headers (`x-amz-copy-source`).
 * Each operation is one {@link S3Route}; the most specific route that matches wins, so
 * `PUT /b/k?partNumber=1&uploadId=u` is UploadPart, not PutObject, without any handler
 * knowing about the other.
 */
import type { S3Context } from "./context.ts";
import { S3Error } from "./errors.ts";

/** What the request path addresses. */
export type S3Target = "service" | "bucket" | "object";

/** An operation handler: writes the response itself or throws an S3Error / DfsError. */
export type S3Handler = (ctx: S3Context) => Promise<void>;

/** One S3 operation. */
export interface S3Route {
  /** S3's operation name (logs, metrics), e.g. `PutObject`. */
  readonly name: string;
  readonly method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  readonly target: S3Target;
  /** Query parameters that must be present (any value, "" included). */
  readonly query?: readonly string[];
  /** Query parameter=value pairs that must match exactly, e.g. `{ "list-type": "2" }`. */
  readonly queryValues?: Readonly<Record<string, string>>;
  /** A lower-case header that must be present, e.g. `x-amz-copy-source`. */
  readonly header?: string;
  readonly handler: S3Handler;
}

/** What the router needs of a request to choose a route. */
export interface RouteKey {
  readonly method: string;
  readonly target: S3Target;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, unknown>>;
}

/** Picks a route per request; routes are registered once at start. */
export class S3Router {
  private readonly routes: S3Route[] = [];

  constructor(routes: readonly S3Route[] = []) {
    for (const r of routes) this.add(r);
  }

  /** Registers an operation; a second route with the same match is a programming error. */
  add(route: S3Route): void {
    const same = this.routes.find((r) => signature(r) === signature(route));
    if (same !== undefined) throw new Error(`S3 routes ${same.name} and ${route.name} collide`);
    this.routes.push(route);
  }

  /**
   * The most specific matching route (most required query parameters and headers), or
   * an S3Error: `MethodNotAllowed` when nothing matches the method on that target,
   * `NotImplemented` for a sub-resource this gateway does not serve (`?acl`, `?tagging`…).
   */
  match(key: RouteKey): S3Route {
    let best: S3Route | undefined;
    let bestScore = -1;
    for (const r of this.routes) {
      if (r.method !== key.method || r.target !== key.target) continue;
      if (!matches(r, key)) continue;
      const score = specificity(r);
      if (score > bestScore) {
        best = r;
        bestScore = score;
      }
    }
    const unknown = [...key.query.keys()].find((q) => SUBRESOURCES.has(q));
    if (best !== undefined && (unknown === undefined || claims(best, unknown))) return best;
    if (unknown !== undefined)
      throw new S3Error("NotImplemented", `?${unknown} is not implemented by the dfs gateway`, 501);
    throw new S3Error(
      "MethodNotAllowed",
      `The specified method is not allowed against this resource (${key.method} on a ${key.target})`,
      405,
    );
  }
}

/**
 * Query parameters that name a sub-resource: a request carrying one the matched route
 * does not claim is refused rather than served as the plain operation (a `PUT ?acl`
 * must not overwrite the object with an ACL document).
 */
const SUBRESOURCES = new Set([
  "acl",
  "tagging",
  "policy",
  "cors",
  "lifecycle",
  "versioning",
  "versions",
  "website",
  "logging",
  "notification",
  "replication",
  "encryption",
  "object-lock",
  "legal-hold",
  "retention",
  "restore",
  "select",
  "torrent",
  "accelerate",
  "analytics",
  "inventory",
  "metrics",
  "ownershipControls",
  "publicAccessBlock",
  "requestPayment",
  "intelligent-tiering",
  "attributes",
  "uploads",
  "uploadId",
  "delete",
  "location",
]);

function claims(route: S3Route, param: string): boolean {
  return (route.query ?? []).includes(param) || route.queryValues?.[param] !== undefined;
}

function matches(r: S3Route, key: RouteKey): boolean {
  for (const q of r.query ?? []) if (!key.query.has(q)) return false;
  for (const [q, v] of Object.entries(r.queryValues ?? {}))
    if (key.query.get(q) !== v) return false;
  return r.header === undefined || key.headers[r.header] !== undefined;
}

function specificity(r: S3Route): number {
  return (
    (r.query?.length ?? 0) +
    Object.keys(r.queryValues ?? {}).length +
    (r.header === undefined ? 0 : 1)
  );
}

function signature(r: S3Route): string {
  const values = Object.entries(r.queryValues ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  return [r.method, r.target, ...[...(r.query ?? [])].sort(), ...values, r.header ?? ""].join(" ");
}
