/**
 * What the browser tests share: Debian's chromium driven by playwright-core (browsers
 * cannot be downloaded here, so `executablePath` points at the system one; .ci/run
 * installs it when missing), and a web console served over a real cluster.
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium } from "playwright-core";
import type { LocalCluster } from "../../src/cluster/index.ts";
import { type ConsoleOptions, createConsole, type WebConsole } from "../../src/web/index.ts";

/** Where Debian puts chromium (`apt-get install -y chromium`); DFS_CHROMIUM overrides it. */
export const CHROMIUM = process.env.DFS_CHROMIUM ?? "/usr/bin/chromium";

/** Starts headless chromium; throws one clear line when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no chromium at ${CHROMIUM}: apt-get install -y chromium (or set DFS_CHROMIUM)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-dev-shm-usage",
    ],
  });
}

/** A console on its own HTTP server in this process, over `cluster`'s client ports. */
export interface ServedConsole {
  readonly url: string;
  readonly console: WebConsole;
  close(): Promise<void>;
}

/** Serves a console for `cluster` on 127.0.0.1 (a free port); always `close()` it. */
export async function serveConsole(
  cluster: LocalCluster,
  options: Partial<ConsoleOptions> = {},
): Promise<ServedConsole> {
  const web = createConsole({ endpoints: cluster.endpoints(), ...options });
  const server: Server = createServer((req, res) => {
    if (!web.extension(req, res)) res.writeHead(404).end("not found\n");
  });
  server.requestTimeout = 0; // big uploads may take longer than node's default 5 minutes
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    console: web,
    close: async () => {
      await web.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
