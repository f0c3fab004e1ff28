/**
 * Online defragmentation of a node's LMDB store (`dfs defrag`, docs/backup.md#giving-disk-space-back).
 * LMDB reuses the pages of deleted records but never gives them back to the file system,
 * so a store that once held 100 GiB of files keeps a 100 GiB file after they are deleted.
 * A compacting copy holds only the live pages. While the node keeps serving:
 *
 *  1. copy   — the store starts recording every key written to its environment ("dirty"),
 *              then LMDB copies itself, compacting, into `state.new.defrag-N/` (from one
 *              read transaction, on a libuv thread: the loop, reads and writes go on); the
 *              copy is fsynced with its directory.
 *  2. catch up — the records written meanwhile are copied from the live store into the
 *              copy, a bounded batch per turn of the loop (256 records, 4 MiB), until
 *              one batch holds the rest.
 *  3. switch — in ONE synchronous step: the last dirty records are copied, the copy
 *              becomes the store every read and write uses, and the pending writes go to
 *              it. From here the old store gets nothing: the copy equals it plus those
 *              writes. Then the copy is made durable (two commits, as `flushed()` does).
 *              Until the swap below is durable, the store's `flushed()` waits, so the WAL
 *              is never compacted past what the OLD store holds durably.
 *  4. swap   — `state/` is renamed to `state.old/`, the copy to `state/`, each rename
 *              followed by a directory sync (the snapshot install's swap, state-dirs.ts);
 *              then `state.old/` is deleted. Views still reading the old store (a download
 *              in progress) keep it open, unlinked, and it closes when the last one does.
 *
 * A crash anywhere leaves a store that starts: before the second rename, `state/` (or
 * `state.old/`, renamed back at start) is the old store, which is durable up to every
 * index the WAL was compacted to, and the copy is deleted; after it, the copy, durable
 * with everything the old store held. Either way the WAL replays the rest. Proven step by
 * step in test/unit/fsm/defrag-crash.test.ts.
 */
import { open as openFile, rename, rm, stat } from "node:fs/promises";
import type { RootDatabase } from "lmdb";
import { crashPoint, fsyncDir, mkdirDurable } from "../storage/index.ts";
import { storeFile } from "./lmdb-env.ts";
import { stateDirs } from "./state-dirs.ts";

/** The steps of a defrag, in order; a test seam and `DFS_CRASH_AT=defrag-<step>` stop at each. */
export const DEFRAG_STEPS = [
  "copied",
  "caught-up",
  "switched",
  "flushed",
  "aside",
  "renamed",
  "removed",
] as const;

/** One of {@link DEFRAG_STEPS}. */
export type DefragStep = (typeof DEFRAG_STEPS)[number];

/** What a defrag did: the store file's size before and after, and how long it took. */
export interface DefragReport {
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly durationMs: number;
}

/**
 * Records copied per turn of the loop while catching up, by count and by bytes: each turn
 * is one synchronous pause of the node's loop, which must stay far below an election
 * timeout (a file's chunks are 1 MiB each: 256 of them would stall it for a second).
 */
const TURN_KEYS = 256;
const TURN_BYTES = 4 * 1024 * 1024;

/** Catch-up turns before switching anyway (a writer faster than the copy must not starve it). */
const MAX_CATCH_UP_TURNS = 10_000;

/** Bytes counted per record besides its contents (key, header). */
const RECORD_OVERHEAD_BYTES = 128;

/**
 * Keys the write-behind wrote since a defrag's copy began, with about how many bytes each
 * last wrote: copying them again is the catch-up's work, bounded per turn of the loop.
 */
export class DirtyRecords {
  private readonly sizes = new Map<string, number>();
  private total = 0;

  /** Notes that `key` was written with a record of about `bytes` (0: removed). */
  add(key: string, bytes: number): void {
    const size = RECORD_OVERHEAD_BYTES + bytes;
    this.total += size - (this.sizes.get(key) ?? 0);
    this.sizes.set(key, size);
  }

  /** Keys waiting. */
  get count(): number {
    return this.sizes.size;
  }

