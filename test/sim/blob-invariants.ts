/**
 * The blob store's safety properties (issue 22, docs/architecture.md "The blob store"),
 * checked against every live simulated node:
 *
 * - **retained entries**: every stored-form chunk entry in the node's durable WAL and in
 *   its core's log names bytes its blob holds, CRC-equal (crash rules 1-3: a chunk is
 *   durable in its blob before the WAL names it; a blob is unlinked only once no retained
 *   entry names it);
 * - **values**: every file a value of the node's state machine names has all its chunks
 *   in its blob, each as long as and CRC-equal to the chunk that was applied (rules 3, 5:
 *   a blob is unlinked only once a durable store no longer names it).
 *
 * The chunk applied at (upload, seq) is the same on every node (state-machine safety,
 * checked separately), so its length and CRC are recorded once, from any node's apply.
 */
import { crc32 } from "node:zlib";
import { FILE_CHUNK_BYTES } from "../../src/api/index.ts";
import type { Entry } from "../../src/raft/index.ts";
import { chunkFacts } from "./entry-identity.ts";
import { InvariantViolation } from "./invariants.ts";
import type { SimBlobs } from "./sim-blobs.ts";
import type { SimNode } from "./sim-node.ts";

/** A node as the blob checks see it. */
export interface BlobNode {
  readonly id: number;
  readonly blobs: SimBlobs;
  readonly node: SimNode;
}

/** Checks the blob properties; keeps the applied chunks' facts across the run. */
export class BlobChecker {
  /** "uploadId:seq" → length and CRC-32 of the chunk applied there. */
  private readonly applied = new Map<string, { length: number; crc32: number }>();
  /** Number of checks that ran (for the run's report). */
  checks = 0;

  /** Records an applied entry (called by the state-machine wrapper, either form). */
  onApply(entry: Entry): void {
    const facts = chunkFacts(entry);
    if (facts === undefined) return;
    this.applied.set(`${facts.uploadId}:${facts.seq}`, {
      length: facts.length,
      crc32: facts.crc32,
    });
  }

  /** Every property on every live node; throws an InvariantViolation on the first broken one. */
  check(nodes: readonly BlobNode[], why: string): void {
    this.checks++;
    for (const n of nodes) {
      const inc = n.node.current;
      if (inc === null || !inc.alive) continue;
      for (const e of n.node.disk.entries) this.checkEntry(n, e, `${why}: WAL`);
      const core = inc.node;
      const status = core.status();
      for (let i = status.compacted.index + 1; i <= status.lastIndex; i++) {
        const e = core.entryAt(i);
        if (e !== undefined) this.checkEntry(n, e, `${why}: core log`);
      }
      this.checkValues(n, why);
    }
  }

  /** A stored-form chunk entry's bytes are in its blob. */
  private checkEntry(n: BlobNode, e: Entry, where: string): void {
    const facts = chunkFacts(e);
    if (facts === undefined || !facts.stored) return;
    const bytes = n.blobs.peek(facts.uploadId, facts.seq * FILE_CHUNK_BYTES, facts.length);
    if (bytes === undefined || crc32(bytes) !== facts.crc32) {
      throw new InvariantViolation(
        `blob store (${where}): node ${n.id} entry ${e.index} names chunk ${facts.seq} of ` +
          `upload ${facts.uploadId}, but its blob ${bytes === undefined ? "is missing or short" : "holds other bytes"}`,
      );
    }
  }

  /** Every file a value names is whole in its blob. */
  private checkValues(n: BlobNode, why: string): void {
    const fsm = n.node.current?.fsm;
    if (fsm === undefined) return;
    const view = fsm.openView();
    try {
      for (const key of view.keys("", "")) {
        const file = view.get(key)?.file;
        if (file === undefined) continue;
        for (let seq = 0; seq < file.count; seq++) {
          const want = this.applied.get(`${file.uploadId}:${seq}`);
          if (want === undefined) continue; // applied before this run's records (snapshot)
          const bytes = n.blobs.peek(file.uploadId, seq * FILE_CHUNK_BYTES, want.length);
          if (bytes === undefined || crc32(bytes) !== want.crc32) {
            throw new InvariantViolation(
              `blob store (${why}): node ${n.id} value ${key} names chunk ${seq} of upload ` +
                `${file.uploadId}, but its blob ${bytes === undefined ? "is missing or short" : "holds other bytes"}`,
            );
          }
        }
      }
    } finally {
      view.close();
    }
  }
}
