/**
 * Free TCP ports on 127.0.0.1 for local clusters, so parallel runs and leftovers from
 * other processes never collide with fixed ports.
 */
import { createServer } from "node:net";

/** Returns `count` distinct ports that were free a moment ago. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await onePort());
  return [...ports];
}

function onePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A base port such that base..base+count-1, and each of those plus every offset in
 * `alsoFree` (e.g. the peer ports, +10000), are free right now: `dfs dev --base-port`
 * takes consecutive ports. The first base tried comes from this process's pid and the
 * next ones step through the range, so two runs side by side start apart, with no
 * unseeded randomness.
 */
export async function freePortRange(
  count: number,
  alsoFree: readonly number[] = [],
): Promise<number> {
  const low = 20_000;
  const span = 30_000;
  for (let attempt = 0; attempt < 64; attempt++) {
    const base = low + ((process.pid * 7919 + attempt * 977) % span);
    const ports = Array.from({ length: count }, (_, i) => [
      base + i,
      ...alsoFree.map((offset) => base + i + offset),
    ]).flat();
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
