/**
 * The leader's view of one follower's log (Raft §5.3 nextIndex/matchIndex), plus the flow
 * control that keeps a slow or unreachable follower from being flooded: a probe state
 * that sends one append at a time until the follower's position is known, and a
 * replicate state that pipelines up to `maxInflight` appends and, when given, about
 * `maxInflightBytes` of their entries (etcd-io/raft's MaxInflightBytes).
 */

/** How the leader is currently sending to a follower. */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** Replication state of one follower, owned by the leader. */
export class Progress {
  /** Highest index known to be replicated on the follower. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ProgressState = "probe";
  /** In probe state: an append is outstanding, wait for its answer (or a heartbeat reply). */
  probeSent = false;
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Times the follower's log was found shorter than what it had acknowledged. */
  regressions = 0;
  /** Last index of each append in flight, oldest first (replicate state only). */
  private readonly inflight: number[] = [];
  /** Entry bytes of each append in {@link inflight}, in the same order. */
  private readonly inflightSizes: number[] = [];
  /** Sum of {@link inflightSizes}. */
  private inflightBytes = 0;

  constructor(
    next: number,
    private readonly maxInflight: number,
    /**
     * Entry bytes in flight at or past which no more appends go out (0: no byte bound).
     * One append may pass it, as in etcd: the window is full once the bytes reach it.
     */
    private readonly maxInflightBytes = 0,
  ) {
    this.next = next;
  }

  /** Appends sent to this follower and not yet acknowledged (for status and metrics). */
  get inflightCount(): number {
    return this.inflight.length;
  }

  /** Entry bytes of the appends in flight (for status and tests). */
  get inflightByteCount(): number {
    return this.inflightBytes;
  }

  /** True when the leader should not send more appends to this follower right now. */
  isPaused(): boolean {
    if (this.state === "snapshot") return true;
    if (this.state === "probe") return this.probeSent;
    return this.inflightFull();
  }

  /** Switches to probing from `match + 1`: used after a rejection or on a new leader. */
  becomeProbe(): void {
    // Leaving snapshot state after a successful send: the follower has everything up to
    // the snapshot, so probe just after it (a failed send clears pendingSnapshot first).
    const floor = this.state === "snapshot" ? this.pendingSnapshot : 0;
    this.state = "probe";
    this.probeSent = false;
    this.clearInflight();
    this.next = Math.max(this.match, floor) + 1;
    this.pendingSnapshot = 0;
  }

  /** Sends nothing more until the snapshot at `index` is installed (or reported failed). */
  becomeSnapshot(index: number): void {
    this.state = "snapshot";
    this.pendingSnapshot = index;
    this.clearInflight();
  }

  /** Switches to pipelined replication once the follower's position is known. */
  becomeReplicate(): void {
    this.state = "replicate";
    this.probeSent = false;
    this.clearInflight();
    this.next = this.match + 1;
  }

  /** Records an append whose last entry is `lastIndex` (`bytes` of entries) as sent. */
  sentEntries(lastIndex: number, count: number, bytes = 0): void {
    if (this.state === "replicate") {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflight.push(lastIndex);
        this.inflightSizes.push(bytes);
        this.inflightBytes += bytes;
      }
    } else {
      this.probeSent = true;
    }
  }

  /**
   * Handles an accepted append up to `index`. Returns false if the ack is stale
   * (already known), so the caller can skip redundant work.
   */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < index + 1) this.next = index + 1;
    this.freeUpTo(index);
    return updated;
  }

  /**
   * Handles a rejected append of prevIndex `rejected`; `hint` is the highest index that
   * may match. Returns false for a stale rejection (one that predates newer knowledge).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (rejected === this.match && hint < this.match) {
      // The follower lacks an entry it once acknowledged: its log went backwards (a data
      // dir restored from an older copy, or a disk that lost synced writes). In either
      // state, treating this as stale would probe at `match` forever while the follower
      // rejects every probe; resume from where it really is. (A rejection delayed past
      // the ack it preceded lands here too: it costs a resend, never safety.)
      this.match = hint;
      this.regressions++;
      this.next = hint + 1;
      this.probeSent = false;
      return true;
    }
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Frees in-flight slots for appends up to `index` (they were acknowledged). */
  freeUpTo(index: number): void {
    while (this.inflight.length > 0 && (this.inflight[0] as number) <= index) this.freeFirstOne();
  }

  /** Frees one slot so a heartbeat reply lets a stuck pipeline make progress after loss. */
  freeFirstOne(): void {
    if (this.inflight.length === 0) return;
    this.inflight.shift();
    this.inflightBytes -= this.inflightSizes.shift() ?? 0;
  }

  /** True when the pipeline window is full (by count, or by bytes when bounded). */
  inflightFull(): boolean {
    if (this.inflight.length >= this.maxInflight) return true;
    return this.maxInflightBytes > 0 && this.inflightBytes >= this.maxInflightBytes;
  }

  private clearInflight(): void {
    this.inflight.length = 0;
    this.inflightSizes.length = 0;
    this.inflightBytes = 0;
  }
}
