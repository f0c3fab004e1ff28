/**
 * Where the snapshot sender reports how each transfer ended, for the loop to pass on to
 * the core. The node builds it first, hands `report` to the sender and the sink to the
 * loop, which listens from its constructor: neither needs the other to exist first.
 * A report that arrives before anyone listens (none can today: only the loop sends
 * snapshots) is held, never dropped.
 */

/** How one InstallSnapshot transfer to `peer` ended. */
export type SnapshotOutcome = (peer: number, ok: boolean) => void;

/** A one-listener mailbox of snapshot outcomes. */
export class SnapshotOutcomes {
  #listener: SnapshotOutcome | null = null;
  readonly #held: Array<[number, boolean]> = [];

  /** The sender's side: a transfer to `peer` ended. */
  readonly report: SnapshotOutcome = (peer, ok) => {
    if (this.#listener === null) this.#held.push([peer, ok]);
    else this.#listener(peer, ok);
  };

  /** The loop's side: called once, from its constructor; held reports are delivered now. */
  listen(listener: SnapshotOutcome): void {
    if (this.#listener !== null) throw new Error("snapshot outcomes already have a listener");
    this.#listener = listener;
    for (const [peer, ok] of this.#held.splice(0)) listener(peer, ok);
  }
}
