/**
 * Liveness judged during the fault phase: a leader that a majority of the voters keeps
 * hearing from, and answering, must not be disturbed. With pre-vote and check-quorum on
 * (as in production), no node may then move the term past the leader's, and the leader
 * may not step down; a node that does either has deposed (or will depose, once it reaches
 * the leader) a healthy leader: the liveness bug pre-vote and the leader lease exist to
 * prevent (thesis §9.6, etcd's "disruptive server"). The final heal's liveness checks
 * cannot see it: by then the cluster may have settled again.
 *
 * The judge can only fire on such a bug, never on a legitimate election; the argument:
 *
 * - **Contact.** A voter s is in contact with leader L (of term T) while it is up, not
 *   paused, its links to and from L are uncut, it follows L in T, it received an append
 *   or heartbeat of L's in T within the last {@link CONTACT_MS}, and L received an
 *   append or heartbeat answer of its within {@link CONTACT_MS}. A follower restarts its
 *   election timer on every append or heartbeat of its leader and is "in lease" (refuses
 *   pre-votes and votes) until `electionTick` ticks pass without one: 10 ticks of 50 ms,
 *   i.e. more than 450 ms; CONTACT_MS is well below. A leader steps down by check-quorum
 *   only after an election timeout (500 ms) in which a majority did not answer; with every
 *   member of a majority answering within CONTACT_MS, that never happens. A leader itself
 *   is always in lease.
 * - **The window** opens when a set S of voters, with L a majority of them, has been in
 *   contact long enough that every pre-vote grant any of them sent before its contact
 *   began has arrived (the longest delay the network could have given it, see
 *   {@link settledAt}); every other live node is a follower (no pre-candidate holds grants
 *   from before) and none is paused (none holds old messages to process on resume); no
 *   node, live or on disk, has a term past T; and the membership nemesis (transfers,
 *   configuration changes) has been quiet long enough. Members leave S for good when their
 *   contact breaks; the window closes when S (with L) is no longer a majority, L is down or
 *   paused, the configuration changes, or the membership nemesis acts. A member whose
 *   contact broke rejoins once back in contact and settled, if no other node is then a
 *   (pre-)candidate or paused (the same argument, for one member).
 * - While the window is open, a node reaching term T+1 must have won a pre-vote from a
 *   majority, which includes a member s of S. s did not grant it while in contact (in
 *   lease), nor before: such a grant arrived before the window opened, when the asker was
 *   still a follower whose next pre-campaign starts with no grants. A transfer (which
 *   overrides the lease) closes the window. So the term cannot pass T, and L cannot be
 *   deposed, unless the core is wrong.
 */
import type { Message } from "../../src/raft/index.ts";
import type { NetworkConditions } from "./sim-network.ts";
import type { SimNode } from "./sim-node.ts";

/** Contact means a message each way within this many ms (the lease lasts > 450 ms). */
export const CONTACT_MS = 350;
/** Longest a message can take without a long delay (maxDelay is at most 100 ms), plus slack. */
const SHORT_DELAY_MS = 300;
/** Longest a message can take with a long delay (maxDelay + 3000 ms), plus slack. */
const LONG_DELAY_MS = 3400;
/** The membership nemesis must have been quiet this long (a transfer's messages included). */
const MEMBERSHIP_QUIET_MS = LONG_DELAY_MS;

/** What the judge needs to see of the simulation. */
export interface SteadyView {
  now(): number;
  readonly nodes: readonly SimNode[];
  /** Ids stopped for good (removed members). */
  readonly gone: ReadonlySet<number>;
  /** The voters of the newest committed configuration, and that configuration's key. */
  voters(): { readonly ids: ReadonlySet<number>; readonly key: string };
  isCut(from: number, to: number): boolean;
  conditions(): NetworkConditions;
}

interface Window {
  readonly start: number;
  readonly members: Set<number>;
  readonly majority: number;
  readonly configKey: string;
}

