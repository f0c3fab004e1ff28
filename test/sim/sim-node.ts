/**
 * One simulated server: the real RawNode, the real RaftLoop (the production event loop)
 * and the real MemoryStore (or, in LMDB mode, the real LmdbStore: sim-lmdb.ts), wired to
 * a simulated disk, network and clock. Each start creates a new incarnation; a crash
 * abandons it mid-flight, exactly like kill -9.
 */
import { type LmdbStore, MemoryStore, type StateMachine } from "../../src/fsm/index.ts";
import {
  type Entry,
  EntryKind,
  type Message,
  type RaftInit,
  RawNode,
} from "../../src/raft/index.ts";
import { DEFAULT_TUNING } from "../../src/server/config.ts";
import { BlobLogWriter } from "../../src/server/loop/blob-log-writer.ts";
import type { LoopClock } from "../../src/server/loop/clock.ts";
import { type LogWriter, RaftLoop, type SnapshotStore } from "../../src/server/raft-loop.ts";
import { recoverLog } from "../../src/server/recover-log.ts";
import type { Rng } from "../support/rng.ts";
import { payloadIdentity } from "./entry-identity.ts";
import type { EventQueue } from "./event-queue.ts";
import { type Extent, SimBlobs } from "./sim-blobs.ts";
import { SimDisk } from "./sim-disk.ts";
import type { LmdbSlot, SimLmdb } from "./sim-lmdb.ts";
import { type RehydrateStats, rehydratingSend } from "./sim-rehydrate.ts";

/** Timing shared by all simulated nodes: the production defaults, so the simulator tests them. */
export const SIM_TUNING = {
  tickMs: DEFAULT_TUNING.tickMs,
  heartbeatTicks: DEFAULT_TUNING.heartbeatTicks,
  electionTicks: DEFAULT_TUNING.electionTicks,
};

/**
 * Observes every entry a node applies (for the state-machine safety invariant): `what`
 * names it the same in both forms of a chunk entry; `entry` is the entry itself.
 */
export type ApplyObserver = (node: number, index: number, what: string, entry: Entry) => void;

/** One life of a node, from start to crash. */
export class Incarnation {
  alive = true;
  paused = false;
  private held: (() => void)[] = [];

  constructor(
    readonly node: RawNode,
    readonly fsm: StateMachine,
    readonly loop: RaftLoop,
  ) {}

  /** Runs `fn` in this node's context: now, later if paused, never if crashed. */
  run(fn: () => void): void {
    if (!this.alive) return;
    if (this.paused) this.held.push(fn);
    else fn();
  }

  /** SIGCONT: runs everything that arrived during the pause, in order. */
  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const fn of held) this.run(fn);
  }
}

/** Per-run settings of every node. */
export interface SimNodeOptions {
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Bytes per append; tiny values split a batch of entries across messages. */
  readonly maxMsgBytes: number;
  /** Pipelining window per follower. */
  readonly maxInflight: number;
  /** Snapshot every this many applied entries (0 = never compact). */
  readonly snapshotEvery: number;
  /** Entries kept after a snapshot for slow followers. */
  readonly snapshotKeep: number;
  readonly onFatal: (error: Error) => void;
  /** LMDB mode: the nodes run the real LmdbStore (absent: the MemoryStore). */
  readonly lmdb?: SimLmdb;
}

/** Where a simulated node sends its messages. */
export type SendFn = (from: number, messages: readonly Message[]) => void;

/** A node slot that persists across crashes (its disk survives). */
export class SimNode {
  readonly disk: SimDisk;
  /** The node's blob directory (issue 22's blob store); survives crashes like the disk. */
  readonly blobs: SimBlobs;
  /** Snapshot images received from leaders, by index (what the transport would stream). */
  readonly incoming = new Map<number, Uint8Array>();
  /** Stored-form entries this node's sends rehydrated from its blobs, and failures. */
  readonly rehydrated: RehydrateStats = { entries: 0, failures: 0 };
  /** The blobs that came with each received snapshot image, by index. */
  readonly incomingBlobs = new Map<number, Map<string, Extent[]>>();
  current: Incarnation | null = null;
  incarnations = 0;
  /** LMDB mode: this node's store across incarnations. */
  readonly lmdb: LmdbSlot | null;

  constructor(
    readonly id: number,
    private readonly voters: readonly number[],
    private readonly queue: EventQueue,
    private readonly rng: Rng,
    private readonly send: SendFn,
    private readonly observe: ApplyObserver,
    private readonly options: SimNodeOptions,
  ) {
    this.disk = new SimDisk(queue, rng.fork());
    this.blobs = new SimBlobs(queue, rng.fork());
    this.lmdb = options.lmdb?.slot(id) ?? null;
    const lmdb = options.lmdb;
    if (lmdb !== undefined) {
      this.disk.onCompacted = () => lmdb.step(id, "wal-compacted");
      this.disk.onReset = () => lmdb.step(id, "wal-reset");
    }
  }