  /** Whether the switch may copy what is left in one synchronous step. */
  get fitsOneTurn(): boolean {
    return this.sizes.size <= TURN_KEYS && this.total <= TURN_BYTES;
  }

  /** Removes and returns one turn's worth of keys (at least one if any is waiting). */
  takeTurn(): string[] {
    const taken: string[] = [];
    let bytes = 0;
    for (const [key, size] of this.sizes) {
      if (taken.length > 0 && (taken.length >= TURN_KEYS || bytes + size > TURN_BYTES)) break;
      taken.push(key);
      bytes += size;
    }
    for (const key of taken) this.forget(key);
    return taken;
  }

  /** Removes and returns every key waiting. */
  drain(): string[] {
    const all = [...this.sizes.keys()];
    this.sizes.clear();
    this.total = 0;
    return all;
  }

  private forget(key: string): void {
    this.total -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }
}

/** What the store lends the defrag (lmdb-store.ts implements it over its private state). */
export interface DefragHost {
  readonly dataDir: string;
  /** The store every read and write uses now. */
  live(): RootDatabase<Buffer, string>;
  /** Starts recording the keys the write-behind writes; returns what it fills. */
  track(): DirtyRecords;
  /** Opens the copy in `dir` as a store (the live store's flags). */
  openCopy(dir: string): RootDatabase<Buffer, string>;
  /**
   * Synchronously: copies the remaining dirty records, stops tracking, makes `fresh` the
   * live store and writes the pending writes to it; returns the old store.
   */
  switchTo(fresh: RootDatabase<Buffer, string>): RootDatabase<Buffer, string>;
  /** Makes everything the live store holds durable (two commits and a flush). */
  flush(): Promise<void>;
  /** The old store is out of use once its readers are done: close it then. */
  retire(old: RootDatabase<Buffer, string>): void;
  /** Stops tracking and forgets the copy (a defrag abandoned before the switch). */
  abandon(): void;
  /** True when the defrag must stop before the switch (the store closes, a snapshot installs). */
  aborted(): boolean;
  /** Called after each step (test seam); also a crash point. */
  reached(step: DefragStep): void;
}

/**
 * Runs one defrag over `host` (see the file comment). Failures before the switch leave
 * the old store in use and remove the copy; a failure after it is thrown to the host,
 * which must stop applying (a restart then finds one consistent store).
 */