/** The fault-phase liveness judge (see the file comment for why it cannot false-alarm). */
export class SteadyLeaderJudge {
  private leader: { readonly id: number; readonly term: number } | null = null;
  private readonly fromLeader = new Map<number, number>();
  private readonly toLeader = new Map<number, number>();
  private readonly contactSince = new Map<number, number>();
  private lastLongDelay = Number.NEGATIVE_INFINITY;
  private lastMembership = Number.NEGATIVE_INFINITY;
  private window: Window | null = null;
  /** Windows opened, and the longest one (ms), for the run's report. */
  windows = 0;
  longestMs = 0;

  constructor(private readonly view: SteadyView) {}

  /** The membership nemesis did something (or a transfer's message moved). */
  membershipActivity(): void {
    this.lastMembership = this.view.now();
    this.close();
  }

  /** A message reached a live node (`running`: not paused, so it was processed now). */
  onDeliver(m: Message, running: boolean): void {
    if (m.type === "timeoutNow" || ((m.type === "vote" || m.type === "preVote") && m.transfer)) {
      this.membershipActivity();
      return;
    }
    const l = this.leader;
    if (l === null || !running || m.term !== l.term) return;
    const now = this.view.now();
    if (m.from === l.id && (m.type === "append" || m.type === "heartbeat")) {
      this.touch(this.fromLeader, m.to, now);
    } else if (m.to === l.id && (m.type === "appendResp" || m.type === "heartbeatResp")) {
      this.touch(this.toLeader, m.from, now);
    }
  }

  private touch(map: Map<number, number>, id: number, now: number): void {
    const last = map.get(id);
    if (last !== undefined && now - last > CONTACT_MS) this.lose(id);
    map.set(id, now);
  }

  /** Contact with `id` broke: it leaves the window for good and starts over. */
  private lose(id: number): void {
    this.contactSince.delete(id);
    this.window?.members.delete(id);
  }

  /** The judge stops (the fault phase ended). */
  close(): void {
    if (this.window !== null) {
      this.longestMs = Math.max(this.longestMs, this.view.now() - this.window.start);
    }
    this.window = null;
  }

  /** After every event of the fault phase; throws on a liveness violation. */
  afterEvent(): void {
    const now = this.view.now();
    const c = this.view.conditions();
    if (c.longDelay > 0 || c.maxDelay > SHORT_DELAY_MS - 100) this.lastLongDelay = now;
    const l = this.leader;
    if (this.window !== null && l !== null) this.judge(l, this.window, now);
    this.track(now);
    if (this.window === null) this.maybeOpen(now);
    else this.readmit(now);
  }

  /**
   * A voter whose contact broke may rejoin S once it is back in contact and settled, if
   * at that moment no live node besides L holds grants (none is a pre-candidate or
   * candidate) or old messages (none is paused): the argument for opening a window, for
   * one member.
   */
  private readmit(now: number): void {
    const w = this.window as Window;
    const l = this.leader;
    if (l === null) return;
    const back = [...this.contactSince.keys()].filter(
      (id) => !w.members.has(id) && this.settledAt(id) <= now,
    );
    if (back.length === 0 || !this.othersQuiet(l)) return;
    for (const id of back) w.members.add(id);
  }

  /** No live node but L is a (pre-)candidate or paused, and no term anywhere passed L's. */
  private othersQuiet(l: { id: number; term: number }): boolean {
    for (const n of this.view.nodes) {
      if (this.view.gone.has(n.id)) continue;
      if (n.disk.hardState.term > l.term) return false;
      const inc = n.current;
      if (inc == null || !inc.alive) continue;
      if (inc.paused) return false;
      const s = inc.node.status();
      if (s.term > l.term) return false;
      if (n.id !== l.id && s.role !== "follower") return false;
    }
    return true;
  }

