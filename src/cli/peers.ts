/**
 * Parsing and checking of `--peers 1@host:port,2@host:port,...`: the cluster's
 * membership as given on the command line. Every node must be given the same list, so
 * mistakes are caught here with a message naming the bad entry, before anything starts.
 */
import { parseHostPort } from "../client/endpoints.ts";
import type { PeerAddress } from "../server/config.ts";
import { UsageError } from "./usage-error.ts";

/** Largest node id: ids travel as uint32 in every message. */
export const MAX_NODE_ID = 0xffff_ffff;

/**
 * Parses a positive node id. Strict digits only, so `1e3`, `0x1`, ` 1` and `1.0` are
 * rejected rather than silently meaning something else.
 */
export function parseNodeId(text: string): number | null {
  if (!/^[1-9][0-9]*$/.test(text)) return null;
  const id = Number(text);
  return id <= MAX_NODE_ID ? id : null;
}

/** Parses the whole list; throws {@link UsageError} naming the first bad entry. */
export function parsePeers(spec: string): PeerAddress[] {
  if (spec.trim() === "") throw new UsageError("--peers is empty; expected id@host:port,...");
  const peers = spec.split(",").map((entry) => parsePeer(entry.trim()));
  checkUnique(peers);
  return peers;
}

/** Parses one `id@host:port` entry. */
export function parsePeer(entry: string): PeerAddress {
  if (entry === "") throw peerError(entry, "empty entry (stray comma?)");
  const at = entry.indexOf("@");
  if (at < 0) throw peerError(entry, "missing '@' between id and address");
  const id = parseNodeId(entry.slice(0, at));
  if (id === null) throw peerError(entry, `id '${entry.slice(0, at)}' is not a positive integer`);
  const address = parseHostPort(entry.slice(at + 1));
  if (!address.ok) throw peerError(entry, `address ${address.problem}`);
  return { id, host: address.value.host, port: address.value.port };
}

/**
 * Checks that this node's own entry is present and agrees with `--port`: a node that
 * listens somewhere other than where its peers look for it can never join.
 */
export function ownPeer(peers: readonly PeerAddress[], id: number, port: number): PeerAddress {
  const own = peers.find((peer) => peer.id === id);
  if (own === undefined) {
    const ids = peers.map((peer) => peer.id).join(", ");
    throw new UsageError(`--peers has no entry for this node's --id ${id} (ids: ${ids})`);
  }
  if (own.port !== port) {
    throw new UsageError(
      `--port ${port} does not match this node's --peers entry ${id}@${own.host}:${own.port}`,
    );
  }
  return own;
}

function checkUnique(peers: readonly PeerAddress[]): void {
  const ids = new Set<number>();
  const addresses = new Set<string>();
  for (const peer of peers) {
    if (ids.has(peer.id)) throw new UsageError(`--peers lists id ${peer.id} more than once`);
    const address = `${peer.host.toLowerCase()}:${peer.port}`;
    if (addresses.has(address)) {
      throw new UsageError(`--peers lists address ${peer.host}:${peer.port} more than once`);
    }
    ids.add(peer.id);
    addresses.add(address);
  }
}

function peerError(entry: string, problem: string): UsageError {
  return new UsageError(`--peers entry '${entry}' is not id@host:port: ${problem}`);
}
