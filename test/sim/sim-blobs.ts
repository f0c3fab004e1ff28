/**
 * A node's simulated blob directory (issue 22's blob store, `<data-dir>/state/blobs/`):
 * the `BlobIo` port over what survives a crash. Like a real file system's page cache,
 * reads see every write at once; a write is durable only after a `sync` naming its blob
 * completed, and a new blob's directory entry only after such a sync too. On a crash:
 *
 * - each unsynced write is lost, kept, torn (a prefix kept) or left as zeros (the file
 *   grew but its data never reached the disk), independently;
 * - a blob whose directory entry was never synced survives half the time (with the
 *   writes that survived), else is gone;
 * - an unlink whose directory sync had not completed is undone half the time (the blob
 *   comes back with its durable bytes).
 *
 * Blobs are sparse (chunk `seq` lives at `seq × 1 MiB`, the simulator's chunks are a few
 * bytes), so a blob is a list of extents, later ones over earlier ones.
 */
import { FILE_CHUNK_BYTES } from "../../src/api/index.ts";
import type { BlobIo } from "../../src/storage/blob-io.ts";
import { assertBlobName } from "../../src/storage/blob-io.ts";
import type { Rng } from "../support/rng.ts";
import type { EventQueue } from "./event-queue.ts";

/** Bytes written at an offset. */
export interface Extent {
  readonly offset: number;
  readonly data: Uint8Array;
}

/** One blob: what is durable, and writes since its last sync. */
class BlobFile {
  durable: Extent[] = [];
  pending: Extent[] = [];
  /** The directory entry survives a crash (a sync after creation completed). */
  dirDurable = false;

  /** Size as the page cache sees it. */
  size(): number {
    let end = 0;
    for (const e of [...this.durable, ...this.pending])
      end = Math.max(end, e.offset + e.data.length);
    return end;
  }

  /** `length` bytes at `offset` as the page cache sees them (holes read as zeros). */
  read(offset: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    for (const e of [...this.durable, ...this.pending]) {
      const from = Math.max(offset, e.offset);
      const to = Math.min(offset + length, e.offset + e.data.length);
      if (from < to) out.set(e.data.subarray(from - e.offset, to - e.offset), from - offset);
    }
    return out;
  }
}

/** Fault counts of one node's blobs, for the run's report. */
export interface BlobStats {
  writes: number;
  syncs: number;
  unlinks: number;
  /** Unsynced writes a crash lost, tore or zeroed. */
  damagedWrites: number;
  /** Blobs a crash removed (never-synced entries) or brought back (unsynced unlinks). */
  dirChanges: number;
}

/** The blob directory of one simulated node; survives its crashes. */
export class SimBlobs {
  private readonly files = new Map<string, BlobFile>();
  /** Blobs unlinked whose directory sync has not completed: a crash may bring them back. */
  private readonly unlinking = new Map<string, BlobFile>();
  readonly stats: BlobStats = { writes: 0, syncs: 0, unlinks: 0, damagedWrites: 0, dirChanges: 0 };
  /**
   * Failpoint after a sync completed, before its caller goes on (for the write path:
   * after the blob's fdatasync, before the WAL write naming it).
   */
  onSynced: ((names: readonly string[]) => void) | null = null;
  /** Failpoint after a write reached the page cache, before its sync. */
  onWritten: ((name: string) => void) | null = null;
  /** Failpoint when a sync starts (its fdatasync in flight): a crash then loses its writes. */
  onSyncStart: (() => void) | null = null;

  constructor(
    private readonly queue: EventQueue,
    private readonly rng: Rng,
  ) {}

  /** Names of the blobs as the page cache sees them. */
  names(): string[] {
    return [...this.files.keys()].sort();
  }

  /** Bytes of `name` at `offset` as a reader sees them now, or undefined if short/missing. */
  peek(name: string, offset: number, length: number): Buffer | undefined {
    const f = this.files.get(name);
    if (f === undefined || f.size() < offset + length) return undefined;
    return f.read(offset, length);
  }

