/**
 * A node's view of the cluster for `dfs status` and `dfs member list`: role, term, leader,
 * log positions, and every member of the configuration in force with (on the leader) how
 * far it trails.
 */

import { dfsVersion } from "../api/index.ts";
import type { StateMachine } from "../fsm/index.ts";
import type { Member, StatusResponse } from "../gen/dfs.ts";
import type { RawNode, Status } from "../raft/index.ts";
import type { NodeConfig } from "./config.ts";

/** Ticks without an answer after which the leader reports a member unreachable (default). */
const UNREACHABLE_TICKS = 10;

/**
 * Every member of the configuration in force, by id. On the leader, `match` is the
 * highest index known replicated there (its own last index for itself), `lag` the
 * leader's last index minus it, and `reachable` whether it answered within
 * `unreachableTicks`; elsewhere those are 0 and false (only the leader knows them).
 */
export function memberRows(st: Status, unreachableTicks = UNREACHABLE_TICKS): Member[] {
  const leader = st.role === "leader";
  return [...st.membership.membership.members]
    .sort((a, b) => a.id - b.id)
    .map((m) => {
      const progress = st.progress.get(m.id);
      const self = m.id === st.id;
      const match = !leader ? 0 : self ? st.lastIndex : (progress?.match ?? 0);
      return {
        id: m.id,
        address: m.clientAddr,
        peerAddress: m.peerAddr,
        learner: m.learner,
        identity: m.identity,
        leader: m.id === st.leader,
        match,
        lag: leader ? Math.max(0, st.lastIndex - match) : 0,
        reachable:
          leader && (self || (progress !== undefined && progress.idleTicks < unreachableTicks)),
      };
    });
}

/**
 * Builds the Status RPC answer from live state; `dropped` are the refused peer messages
 * per reason (listed in name order, so answers compare equal across calls), `health`
 * the node's /health verdict ("ok" or the reason).
 */
export function statusOf(
  config: NodeConfig,
  clusterId: string,
  node: Pick<RawNode, "status">,
  fsm: StateMachine,
  dropped: ReadonlyMap<string, number> = new Map(),
  unreachableTicks = UNREACHABLE_TICKS,
  health = "",
): StatusResponse {
  const ss = node.status();
  const members = memberRows(ss, unreachableTicks);
  const addressOf = (id: number): string => {
    const m = members.find((x) => x.id === id);
    if (m !== undefined && m.address !== "") return m.address;
    const p = config.peers.find((peer) => peer.id === id);
    return p ? `${p.host}:${p.port}` : "";
  };
  return {
    id: config.id,
    address: addressOf(config.id),
    role: ss.role,
    term: ss.term,
    leaderId: ss.leader,
    leaderAddress: addressOf(ss.leader),
    commitIndex: ss.commit,
    appliedIndex: fsm.appliedIndex,
    lastIndex: ss.lastIndex,
    firstIndex: ss.firstIndex,
    clusterId,
    // Empty on a node that joined and has not heard its cluster's configuration yet.
    members,
    droppedPeerMessages: [...dropped]
      .filter(([, count]) => count > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([reason, count]) => ({ reason, count })),
    version: dfsVersion(), // package.json version of this build (`dfs status` VERSION)
    authEnabled: fsm.auth.enabled, // calls then need credentials (docs/auth.md)
    health, // "ok" or why /health fails (docs/observability.md)
  };
}
