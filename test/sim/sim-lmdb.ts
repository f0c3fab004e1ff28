/**
 * The simulator's LMDB mode (`npm run sim -- --store lmdb`): each node runs the real
 * LmdbStore, write-behind and all, on a real temporary directory, and its crashes lose
 * what the store had not made durable.
 *
 * Determinism. The store's applies, commits and reads are synchronous; its open, flush,
 * snapshot transfer, install and close are real asynchronous I/O, and every one of them
 * goes through the simulation's {@link RealIo} gate, which runs them one at a time
 * between two events: they take zero simulated time and the order of everything depends
 * only on the seed. The write-behind's age limit runs on the simulated clock.
 *
 * Durability model: the store's contract. LMDB commits are atomic (a crash leaves the
 * state of some commit), a write-behind commit is not durable until {@link
 * LmdbStore.flushed} resolves (its meta page rides on a later fdatasync, see lmdb-env.ts),
 * and the WAL may only be compacted up to what was flushed. So each node keeps a copy of
 * its store file as of its last flush (the "floor": at each snapshot capture, at each
 * install, at each restart), and a crash keeps either that floor or the store as it is
 * (every commit survived), drawn per crash. The floor is the worst case LMDB allows and
 * the one that needs the most WAL replay; any commit in between is a state of the same
 * kind (the log applied up to some index). A restart opens the kept image with
 * LmdbStore.open, reconciles it with the simulated WAL through the production
 * recoverLog, and replays the WAL after the store's applied index.
 *
 * Crash points ({@link STORE_STEPS}): the simulation may crash a node at each step of the
 * store's batch — applied into memory only, committed but not flushed, flushed but the WAL
 * not compacted yet, WAL compacted, a received snapshot installed but the WAL not reset,
 * WAL reset. Every run also checks the stores against a twin: a MemoryStore that applied
 * every committed entry once, in order, with no crash (see {@link SimLmdb.twinDigest}).
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LmdbStore, MemoryStore, type WriteBehindLimits } from "../../src/fsm/index.ts";
import { storeFile } from "../../src/fsm/lmdb-env.ts";
import { MemoryBlobIo } from "../../src/fsm/memory-blob-io.ts";
import { stateDirs } from "../../src/fsm/state-dirs.ts";
import type { Entry, SnapshotMeta, SnapshotRequest } from "../../src/raft/index.ts";
import type { SnapshotStore } from "../../src/server/raft-loop.ts";
import type { Rng } from "../support/rng.ts";
import type { EventQueue } from "./event-queue.ts";
import type { RealIo } from "./real-io.ts";
import type { SimDisk } from "./sim-disk.ts";

/** The steps of a write-behind batch (and of a snapshot install) where a node may crash. */
export const STORE_STEPS = [
  /** Entries applied into memory; the batch holding them is not committed to LMDB. */
  "batch-applied",
  /** The batch's LMDB transaction committed (with its applied index); not flushed yet. */
  "batch-committed",
  /** flushed() resolved for a snapshot capture; the WAL is not compacted yet. */
  "store-flushed",
  /** The WAL was compacted up to (at most) the flushed index. */
  "wal-compacted",
  /** A snapshot received from the leader replaced the store; the WAL is not reset yet. */
  "snapshot-installed",
  /** The WAL was reset to the installed snapshot. */
  "wal-reset",
] as const;

/** One of {@link STORE_STEPS}. */
export type StoreStep = (typeof STORE_STEPS)[number];

/** Which image of a crashed node's store survives. */
export type Survivor = "floor" | "latest" | "random";

/**
 * Where the simulated stores live: /dev/shm when it exists (tmpfs: LMDB's fdatasyncs
 * cost nothing, and nothing here needs them), else the system's temp dir;
 * SIM_LMDB_DIR overrides.
 */
function baseDir(): string {
  if (process.env.SIM_LMDB_DIR) return process.env.SIM_LMDB_DIR;
  return existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
}

