/**
 * Logged-in visitors of the console. A login makes a DfsClient with the visitor's user
 * and password (it holds the cluster's token and renews it); the browser gets only a
 * random session id in an HttpOnly, SameSite=Strict cookie, so page scripts never see a
 * password or a token and other sites' requests never carry it. Sessions are bounded in
 * number and idle time; the oldest is dropped first.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { DfsClient } from "../client/index.ts";

/** The cookie that names a session. */
export const SESSION_COOKIE = "dfs_console";

/** One logged-in visitor. */
export interface Session {
  readonly id: string;
  readonly user: string;
  readonly client: DfsClient;
  lastUsed: number;
}

/** Bounds of the session table. */
export interface SessionLimits {
  /** Sessions kept at once (default 256); a new login past it drops the least recent. */
  readonly maxSessions?: number;
  /** A session unused this long is forgotten (default one hour). */
  readonly idleMs?: number;
}

/** The session table; see the file comment. */
export class Sessions {
  private readonly byId = new Map<string, Session>();
  private readonly maxSessions: number;
  private readonly idleMs: number;

  constructor(limits: SessionLimits = {}) {
    this.maxSessions = limits.maxSessions ?? 256;
    this.idleMs = limits.idleMs ?? 60 * 60_000;
  }

  /** Starts a session for `user` served by `client` (already logged in); returns it. */
  add(user: string, client: DfsClient): Session {
    this.expire();
    while (this.byId.size >= this.maxSessions) {
      const oldest = this.byId.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
    }
    const session = {
      id: randomBytes(32).toString("base64url"),
      user,
      client,
      lastUsed: Date.now(),
    };
    this.byId.set(session.id, session);
    return session;
  }

  /** The live session the request's cookie names, if any (and marks it used). */
  of(req: IncomingMessage): Session | undefined {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const session = this.byId.get(id);
    if (session === undefined) return undefined;
    if (Date.now() - session.lastUsed > this.idleMs) {
      this.remove(id);
      return undefined;
    }
    session.lastUsed = Date.now();
    this.byId.delete(id); // re-inserted last: the map stays ordered by last use
    this.byId.set(id, session);
    return session;
  }

  /** Ends a session and closes its client. */
  remove(id: string): void {
    const session = this.byId.get(id);
    if (session === undefined) return;
    this.byId.delete(id);
    session.client.close();
  }

  /** Ends every session. */
  clear(): void {
    for (const id of [...this.byId.keys()]) this.remove(id);
  }

  get size(): number {
    return this.byId.size;
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, session] of this.byId) {
      if (now - session.lastUsed <= this.idleMs) break; // ordered by last use
      this.remove(id);
    }
  }
}

/** The Set-Cookie header value that stores (or, with `id` null, clears) a session. */
export function sessionCookie(id: string | null, secure: boolean): string {
  const attributes = ["Path=/", "HttpOnly", "SameSite=Strict", ...(secure ? ["Secure"] : [])];
  if (id === null) return [`${SESSION_COOKIE}=`, "Max-Age=0", ...attributes].join("; ");
  return [`${SESSION_COOKIE}=${id}`, ...attributes].join("; ");
}

/** The value of cookie `name` in a Cookie header, if present. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