  /**
   * The BlobIo of one incarnation. Completions run through `deliver` (in the node's
   * context: held while it is paused, dropped once it crashed) after simulated latency.
   */
  io(alive: () => boolean, deliver: (fn: () => void) => void): BlobIo {
    const later = <T>(lo: number, hi: number, fn: () => T): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        this.queue.after(this.rng.between(lo, hi), () => {
          if (!alive()) return;
          let value: T;
          try {
            value = fn();
          } catch (error) {
            deliver(() => reject(error));
            return;
          }
          deliver(() => resolve(value));
        });
      });
    return {
      write: (name, offset, data) => {
        assertBlobName(name);
        // The bytes are copied now: a caller may reuse its buffer once write() returns.
        const extent = { offset, data: Uint8Array.from(data) };
        return later(0.02, 0.3, () => {
          let f = this.files.get(name);
          if (f === undefined) {
            f = new BlobFile();
            this.files.set(name, f);
          }
          f.pending.push(extent);
          this.stats.writes++;
          this.onWritten?.(name);
        });
      },
      sync: (names) => {
        const wanted = [...new Set(names)];
        const synced = later(0.2, 4, () => {
          for (const name of wanted) {
            const f = this.files.get(name);
            if (f === undefined) continue;
            f.durable.push(...f.pending);
            f.pending = [];
            f.dirDurable = true;
          }
          this.stats.syncs++;
          this.onSynced?.(wanted);
        });
        this.onSyncStart?.();
        return synced;
      },
      read: (name, offset, length) =>
        later(0.01, 0.2, () => {
          const f = this.files.get(name);
          if (f === undefined) throw new Error(`ENOENT: blob ${name}`);
          if (f.size() < offset + length) {
            throw new Error(`blob ${name}: ${length} bytes at ${offset} past its end ${f.size()}`);
          }
          return f.read(offset, length);
        }),
      size: async (name) => this.files.get(name)?.size(),
      unlink: (name) => {
        assertBlobName(name);
        // The name disappears at once (page cache); the removal is durable after the dir sync.
        const f = this.files.get(name);
        if (f !== undefined) {
          this.files.delete(name);
          if (f.dirDurable) this.unlinking.set(name, f);
          this.stats.unlinks++;
        }
        return later(0.2, 2, () => {
          if (this.unlinking.get(name) === f) this.unlinking.delete(name);
        });
      },
      list: async () => this.names(),
      closeAll: async () => {},
    };
  }

  /**
   * The bytes of chunks (`[blob, offset, length]`) as the page cache holds them, for a
   * snapshot stream: what a receiver writes into its new blob directory. A chunk the
   * blob does not hold is reported as missing (the stream would fail its CRC check).
   */
  shipped(chunks: readonly (readonly [string, number, number])[]): {
    blobs: Map<string, Extent[]>;
    missing: string[];
  } {
    const blobs = new Map<string, Extent[]>();
    const missing: string[] = [];
    for (const [name, offset, length] of chunks) {
      const data = this.peek(name, offset, length);
      if (data === undefined) {
        missing.push(`${name}@${offset}`);
        continue;
      }
      const extents = blobs.get(name) ?? [];
      extents.push({ offset, data });
      blobs.set(name, extents);
    }
    return { blobs, missing };
  }

  /**
   * A snapshot install swapped the node's state directory, blobs included: the blob
   * directory is now exactly `blobs`, durably (the receiver synced them before the swap).
   */
  replaceAll(blobs: ReadonlyMap<string, readonly Extent[]>): void {
    this.files.clear();
    this.unlinking.clear();
    for (const [name, extents] of blobs) {
      const f = new BlobFile();
      f.durable = [...extents];
      f.dirDurable = true;
      this.files.set(name, f);
    }
  }

  /** kill -9 (or power loss): applies the crash rules above; returns a note of the damage. */
  crash(): string {
    const notes: string[] = [];
    for (const [name, f] of [...this.files]) {
      if (!f.dirDurable && this.rng.chance(0.5)) {
        this.files.delete(name);
        this.stats.dirChanges++;
        notes.push(`blob ${name.slice(0, 8)} never synced: gone`);
        continue;
      }
      for (const e of f.pending) {
        const roll = this.rng.float();
        if (roll < 0.3) {
          f.durable.push(e);
          continue;
        }
        this.stats.damagedWrites++;
        if (roll < 0.7) continue; // lost
        const kept =
          roll < 0.85
            ? e.data.subarray(0, this.rng.int(e.data.length + 1)) // torn
            : new Uint8Array(e.data.length); // the size grew, the data never landed
        f.durable.push({ offset: e.offset, data: kept });
      }
      if (f.pending.length > 0) notes.push(`blob ${name.slice(0, 8)}: unsynced writes damaged`);
      f.pending = [];
      f.dirDurable = true;
    }
    for (const [name, f] of this.unlinking) {
      if (this.rng.chance(0.5) && !this.files.has(name)) {
        f.pending = [];
        this.files.set(name, f);
        this.stats.dirChanges++;
        notes.push(`blob ${name.slice(0, 8)} unlink undone`);
      }
    }
    this.unlinking.clear();
    return notes.join("; ");
  }
}

/**
 * The chunks a MemoryStore snapshot image names, as `[blob, offset, length]`: its
 * `chunks` are `["<uploadId>/<seq>", {length, crc32}]` (memory-store.ts).
 */
export function imageChunks(image: Uint8Array): [string, number, number][] {
  const parsed = JSON.parse(Buffer.from(image).toString()) as {
    chunks?: [string, { length: number }][];
  };
  return (parsed.chunks ?? []).map(([key, facts]) => {
    const slash = key.lastIndexOf("/");
    const seq = Number(key.slice(slash + 1));
    return [key.slice(0, slash), seq * FILE_CHUNK_BYTES, facts.length];
  });
}
