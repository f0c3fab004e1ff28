/**
 * The narrow interfaces the event loop depends on: the core, the log writer, the snapshot
 * store, the network, the state machine, the logger. Production wires the WAL, the LMDB
 * store and the gRPC transport to them (node.ts); the simulator wires its simulated disk
 * and network; the loop's unit tests wire fakes.
 */
import type { ApplyResult, StateMachine } from "../../fsm/index.ts";
import type {
  ActiveMembership,
  Entry,
  HardState,
  Message,
  RawNode,
  SnapshotMeta,
} from "../../raft/index.ts";
import type { LoopClock } from "./clock.ts";

/** What a committed proposal produced. */
export interface CommitOutcome {
  readonly index: number;
  readonly result: ApplyResult;
}

/** The part of RawNode the loop drives and queries. */
export type LoopCore = Pick<
  RawNode,
  | "tick"
  | "step"
  | "propose"
  | "proposeMembership"
  | "transferLeadership"
  | "readIndex"
  | "reportSnapshot"
  | "snapshotTaken"
  | "compact"
  | "softState"
  | "status"
  | "termAt"
  | "entryAt"
  | "pendingSnapshot"
  | "hasReady"
  | "ready"
  | "advance"
>;

/** The part of the state machine the loop uses. */
export type LoopStateMachine = Pick<
  StateMachine,
  "appliedIndex" | "applyEntries" | "writeBehindIfDue"
>;

/** Where the loop makes entries and hard state durable (the WAL, or the simulator's disk). */
export interface LogWriter {
  /** Resolves only once everything passed is durable (fsync returned). */
  save(entries: readonly Entry[], hardState: HardState | null): Promise<void>;
  /** Drops durable entries up to `index` (a durable snapshot covers them). */
  compact?(index: number): Promise<void>;
  /** A snapshot replaced the log: it now ends at (index, term) and holds nothing before. */
  reset?(index: number, term: number): Promise<void>;
  /**
   * Called after the core was advanced past a Ready this writer saved (its entries are
   * now durable in the core's view): a writer that persisted entries in a lighter form
   * (blob-log-writer.ts) hands that form to the core here. Absent: nothing to do.
   */
  afterAdvance?(): void;
}

/** Durable snapshots of the state machine (the node's on-disk store, or the simulator's disk). */
export interface SnapshotStore {
  /**
   * Makes the state machine's state through `meta.index` durable as a snapshot, so the log
   * before it may go. (An on-disk store writes what it still holds in memory and syncs.)
   */
  capture(meta: SnapshotMeta): Promise<void>;
  /**
   * Durably replaces the state machine's state with the snapshot at `meta` received from
   * the leader (the transport fetched and verified it before handing the core the
   * InstallSnapshot message).
   */
  install(meta: SnapshotMeta): Promise<void>;
}

/** When to snapshot and how much log to keep (see the defaults' rationale in config.ts). */
export interface SnapshotPolicy {
  readonly store: SnapshotStore;
  /** Take a snapshot once this many entries were applied since the last one. */
  readonly everyEntries: number;
  /** ... or once this many bytes of entries were applied since the last one. */
  readonly everyBytes?: number;
  /** Entries kept after a snapshot, so briefly lagging followers still get appends. */
  readonly keepEntries: number;
  /** ... but never more than this many bytes of them (the log tail lives in memory). */
  readonly keepBytes?: number;
  /**
   * Lowest index still needed after a snapshot being streamed to a follower (Infinity if
   * none): compaction stops short of it, so the follower can continue from its snapshot
   * with appends instead of needing another snapshot forever (etcd #2662, #4055).
   */
  readonly pinnedIndex?: () => number;
  /**
   * The log index a snapshot and compaction should reach to free dead blobs now (0:
   * none; fsm/blob-space.ts): past the entry count and bytes, it makes a snapshot due and
   * lets compaction go that far whatever the keep rule would keep.
   */
  readonly blobsDue?: () => number;
  /**
   * Unlinks the dead blobs that may go with the log (core and WAL) durably compacted to
   * `index` (after a compaction, an install, and now and then, as pins end).
   */
  readonly reapBlobs?: (index: number) => Promise<void>;
}

/** Where the loop sends messages to peers (the gRPC transport, or the simulated network). */
export interface MessageSink {
  send(messages: readonly Message[]): void;
}

/** The part of a logger the loop uses. */
export interface LoopLogger {
  info(fields: object, message: string): void;
}

/** Tells whether a failed write failed for lack of space (then it is retried, not fatal). */
export type LackOfSpace = (error: Error) => Promise<boolean>;

/** Collaborators of the loop; all owned by the node. */
export interface RaftLoopDeps {
  readonly node: LoopCore;
  readonly wal: LogWriter;
  readonly transport: MessageSink;
  readonly fsm: LoopStateMachine;
  readonly tickMs: number;
  readonly clock: LoopClock;
  readonly logger: LoopLogger;
  /** Absent: the log is never compacted. */
  readonly snapshots?: SnapshotPolicy;
  /** Client address of a node id, for NOT_LEADER hints. */
  readonly addressOf: (id: number) => string | undefined;
  /** Persisting failed: the node cannot go on safely (the state on disk is unknown). */
  readonly onFatal: (error: Error) => void;
  /**
   * Whether a failed write failed for lack of space. Then the loop does not stop: it
   * holds still (see disk-full-guard.ts) and retries the same write until space is freed.
   * Absent: every failure is fatal.
   */
  readonly lackOfSpace?: LackOfSpace;
  /**
   * The configuration in force changed (a configuration entry became known committed, or
   * a snapshot brought one): called before the Ready's messages go out, so the transport
   * can reach new members. Absent: ignored.
   */
  readonly onMembership?: (active: ActiveMembership) => void;
  /** How snapshot transfers ended; the loop listens and tells the core. Absent: none are sent. */
  readonly snapshotOutcomes?: { listen(listener: (peer: number, ok: boolean) => void): void };
  /** Told of proposals and leader changes (the node's metrics). Absent: nobody. */
  readonly metrics?: LoopEvents;
}

/** Events of the loop worth counting; called on the hot path, so they only add numbers. */
export interface LoopEvents {
  /** A client proposal was handed to the loop. */
  proposed(): void;
  /** This node saw the leader change (to another node, or to none known). */
  leaderChanged(): void;
}
