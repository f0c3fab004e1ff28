/**
 * ReadIndex bookkeeping (Raft thesis §6.4): each linearizable read round records the
 * commit index at request time and becomes safe to serve once a majority has acknowledged
 * a heartbeat sent after it, proving this node was still leader when the read began.
 * One heartbeat round confirms every read queued before it, so reads batch naturally.
 */
import type { NodeId } from "./types.ts";

/** A read request a leader holds: from itself or a follower, with the asker's context. */
export interface ReadRequest {
  readonly from: NodeId;
  readonly context: number;
}

/** A read whose index is confirmed: serve it once applied >= index. */
export interface ReadState {
  readonly index: number;
  readonly context: number;
}

interface PendingRead {
  readonly index: number;
  readonly context: number;
  readonly acks: Set<NodeId>;
}

/** Pending ReadIndex rounds of a leader, in request order. */
export class ReadOnlyQueue {
  private queue: PendingRead[] = [];
  private readonly byContext = new Map<number, PendingRead>();

  /** Queues a read round at commit index `index`; `context` must be unique and increasing. */
  add(index: number, context: number, self: NodeId): void {
    if (this.byContext.has(context)) return;
    const read = { index, context, acks: new Set([self]) };
    this.queue.push(read);
    this.byContext.set(context, read);
  }

  /**
   * Records a heartbeat ack for `context`; returns how many of the nodes that acked it
   * `counts` (the current voters: an ack from a node removed since, or this leader's own
   * once it is removed, proves nothing about the configuration in force).
   */
  recvAck(from: NodeId, context: number, counts: (id: NodeId) => boolean): number {
    const read = this.byContext.get(context);
    if (read === undefined) return 0;
    read.acks.add(from);
    let n = 0;
    for (const id of read.acks) if (counts(id)) n++;
    return n;
  }

  /** Releases `context` and every read queued before it, in order. */
  advance(context: number): ReadState[] {
    const at = this.queue.findIndex((r) => r.context === context);
    if (at < 0) return [];
    const released = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    for (const r of released) this.byContext.delete(r.context);
    return released.map((r) => ({ index: r.index, context: r.context }));
  }

  /** Context of the newest pending read (0 if none): heartbeats carry it. */
  lastContext(): number {
    return this.queue[this.queue.length - 1]?.context ?? 0;
  }

  /** Drops every pending read (leadership lost; the server fails them). */
  reset(): void {
    this.queue = [];
    this.byContext.clear();
  }
}
