/**
 * The node's Prometheus metrics (docs/observability.md lists each with its meaning): one
 * prom-client registry per node, never the global one, so several nodes in one process
 * (tests, embedders) keep apart. Two kinds:
 *
 * - updated on the hot path (proposals, WAL saves, applies, client requests): cells
 *   (cells.ts) bound to their labels once, so a call costs a few additions and
 *   allocates nothing;
 * - read at scrape time from the node's live state (term, indexes, per-peer progress,
 *   backlog, store size): gauges whose `collect` runs only when `/metrics` is asked for.
 *
 * Names follow Prometheus conventions: `dfs_<area>_<what>_<unit>`, base units (seconds,
 * bytes), counters end in `_total`.
 */
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { WalObserver } from "../../storage/index.ts";
import type { LoopEvents } from "../loop/ports.ts";
import { Counters, Histograms } from "./cells.ts";
import { ClientApiMetrics } from "./client-metrics.ts";

/**
 * Buckets for disk writes and applies: 100 µs to ~4 s, doubling. An fsync on a fast SSD
 * takes 0.1–2 ms and on a slow disk 10–100 ms; etcd's `wal_fsync_duration_seconds` uses
 * the same doubling from 1 ms, one more step down here because O_DSYNC writes on tmpfs or
 * NVMe land below 1 ms.
 */
export const DISK_BUCKETS = [
  0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512,
  1.024, 2.048, 4.096,
];

/** Buckets for snapshot work: 10 ms to ~10 min, a snapshot streams or flushes a whole store. */
export const SNAPSHOT_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600];

/** What the node's assembly reports about the state machine and snapshots. */
export interface StoreMetrics {
  /** `entries` were applied in one batch taking `seconds`. */
  applied(entries: number, seconds: number): void;
  /** A snapshot was captured locally (store flushed, log may be compacted). */
  snapshotTaken(seconds: number): void;
  /** A snapshot streamed to a follower ended; `bytes` and `seconds` when it succeeded. */
  snapshotSent(ok: boolean, bytes: number, seconds: number): void;
  /** A snapshot from the leader was received completely: `bytes` streamed in. */
  snapshotReceived(bytes: number): void;
  /** A received snapshot was installed in `seconds`. */
  snapshotInstalled(seconds: number): void;
}

/** The hot-path sinks of a node; {@link DISABLED_METRICS} when `--http-port` is not given. */
export interface MetricSinks {
  /** False for {@link DISABLED_METRICS}: then not even a clock is read per event. */
  readonly enabled: boolean;
  readonly loop: LoopEvents;
  readonly wal: WalObserver;
  readonly store: StoreMetrics;
  readonly client: ClientApiMetrics | null;
}

const NOOP = (): void => {};

/** Sinks that do nothing: a node without an HTTP listener pays one empty call per event. */
export const DISABLED_METRICS: MetricSinks = {
  enabled: false,
  loop: { proposed: NOOP, leaderChanged: NOOP },
  wal: { saved: NOOP },
  store: {
    applied: NOOP,
    snapshotTaken: NOOP,
    snapshotSent: NOOP,
    snapshotReceived: NOOP,
    snapshotInstalled: NOOP,
  },
  client: null,
};

/** One node's registry and the metrics updated on its hot path. */
export class NodeMetrics implements MetricSinks {
  readonly registry = new Registry();
  readonly enabled = true;
  readonly loop: LoopEvents;
  readonly wal: WalObserver;
  readonly store: StoreMetrics;
  readonly client: ClientApiMetrics;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.loop = loopMetrics(this.registry);
    this.wal = walMetrics(this.registry);
    this.store = storeMetrics(this.registry);
    this.client = new ClientApiMetrics(this.registry);
  }

  /** The text exposition of every metric (collect callbacks run now). */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of {@link scrape}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

