/**
 * Parsing and checking of `--peers 1@host:port[/peerPort | /peerHost:peerPort],...`: the
 * cluster's membership as given on the command line. `host:port` is the client address;
 * the peer listener defaults to `port + 10000` on the same host (see PEER_PORT_OFFSET).
 * Every node must be given the same list, so mistakes are caught here with a message
 * naming the bad entry, before anything starts.
 */
import { PEER_PORT_OFFSET } from "../api/index.ts";
import { parseHostPort } from "../client/index.ts";
import type { PeerAddress } from "../server/index.ts";
import { UsageError } from "./usage-error.ts";

/** The spelling of one entry, for error messages. */
const ENTRY_FORM = "id@host:port[/peerPort | /peerHost:peerPort]";

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
  if (spec.trim() === "") {
    throw new UsageError(`--peers is empty; expected ${ENTRY_FORM},...`);
  }
  const peers = spec.split(",").map((entry) => parsePeer(entry.trim()));
  checkUnique(peers);
  return peers;
}

/**
 * Parses one entry; the result always carries the resolved peer listener (`peerHost`,
 * `peerPort`), explicit or derived, so later code never re-derives it.
 */
export function parsePeer(entry: string): PeerAddress {
  if (entry === "") throw peerError(entry, "empty entry (stray comma?)");
  const at = entry.indexOf("@");
  if (at < 0) throw peerError(entry, "missing '@' between id and address");
  const id = parseNodeId(entry.slice(0, at));
  if (id === null) throw peerError(entry, `id '${entry.slice(0, at)}' is not a positive integer`);
  const rest = entry.slice(at + 1);
  const slash = rest.indexOf("/");
  const clientText = slash < 0 ? rest : rest.slice(0, slash);
  const address = parseHostPort(clientText);
  if (!address.ok) throw peerError(entry, `address ${address.problem}`);
  const { host, port } = address.value;
  const peer =
    slash < 0 ? defaultPeerListener(entry, port) : parsePeerPart(entry, rest.slice(slash + 1));
  return { id, host, port, peerHost: peer.host ?? host, peerPort: peer.port };
}

function defaultPeerListener(entry: string, port: number): { host?: string; port: number } {
  const peerPort = port + PEER_PORT_OFFSET;
  if (peerPort > 65535) {
    throw peerError(
      entry,
      `the default peer port ${port}+${PEER_PORT_OFFSET} is above 65535; give it explicitly (${entry}/<peerPort>)`,
    );
  }
  return { port: peerPort };
}

/** `/peerPort` or `/peerHost:peerPort` after the client address. */
function parsePeerPart(entry: string, text: string): { host?: string; port: number } {
  if (/^[0-9]+$/.test(text)) {
    const port = Number(text);
    if (port < 1 || port > 65535) throw peerError(entry, `peer port ${port} is not in 1..65535`);
    return { port };
  }
  if (text === "") throw peerError(entry, "nothing after '/' (expected a peer port)");
  const address = parseHostPort(text);
  if (!address.ok) throw peerError(entry, `peer address ${address.problem}`);
  return address.value;
}

/** The peer listener of a parsed entry as `host:port`. */
export function peerAddressText(peer: PeerAddress): string {
  return `${peer.peerHost ?? peer.host}:${peer.peerPort ?? peer.port + PEER_PORT_OFFSET}`;
}

/**
 * Checks that this node's own entry is present and agrees with `--port`: a node that
 * listens somewhere other than where its peers look for it can never join.
 */
export function ownPeer(
  peers: readonly PeerAddress[],
  id: number,
  port: number,
  peerPort?: number,
): PeerAddress {
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
  if (peerPort !== undefined && own.peerPort !== peerPort) {
    throw new UsageError(
      `--peer-port ${peerPort} does not match this node's peer port ${own.peerPort} in --peers (${peerAddressText(own)})`,
    );
  }
  return own;
}

/**
 * Ids are unique, and so is every address, client and peer alike: two listeners cannot
 * share a port, and a peer address equal to a client address would send Raft traffic
 * to a port that refuses it.
 */
function checkUnique(peers: readonly PeerAddress[]): void {
  const ids = new Set<number>();
  const addresses = new Map<string, string>();
  const claim = (text: string, what: string): void => {
    const key = text.toLowerCase();
    const earlier = addresses.get(key);
    if (earlier !== undefined) {
      throw new UsageError(`--peers lists address ${text} more than once (${earlier}, ${what})`);
    }
    addresses.set(key, what);
  };
  for (const peer of peers) {
    if (ids.has(peer.id)) throw new UsageError(`--peers lists id ${peer.id} more than once`);
    ids.add(peer.id);
    claim(`${peer.host}:${peer.port}`, `client address of ${peer.id}`);
    claim(peerAddressText(peer), `peer address of ${peer.id}`);
  }
}

function peerError(entry: string, problem: string): UsageError {
  return new UsageError(`--peers entry '${entry}' is not ${ENTRY_FORM}: ${problem}`);
}
