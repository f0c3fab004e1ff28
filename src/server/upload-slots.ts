/**
 * Counts the uploads in progress on a node and on each client connection, and refuses
 * one past either bound with `resource_exhausted`: each upload holds buffers and Raft
 * window slots until it ends, so 150 stalled uploads would otherwise hold ~150 MiB.
 * Connections are told apart by their remote address and port (one HTTP/2 connection
 * each); a client id would not do, since a client chooses its own.
 */
import { DfsError } from "../api/index.ts";

/** Bounds, see {@link ResourceLimits}. */
export interface UploadSlotLimits {
  readonly uploadsPerConnection: number;
  readonly uploadsPerNode: number;
}

/** The node's upload bookkeeping; one per node. */
export class UploadSlots {
  private total = 0;
  private readonly byConnection = new Map<string, number>();

  constructor(private readonly limits: UploadSlotLimits) {}

  /**
   * Takes a slot for an upload arriving on `connection`; returns its release (call it
   * once, when the upload ends however it ends). Throws `resource_exhausted` when full.
   */
  acquire(connection: string): () => void {
    const mine = this.byConnection.get(connection) ?? 0;
    if (mine >= this.limits.uploadsPerConnection) {
      throw new DfsError(
        "resource_exhausted",
        `too many uploads at once on this connection (limit ${this.limits.uploadsPerConnection}); wait for one to finish`,
      );
    }
    if (this.total >= this.limits.uploadsPerNode) {
      throw new DfsError(
        "resource_exhausted",
        `too many uploads at once on this node (limit ${this.limits.uploadsPerNode}); retry later`,
      );
    }
    this.total++;
    this.byConnection.set(connection, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.byConnection.get(connection) ?? 1) - 1;
      if (left === 0) this.byConnection.delete(connection);
      else this.byConnection.set(connection, left);
    };
  }

  /** Uploads in progress (status, tests). */
  get inProgress(): number {
    return this.total;
  }
}
