/**
 * The simulated transport's rehydration (issue 22): an append built from a node's log
 * may hold chunk entries in their stored form (bytes in the node's blob); before it
 * leaves, each such entry is read back from the blob, checked (length, CRC-32) and
 * turned into its full form, as the real transport does per peer link. Messages to one
 * peer keep their order: a batch waits behind the previous batch's reads. A stored form
 * whose bytes cannot be read whole drops the message (the real link logs and drops it;
 * the blob invariants report the missing bytes).
 */
import { rehydrateChunkEntry, storedChunkOf } from "../../src/fsm/index.ts";
import type { Entry, Message } from "../../src/raft/index.ts";
import type { BlobIo } from "../../src/storage/blob-io.ts";

/** Counts of the run's rehydrations (for the report). */
export interface RehydrateStats {
  entries: number;
  failures: number;
}

/**
 * A `send` that rehydrates stored-form entries first. `send` delivers to the network;
 * `alive` says whether the sending incarnation still runs (a crashed one sends nothing).
 */
export function rehydratingSend(
  blobs: BlobIo,
  send: (messages: readonly Message[]) => void,
  alive: () => boolean,
  stats: RehydrateStats,
  trace: (line: string) => void,
): (messages: readonly Message[]) => void {
  /** Per peer: the tail of its queue of batches being rehydrated. */
  const queues = new Map<number, Promise<void>>();
  const needs = (m: Message): boolean =>
    m.type === "append" && m.entries.some((e) => storedChunkOf(e) !== null);
  const full = async (e: Entry): Promise<Entry> => {
    const chunk = storedChunkOf(e);
    if (chunk === null) return e;
    stats.entries++;
    return rehydrateChunkEntry(e, await blobs.read(chunk.blob, chunk.offset, chunk.length));
  };
  return (messages) => {
    const now: Message[] = [];
    for (const m of messages) {
      const queued = queues.get(m.to);
      if (queued === undefined && !needs(m)) {
        now.push(m);
        continue;
      }
      const next = (queued ?? Promise.resolve()).then(async () => {
        let out: Message = m;
        if (m.type === "append" && needs(m)) {
          try {
            out = { ...m, entries: await Promise.all(m.entries.map(full)) };
          } catch (error) {
            stats.failures++;
            trace(`n${m.from} -> n${m.to}: append dropped, ${(error as Error).message}`);
            return;
          }
        }
        if (alive()) send([out]);
      });
      queues.set(m.to, next);
      void next.then(() => {
        if (queues.get(m.to) === next) queues.delete(m.to);
      });
    }
    if (now.length > 0) send(now);
  };
}
