/**
 * Who may start an InstallSnapshot transfer on this node, decided at its first chunk,
 * before anything is written: only the leader this node knows, for a term at least its
 * own (the node answers through `admit`, from the core's public state). Without the gate
 * any member id could stream a whole image to disk before the core looked at its term,
 * and each new transfer replaced the one in progress, so a forger could keep a follower
 * from ever catching up. A transfer from the current leader is never replaced by one
 * from anyone else; the leader itself may restart its own (a retry after a stall).
 */

/**
 * Null when this node takes a snapshot from `from` sent in `term`, else why not: `from`
 * must be the leader it knows, and `term` at least its own.
 */
export type SnapshotAdmission = (from: number, term: number) => string | null;

/** An admitted transfer; hand it back to {@link SnapshotGate.leave} when it ends. */
export interface SnapshotTicket {
  readonly from: number;
  readonly term: number;
}

/** One node's gate, shared by every InstallSnapshot call. */
export class SnapshotGate {
  private active: SnapshotTicket | null = null;

  constructor(private readonly admit: SnapshotAdmission) {}

  /**
   * Admits a transfer from `from` in `term`, or returns why not: `from` is not the known
   * leader, or the known leader's own transfer is still running.
   */
  enter(from: number, term: number): SnapshotTicket | { readonly refused: string; busy: boolean } {
    const why = this.admit(from, term);
    if (why !== null) return { refused: why, busy: false };
    const active = this.active;
    if (active !== null && active.from !== from && this.admit(active.from, active.term) === null) {
      return {
        refused: `a snapshot transfer from the leader, node ${active.from}, is in progress`,
        busy: true,
      };
    }
    const ticket = { from, term };
    this.active = ticket;
    return ticket;
  }

  /** The transfer of `ticket` ended (installed, refused or broken off). */
  leave(ticket: SnapshotTicket): void {
    if (this.active === ticket) this.active = null;
  }
}

/**
 * The admission rule from the node's soft state: a follower takes snapshots from the
 * leader it knows, sent in a term at least its own. Anything else (no known leader, a
 * candidate, another member claiming a higher term) is refused: a real leader first wins
 * the follower over with appends or heartbeats, which tell it who leads, and retries a
 * refused transfer after the next heartbeat reply.
 */
export function leaderAdmission(
  soft: () => {
    readonly role: string;
    readonly leader: number;
    readonly term: number;
  },
): SnapshotAdmission {
  return (from, term) => {
    const s = soft();
    if (s.role === "leader") return `node ${from} sent a snapshot to the leader of term ${s.term}`;
    if (s.leader !== from) {
      const known = s.leader === 0 ? "no leader is known" : `the leader is node ${s.leader}`;
      return `snapshot from node ${from}, but ${known} (term ${s.term})`;
    }
    if (term < s.term) return `snapshot of term ${term} from node ${from}, now term ${s.term}`;
    return null;
  };
}
