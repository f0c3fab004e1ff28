/**
 * Small HTTP helpers of the console's API: JSON answers, errors as one JSON line with a
 * status code that says what went wrong, and bounded request bodies. Every failure a
 * browser can cause gets an answer, never a thrown exception out of a request handler.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DfsError, type DfsErrorCode } from "../api/index.ts";

/** The largest JSON body the console accepts (a login form): anything bigger is refused. */
export const MAX_JSON_BODY_BYTES = 8 * 1024;

/** HTTP status of each client-API error, so the page (and curl) can branch on it. */
const STATUS_OF: Record<DfsErrorCode, number> = {
  not_found: 404,
  not_leader: 503,
  unavailable: 503,
  invalid_argument: 400,
  too_large: 413,
  precondition_failed: 412,
  resource_exhausted: 429,
  unauthenticated: 401,
  permission_denied: 403,
  internal: 500,
};

/** An HTTP-level refusal raised by the console itself (bad method, body, origin...). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Sends `body` as JSON with `status`; never cached (the cluster changes every second). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

/**
 * Answers a failed request: `{error: code, message}` with the matching status. A response
 * already streaming (a download cut short) cannot change its status, so it is destroyed:
 * the browser sees a failed transfer rather than a file that looks complete.
 */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : undefined);
    return;
  }
  if (error instanceof HttpError) {
    sendJson(res, error.status, { error: error.code, message: error.message });
    return;
  }
  if (error instanceof DfsError) {
    sendJson(res, STATUS_OF[error.code] ?? 500, { error: error.code, message: error.message });
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  sendJson(res, 500, { error: "internal", message });
}

/** Reads a JSON object body of at most {@link MAX_JSON_BODY_BYTES}; 400/413 otherwise. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > MAX_JSON_BODY_BYTES) {
      throw new HttpError(413, "too_large", `request body over ${MAX_JSON_BODY_BYTES} bytes`);
    }
    parts.push(part);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(parts).toString("utf8"));
  } catch {
    throw new HttpError(400, "invalid_argument", "request body is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, "invalid_argument", "request body is not a JSON object");
  }
  return parsed as Record<string, unknown>;
}

/** The query parameter `name`, required; 400 naming it when absent or empty. */
export function requiredParam(url: URL, name: string): string {
  const value = url.searchParams.get(name);
  if (value === null || value === "") {
    throw new HttpError(400, "invalid_argument", `missing query parameter '${name}'`);
  }
  return value;
}

/** Refuses any method but `allowed` with 405 and an Allow header's worth of explanation. */
export function requireMethod(req: IncomingMessage, ...allowed: string[]): void {
  if (!allowed.includes(req.method ?? "")) {
    throw new HttpError(405, "method_not_allowed", `use ${allowed.join(" or ")} here`);
  }
}
