/**
 * The identity rule of the peer port under mutual TLS: a message is accepted only when
 * the member it claims to come from (`MessageBatch.from`, `SnapshotChunk.from`) is the
 * member named by the client certificate of the connection that carried it (its CN,
 * `dfs-node-<id>`, see api/peer-identity.ts). The CA check alone would let any node
 * speak for any other; this makes a stolen or misused node certificate worth one member.
 * Refusals are counted and logged at most once a minute per sender, so a hostile peer
 * cannot flood the log.
 */
import type { PeerCertificate } from "node:tls";
import { memberIdOfCommonName } from "../api/peer-identity.ts";

/** What the check needs from a server call: the TLS peer it came over. */
export interface AuthenticatedCall {
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: PeerCertificate };
}

/** Returns null when `call` may speak for member `claimedFrom`, else why not. */
export type PeerAuthorizer = (call: AuthenticatedCall, claimedFrom: number) => string | null;

/** Settings of {@link PeerAuthenticator}. */
export interface PeerAuthOptions {
  /** Where refusals are reported (rate-limited per sender). */
  readonly log: (fields: object, message: string) => void;
  /** Clock for the rate limit (tests inject one). */
  readonly now?: () => number;
  /** At most one log line per sender per this many ms (default one minute). */
  readonly logEveryMs?: number;
}

/** Senders remembered for the log rate limit; past this the memory starts over. */
const MAX_TRACKED_SENDERS = 1024;

/** Checks certificate identities and keeps the refusal count. */
export class PeerAuthenticator {
  /** Messages refused because the certificate did not match the claimed sender. */
  refused = 0;
  private readonly lastLogged = new Map<string, number>();

  constructor(private readonly options: PeerAuthOptions) {}

  /** The check as a {@link PeerAuthorizer}. */
  readonly authorize: PeerAuthorizer = (call, claimedFrom) => {
    const reason = mismatch(call, claimedFrom);
    if (reason === null) return null;
    this.refused++;
    this.report(call, claimedFrom, reason);
    return reason;
  };

  private report(call: AuthenticatedCall, claimedFrom: number, reason: string): void {
    const certificate = commonNameOf(call) ?? "(none)";
    const sender = `${claimedFrom}/${certificate}`;
    const now = (this.options.now ?? Date.now)();
    const last = this.lastLogged.get(sender);
    if (last !== undefined && now - last < (this.options.logEveryMs ?? 60_000)) return;
    if (this.lastLogged.size >= MAX_TRACKED_SENDERS) this.lastLogged.clear();
    this.lastLogged.set(sender, now);
    this.options.log(
      { claimedFrom, certificate, refusedTotal: this.refused },
      `peer message refused: ${reason}`,
    );
  }
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
