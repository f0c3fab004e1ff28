/**
 * A node's view of the cluster for `dfs status`: role, term, leader and log positions.
 */

import { dfsVersion } from "../api/index.ts";
import type { StateMachine } from "../fsm/index.ts";
import type { StatusResponse } from "../gen/dfs.ts";
import type { RawNode } from "../raft/index.ts";
import { type NodeConfig, peerListenerOf } from "./config.ts";

/**
 * Builds the Status RPC answer from live state; `dropped` are the refused peer messages
 * per reason (listed in name order, so answers compare equal across calls).
 */
export function statusOf(
  config: NodeConfig,
  clusterId: string,
  node: Pick<RawNode, "status">,
  fsm: StateMachine,
  dropped: ReadonlyMap<string, number> = new Map(),
): StatusResponse {
  const ss = node.status();
  const addressOf = (id: number): string => {
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
    members: config.peers.map((p) => {
      const peer = peerListenerOf(p);
      return { id: p.id, address: `${p.host}:${p.port}`, peerAddress: `${peer.host}:${peer.port}` };
    }),
    droppedPeerMessages: [...dropped]
      .filter(([, count]) => count > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([reason, count]) => ({ reason, count })),
    version: dfsVersion(), // package.json version of this build (`dfs status` VERSION)
  };
}