  /** Starts a new incarnation from what is on disk. */
  start(): Incarnation {
    if (this.current?.alive) throw new Error(`node ${this.id} already running`);
    this.incarnations++;
    const disk = this.disk;
    const snap = disk.snapshot;
    const lmdb = this.lmdb;
    const lmdbStore = lmdb?.takeStore() ?? null;
    const node = new RawNode(
      {
        id: this.id,
        voters: this.voters,
        electionTick: SIM_TUNING.electionTicks,
        heartbeatTick: SIM_TUNING.heartbeatTicks,
        preVote: this.options.preVote,
        checkQuorum: this.options.checkQuorum,
        maxMsgBytes: this.options.maxMsgBytes,
        maxInflight: this.options.maxInflight,
        random: () => this.rng.float(),
        checkInvariants: true,
      },
      lmdbStore !== null
        ? this.recoverWithStore(lmdbStore)
        : {
            hardState: disk.hardState,
            log: {
              entries: [...disk.entries],
              offset: disk.offset,
              offsetTerm: disk.offsetTerm,
              committed: Math.max(disk.hardState.commit, snap?.meta.index ?? 0),
              applied: snap?.meta.index ?? 0,
            },
            ...(snap ? { snapshot: snap.meta } : {}),
            // The configuration at the applied index (the snapshot's): a node that joined
            // later, or whose log was compacted past a change, knows its cluster from it.
            ...(snap?.meta.membership !== undefined ? { membership: snap.meta.membership } : {}),
          },
    );
    let inc: Incarnation | null = null;
    const alive = (): boolean => inc?.alive ?? false;
    const ctx = (fn: () => void): void => inc?.run(fn);
    let fsm: StateMachine;
    let snapshotStore: SnapshotStore;
    let reap: ((compacted: number) => Promise<string[]>) | null = null;
    const blobIo = this.blobs.io(alive, ctx);
    if (lmdb !== null && lmdbStore !== null) {
      fsm = observedLmdb(lmdbStore, lmdb, this.id, this.observe, this.options.lmdb as SimLmdb);
      snapshotStore = lmdb.snapshots(alive, ctx, disk, () => this.rng.between(0.5, 8));
    } else {
      const store = new MemoryStore(blobIo, () => this.queue.now);
      if (snap) {
        store.restore(snap.image);
        store.space.noteDurable(snap.meta.index);
      }
      fsm = observed(store, this.id, this.observe);
      reap = (compacted) => store.space.reap(compacted);
      const images = disk.snapshots(alive, ctx, this.incoming, store, (meta) => {
        // The state directory swap: the blobs that came with the image replace ours.
        this.blobs.replaceAll(this.incomingBlobs.get(meta.index) ?? new Map());
        this.incomingBlobs.delete(meta.index);
      });
      // What the server keeps beside a snapshot: the configuration in force at its index.
      // Once a capture is durable, the store is durable through its index (blob rule a).
      snapshotStore = {
        ...images,
        capture: async (meta) => {
          await images.capture({
            ...meta,
            membership: meta.membership ?? node.membershipAt(meta.index),
          });
          store.space.noteDurable(meta.index);
        },
        install: async (meta) => {
          await images.install(meta);
          store.space.noteDurable(meta.index);
        },
      };
    }
    // The blob write path (memory mode): chunk bytes to the blobs, stored forms to the WAL.
    // Once the WAL is compacted (the core first, snapshot-policy.ts), dead blobs that may
    // go are unlinked (blob-space.ts rules a-d), as the server does after a compaction.
    const diskWriter = disk.writer(alive, ctx, lmdb !== null);
    const walWriter: LogWriter =
      reap === null
        ? diskWriter
        : {
            ...diskWriter,
            compact: async (index) => {
              await diskWriter.compact?.(index);
              const compacted = Math.min(disk.offset, node.status().compacted.index);
              reap(compacted).catch((error: Error) => this.options.onFatal(error));
            },
          };
    // LMDB mode: the store's own blobs (sim-lmdb.ts), written by the same write path.
    const nodeBlobs = lmdb?.blobs ?? blobIo;
    const wal = new BlobLogWriter({ wal: walWriter, blobs: nodeBlobs, core: node });
    const send = (messages: readonly Message[]): void => {
      if (lmdb === null || alive()) this.send(this.id, messages);
    };
    const loop = new RaftLoop(
      {
        node,
        wal,
        // LMDB mode can crash a node inside its own call stack (sim-lmdb.ts): what that
        // stack still tries to send or report is the dead incarnation's, and goes nowhere.
        transport: {
          send: rehydratingSend(nodeBlobs, send, alive, this.rehydrated, () => {}),
        },
        fsm,
        tickMs: SIM_TUNING.tickMs,
        clock: this.clock(ctx),
        logger: { info: () => {} },
        addressOf: (id) => `n${id}`,
        ...(this.options.snapshotEvery > 0
          ? {
              snapshots: {
                store: snapshotStore,
                everyEntries: this.options.snapshotEvery,
                keepEntries: this.options.snapshotKeep,
              },
            }
          : {}),
        onFatal: (error) => {
          if (lmdb === null || alive()) this.options.onFatal(error);
        },
      },
      disk.hardState,
    );
    inc = new Incarnation(node, fsm, loop);
    this.current = inc;
    loop.start();
    return inc;
  }

