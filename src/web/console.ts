/**
 * The web console mounted on a node's HTTP listener (or any node:http server): the page
 * under `/`, its API under `/api/`. It is a client of the cluster like the CLI: the
 * cluster view comes from Status polls, the file browser's calls go through a DfsClient
 * (the visitor's own once logged in), so auth is enforced by the cluster, not here.
 * Routes (GET never changes anything; every POST passes the same-origin check):
 *
 *   GET  /                      the page          GET  /api/events     live view (SSE)
 *   GET  /assets/app.js|.css    its bundle        GET  /api/cluster    history as JSON
 *   GET  /api/session           who is logged in  POST /api/login      {user, password}
 *   POST /api/logout                              GET  /api/list?prefix=P
 *   GET  /api/stat?key=K        GET  /api/download?key=K
 *   POST /api/upload?key=K      (body: the bytes) POST /api/delete?key=K
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DfsClient } from "../client/index.ts";
import { findBundle, SECURITY_HEADERS, serveAsset } from "./assets.ts";
import { ClusterMonitor } from "./cluster-monitor.ts";
import type { ConsoleContext, ConsoleOptions } from "./context.ts";
import { checkSameOrigin } from "./csrf.ts";
import { EventStreams } from "./events-stream.ts";
import { deleteFile, downloadFile, listFiles, statFile, uploadFile } from "./files-api.ts";
import { HttpError, requireMethod, sendError, sendJson } from "./http-util.ts";
import { login, logout, sessionInfo } from "./login-api.ts";
import { Sessions } from "./sessions.ts";

/**
 * Handles a request it owns and returns true; false passes it on. The same shape as the
 * node's `HttpExtension` (src/server), declared here because this layer may not import
 * the server: structural typing makes the two interchangeable.
 */
export type HttpExtension = (req: IncomingMessage, res: ServerResponse) => boolean;

/** A mounted console: its request handler, and how to stop it. */
export interface WebConsole {
  readonly extension: HttpExtension;
  /** Stops polling, ends every session, closes every connection to the cluster. */
  close(): Promise<void>;
}

/** Builds the console; see the file comment for what it serves. */
export function createConsole(options: ConsoleOptions): WebConsole {
  const clientOptions = {
    endpoints: options.endpoints,
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
  const ctx: ConsoleContext = {
    options,
    monitor: new ClusterMonitor({
      ...options.monitor,
      endpoints: options.endpoints,
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    }),
    sessions: new Sessions(options.sessions),
    anonymous: new DfsClient(clientOptions),
  };
  const bundleDir = options.bundleDir === undefined ? findBundle() : options.bundleDir;
  const events = new EventStreams(ctx.monitor);
  const extension: HttpExtension = (req, res) => {
    const url = new URL(req.url ?? "/", "http://console.invalid");
    const path = url.pathname;
    if (path === "/" || path === "/index.html") {
      run(res, () => page(req, res, bundleDir, "index.html"));
      return true;
    }
    if (path.startsWith("/assets/")) {
      run(res, () => page(req, res, bundleDir, path.slice("/assets/".length)));
      return true;
    }
    if (path === "/api" || path.startsWith("/api/")) {
      run(res, () => api(ctx, events, req, res, url));
      return true;
    }
    return false;
  };
  return {
    extension,
    close: async () => {
      await ctx.monitor.close();
      ctx.sessions.clear();
      ctx.anonymous.close();
    },
  };
}

/** Runs an async handler; whatever it throws becomes the answer (never an exception). */
function run(res: ServerResponse, handler: () => Promise<void>): void {
  handler().catch((error: unknown) => sendError(res, error));
}

async function page(
  req: IncomingMessage,
  res: ServerResponse,
  dir: string | null,
  name: string,
): Promise<void> {
  requireMethod(req, "GET", "HEAD");
  await serveAsset(dir, name, res);
}

async function api(
  ctx: ConsoleContext,
  events: EventStreams,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  checkSameOrigin(req);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  ctx.monitor.touch();
  const route = `${req.method} ${url.pathname}`;
  const client = () => ctx.sessions.of(req)?.client ?? ctx.anonymous;
  switch (route) {
    case "GET /api/events":
      return events.serve(req, res);
    case "GET /api/cluster":
      return sendJson(res, 200, ctx.monitor.snapshot());
    case "GET /api/session":
      return sessionInfo(ctx, req, res);
    case "POST /api/login":
      return login(ctx, req, res);
    case "POST /api/logout":
      return logout(ctx, req, res);
    case "GET /api/list":
      return listFiles(client(), url, res);
    case "GET /api/stat":
      return statFile(client(), url, res);
    case "GET /api/download":
      return downloadFile(client(), url, res);
    case "POST /api/upload":
      return uploadFile(client(), url, req, res);
    case "POST /api/delete":
      return deleteFile(client(), url, res);
    default:
      throw new HttpError(404, "not_found", `no API ${route}`);
  }
}
