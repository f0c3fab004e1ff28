/**
 * The identity rule of the peer port under mutual TLS: a message is accepted only when
 * the member it claims to come from (`MessageBatch.from`, `SnapshotChunk.from`) is the
 * member named by the client certificate of the connection that carried it (its CN,
 * `dfs-node-<id>`, see api/peer-identity.ts). The CA check alone would let any node
 * speak for any other; this makes a stolen or misused node certificate worth one member.
 * Refusals go through the node's {@link PeerDrops} (reason `not_authorized`): one counter
 * and one log rate limit for every kind of refused peer message.
 */
import type { PeerCertificate } from "node:tls";
import { memberIdOfCommonName } from "../api/index.ts";
import type { PeerDrops } from "./peer-drops.ts";

/** What the check needs from a server call: the TLS peer it came over. */
export interface AuthenticatedCall {
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: PeerCertificate };
}

/** Returns null when `call` may speak for member `claimedFrom`, else why not. */
export type PeerAuthorizer = (call: AuthenticatedCall, claimedFrom: number) => string | null;

/**
 * Checks certificate identities; each refusal is counted and logged (at most once a
 * minute per sender) by `drops`.
 */
export class PeerAuthenticator {
  constructor(private readonly drops: PeerDrops) {}

  /** The check as a {@link PeerAuthorizer}. */
  readonly authorize: PeerAuthorizer = (call, claimedFrom) => {
    const reason = mismatch(call, claimedFrom);
    if (reason !== null) this.drops.record(claimedFrom, "not_authorized", reason);
    return reason;
  };
}

/** Why `call`'s certificate cannot speak for `claimedFrom`, or null if it can. */
export function mismatch(call: AuthenticatedCall, claimedFrom: number): string | null {
  const context = call.getAuthContext();
  if (context.transportSecurityType !== "ssl") return "peer connection is not TLS";
  const cn = commonNameOf(call);
  const id = memberIdOfCommonName(cn);
  if (id === null) return `certificate CN '${String(cn)}' names no member (expected dfs-node-<id>)`;
  if (id !== claimedFrom) {
    return `certificate of member ${id} sent a message claiming to be from ${claimedFrom}`;
  }
  return null;
}

function commonNameOf(call: AuthenticatedCall): unknown {
  return call.getAuthContext().sslPeerCertificate?.subject?.CN;
}
