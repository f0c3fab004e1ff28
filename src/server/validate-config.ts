/**
 * Checks a NodeConfig before anything touches disk or network, so a mistake gets one
 * clear line instead of a half-started node.
 */

import { StartupError } from "../api/index.ts";
import { MAX_AUTH_TOKEN_TTL_S, type NodeConfig, peerListenerOf } from "./config.ts";

/** Throws StartupError("config") describing the first problem found. */
export function validateNodeConfig(config: NodeConfig): void {
  const fail = (why: string): never => {
    throw new StartupError("config", why);
  };
  if (!Number.isInteger(config.id) || config.id <= 0)
    fail(`node id must be a positive integer, got ${config.id}`);
  const ids = new Set<number>();
  const addresses = new Set<string>();
  for (const p of config.peers) {
    if (!Number.isInteger(p.id) || p.id <= 0)
      fail(`peer id must be a positive integer, got ${p.id}`);
    if (ids.has(p.id)) fail(`duplicate peer id ${p.id}`);
    ids.add(p.id);
    const address = `${p.host}:${p.port}`;
    if (addresses.has(address)) fail(`duplicate peer address ${address}`);
    addresses.add(address);
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      fail(`invalid port in peer ${p.id}: ${p.port}`);
    const listener = peerListenerOf(p);
    if (!Number.isInteger(listener.port) || listener.port < 1 || listener.port > 65535)
      fail(`invalid peer port of peer ${p.id}: ${listener.port} (give peerPort explicitly)`);
    const peerAddress = `${listener.host}:${listener.port}`;
    if (addresses.has(peerAddress)) fail(`duplicate peer address ${peerAddress}`);
    addresses.add(peerAddress);
  }
  if (!ids.has(config.id)) fail(`own id ${config.id} is missing from the peer list`);
  if (config.dataDir.trim() === "") fail("data dir must not be empty");
  const ttl = config.authTokenTtlS;
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_AUTH_TOKEN_TTL_S))
    fail(`auth token TTL must be 1..${MAX_AUTH_TOKEN_TTL_S} seconds, got ${ttl}`);
  const frontEnds = config.frontEnds ?? 0;
  if (!Number.isInteger(frontEnds) || frontEnds < 0 || frontEnds > 64)
    fail(`front ends must be 0..64, got ${frontEnds}`);
  if (frontEnds > 0 && config.tls?.client !== undefined)
    fail("--front-ends serves plain text only for now: drop --front-ends or the client TLS flags");
  if (config.join !== undefined) {
    if (config.join.length > 64) fail("--join: at most 64 member addresses");
    for (const a of config.join) {
      if (!isHostPort(a)) fail(`--join: '${a}' is not host:port (a member's client address)`);
    }
  }
}

/** host:port with a port in 1..65535 (IPv6 hosts in brackets). */
export function isHostPort(text: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (m === null) return false;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 && text.length <= 256;
}