/** The LMDB side of one simulation: a temp root, one slot per node, the twin's entries. */
export class SimLmdb {
  readonly root: string;
  /** Every entry some node applied, by index (the first application; all must agree). */
  readonly entries = new Map<number, Entry>();
  /** Which image a crash keeps; "random" draws per crash. */
  survivor: Survivor = "random";
  /** Called at each step of each node's store (the simulation crashes nodes here). */
  onStep: ((node: number, step: StoreStep) => void) | null = null;
  /** How often each step was reached. */
  readonly stepCounts: Record<StoreStep, number> = Object.fromEntries(
    STORE_STEPS.map((s) => [s, 0]),
  ) as Record<StoreStep, number>;
  /** Crashes that kept the floor, crashes that kept the latest commit. */
  readonly kept = { floor: 0, latest: 0 };
  /**
   * Entries applied again after a restart (the node had applied them before it crashed,
   * and its store lost them): what the WAL replay restored.
   */
  reapplied = 0;
  private readonly slots = new Map<number, LmdbSlot>();

  constructor(
    seed: number,
    readonly io: RealIo,
    readonly queue: EventQueue,
    readonly rng: Rng,
    readonly writeBehind: WriteBehindLimits,
  ) {
    this.root = mkdtempSync(join(baseDir(), `dfs-sim-lmdb-${seed}-`));
  }

  /** The slot of node `id` (created on first use; its first store opens through the gate). */
  slot(id: number): LmdbSlot {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = new LmdbSlot(id, this);
      this.slots.set(id, slot);
    }
    return slot;
  }

  /** Reports a step of node `id`'s store. */
  step(id: number, step: StoreStep): void {
    this.stepCounts[step]++;
    this.onStep?.(id, step);
  }

  /** Records entries a node applied, for the twin. */
  recordApplied(entries: readonly Entry[]): void {
    for (const e of entries) if (!this.entries.has(e.index)) this.entries.set(e.index, e);
  }

  /**
   * The digest of a MemoryStore that applied entries 1..`upTo` once each, in order, with no
   * crash: what every node's LMDB store must hold at that applied index.
   */
  twinDigest(upTo: number): string {
    const twin = new MemoryStore();
    const batch: Entry[] = [];
    for (let i = 1; i <= upTo; i++) {
      const e = this.entries.get(i);
      if (e === undefined) throw new Error(`lmdb twin: no node ever applied entry ${i}`);
      batch.push(e);
    }
    twin.applyEntries(batch);
    return twin.digest();
  }

  /**
   * Sends the snapshot `m` asks for the way the production transport does: the sender's
   * store streams its current image (at its own applied index, which is at least the
   * core's), the receiver loads it into a fresh store directory, verifies it, and hands
   * the core the message at the image's position. Resolves whether the transfer completed.
   */
  transfer(
    m: SnapshotRequest,
    from: { slot: LmdbSlot; alive: () => boolean },
    to: { slot: LmdbSlot; alive: () => boolean; deliver: (m: SnapshotRequest) => boolean },
  ): Promise<boolean> {
    return this.io
      .run(async () => {
        const sender = from.slot.store;
        const target = to.slot.store;
        if (!from.alive() || !to.alive() || sender === null || target === null) return false;
        const source = sender.openSnapshot();
        const chunks: Buffer[] = [];
        try {
          for await (const chunk of source.chunks()) chunks.push(chunk);
        } finally {
          source.close();
        }
        const hash = createHash("sha256");
        for (const c of chunks) hash.update(c);
        const receiver = await target.receiveSnapshot(source.meta);
        for (const c of chunks) await receiver.write(c);
        await receiver.finish(hash.digest());
        if (!to.alive()) return false;
        await target.completeReceived(receiver, () => to.deliver({ ...m, snapshot: source.meta }));
        return true;
      })
      .catch(() => false);
  }

  /** Closes every store and deletes the temp root. */
  async dispose(): Promise<void> {
    for (const slot of this.slots.values()) await slot.dispose();
    await rm(this.root, { recursive: true, force: true });
  }
}

