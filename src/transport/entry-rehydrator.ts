/**
 * Entries a node keeps in a lighter form than it sends (issue 22: an upload chunk whose
 * bytes live in the node's blob store, kept in the log as its "stored form") must be
 * turned back into their full form before they go on the wire; the stored form never
 * leaves the node. The transport does this per peer link, just before a batch is
 * written, so at most one batch per peer is ever held rehydrated in memory, and the
 * messages to a peer keep their order. The server supplies the rehydrator (it reads the
 * blob store); the transport only knows when to ask.
 */
import type { Entry, Message } from "../raft/index.ts";

/** Turns entries kept in a lighter form back into their wire form. */
export interface EntryRehydrator {
  /** True when `entry` must be rehydrated before it is sent (cheap, synchronous). */
  needs(entry: Entry): boolean;
  /** Bytes the entry will have on the wire (for queue limits), without reading anything. */
  bytes(entry: Entry): number;
  /** The entry's full form (reads the blob; rejects if the bytes are missing or damaged). */
  rehydrate(entry: Entry): Promise<Entry>;
}

/**
 * Entries could not be rehydrated (their blob is missing or damaged), so they were not
 * sent: the node's own storage is at fault, which an operator must see (unlike a peer
 * that is merely unreachable).
 */
export class RehydrationError extends Error {
  override readonly name = "RehydrationError";
}

/** True when some entry of `m` must be rehydrated before `m` is sent. */
export function needsRehydration(m: Message, r: EntryRehydrator | undefined): boolean {
  return r !== undefined && m.type === "append" && m.entries.some((e) => r.needs(e));
}

/** `messages` with every entry that needs it rehydrated (reads run concurrently). */
export async function rehydrateMessages(
  messages: readonly Message[],
  r: EntryRehydrator,
): Promise<Message[]> {
  return Promise.all(
    messages.map(async (m) => {
      if (!needsRehydration(m, r) || m.type !== "append") return m;
      const entries = await Promise.all(
        m.entries.map((e) => (r.needs(e) ? r.rehydrate(e) : Promise.resolve(e))),
      );
      return { ...m, entries };
    }),
  );
}