function loopMetrics(registry: Registry): LoopEvents {
  const proposals = new Counters(
    registry,
    "dfs_raft_proposals_total",
    "Client commands proposed to Raft by this node while it led.",
  ).cell();
  const leaderChanges = new Counters(
    registry,
    "dfs_raft_leader_changes_total",
    "Times this node saw the leader change (a new leader, or none known).",
  ).cell();
  return { proposed: () => proposals.inc(), leaderChanged: () => leaderChanges.inc() };
}

function walMetrics(registry: Registry): WalObserver {
  const append = new Histograms(
    registry,
    "dfs_wal_append_duration_seconds",
    "Time of one WAL save (a Ready's entries and hard state), from call to durable.",
    DISK_BUCKETS,
  ).cell();
  const fsync = new Histograms(
    registry,
    "dfs_wal_fsync_duration_seconds",
    "Time of the one synchronous (O_DSYNC) write of a WAL save: the data and its fdatasync.",
    DISK_BUCKETS,
  ).cell();
  const bytes = new Counters(
    registry,
    "dfs_wal_written_bytes_total",
    "Bytes written to the WAL.",
  ).cell();
  return {
    saved: (written, syncSeconds, totalSeconds) => {
      bytes.inc(written);
      fsync.observe(syncSeconds);
      append.observe(totalSeconds);
    },
  };
}

function storeMetrics(registry: Registry): StoreMetrics {
  const apply = new Histograms(
    registry,
    "dfs_fsm_apply_duration_seconds",
    "Time to apply one batch of committed entries to the state machine.",
    DISK_BUCKETS,
  ).cell();
  const appliedEntries = new Counters(
    registry,
    "dfs_fsm_applied_entries_total",
    "Committed entries applied to the state machine.",
  ).cell();
  return {
    applied: (entries, seconds) => {
      appliedEntries.inc(entries);
      apply.observe(seconds);
    },
    ...snapshotMetrics(registry),
  };
}

function snapshotMetrics(registry: Registry): Omit<StoreMetrics, "applied"> {
  const taken = new Counters(
    registry,
    "dfs_snapshot_taken_total",
    "Snapshots of the state machine taken by this node (before compacting its log).",
  ).cell();
  const duration = new Histograms(
    registry,
    "dfs_snapshot_duration_seconds",
    "Time of snapshot work, by operation: take (flush the store), send (stream to a follower), install (a received one).",
    SNAPSHOT_BUCKETS,
    ["operation"],
  );
  const sent = new Counters(
    registry,
    "dfs_snapshot_sent_total",
    "Snapshot transfers to followers that ended, by result (ok, failed).",
    ["result"],
  );
  const received = new Counters(
    registry,
    "dfs_snapshot_received_total",
    "Snapshots received completely from the leader (then installed unless superseded).",
  ).cell();
  const bytes = new Counters(
    registry,
    "dfs_snapshot_bytes_total",
    "Snapshot bytes streamed, by direction (sent, received).",
    ["direction"],
  );
  const take = duration.cell("take");
  const send = duration.cell("send");
  const install = duration.cell("install");
  const sentOk = sent.cell("ok");
  const sentFailed = sent.cell("failed");
  const bytesSent = bytes.cell("sent");
  const bytesReceived = bytes.cell("received");
  return {
    snapshotTaken: (seconds) => {
      taken.inc();
      take.observe(seconds);
    },
    snapshotSent: (ok, n, seconds) => {
      if (!ok) return sentFailed.inc();
      sentOk.inc();
      bytesSent.inc(n);
      send.observe(seconds);
    },
    snapshotReceived: (n) => {
      received.inc();
      bytesReceived.inc(n);
    },
    snapshotInstalled: (seconds) => install.observe(seconds),
  };
}

/** A gauge read at scrape time; `read` sets its value(s). */
export function scrapedGauge(
  registers: Registry[],
  name: string,
  help: string,
  read: (gauge: Gauge) => void | Promise<void>,
  labelNames: readonly string[] = [],
): Gauge {
  return new Gauge({
    name,
    help,
    labelNames,
    registers,
    collect() {
      return read(this);
    },
  });
}