/** One node's store across its incarnations: each life gets a fresh data dir. */
export class LmdbSlot {
  /** The running incarnation's store (null while down). */
  store: LmdbStore | null = null;
  /** The store the next start uses, opened through the gate. */
  private prepared: LmdbStore | null = null;
  private lives = 0;
  private dataDir = "";
  private readonly dir: string;
  /** Copy of the store file as of its last flush (absent: an empty store). */
  private readonly floorFile: string;
  /** Applied index of the last write-behind commit of the running store. */
  committedApplied = 0;
  /** Highest index this node ever applied, across its lives. */
  private maxApplied = 0;
  /** Applied index of the floor image (0: none). */
  private floorApplied = 0;
  /** Applied index the next store must open at (the model checking itself). */
  private expectApplied = 0;
  /**
   * The node's blobs across its lives: in memory, every write durable at once (a kill -9
   * keeps the page cache; the memory mode's SimBlobs models lost and torn writes), and
   * resolving without real I/O, so seeds replay exactly.
   */
  readonly blobs = new MemoryBlobIo();

  constructor(
    readonly id: number,
    private readonly sim: SimLmdb,
  ) {
    this.dir = join(sim.root, `n${id}`);
    mkdirSync(this.dir, { recursive: true });
    this.floorFile = join(this.dir, "floor.mdb");
    this.openLife(null);
  }

  /** Takes the store opened for the next start; throws if the gate has not run yet. */
  takeStore(): LmdbStore {
    const store = this.prepared;
    if (store === null) {
      throw new Error(
        `sim: node ${this.id}'s LMDB store is not open yet (run the simulation's real I/O first)`,
      );
    }
    this.prepared = null;
    if (store.appliedIndex !== this.expectApplied) {
      throw new Error(
        `sim: node ${this.id}'s store reopened at ${store.appliedIndex}, but it was durable at ${this.expectApplied} when the node crashed (a flush that left something out?)`,
      );
    }
    this.store = store;
    this.committedApplied = store.appliedIndex;
    store.afterCommit = (applied) => {
      if (this.store !== store) return;
      this.committedApplied = applied;
      this.sim.step(this.id, "batch-committed");
    };
    return store;
  }

  /** Entries were applied: a step if some of them wait in memory for a commit. */
  applied(store: LmdbStore, entries: readonly Entry[]): void {
    for (const e of entries) if (e.index <= this.maxApplied) this.sim.reapplied++;
    this.maxApplied = Math.max(this.maxApplied, store.appliedIndex);
    if (this.store === store && store.appliedIndex > this.committedApplied)
      this.sim.step(this.id, "batch-applied");
  }

  /**
   * The node crashed: keeps the floor or the latest commit (per {@link SimLmdb.survivor}) as
   * the next life's store file, then closes the abandoned store and opens the kept one
   * through the gate. Returns what was kept, for the trace.
   */
  crash(): string {
    const old = this.store;
    const oldDir = this.dataDir;
    this.store = null;
    if (old === null) return "";
    old.afterCommit = null;
    const choice =
      this.sim.survivor === "random"
        ? this.sim.rng.chance(0.5)
          ? "latest"
          : "floor"
        : this.sim.survivor;
    this.sim.kept[choice]++;
    let image: string | null = this.hasFloor() ? this.floorFile : null;
    if (choice === "latest") {
      // Every commit survived: that store file is now the durable one.
      const latest = storeFile(stateDirs(oldDir).live);
      if (existsSync(latest)) {
        copyFileSync(latest, this.floorFile);
        image = this.floorFile;
        this.floorApplied = this.committedApplied;
      }
    }
    this.expectApplied = this.floorApplied;
    void this.sim.io.run(async () => {
      await old.close().catch(() => {});
      await rm(oldDir, { recursive: true, force: true });
    });
    this.openLife(image);
    return `store kept its ${choice === "latest" ? "latest commit" : "last flushed state"}`;
  }

