/**
 * The membership RPCs (MemberList, MemberAdd, MemberPromote, MemberRemove, LeaderTransfer):
 * the leader checks a request against the configuration in force (a duplicate id or
 * address, an unknown id, a lagging learner, the last voter, a removed id), builds the
 * whole next configuration, proposes it through the core (which adds its own rules: one
 * change at a time, none pending, a quorum reachable) and answers once it committed and
 * was applied here. Followers answer NOT_LEADER with the leader's address.
 */
import { DfsError, MemberChangeError } from "../api/index.ts";
import type {
  LeaderTransferRequest,
  LeaderTransferResponse,
  MemberAddRequest,
  MemberListResponse,
  MemberPromoteRequest,
  MemberRemoveRequest,
} from "../gen/dfs.ts";
import { type Member, type Membership, memberOf, type NodeId } from "../raft/index.ts";
import type { RaftLoop } from "./raft-loop.ts";
import { memberRows } from "./status.ts";
import { isHostPort } from "./validate-config.ts";

/**
 * A learner is promoted only when its log trails the leader's by at most this many
 * entries: a voter far behind would count toward no quorum until it caught up, so
 * promoting it early lowers the cluster's fault tolerance (etcd refuses the same).
 */
export const PROMOTE_MAX_LAG = 128;

/** Largest node id: the wire carries ids as uint32. */
const MAX_NODE_ID = 0xffff_ffff;

/** What the handlers need from the node. */
export interface MemberAdminDeps {
  readonly loop: Pick<
    RaftLoop,
    "checkLeader" | "status" | "proposeMembership" | "transferLeadership" | "softState"
  >;
  readonly clusterId: string;
  /** Ticks without an answer after which a member counts as unreachable. */
  readonly electionTicks: number;
  /** Wall-clock length of a tick, for waiting on a transfer. */
  readonly tickMs: number;
}

/** The handlers, as async functions of their requests. */
export interface MemberAdmin {
  list(): Promise<MemberListResponse>;
  add(req: MemberAddRequest): Promise<MemberListResponse>;
  promote(req: MemberPromoteRequest): Promise<MemberListResponse>;
  remove(req: MemberRemoveRequest): Promise<MemberListResponse>;
  transfer(req: LeaderTransferRequest): Promise<LeaderTransferResponse>;
}

/** Builds the membership handlers over the node's loop. */
export function memberAdmin(d: MemberAdminDeps): MemberAdmin {
  const list = (): MemberListResponse => {
    const st = d.loop.status();
    return {
      clusterId: d.clusterId,
      leaderId: st.leader,
      members: memberRows(st, d.electionTicks),
      configIndex: st.membership.index,
      removed: [...st.membership.membership.removed],
    };
  };
  const change = async (
    build: (current: Membership) => Membership,
  ): Promise<MemberListResponse> => {
    d.loop.checkLeader();
    const next = build(d.loop.status().membership.membership);
    await d.loop.proposeMembership(next);
    return list();
  };
  return {
    list: async () => {
      d.loop.checkLeader();
      return list();
    },
    add: async (req) => {
      checkId(req.id);
      for (const [flag, value] of [
        ["peer address", req.peerAddress],
        ["client address", req.clientAddress],
      ] as const) {
        if (!isHostPort(value))
          throw new DfsError("invalid_argument", `${flag} '${value}' is not host:port`);
      }
      if (req.peerAddress === req.clientAddress)
        throw new DfsError("invalid_argument", "peer and client address must differ");
      return change((current) => withAdded(current, req));
    },
    promote: async (req) => {
      checkId(req.id);
      d.loop.checkLeader();
      const st = d.loop.status();
      const current = st.membership.membership;
      const m = existing(current, req.id);
      if (!m.learner)
        throw new MemberChangeError("not_learner", `member ${req.id} is already a voter`);
      const match = st.progress.get(req.id)?.match ?? 0;
      const lag = st.lastIndex - match;
      if (lag > PROMOTE_MAX_LAG) {
        throw new MemberChangeError(
          "learner_lagging",
          `learner ${req.id} is ${lag} entries behind the leader (at most ${PROMOTE_MAX_LAG} allowed); wait until it caught up`,
        );
      }
      return change((c) => ({
        members: c.members.map((x) => (x.id === req.id ? { ...x, learner: false } : x)),
        removed: c.removed,
      }));
    },
    remove: async (req) => {
      checkId(req.id);
      return change((current) => withRemoved(current, req.id));
    },
    transfer: async (req) => {
      if (req.to !== 0) checkId(req.to);
      const from = d.loop.softState().leader;
      const target = d.loop.transferLeadership(req.to);
      const to = await waitForNewLeader(d, from, 2 * d.electionTicks * d.tickMs);
      if (to === 0) {
        throw new DfsError(
          "unavailable",
          `leadership transfer to ${target} did not finish within two election timeouts (abandoned)`,
        );
      }
      return { from, to };
    },
  };
}

/** The configuration with `req` added; refuses a duplicate id or address, or a removed id. */
export function withAdded(current: Membership, req: MemberAddRequest): Membership {
  if (current.removed.includes(req.id)) {
    throw new MemberChangeError(
      "removed_id",
      `id ${req.id} was removed before and is never reused; add the node under a new id`,
    );
  }
  if (memberOf(current, req.id) !== undefined)
    throw new MemberChangeError("duplicate_id", `member ${req.id} already exists`);
  const taken = current.members.find((m) =>
    [m.peerAddr, m.clientAddr].some((a) => a === req.peerAddress || a === req.clientAddress),
  );
  if (taken !== undefined) {
    throw new MemberChangeError(
      "duplicate_address",
      `member ${taken.id} already uses ${[req.peerAddress, req.clientAddress].filter((a) => a === taken.peerAddr || a === taken.clientAddr).join(" and ")}`,
    );
  }
  const added: Member = {
    id: req.id,
    learner: req.learner,
    peerAddr: req.peerAddress,
    clientAddr: req.clientAddress,
    identity: "",
  };
  return { members: [...current.members, added], removed: current.removed };
}

/** The configuration without `id`; refuses an unknown id or the last voter. */
export function withRemoved(current: Membership, id: NodeId): Membership {
  const m = existing(current, id);
  if (!m.learner && current.members.filter((x) => !x.learner).length === 1) {
    throw new MemberChangeError(
      "last_voter",
      `member ${id} is the last voter; add and promote another member first`,
    );
  }
  return {
    members: current.members.filter((x) => x.id !== id),
    removed: [...current.removed, id].sort((a, b) => a - b),
  };
}

function existing(current: Membership, id: NodeId): Member {
  const m = memberOf(current, id);
  if (m !== undefined) return m;
  if (current.removed.includes(id))
    throw new MemberChangeError("not_found", `member ${id} was already removed`);
  throw new MemberChangeError("not_found", `no member has id ${id}`);
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > MAX_NODE_ID)
    throw new DfsError("invalid_argument", `member id must be 1..${MAX_NODE_ID}, got ${id}`);
}

/** Resolves with the new leader's id once one other than `from` holds office, or 0 after `ms`. */
async function waitForNewLeader(d: MemberAdminDeps, from: NodeId, ms: number): Promise<NodeId> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { leader } = d.loop.softState();
    if (leader !== 0 && leader !== from) return leader;
    if (Date.now() >= deadline) return 0;
    await new Promise((resolve) => setTimeout(resolve, d.tickMs));
  }
}
