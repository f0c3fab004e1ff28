/**
 * What the node's edges know of the configuration in force: whom the transport dials,
 * whose messages it accepts, which client address a NOT_LEADER hint names, and which data
 * dir (member identity) each member's state lives in. The loop updates it from each
 * `Ready.membership`; the transport and the services read it. One place, so a member
 * added, removed or bound to its data dir is seen the same way by every edge.
 */
import {
  type Member,
  type Membership,
  memberOf,
  NO_MEMBERSHIP,
  type NodeId,
} from "../raft/index.ts";
import { type NodeConfig, peerListenerOf } from "./config.ts";

/** The membership a brand-new cluster starts with: every `--peers` entry, a voter. */
export function bootstrapMembership(config: NodeConfig): Membership {
  return {
    members: config.peers.map((p) => {
      const listener = peerListenerOf(p);
      return {
        id: p.id,
        learner: false,
        peerAddr: `${listener.host}:${listener.port}`,
        clientAddr: `${p.host}:${p.port}`,
        identity: "",
      };
    }),
    removed: [],
  };
}

/** Why a peer's claimed identity is refused, naming the remedy (see {@link MemberDirectory.identityFault}). */
export function identityMismatchReason(id: NodeId): string {
  return `member ${id} belongs to another data dir; this data dir is new: remove ${id} and add this node as a new member`;
}

/** The configuration in force as the node's edges see it. */
export class MemberDirectory {
  private current: Membership;
  private index = 0;
  /** Identity each peer presented last (the leader binds unbound members to it). */
  private readonly heard = new Map<NodeId, string>();
  private readonly listeners: ((m: Membership, previous: Membership) => void)[] = [];

  constructor(
    readonly selfId: NodeId,
    /** This data dir's member identity (storage/meta.ts). */
    readonly identity: string,
    initial: Membership,
    /** Where to dial a peer instead of its configured peer address (`--peer-via`). */
    private readonly dialOverrides: Readonly<Record<number, string>> = {},
    /**
     * Addresses of ids the configuration does not hold (yet): what a running member
     * reported to a joining node, used until the log brings the configuration.
     */
    private readonly hints: ReadonlyMap<
      number,
      { peerAddr: string; clientAddr: string }
    > = new Map(),
  ) {
    this.current = initial;
  }

  /** The configuration in force. */
  get membership(): Membership {
    return this.current;
  }

  /** Index of the entry that set it (0: bootstrap or restart). */
  get configIndex(): number {
    return this.index;
  }

  /** Makes `next` the configuration in force and tells every listener. */
  update(next: Membership, index: number): void {
    const previous = this.current;
    this.current = next;
    this.index = index;
    for (const fn of this.listeners) fn(next, previous);
  }

  /** Calls `fn` after every {@link update}. */
  onChange(fn: (m: Membership, previous: Membership) => void): void {
    this.listeners.push(fn);
  }

  member(id: NodeId): Member | undefined {
    return memberOf(this.current, id);
  }

  /** True when `id` was removed for good. */
  isRemoved(id: NodeId): boolean {
    return this.current.removed.includes(id);
  }

  /**
   * Whether the transport accepts messages from `id`: anyone not removed and not this
   * node. A member added by a configuration this node has not learned yet must reach it
   * (the core accepts unknown ids too); a removed one never does.
   */
  accepts(id: NodeId): boolean {
    return id >= 1 && id !== this.selfId && !this.isRemoved(id);
  }

  /**
   * Null when `id` may present `identity`, else the refusal naming the remedy: the
   * configuration binds `id` to another data dir (it was wiped or replaced). An unbound
   * member, or a sender that sends none (an older node), passes.
   */
  identityFault(id: NodeId, identity: string): string | null {
    if (identity !== "") this.heard.set(id, identity);
    const bound = this.member(id)?.identity ?? "";
    if (bound === "" || identity === "" || bound === identity) return null;
    return identityMismatchReason(id);
  }

  /** The identity `id` presented last, if any. */
  heardIdentity(id: NodeId): string | undefined {
    return id === this.selfId ? this.identity : this.heard.get(id);
  }

  /** Where to dial `id`'s peer listener, if known. */
  dialAddress(id: NodeId): string | undefined {
    const override = this.dialOverrides[id];
    if (override !== undefined) return override;
    const m = this.member(id);
    const addr = m !== undefined ? m.peerAddr : this.unknown(id)?.peerAddr;
    return addr === undefined || addr === "" ? undefined : addr;
  }

  /** `id`'s client address (NOT_LEADER hints), if known. */
  clientAddress(id: NodeId): string | undefined {
    const m = this.member(id);
    const addr = m !== undefined ? m.clientAddr : this.unknown(id)?.clientAddr;
    return addr === undefined || addr === "" ? undefined : addr;
  }

  /** A hint for an id the configuration does not hold; never for a removed one. */
  private unknown(id: NodeId): { peerAddr: string; clientAddr: string } | undefined {
    return this.isRemoved(id) ? undefined : this.hints.get(id);
  }

  /** True when the configuration binds this node's id to another data dir. */
  selfReplaced(): boolean {
    const bound = this.member(this.selfId)?.identity ?? "";
    return bound !== "" && bound !== this.identity;
  }

  /** True when the configuration in force removed this node. */
  selfRemoved(): boolean {
    return this.isRemoved(this.selfId);
  }
}

export { NO_MEMBERSHIP };

/**
 * The node saw a committed configuration that removed it: it stops for good (its id is
 * never given out again). `dfs server` exits with its own code (see the CLI).
 */
export class MemberRemovedError extends Error {
  constructor(
    readonly id: NodeId,
    /** Index of the configuration that removed it (0: learned from a peer's refusal). */
    readonly index: number,
    /** The peer that refused it as removed, if that is how it learned. */
    readonly peer?: NodeId,
  ) {
    super(
      `node ${id} was removed from the cluster ${peer === undefined ? `by the configuration at index ${index}` : `(peer ${peer} refuses it as a removed member)`}; stopping (its id is never reused: to bring this machine back, wipe its data dir and add it as a new member)`,
    );
    this.name = "MemberRemovedError";
  }
}
