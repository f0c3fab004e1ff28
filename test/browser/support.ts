/**
 * What the browser tests share: Debian's chromium driven by playwright-core (browsers
 * cannot be downloaded here, so `executablePath` points at the system one; .ci/run
 * installs it when missing), and a real cluster whose every node serves the web console
 * on its HTTP listener (`dfs server --http-port`), as `npm start` runs it.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { type ClusterOptions, freePorts, LocalCluster } from "../../src/cluster/index.ts";

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

/** A running cluster whose nodes serve the console; `consoleUrl(id)` is node id's. */
export interface ConsoleCluster {
  readonly cluster: LocalCluster;
  consoleUrl(id: number): string;
}

/** Starts a cluster of `size` nodes, each with `--http-port` on a free port. */
export async function startConsoleCluster(
  size: number,
  options: ClusterOptions = {},
): Promise<ConsoleCluster> {
  const ports = await freePorts(size);
  const cluster = await LocalCluster.start({
    size,
    ...options,
    nodeArgs: (node) => ["--http-port", String(ports[node.id - 1])],
  });
  return {
    cluster,
    consoleUrl: (id) => `http://127.0.0.1:${ports[id - 1]}`,
  };
}
