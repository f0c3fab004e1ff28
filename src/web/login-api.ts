/**
 * Logging in and out of the console. A login is checked by the cluster itself
 * (`Authenticate`, with its per-user rate limit); on success the visitor gets a session
 * cookie and every later call of theirs goes through their own DfsClient.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { DfsClient } from "../client/index.ts";
import type { ConsoleContext } from "./context.ts";
import { HttpError, readJsonBody, sendJson } from "./http-util.ts";
import { cookieValue, SESSION_COOKIE, sessionCookie } from "./sessions.ts";

/** GET /api/session: `{authEnabled, user}` (user null when not logged in). */
export async function sessionInfo(
  ctx: ConsoleContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const user = ctx.sessions.of(req)?.user ?? null;
  sendJson(res, 200, { authEnabled: await authEnabled(ctx), user });
}

/** POST /api/login with `{user, password}`: 200 and a cookie, or 401 from the cluster. */
export async function login(
  ctx: ConsoleContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readJsonBody(req);
  const user = body.user;
  const password = body.password;
  if (typeof user !== "string" || user === "" || typeof password !== "string" || password === "") {
    throw new HttpError(400, "invalid_argument", "give a user and a password");
  }
  const { tls, timeoutMs, endpoints } = ctx.options;
  const client = new DfsClient({
    endpoints,
    user,
    password,
    ...(tls !== undefined ? { tls } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  try {
    await client.authenticate();
  } catch (error) {
    client.close();
    throw error;
  }
  const session = ctx.sessions.add(user, client);
  res.setHeader("set-cookie", sessionCookie(session.id, isTls(req)));
  sendJson(res, 200, { user });
}

/** POST /api/logout: ends the session (if any) and clears the cookie. */
export async function logout(
  ctx: ConsoleContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
  if (id !== undefined) ctx.sessions.remove(id);
  res.setHeader("set-cookie", sessionCookie(null, isTls(req)));
  sendJson(res, 200, { user: null });
}

/**
 * Whether the cluster has auth on, asked of the members now (the last poll may be a second
 * old, and a page deciding whether to show the login form needs the current answer); the
 * last poll's answer when no member replies.
 */
async function authEnabled(ctx: ConsoleContext): Promise<boolean | null> {
  for (const endpoint of ctx.options.endpoints) {
    try {
      return (await ctx.anonymous.status(endpoint)).authEnabled;
    } catch {
      // try the next member
    }
  }
  const latest = ctx.monitor.latest();
  return latest?.nodes.some((node) => node.reachable) ? latest.authEnabled : null;
}

function isTls(req: IncomingMessage): boolean {
  return (req.socket as TLSSocket).encrypted === true;
}