  /**
   * LMDB mode: reconciles the WAL with the store as production does (recover-log.ts),
   * resetting the log if a snapshot install outran its reset, and records the store's
   * position as durable (it is what survived).
   */
  private recoverWithStore(store: LmdbStore): RaftInit {
    const disk = this.disk;
    const wal = {
      hardState: disk.hardState,
      entries: [...disk.entries],
      offset: disk.offset,
      offsetTerm: disk.offsetTerm,
    };
    const recovered = recoverLog(wal, store, `sim node ${this.id}`);
    if (recovered.resetTo !== null) disk.resetLog(recovered.resetTo.index, recovered.resetTo.term);
    if (recovered.snapshot !== null) disk.noteDurableStore(recovered.snapshot);
    return {
      hardState: disk.hardState,
      log: recovered.log,
      ...(recovered.snapshot !== null ? { snapshot: recovered.snapshot } : {}),
    };
  }

  /** kill -9: the incarnation stops at once; unsynced writes are lost (maybe torn). */
  crash(tornP: number): string {
    const inc = this.current;
    if (inc === null || !inc.alive) return "";
    inc.alive = false;
    const notes = [this.disk.crash(tornP), this.blobs.crash(), this.lmdb?.crash() ?? ""];
    return notes.filter((n) => n !== "").join("; ");
  }

  /** True when a live incarnation exists. */
  isUp(): boolean {
    return this.current?.alive === true;
  }

  private clock(ctx: (fn: () => void) => void): LoopClock {
    const queue = this.queue;
    return {
      now: () => queue.now,
      every: (ms, fn) => {
        let cancelled = false;
        const tick = (): void => {
          if (cancelled) return;
          ctx(() => {
            if (cancelled) return;
            fn();
            queue.after(ms, tick);
          });
        };
        queue.after(this.rng.between(0, ms), tick);
        return () => {
          cancelled = true;
        };
      },
      defer: (fn) => queue.after(0, () => ctx(fn)),
    };
  }
}

/** Wraps a state machine so every applied index is reported to the invariant checker. */
function observed(inner: StateMachine, node: number, observe: ApplyObserver): StateMachine {
  return {
    get appliedIndex() {
      return inner.appliedIndex;
    },
    get auth() {
      return inner.auth;
    },
    applyEntries(entries) {
      for (const e of entries) {
        const data =
          e.kind === EntryKind.Normal
            ? payloadIdentity(e.kind, e.data)
            : e.kind === EntryKind.Config
              ? `config:${Buffer.from(e.data).toString("base64")}`
              : "noop";
        observe(node, e.index, data, e);
      }
      return inner.applyEntries(entries);
    },
    get: (key) => inner.get(key),
    openView: () => inner.openView(),
    size: () => inner.size(),
    digest: () => inner.digest(),
  };
}

/**
 * The LMDB store, observed: applies are reported as above and recorded for the twin, and
 * the write-behind runs on ticks as in production; after each apply that left entries
 * waiting in memory, the "batch-applied" step (where the simulation may crash the node).
 */
function observedLmdb(
  store: LmdbStore,
  slot: LmdbSlot,
  node: number,
  observe: ApplyObserver,
  lmdb: SimLmdb,
): StateMachine {
  const inner = observed(store, node, observe);
  return {
    ...inner,
    get appliedIndex() {
      return store.appliedIndex;
    },
    applyEntries(entries) {
      const results = inner.applyEntries(entries);
      lmdb.recordApplied(entries);
      slot.applied(store, entries);
      return results;
    },
    writeBehindIfDue: () => store.writeBehindIfDue(),
  };
}
