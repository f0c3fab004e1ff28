/**
 * Gauges read from the node's live state when `/metrics` is scraped: Raft positions and
 * role, per-peer replication progress (on the leader), refused peer messages, WAL
 * segments, the write-behind backlog and the store's size. Nothing here runs between
 * scrapes, so they cost the hot path nothing.
 */
import { stat } from "node:fs/promises";
import { Counter, type Registry } from "prom-client";
import type { Role, Status } from "../../raft/index.ts";
import { scrapedGauge } from "./metrics.ts";

/** Where the scrape reads the node's state. */
export interface NodeState {
  readonly id: number;
  readonly clusterId: string;
  readonly version: string;
  /** The core's status (term, role, leader, indexes, each follower's progress). */
  status(): Status;
  /** The state machine's applied index (what reads see). */
  appliedIndex(): number;
  /** Refused peer messages so far, per reason. */
  droppedPeerMessages(): ReadonlyMap<string, number>;
  walSegments(): number;
  writeBehindEntries(): number;
  /** The store's data file, whose size is reported. */
  readonly storePath: string;
}

const ROLES: readonly Role[] = ["follower", "pre-candidate", "candidate", "leader"];

/** Registers the scrape-time gauges of `node` in `registry`. */
export function registerStateGauges(registry: Registry, node: NodeState): void {
  const registers = [registry];
  scrapedGauge(
    registers,
    "dfs_node_info",
    "Always 1; labels name this node, its cluster and the dfs version it runs.",
    (g) => g.set({ node: String(node.id), cluster: node.clusterId, version: node.version }, 1),
    ["node", "cluster", "version"],
  );
  raftGauges(registers, node);
  peerGauges(registers, node);
  droppedCounter(registers, node);
  storageGauges(registers, node);
}

function raftGauges(registers: Registry[], node: NodeState): void {
  const index = (name: string, help: string, read: (s: Status) => number): void => {
    scrapedGauge(registers, name, help, (g) => g.set(read(node.status())));
  };
  index("dfs_raft_term", "The current Raft term.", (s) => s.term);
  index("dfs_raft_leader_id", "Id of the leader this node knows (0: none).", (s) => s.leader);
  index("dfs_raft_has_leader", "1 if this node knows a leader, else 0.", (s) =>
    s.leader === 0 ? 0 : 1,
  );
  index("dfs_raft_commit_index", "Highest log index known committed.", (s) => s.commit);
  index("dfs_raft_last_index", "Index of the last entry in this node's log.", (s) => s.lastIndex);
  index("dfs_raft_first_index", "Index of the first entry still in the log.", (s) => s.firstIndex);
  scrapedGauge(
    registers,
    "dfs_raft_applied_index",
    "Highest log index applied to the state machine.",
    (g) => g.set(node.appliedIndex()),
  );
  scrapedGauge(
    registers,
    "dfs_raft_role",
    "1 for this node's current Raft role, 0 for the others.",
    (g) => {
      const { role } = node.status();
      for (const r of ROLES) g.set({ role: r }, r === role ? 1 : 0);
    },
    ["role"],
  );
}

function peerGauges(registers: Registry[], node: NodeState): void {
  const perPeer = (name: string, help: string, read: (s: Status, id: number) => number): void => {
    scrapedGauge(
      registers,
      name,
      help,
      (g) => {
        g.reset();
        const s = node.status();
        if (s.role !== "leader") return;
        for (const id of s.progress.keys()) {
          if (id !== s.id) g.set({ peer: String(id) }, read(s, id));
        }
      },
      ["peer"],
    );
  };
  perPeer(
    "dfs_raft_peer_match_index",
    "On the leader: highest log index known replicated on each follower.",
    (s, id) => s.progress.get(id)?.match ?? 0,
  );
  perPeer(
    "dfs_raft_peer_lag_entries",
    "On the leader: entries each follower trails the leader's last index by.",
    (s, id) => Math.max(0, s.lastIndex - (s.progress.get(id)?.match ?? 0)),
  );
  perPeer(
    "dfs_raft_peer_inflight_appends",
    "On the leader: appends sent to each follower and not yet acknowledged.",
    (s, id) => s.progress.get(id)?.inflight ?? 0,
  );
}

/** A counter whose values are the node's own running totals, copied at scrape time. */
function droppedCounter(registers: Registry[], node: NodeState): void {
  new Counter({
    name: "dfs_raft_peer_messages_dropped_total",
    help: "Peer messages refused, by reason (at the transport's edge or by the core).",
    labelNames: ["reason"],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of node.droppedPeerMessages()) if (n > 0) this.inc({ reason }, n);
    },
  });
}

function storageGauges(registers: Registry[], node: NodeState): void {
  scrapedGauge(registers, "dfs_wal_segments", "WAL segment files on disk.", (g) =>
    g.set(node.walSegments()),
  );
  scrapedGauge(
    registers,
    "dfs_fsm_write_behind_entries",
    "Applied entries held in memory, not yet written to the on-disk store.",
    (g) => g.set(node.writeBehindEntries()),
  );
  scrapedGauge(
    registers,
    "dfs_fsm_store_bytes",
    "Size of the state machine's on-disk store file.",
    async (g) => {
      g.set(
        await stat(node.storePath).then(
          (s) => s.size,
          () => 0,
        ),
      );
    },
  );
}
