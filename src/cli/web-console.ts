/**
 * Mounts the web console (docs/console.md) on a node's HTTP listener (`dfs server
 * --http-port`). The console is a client of the cluster like any other (src/web/ may not
 * import the server): it reaches this node and the other members through their client
 * addresses, this node first, and learns any member added later from Status.
 */
import type { ClientTls } from "../client/index.ts";
import type { NodeConfig } from "../server/index.ts";
import { createConsole, type WebConsole } from "../web/index.ts";

/** The console for the node `config` starts; close it after the node stopped. */
export function nodeConsole(config: NodeConfig): WebConsole {
  return createConsole({ endpoints: consoleEndpoints(config), ...consoleTls(config) });
}

/** This node's client address, then every other member's from the bootstrap list. */
export function consoleEndpoints(config: NodeConfig): string[] {
  const address = (host: string, port: number) =>
    host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const own = config.peers.filter((peer) => peer.id === config.id);
  const others = config.peers.filter((peer) => peer.id !== config.id);
  const endpoints = [...own, ...others].map((peer) => address(peer.host, peer.port));
  return [...new Set([...endpoints, ...(config.join ?? [])])];
}

/**
 * A node serving clients over TLS is reached over TLS, verified against the CA that
 * signed its client certificates or, failing that, the cluster's peer CA (`dfs certs
 * init` makes one CA for both). A client port that requires client certificates
 * (`--client-ca`) gets the node's own certificate, which `dfs certs init` makes good for
 * both ends (docs/console.md#tls).
 */
export function consoleTls(config: NodeConfig): { tls?: ClientTls } {
  const client = config.tls?.client;
  if (client === undefined) return {};
  const ca = client.clientCa ?? config.tls?.peer?.ca;
  const identity = client.clientCa !== undefined ? { cert: client.cert, key: client.key } : {};
  return { tls: { ...(ca !== undefined ? { ca } : {}), ...identity } };
}
