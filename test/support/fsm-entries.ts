/**
 * Reproducible command streams for the state-machine tests: the stores must agree on any
 * of them, whatever the batching, write-behind or restarts in between.
 */
import { FILE_CHUNK_BYTES } from "../../src/api/index.ts";
import { decodeCommand, encodeCommand, type FsmCommand } from "../../src/fsm/index.ts";
import { type Entry, EntryKind } from "../../src/raft/types.ts";
import type { BlobIo } from "../../src/storage/index.ts";
import { seededRandom } from "./rng.ts";

/** Keys of {@link randomEntries}: some past U+FFFF, where UTF-8 and UTF-16 orders differ. */
const KEYS = [
  "k0",
  "k1",
  "k1é",
  "k1\uFB01",
  "k1\u{1F600}",
  "k2",
  "k3",
  "k4",
  "k5",
  "k6",
  "k7",
  "k8",
];

/** A random but reproducible command stream over a few keys and clients. */
export function randomEntries(seed: number, count: number, from = 1): Entry[] {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const sequences = [0, 0, 0];
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const index = from + i;
    if (int(20) === 0) {
      entries.push({ index, term: 1, kind: EntryKind.Noop, data: new Uint8Array(0) });
      continue;
    }
    const key = KEYS[int(KEYS.length)] as string;
    const client = int(4);
    let session: FsmCommand["session"];
    if (client < 3) {
      // Sometimes a retry of the previous sequence (a duplicate), sometimes a new one.
      const seq =
        int(4) === 0 ? Math.max(1, sequences[client] ?? 1) : ++(sequences[client] as number);
      session = { clientId: `c${client}`, sequence: seq, firstIncomplete: Math.max(1, seq - 2) };
    }
    const command: FsmCommand =
      int(5) === 0
        ? { op: "delete", key, session, timeMs: index * 10 }
        : {
            op: "put",
            key,
            value: Buffer.from(`v${index}-${"x".repeat(int(300))}`),
            ...(int(4) === 0 ? { ifVersion: int(3) } : {}),
            session,
            timeMs: index * 10,
          };
    entries.push({
      index,
      term: 1 + Math.floor(index / 50),
      kind: EntryKind.Normal,
      data: encodeCommand(command),
    });
  }
  return entries;
}

/** Applies `entries` seven at a time; returns every result. */
export function applyInBatches(
  store: { applyEntries(e: readonly Entry[]): unknown[] },
  entries: Entry[],
) {
  const results: unknown[] = [];
  for (let i = 0; i < entries.length; i += 7)
    results.push(...store.applyEntries(entries.slice(i, i + 7)));
  return results;
}

/** A reproducible stream of file uploads (chunks, commits, aborts, abandoned ones) and deletes. */
export function uploadEntries(seed: number, count: number): Entry[] {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const entries: Entry[] = [];
  const open = new Map<string, number>();
  let clock = 1_000_000;
  for (let index = 1; index <= count; index++) {
    clock += int(4) === 0 ? 20 * 60 * 1000 : 1000; // now and then a long pause: uploads expire
    const roll = int(10);
    let command: FsmCommand;
    const ids = [...open.keys()];
    if (roll < 2 || ids.length === 0) {
      const id = `u${index}`;
      open.set(id, 0);
      command = {
        op: "upload_chunk",
        uploadId: id,
        seq: 0,
        data: Buffer.from(`c${index}`),
        timeMs: clock,
      };
      open.set(id, 1);
    } else if (roll < 6) {
      const id = ids[int(ids.length)] as string;
      const seq = open.get(id) as number;
      const retry = int(5) === 0 && seq > 0; // a re-proposed chunk is ignored
      command = {
        op: "upload_chunk",
        uploadId: id,
        seq: retry ? seq - 1 : seq,
        data: Buffer.from(`c${index}`),
        timeMs: clock,
      };
      if (!retry) open.set(id, seq + 1);
    } else if (roll < 8) {
      const id = ids[int(ids.length)] as string;
      const chunks = open.get(id) as number;
      open.delete(id);
      command = {
        op: "commit_upload",
        uploadId: id,
        key: `f/${int(5)}`,
        size: int(3) === 0 ? 1 : chunks * 3, // sometimes wrong: refused
        sha256: Buffer.alloc(32, index),
        chunks,
        timeMs: clock,
      };
    } else if (roll < 9) {
      const id = ids[int(ids.length)] as string;
      open.delete(id);
      command = { op: "abort_upload", uploadId: id, timeMs: clock };
    } else {
      command =
        int(2) === 0
          ? { op: "delete", key: `f/${int(5)}`, timeMs: clock }
          : { op: "delete_prefix", prefix: "f", timeMs: clock };
    }
    entries.push({ index, term: 1, kind: EntryKind.Normal, data: encodeCommand(command) });
  }
  return entries;
}

/**
 * Writes the bytes of every full chunk entry among `entries` into its upload's blob, as a
 * node's write path does before such an entry reaches its WAL (the stores only record the
 * chunks' length and CRC-32). Call it before applying the entries.
 */
export async function writeChunkBlobs(blobs: BlobIo, entries: readonly Entry[]): Promise<void> {
  const touched = new Set<string>();
  for (const entry of entries) {
    if (entry.kind !== EntryKind.Normal) continue;
    const c = decodeCommand(entry.data);
    if (c?.op !== "upload_chunk" || c.stored !== undefined) continue;
    await blobs.write(c.uploadId, c.seq * FILE_CHUNK_BYTES, c.data);
    touched.add(c.uploadId);
  }
  await blobs.sync([...touched]);
}
