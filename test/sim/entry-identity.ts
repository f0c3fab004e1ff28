/**
 * What an entry IS, for the invariants, across the blob store's two forms of a chunk
 * entry (issue 22): the full form (the command carries the chunk's bytes; on the wire,
 * and in a log before the node persisted it) and the stored form (bytes in the node's
 * blob, the command carrying only {length, crc32}; in the WAL and the core's log after
 * persisting). Both name the same entry, so they must compare equal: a chunk entry is
 * identified by its command without the bytes plus the bytes' length and CRC-32.
 */
import { crc32 } from "node:zlib";
import { decodeCommand, encodeCommand } from "../../src/fsm/index.ts";
import { type Entry, EntryKind } from "../../src/raft/index.ts";

const EMPTY = new Uint8Array(0);

/** A chunk entry's facts: where its bytes belong and what they are. */
export interface ChunkFacts {
  readonly uploadId: string;
  readonly seq: number;
  readonly length: number;
  readonly crc32: number;
  /** True when the entry holds the stored form (no bytes). */
  readonly stored: boolean;
}

/** Entries are immutable and shared: their facts are decoded once. */
const factsOf = new WeakMap<Entry, ChunkFacts | null>();

/** The chunk facts of an upload_chunk entry (either form); undefined for anything else. */
export function chunkFacts(entry: Entry): ChunkFacts | undefined {
  let facts = factsOf.get(entry);
  if (facts === undefined) {
    facts = decodeFacts(entry) ?? null;
    factsOf.set(entry, facts);
  }
  return facts ?? undefined;
}

function decodeFacts(entry: Entry): ChunkFacts | undefined {
  if (entry.kind !== EntryKind.Normal || entry.data.length === 0) return undefined;
  const command = decodeCommand(entry.data);
  if (command === null || command.op !== "upload_chunk") return undefined;
  const { uploadId, seq, stored } = command;
  if (stored !== undefined) return { uploadId, seq, ...stored, stored: true };
  return { uploadId, seq, length: command.data.length, crc32: crc32(command.data), stored: false };
}

/**
 * A string naming `data` (an entry's payload) the same way in both forms: the payload
 * itself (base64) for every entry but a chunk's, which becomes its command without the
 * bytes (base64) plus `|length:crc32`.
 */
export function payloadIdentity(kind: EntryKind, data: Uint8Array): string {
  if (kind === EntryKind.Normal && data.length > 0) {
    const command = decodeCommand(data);
    if (command !== null && command.op === "upload_chunk") {
      const { stored, ...rest } = command;
      const length = stored?.length ?? command.data.length;
      const crc = stored?.crc32 ?? crc32(command.data);
      const bare = encodeCommand({ ...rest, data: EMPTY });
      return `chunk:${Buffer.from(bare).toString("base64")}|${length}:${crc}`;
    }
  }
  return Buffer.from(data).toString("base64");
}
