/**
 * Counts refused peer messages per reason and logs them at most once a minute per
 * sender, so a broken or hostile peer is visible to operators without flooding the log
 * (a peer sends tens of batches a second). The counters are what the node exposes.
 */
import type { DropReason } from "../raft/index.ts";

/**
 * Why the transport refused a peer message: the core's reasons (raft/message-rules.ts),
 * plus those only the transport can judge: a certificate that does not vouch for the
 * claimed sender (mutual TLS), a snapshot from a node that is not this node's leader, a
 * snapshot while the leader's own transfer runs, and a snapshot the disk has no room for.
 */
export type PeerDropReason =
  | DropReason
  | "not_authorized"
  | "snapshot_not_from_leader"
  | "snapshot_busy"
  | "snapshot_disk_space"
  /** The sender presents another data dir's member identity than the configuration binds. */
  | "identity_mismatch"
  /**
   * An append carries an upload chunk in the stored form (its bytes are in the sender's
   * blob store, not in the message): it never goes on the wire, and persisting it would
   * name bytes this node does not have.
   */
  | "stored_chunk";

/** Log refusals from one sender at most this often. */
export const DROP_LOG_INTERVAL_MS = 60_000;

/** Where refusals are reported: one line per sender per interval. */
export type DropLog = (
  fields: { sender: number; reason: PeerDropReason; dropped: number },
  message: string,
) => void;

/** Refusal counters of one node's peer service. */
export class PeerDrops {
  private readonly counts = new Map<PeerDropReason, number>();
  /** Per sender: when it was last logged, and refusals since then. */
  private readonly senders = new Map<number, { loggedAt: number; since: number }>();

  constructor(
    private readonly log: DropLog,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = DROP_LOG_INTERVAL_MS,
  ) {}

  /** Counts one refused message (or batch) from `sender`; logs if this sender may be logged. */
  record(sender: number, reason: PeerDropReason, detail: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    const now = this.now();
    const s = this.senders.get(sender);
    if (s !== undefined && now - s.loggedAt < this.intervalMs) {
      s.since++;
      return;
    }
    const dropped = (s?.since ?? 0) + 1;
    this.senders.set(sender, { loggedAt: now, since: 0 });
    if (this.senders.size > 1024) this.forgetOldest();
    this.log({ sender, reason, dropped }, `refused peer message: ${detail}`);
  }

  /** Refusals so far per reason. */
  snapshot(): ReadonlyMap<PeerDropReason, number> {
    return new Map(this.counts);
  }

  /** Keeps the per-sender table bounded when senders forge many ids. */
  private forgetOldest(): void {
    const oldest = this.senders.keys().next();
    if (!oldest.done) this.senders.delete(oldest.value);
  }
}
