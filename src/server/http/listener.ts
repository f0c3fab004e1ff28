/**
 * The node's HTTP listener (`dfs server --http-port`): serves `/metrics`, `/health`,
 * `/livez` and `/readyz` itself and hands every other request to the extensions it was
 * given (the web console), in order; 404 when none takes it. Plain node:http: the
 * endpoints are a handful of GETs, and a framework would only add weight.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StartupError } from "../../api/index.ts";
import type { Logger } from "../logger.ts";
import { health, livez, type ProbeResult, type ProbeState, readyz } from "./probes.ts";

/** Handles a request it owns and returns true; false passes it on (404 at the end). */
export type HttpExtension = (req: IncomingMessage, res: ServerResponse) => boolean;

/** What the listener serves. */
export interface HttpListenerOptions {
  readonly host: string;
  readonly port: number;
  /** The Prometheus text of every metric, and its content type. */
  readonly scrape: () => Promise<string>;
  readonly contentType: string;
  /** The node's state, read once per probe request. */
  readonly probe: () => ProbeState;
  readonly extensions: readonly HttpExtension[];
  readonly logger: Logger;
}

/** A listening HTTP listener. */
export interface HttpListener {
  /** host:port it listens on (the port the OS picked when 0 was asked). */
  readonly address: string;
  close(): Promise<void>;
}

const PROBES: Readonly<Record<string, (s: ProbeState) => ProbeResult>> = {
  "/health": health,
  "/livez": livez,
  "/readyz": readyz,
};

/** Starts listening; a taken port is StartupError `port_in_use` (exit 8). */
export async function startHttpListener(o: HttpListenerOptions): Promise<HttpListener> {
  const server = createServer((req, res) => route(o, req, res));
  await listen(server, o.host, o.port);
  const bound = server.address() as AddressInfo;
  const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return {
    address: `${host}:${bound.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function route(o: HttpListenerOptions, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? "/").split("?", 1)[0] as string;
  const probe = PROBES[path];
  if (path === "/metrics" || probe !== undefined) {
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "text/plain", "method not allowed\n", { allow: "GET, HEAD" });
    } else if (probe !== undefined) {
      answerProbe(res, probe(o.probe()));
    } else {
      serveMetrics(o, res);
    }
    return;
  }
  for (const extension of o.extensions) {
    try {
      if (extension(req, res)) return;
    } catch (error) {
      o.logger.error({ err: String(error), path }, "HTTP extension threw");
      if (!res.headersSent) send(res, 500, "text/plain", "internal error\n");
      else res.destroy();
      return;
    }
  }
  send(res, 404, "text/plain", "not found\n");
}

function serveMetrics(o: HttpListenerOptions, res: ServerResponse): void {
  o.scrape().then(
    (text) => send(res, 200, o.contentType, text),
    (error: unknown) => {
      o.logger.error({ err: String(error) }, "metrics scrape failed");
      send(res, 500, "text/plain", "metrics scrape failed\n");
    },
  );
}

/** 200 `{"ok":true}`, or 503 `{"ok":false,"reason":"..."}`: one line a script can read. */
function answerProbe(res: ServerResponse, result: ProbeResult): void {
  send(res, result.ok ? 200 : 503, "application/json", `${JSON.stringify(result)}\n`, {
    "cache-control": "no-store",
  });
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": type, ...headers });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const address = `${host}:${port}`;
      reject(
        error.code === "EADDRINUSE"
          ? new StartupError("port_in_use", `cannot listen on ${address}: address already in use`)
          : new StartupError("config", `cannot listen on ${address} (HTTP): ${error.message}`),
      );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
