/**
 * The cluster's configuration as the log carries it (Raft §6, thesis ch. 4): every member
 * with its role and addresses. A configuration entry holds the whole member list, not a
 * delta, so a node that reads any one of them (or a snapshot) knows the cluster without
 * replaying history. Changes go one member at a time, and a configuration takes effect on
 * a node when that node learns it is committed (see docs/membership.md for why that is
 * safe together with the rules in raft.ts).
 */
import type { NodeId } from "./types.ts";

/** One member of the cluster. */
export interface Member {
  /** The Raft id, unique for the cluster's whole life (a replaced machine gets a new one). */
  readonly id: NodeId;
  /** A learner receives the log but neither votes nor counts toward any quorum. */
  readonly learner: boolean;
  /** host:port of the member's peer listener. Opaque to the core. */
  readonly peerAddr: string;
  /** host:port of the member's client listener, for NOT_LEADER hints. Opaque to the core. */
  readonly clientAddr: string;
  /**
   * The member id of the data dir that holds this member's state, bound the first time the
   * leader hears from it ("" until then). A node whose data dir is new has another one, so
   * it can never take this member's place (or its vote). Opaque to the core.
   */
  readonly identity: string;
}

/** A whole configuration. */
export interface Membership {
  readonly members: readonly Member[];
  /**
   * Ids removed over the cluster's life, ascending (etcd keeps the same list): their
   * messages are refused for good and their ids are never given out again, so a removed
   * node that keeps running can neither vote nor lead, nor come back under its old id.
   */
  readonly removed: readonly NodeId[];
}

/** The empty configuration of a node that is joining and has not heard its cluster yet. */
export const NO_MEMBERSHIP: Membership = { members: [], removed: [] };

/** Most removed ids a configuration remembers. */
export const MAX_REMOVED = 1024;

/** Longest address or identity a configuration may hold (they travel in every snapshot). */
const MAX_FIELD_CHARS = 256;

/** Most members a configuration may hold: far past any sane cluster, small enough to check. */
export const MAX_MEMBERS = 64;

/** Largest node id: the wire carries ids as uint32. */
const MAX_NODE_ID = 0xffff_ffff;

/** Ids of the voting members, ascending. */
export function voterIds(m: Membership): NodeId[] {
  return m.members
    .filter((x) => !x.learner)
    .map((x) => x.id)
    .sort((a, b) => a - b);
}

/** Ids of the learners, ascending. */
export function learnerIds(m: Membership): NodeId[] {
  return m.members
    .filter((x) => x.learner)
    .map((x) => x.id)
    .sort((a, b) => a - b);
}

/** The member with `id`, if any. */
export function memberOf(m: Membership, id: NodeId): Member | undefined {
  return m.members.find((x) => x.id === id);
}

/** True when `id` votes in `m`. */
export function isVoter(m: Membership, id: NodeId): boolean {
  return memberOf(m, id)?.learner === false;
}

/** A configuration of voters only, without addresses (tests and the bootstrap of old data dirs). */
export function votersOnly(ids: readonly NodeId[]): Membership {
  return {
    members: ids.map((id) => ({ id, learner: false, peerAddr: "", clientAddr: "", identity: "" })),
    removed: [],
  };
}

/**
 * Why `m` cannot be a configuration, or null: ids positive uint32 and unique, fields short
 * strings, at most MAX_MEMBERS members and at least one voter. Judged on everything that
 * arrives from a peer (configuration entries and snapshot metadata).
 */
export function membershipFault(m: Membership): string | null {
  if (!Array.isArray(m.members)) return "members is not a list";
  if (m.members.length > MAX_MEMBERS) return `more than ${MAX_MEMBERS} members`;
  const seen = new Set<number>();
  for (const x of m.members) {
    if (typeof x !== "object" || x === null) return "a member is not an object";
    if (!Number.isInteger(x.id) || x.id < 1 || x.id > MAX_NODE_ID) return `bad member id ${x.id}`;
    if (seen.has(x.id)) return `member ${x.id} twice`;
    seen.add(x.id);
    if (typeof x.learner !== "boolean") return `member ${x.id}: learner is not a boolean`;
    for (const field of ["peerAddr", "clientAddr", "identity"] as const) {
      const v = x[field];
      if (typeof v !== "string" || v.length > MAX_FIELD_CHARS)
        return `member ${x.id}: bad ${field}`;
    }
  }
  if (!m.members.some((x) => !x.learner)) return "no voter";
  if (!Array.isArray(m.removed) || m.removed.length > MAX_REMOVED) return "bad removed list";
  for (const id of m.removed) {
    if (!Number.isInteger(id) || id < 1 || id > MAX_NODE_ID) return `bad removed id ${id}`;
    if (seen.has(id)) return `member ${id} is also removed`;
  }
  return null;
}

/** The bytes of a configuration entry: canonical JSON, members by id, fields in one order. */
export function encodeMembership(m: Membership): Uint8Array {
  const members = [...m.members]
    .sort((a, b) => a.id - b.id)
    .map((x) => ({
      id: x.id,
      learner: x.learner,
      peerAddr: x.peerAddr,
      clientAddr: x.clientAddr,
      identity: x.identity,
    }));
  const removed = [...new Set(m.removed)].sort((a, b) => a - b);
  return new TextEncoder().encode(JSON.stringify({ members, removed }));
}

/** Decodes a configuration entry; null when the bytes are not a valid configuration. */
export function decodeMembership(data: Uint8Array): Membership | null {
  if (data.length > MAX_MEMBERS * (4 * MAX_FIELD_CHARS + 64)) return null;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { members, removed } = value as { members?: unknown; removed?: unknown };
  if (!Array.isArray(members) || !Array.isArray(removed)) return null;
  const m: Membership = {
    members: members.map((x: Record<string, unknown>) => ({
      id: x?.id as number,
      learner: x?.learner as boolean,
      peerAddr: x?.peerAddr as string,
      clientAddr: x?.clientAddr as string,
      identity: x?.identity as string,
    })),
    removed: removed as number[],
  };
  return membershipFault(m) === null ? m : null;
}

/** True when two configurations hold the same members with the same roles and fields. */
export function sameMembership(a: Membership, b: Membership): boolean {
  const ea = encodeMembership(a);
  const eb = encodeMembership(b);
  return ea.length === eb.length && ea.every((v, i) => v === eb[i]);
}

/**
 * How many members differ between two configurations (added, removed, or changed in role,
 * address or identity). One-at-a-time changes (thesis §4.1) allow at most one, so any
 * majority of the old voters overlaps any majority of the new ones.
 */
export function changedMembers(a: Membership, b: Membership): NodeId[] {
  const ids = new Set([...a.members.map((x) => x.id), ...b.members.map((x) => x.id)]);
  const changed: NodeId[] = [];
  for (const id of ids) {
    const x = memberOf(a, id);
    const y = memberOf(b, id);
    if (
      x === undefined ||
      y === undefined ||
      x.learner !== y.learner ||
      x.peerAddr !== y.peerAddr ||
      x.clientAddr !== y.clientAddr ||
      x.identity !== y.identity
    ) {
      changed.push(id);
    }
  }
  return changed.sort((p, q) => p - q);
}
