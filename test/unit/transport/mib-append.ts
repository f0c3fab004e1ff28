/** An append of one 1 MiB entry at `index`, filled with its index: the link tests' load. */
import { type Entry, EntryKind, type Message } from "../../../src/raft/index.ts";

/** Bytes in a MiB. */
export const MiB = 1024 * 1024;

/** Append `index` from node 1 to node 2, term 1, carrying one MiB of `index` bytes. */
export function mibAppend(index: number): Message {
  const entry: Entry = { term: 1, index, kind: EntryKind.Normal, data: Buffer.alloc(MiB, index) };
  return {
    type: "append",
    from: 1,
    to: 2,
    term: 1,
    prevIndex: index - 1,
    prevTerm: index > 1 ? 1 : 0,
    entries: [entry],
    commit: 0,
  };
}
