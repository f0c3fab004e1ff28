/**
 * Cross-site request forgery guard. The API changes state only on POST (never on GET), and
 * a POST is accepted only when the browser says it comes from this very origin: its
 * `Origin` header names the host the request was sent to, or (a browser that omits
 * Origin) `Sec-Fetch-Site: same-origin`. A page on another site can still make the
 * browser send a POST, but it carries that site's Origin, so it is refused before any
 * body is read. Together with the SameSite=Strict session cookie this keeps other sites
 * from using a logged-in console. Non-browser clients (curl) send Origin by hand.
 */
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-util.ts";

/** Methods that never change anything: the only ones exempt from the origin check. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Throws 403 unless `req` is a safe method or comes from the console's own origin. */
export function checkSameOrigin(req: IncomingMessage): void {
  if (SAFE_METHODS.has(req.method ?? "")) return;
  const host = req.headers.host;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== "null") {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      throw refused(`Origin '${origin}' is not a URL`);
    }
    if (host !== undefined && originHost === host) return;
    throw refused(`Origin ${origin} is not this console (${host ?? "no Host header"})`);
  }
  if (req.headers["sec-fetch-site"] === "same-origin") return;
  throw refused("a request that changes state needs an Origin header naming this console");
}

function refused(message: string): HttpError {
  return new HttpError(403, "cross_origin", message);
}
