/**
 * What the console knows about the cluster, as plain JSON the page draws: one sample of
 * every node per poll, derived figures (lag, health, ops/s), and the leader changes.
 * Pure functions, so the rules (what "healthy" means, how lag is counted) are tested
 * without a cluster.
 */
import type { StatusResponse } from "../client/index.ts";

/** A node's applied index may trail the leader's commit index by this much and be healthy. */
export const HEALTHY_LAG_ENTRIES = 1000;

/** What one poll learned about one node. */
export interface NodeSample {
  readonly id: number;
  /** The client address the console polls. */
  readonly address: string;
  readonly reachable: boolean;
  /** "leader", "follower", "candidate", "pre-candidate"; "" when unreachable. */
  readonly role: string;
  readonly term: number;
  readonly leaderId: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly version: string;
  /** Round trip of the Status call, ms: how promptly the node's event loop answers. */
  readonly probeMs: number;
  /** Entries the node has yet to apply of what the leader committed. */
  readonly lag: number;
  /** Entries applied per second since the previous poll. */
  readonly opsPerSecond: number;
  /**
   * unreachable; unhealthy when the node's own /health check fails (`error` says why);
   * else no_leader, lagging (past {@link HEALTHY_LAG_ENTRIES}) or ok.
   */
  readonly health: "ok" | "lagging" | "no_leader" | "unhealthy" | "unreachable";
  /** Why it is unreachable or unhealthy (one line), else "". */
  readonly error: string;
}

/** One poll of the whole cluster. */
export interface Tick {
  /** When the poll started, ms since the epoch. */
  readonly t: number;
  readonly nodes: readonly NodeSample[];
  /** The leader the reachable nodes agree on (highest term), 0 when none. */
  readonly leaderId: number;
  readonly term: number;
  readonly authEnabled: boolean;
}

/** A change of leader (or of its absence), for the timeline. */
export interface LeaderChange {
  readonly t: number;
  readonly term: number;
  /** 0: no leader known. */
  readonly leaderId: number;
}

/** A poll's raw answer for one node: its Status, or why it could not be had. */
export type Probe =
  | {
      readonly id: number;
      readonly address: string;
      readonly status: StatusResponse;
      readonly probeMs: number;
    }
  | { readonly id: number; readonly address: string; readonly error: string };

/** Turns one round of probes into a tick, with rates against the previous tick. */
export function toTick(t: number, probes: readonly Probe[], previous: Tick | undefined): Tick {
  const leader = agreedLeader(probes);
  const leaderCommit = leader?.status.commitIndex ?? maxCommit(probes);
  const seconds = previous === undefined ? 0 : (t - previous.t) / 1000;
  const nodes = probes.map((probe) => {
    const before = previous?.nodes.find((node) => node.id === probe.id);
    return sampleOf(probe, leaderCommit, before, seconds);
  });
  nodes.sort((a, b) => a.id - b.id);
  return {
    t,
    nodes,
    leaderId: leader?.status.id ?? 0,
    term: leader?.status.term ?? Math.max(0, ...nodes.map((node) => node.term)),
    authEnabled: probes.some((probe) => "status" in probe && probe.status.authEnabled),
  };
}

/** The leader change `tick` brings, if its leader differs from the last one recorded. */
export function leaderChange(tick: Tick, last: LeaderChange | undefined): LeaderChange | null {
  if (last !== undefined && last.leaderId === tick.leaderId && last.term === tick.term) return null;
  if (last !== undefined && tick.leaderId === 0 && last.leaderId === 0) return null;
  return { t: tick.t, term: tick.term, leaderId: tick.leaderId };
}

function sampleOf(
  probe: Probe,
  leaderCommit: number,
  before: NodeSample | undefined,
  seconds: number,
): NodeSample {
  if (!("status" in probe)) {
    return {
      ...EMPTY,
      id: probe.id,
      address: probe.address,
      error: probe.error,
      health: "unreachable",
    };
  }
  const s = probe.status;
  const lag = Math.max(0, leaderCommit - s.appliedIndex);
  const applied = before?.reachable ? s.appliedIndex - before.appliedIndex : 0;
  return {
    id: s.id || probe.id,
    address: probe.address,
    reachable: true,
    role: s.role,
    term: s.term,
    leaderId: s.leaderId,
    commitIndex: s.commitIndex,
    appliedIndex: s.appliedIndex,
    lastIndex: s.lastIndex,
    firstIndex: s.firstIndex,
    version: s.version,
    probeMs: probe.probeMs,
    lag,
    opsPerSecond: seconds > 0 ? Math.max(0, applied) / seconds : 0,
    health: healthOf(s, lag),
    error: s.health === "" || s.health === "ok" ? "" : s.health,
  };
}

/** The node's own verdict first (empty from nodes that predate it), then the console's. */
function healthOf(s: StatusResponse, lag: number): NodeSample["health"] {
  if (s.health !== "" && s.health !== "ok") return "unhealthy";
  if (s.leaderId === 0) return "no_leader";
  return lag > HEALTHY_LAG_ENTRIES ? "lagging" : "ok";
}

const EMPTY: NodeSample = {
  id: 0,
  address: "",
  reachable: false,
  role: "",
  term: 0,
  leaderId: 0,
  commitIndex: 0,
  appliedIndex: 0,
  lastIndex: 0,
  firstIndex: 0,
  version: "",
  probeMs: 0,
  lag: 0,
  opsPerSecond: 0,
  health: "unreachable",
  error: "",
};

/** The reachable node that says it leads, at the highest term (a deposed one may lag). */
function agreedLeader(probes: readonly Probe[]): { status: StatusResponse } | undefined {
  let best: { status: StatusResponse } | undefined;
  for (const probe of probes) {
    if (!("status" in probe) || probe.status.role !== "leader") continue;
    if (best === undefined || probe.status.term > best.status.term) best = probe;
  }
  return best;
}

function maxCommit(probes: readonly Probe[]): number {
  let max = 0;
  for (const probe of probes) if ("status" in probe) max = Math.max(max, probe.status.commitIndex);
  return max;
}