  private judge(l: { id: number; term: number }, w: Window, now: number): void {
    const leader = this.view.nodes[l.id - 1];
    const inc = leader?.current;
    const voters = this.view.voters();
    if (inc == null || !inc.alive || inc.paused || voters.key !== w.configKey) {
      this.close();
      return;
    }
    for (const id of [...w.members]) if (!this.inContact(l, id, now)) this.lose(id);
    if (w.members.size + 1 < w.majority) {
      this.close();
      return;
    }
    const members = `[${[l.id, ...w.members].join(",")}]`;
    const since = `t=${w.start.toFixed(1)}`;
    for (const n of this.view.nodes) {
      if (this.view.gone.has(n.id)) continue;
      const live = n.current?.alive ? n.current.node.status().term : 0;
      const term = Math.max(live, n.disk.hardState.term);
      if (term > l.term) {
        throw new Error(
          `liveness (fault phase): n${n.id} moved to term ${term} past leader n${l.id}@${l.term}, which a majority ${members} has heard from and answered without a break since ${since}`,
        );
      }
    }
    const s = inc.node.status();
    if (s.role !== "leader" || s.term !== l.term) {
      throw new Error(
        `liveness (fault phase): leader n${l.id}@${l.term} stepped down (${s.role}@${s.term}) while a majority ${members} has heard from and answered it without a break since ${since}`,
      );
    }
  }

  /** Follows the leader of the moment and which voters are in contact with it. */
  private track(now: number): void {
    let best: { id: number; term: number } | null = null;
    for (const n of this.view.nodes) {
      const s = n.current?.alive ? n.current.node.status() : undefined;
      if (s?.role === "leader" && (best === null || s.term > best.term))
        best = { id: n.id, term: s.term };
    }
    const l = this.leader;
    if (best === null || l === null || best.id !== l.id || best.term !== l.term) {
      this.close();
      this.leader = best;
      this.fromLeader.clear();
      this.toLeader.clear();
      this.contactSince.clear();
      return;
    }
    for (const id of this.view.voters().ids) {
      if (id === l.id) continue;
      if (!this.inContact(l, id, now)) this.lose(id);
      else if (!this.contactSince.has(id)) this.contactSince.set(id, now);
    }
  }

  private inContact(l: { id: number; term: number }, id: number, now: number): boolean {
    const n = this.view.nodes[id - 1];
    const inc = n?.current;
    if (inc == null || !inc.alive || inc.paused || this.view.gone.has(id)) return false;
    if (this.view.isCut(l.id, id) || this.view.isCut(id, l.id)) return false;
    const s = inc.node.status();
    if (s.role !== "follower" || s.term !== l.term || s.leader !== l.id) return false;
    const from = this.fromLeader.get(id);
    const to = this.toLeader.get(id);
    return (
      from !== undefined && to !== undefined && now - from <= CONTACT_MS && now - to <= CONTACT_MS
    );
  }

  /**
   * When every pre-vote grant `id` may have sent before its contact began has surely
   * arrived: messages sent while long delays were possible take up to LONG_DELAY_MS.
   */
  private settledAt(id: number): number {
    const since = this.contactSince.get(id) ?? Number.POSITIVE_INFINITY;
    return Math.max(since + SHORT_DELAY_MS, Math.min(this.lastLongDelay, since) + LONG_DELAY_MS);
  }

  private maybeOpen(now: number): void {
    const l = this.leader;
    if (l === null || now - this.lastMembership < MEMBERSHIP_QUIET_MS) return;
    const voters = this.view.voters();
    if (!voters.ids.has(l.id)) return;
    const majority = Math.floor(voters.ids.size / 2) + 1;
    const members = [...voters.ids].filter(
      (id) => id !== l.id && this.contactSince.has(id) && this.settledAt(id) <= now,
    );
    if (members.length + 1 < majority || !this.othersQuiet(l)) return;
    this.window = { start: now, members: new Set(members), majority, configKey: voters.key };
    this.windows++;
  }
}