  /** An install made the running store durable at `applied`: it is the new floor. */
  private saveFloor(applied: number): void {
    const live = storeFile(stateDirs(this.dataDir).live);
    const tmp = `${this.floorFile}.tmp`;
    copyFileSync(live, tmp);
    renameSync(tmp, this.floorFile);
    this.floorApplied = applied;
  }

  /**
   * The snapshot store of one incarnation, as production wires it (node/replication.ts):
   * capture = flushed(), install = installReceived(). A capture's flush is real I/O through
   * the gate; its fsync then takes simulated time, during which a crash finds the batch
   * committed but not flushed. `disk` records the durable store position, which bounds
   * compaction (SimDisk refuses to compact past it) and counts as holding every entry up
   * to it for the durability invariant.
   */
  snapshots(
    alive: () => boolean,
    deliver: (fn: () => void) => void,
    disk: SimDisk,
    latency: () => number,
  ): SnapshotStore {
    const sim = this.sim;
    return {
      capture: (meta) =>
        new Promise<void>((resolve, reject) => {
          const store = this.store;
          void sim.io
            .run(async () => {
              if (!alive() || store === null) return false;
              await store.flushed();
              if (!alive()) return false;
              // The image as flushed: it becomes the floor once the fsync "returns".
              copyFileSync(storeFile(stateDirs(this.dataDir).live), `${this.floorFile}.flushed`);
              return true;
            })
            .then(
              (ok) => {
                if (!ok) return;
                sim.queue.after(latency(), () => {
                  if (!alive()) return;
                  renameSync(`${this.floorFile}.flushed`, this.floorFile);
                  this.floorApplied = meta.index;
                  disk.noteDurableStore(meta);
                  sim.step(this.id, "store-flushed");
                  deliver(resolve);
                });
              },
              (error: unknown) => deliver(() => reject(error)),
            );
        }),
      install: (meta: SnapshotMeta) =>
        new Promise<void>((resolve, reject) => {
          const store = this.store;
          sim.queue.after(latency(), () => {
            if (!alive() || store === null) return;
            void sim.io
              .run(async () => {
                if (!alive()) return false;
                await store.installReceived(meta);
                return alive();
              })
              .then(
                (ok) => {
                  if (!ok) return;
                  this.committedApplied = meta.index;
                  this.saveFloor(meta.index);
                  disk.noteDurableStore(meta);
                  sim.step(this.id, "snapshot-installed");
                  deliver(resolve);
                },
                (error: unknown) => deliver(() => reject(error)),
              );
          });
        }),
    };
  }

  /** Closes whatever store is open (end of the run). */
  async dispose(): Promise<void> {
    for (const store of [this.store, this.prepared]) {
      if (store === null) continue;
      store.afterCommit = null;
      await store.close().catch(() => {});
    }
    this.store = null;
    this.prepared = null;
  }

  private hasFloor(): boolean {
    return existsSync(this.floorFile);
  }

  /** Starts a new life: a fresh data dir holding `image` (or nothing), opened through the gate. */
  private openLife(image: string | null): void {
    this.dataDir = join(this.dir, `life${++this.lives}`);
    const live = stateDirs(this.dataDir).live;
    rmSync(this.dataDir, { recursive: true, force: true });
    mkdirSync(live, { recursive: true });
    if (image !== null) copyFileSync(image, storeFile(live));
    const dataDir = this.dataDir;
    const queue = this.sim.queue;
    void this.sim.io.run(async () => {
      this.prepared = await LmdbStore.open(
        dataDir,
        this.sim.writeBehind,
        () => queue.now,
        this.blobs,
      );
    });
  }
}
