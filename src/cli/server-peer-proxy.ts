/**
 * Parsing of `dfs server --peer-via ID=HOST:PORT,...`: where this node dials a peer's
 * PEER listener when that differs from the peer address in `--peers` (a fault-injecting
 * proxy, NAT). Only the dial address changes; the membership, and so the cluster id,
 * stays what the cluster's configuration says.
 */
import { parseHostPort } from "../client/index.ts";
import { parseNodeId } from "./peers.ts";
import { UsageError } from "./usage-error.ts";

/**
 * Parses the flag into `NodeConfig.peerDialAddresses`: each id at most once, never this
 * node's own; throws {@link UsageError} naming the bad entry. Ids need not be in
 * `--peers`: members added later (`dfs member add`) may be named in advance, and a
 * joining node (`--join`) has no `--peers` at all.
 */
export function parsePeerVia(spec: string, selfId: number): Record<number, string> {
  if (spec.trim() === "") throw new UsageError("--peer-via is empty; expected id=host:port,...");
  const dial: Record<number, string> = {};
  for (const raw of spec.split(",")) {
    const entry = raw.trim();
    const [id, address] = parseEntry(entry);
    if (id === selfId) throw viaError(entry, `${id} is this node; only peers are dialled`);
    if (dial[id] !== undefined) throw viaError(entry, `id ${id} is given more than once`);
    dial[id] = address;
  }
  return dial;
}

function parseEntry(entry: string): [number, string] {
  if (entry === "") throw viaError(entry, "empty entry (stray comma?)");
  const eq = entry.indexOf("=");
  if (eq < 0) throw viaError(entry, "missing '=' between id and address");
  const id = parseNodeId(entry.slice(0, eq));
  if (id === null) throw viaError(entry, `id '${entry.slice(0, eq)}' is not a positive integer`);
  const address = parseHostPort(entry.slice(eq + 1));
  if (!address.ok) throw viaError(entry, `address ${address.problem}`);
  return [id, `${address.value.host}:${address.value.port}`];
}

function viaError(entry: string, problem: string): UsageError {
  return new UsageError(`--peer-via entry '${entry}' is not id=host:port of a peer: ${problem}`);
}