export async function defragStore(host: DefragHost, seq: number): Promise<DefragReport> {
  const started = performance.now();
  const dirs = stateDirs(host.dataDir);
  const bytesBefore = await fileBytes(storeFile(dirs.live));
  const dir = `${dirs.incoming}.defrag-${seq}`;
  let fresh: RootDatabase<Buffer, string> | null = null;
  try {
    const dirty = host.track();
    await compactCopy(host.live(), dir);
    host.reached("copied");
    fresh = host.openCopy(dir);
    await catchUp(host, fresh, dirty);
    host.reached("caught-up");
    if (host.aborted()) throw new DefragAbandoned();
  } catch (error) {
    host.abandon();
    await fresh?.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  host.retire(host.switchTo(fresh));
  host.reached("switched");
  await host.flush();
  host.reached("flushed");
  await swapIn(host, dir);
  return {
    bytesBefore,
    bytesAfter: await fileBytes(storeFile(dirs.live)),
    durationMs: performance.now() - started,
  };
}

/** A defrag stopped before its switch because the store is closing or installing a snapshot. */
export class DefragAbandoned extends Error {
  constructor() {
    super("defrag abandoned: the store is closing or installing a snapshot from the leader");
    this.name = "DefragAbandoned";
  }
}

/** LMDB's compacting copy of `db` into `dir`, then the file and the directory synced. */
async function compactCopy(db: RootDatabase<Buffer, string>, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdirDurable(dir);
  const file = storeFile(dir);
  await db.backup(file, true);
  const handle = await openFile(file, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsyncDir(dir);
}

/** Copies dirty records into `fresh` a bounded turn at a time until one turn holds the rest. */
async function catchUp(
  host: DefragHost,
  fresh: RootDatabase<Buffer, string>,
  dirty: DirtyRecords,
): Promise<void> {
  for (let turn = 0; !dirty.fitsOneTurn && turn < MAX_CATCH_UP_TURNS; turn++) {
    if (host.aborted()) return;
    copyRecords(host.live(), fresh, dirty.takeTurn());
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Copies each of `keys` as `from` holds it now into `to` (removing those `from` no longer
 * has), in one transaction. Records are copied as bytes: their checksums travel with them.
 */
export function copyRecords(
  from: RootDatabase<Buffer, string>,
  to: RootDatabase<Buffer, string>,
  keys: Iterable<string>,
): void {
  to.transactionSync(() => {
    for (const key of keys) {
      const value = from.get(key);
      if (value === undefined) to.removeSync(key);
      else to.putSync(key, value);
    }
  });
}

/** The crash-safe swap: live aside, copy in, old removed; each rename followed by a dir sync. */
async function swapIn(host: DefragHost, dir: string): Promise<void> {
  const dirs = stateDirs(host.dataDir);
  await rename(dirs.live, dirs.previous);
  await fsyncDir(host.dataDir);
  host.reached("aside");
  await rename(dir, dirs.live);
  await fsyncDir(host.dataDir);
  host.reached("renamed");
  await rm(dirs.previous, { recursive: true, force: true });
  host.reached("removed");
}

/**
 * Records every key written to `db` (put or remove, synchronous or not, by any code of
 * the store: data, sessions, metadata, and any record kind added later) into `dirty`,
 * until the returned function is called. Watching the environment rather than listing the
 * store's record kinds means a new kind of record can never be left out of a defrag.
 * The store writes in synchronous transactions only, so a recorded key's new value is
 * committed before the catch-up can copy it.
 */
export function trackWrites(db: RootDatabase<Buffer, string>, dirty: DirtyRecords): () => void {
  type Write = (key: string, ...rest: unknown[]) => unknown;
  const target = db as unknown as Record<"put" | "remove", Write>;
  const hadOwn = { put: Object.hasOwn(db, "put"), remove: Object.hasOwn(db, "remove") };
  const put = target.put;
  const remove = target.remove;
  target.put = (key, ...rest) => {
    const value = rest[0];
    dirty.add(key, value instanceof Uint8Array ? value.byteLength : 0);
    return put.call(db, key, ...rest);
  };
  target.remove = (key, ...rest) => {
    dirty.add(key, 0);
    return remove.call(db, key, ...rest);
  };
  return () => {
    if (hadOwn.put) target.put = put;
    else delete (target as Partial<typeof target>).put;
    if (hadOwn.remove) target.remove = remove;
    else delete (target as Partial<typeof target>).remove;
  };
}

/** Size of a file in bytes (0 if missing). */
async function fileBytes(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** The test seam's default: only the crash point (`DFS_CRASH_AT=defrag-<step>`). */
export function defragCrashPoint(step: DefragStep): void {
  crashPoint(`defrag-${step}`);
}

/**
 * Open readers (views, snapshot sources) per store environment, so a store taken out of
 * use by a defrag is closed only once nobody reads it any more.
 */
export class EnvReaders {
  private readonly counts = new Map<object, number>();
  private readonly idle = new Map<object, () => void>();

  /** Counts `reader` against `env` until its (idempotent) close. */
  track<T extends { close(): void }>(env: object, reader: T): T {
    this.counts.set(env, (this.counts.get(env) ?? 0) + 1);
    const close = reader.close.bind(reader);
    let closed = false;
    reader.close = () => {
      close();
      if (closed) return;
      closed = true;
      const left = (this.counts.get(env) ?? 1) - 1;
      if (left > 0) {
        this.counts.set(env, left);
        return;
      }
      this.counts.delete(env);
      const notify = this.idle.get(env);
      this.idle.delete(env);
      notify?.();
    };
    return reader;
  }

  /** Resolves once `env` has no open reader. */
  whenIdle(env: object): Promise<void> {
    if ((this.counts.get(env) ?? 0) === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.set(env, resolve));
  }
}
