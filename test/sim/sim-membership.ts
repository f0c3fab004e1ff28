/**
 * The membership nemesis (docs/testing.md#membership-nemesis): membership changes and
 * leadership transfers driven through the leader's RawNode, as the server's member
 * commands drive them, mixed with every other fault of the swarm.
 *
 * Events (nemesis.ts MemberAction):
 * - add-learner: a new id on a fresh, empty disk joins as a learner (its node starts with
 *   no configuration and learns one from the leader's log or a snapshot);
 * - promote: a caught-up learner becomes a voter;
 * - remove: a member goes, for good (never the last voter; the leader too, which then
 *   hands over); it keeps running as a "zombie" for a while, unaware, before it stops;
 * - replace: a voter is removed, a new id is added as a learner on a fresh disk and
 *   promoted once caught up (a machine whose disk died);
 * - transfer: leadership moves to the most caught-up voter or a random one;
 * - split-nonvoters: no change; the running non-voters (learners, removed nodes not yet
 *   stopped) are cut off with a minority of the voters, away from the leader.
 * Each may be followed, a few ms later, by cutting off or crashing the leader that
 * proposed it (or the transfer's target), leaving the change uncommitted in some logs; and
 * may arm "next leader asap": the next leader elected proposes a change at once, before
 * its no-op can have committed (the 2015 single-server bug's setup).
 *
 * Refusals (pending, no_quorum, not the leader...) are normal and counted. The invariants
 * the changes must keep are checked by invariants.ts after every event.
 */
import {
  ConfigChangeError,
  type Member,
  type Membership,
  NotLeaderError,
  voterIds,
} from "../../src/raft/index.ts";
import type { Rng } from "../support/rng.ts";
import type { EventQueue } from "./event-queue.ts";
import type { InvariantChecker } from "./invariants.ts";
import type { SwarmFault } from "./nemesis.ts";
import type { SimNode } from "./sim-node.ts";

/** The most members (voters and learners) the nemesis grows a cluster to. */
const MAX_MEMBERS = 7;
/** A learner is promoted only within this many entries of the leader's commit. */
const PROMOTE_LAG = 50;

type MembershipFault = Extract<SwarmFault, { kind: "membership" }>;

/** What the nemesis needs from the simulation. */
export interface MembershipHost {
  readonly queue: EventQueue;
  readonly nodes: readonly SimNode[];
  readonly checker: InvariantChecker;
  currentLeader(): SimNode | undefined;
  /** Creates and starts a node with a new id on an empty disk and no configuration. */
  addNode(): SimNode;
  /** Stops a node for good (removed from the cluster). */
  retire(id: number): void;
  /** Cuts `group` off from every other node for `ms`. */
  isolate(group: readonly number[], ms: number): void;
  /** Crashes `id` (it restarts later, as any crashed node). */
  crash(id: number): void;
  /** Runs `fn` after `ms` unless the faults were healed meanwhile. */
  later(ms: number, fn: () => void): void;
  /** Runs the simulation until `until`. */
  runUntil(until: number): Promise<void>;
  trace(line: string): void;
}

/** Membership changes and transfers with their outcomes, for the run's report. */
export class MembershipNemesis {
  /** Outcome → count: "proposed:add-learner", "refused:pending", "transfer", ... */
  readonly counts = new Map<string, number>();
  /** Removed ids whose stop is scheduled. */
  private readonly retiring = new Set<number>();
  /** How long each removed id keeps running once its removal is committed. */
  private readonly zombieMs = new Map<number, number>();
  /** A transfer whose target, once it moves past `term`, is cut off as its old leader crashes. */
  private transferWatch: {
    target: number;
    leader: number;
    term: number;
    until: number;
    isolateMs: number;
  } | null = null;
  /** "Next leader asap": until when, the generator, and leaders already served ("id@term"). */
  private asap: { until: number; rng: Rng; served: Set<string> } | null = null;

  constructor(private readonly host: MembershipHost) {}

  /** One line for the run's report. */
  summary(): string {
    return [...this.counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
  }

  private count(what: string): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + 1);
  }

  /** Plays one membership fault; `replace` runs over time, until done or `end`. */
  async inject(fault: MembershipFault, rng: Rng, end: number): Promise<void> {
    const leader = this.host.currentLeader();
    if (fault.nextLeaderAsap) this.armAsap(rng, leader);
    if (fault.action === "split-nonvoters") {
      if (leader !== undefined)
        this.splitNonVoters(leader.id, rng.int(0x7fffffff), fault.afterMs * 20 + 300);
      return;
    }
    let target = 0;
    if (fault.action === "transfer") target = this.transfer(fault, rng);
    else if (fault.action === "replace") await this.replace(fault, rng, end);
    else this.change(fault.action, rng, fault.zombieMs);
    if (fault.followUp !== "none" && leader !== undefined) {
      this.followUp(fault, leader.id, target, rng);
    }
  }

  /**
   * After every event: stops removed nodes once their removal is committed (after their
   * zombie time), and serves the "next leader asap" trap.
   */
  afterEvent(): void {
    const latest = this.host.checker.latestConfig().membership;
    for (const id of latest.removed) {
      if (this.retiring.has(id) || !this.knownRemoved(id, latest)) continue;
      this.retiring.add(id);
      const ms = this.zombieMs.get(id) ?? 0;
      this.host.trace(`n${id} removed (known to a quorum); stops for good in ${ms.toFixed(0)} ms`);
      this.host.queue.after(ms, () => this.host.retire(id));
    }
    this.watchTransfer();
    const asap = this.asap;
    if (asap === null) return;
    if (this.host.queue.now > asap.until) {
      this.asap = null;
      return;
    }
    const leader = this.host.currentLeader();
    const s = leader?.current?.node.status();
    if (leader === undefined || s === undefined) return;
    const key = `${leader.id}@${s.term}`;
    if (asap.served.has(key)) return;
    asap.served.add(key);
    this.host.trace(`asap: new leader n${key} proposes a change at once`);
    this.change(asap.rng.pick(["add-learner", "remove", "promote"] as const), asap.rng, 0);
  }

  /**
   * True once a quorum of the new voters has the configuration that removed `id` in
   * force: only then is it stopped, as an operator stops a removed machine once the
   * change is done. Stopping it earlier can strand the cluster: removing the leader of
   * two voters commits on both, and a survivor that has not heard of the commit keeps
   * the old configuration and waits forever for the removed node's vote (a configuration
   * takes effect where it is known committed).
   */
  private knownRemoved(id: number, latest: Membership): boolean {
    const voters = voterIds(latest);
    const knowing = voters.filter((v) => {
      const inc = this.host.nodes[v - 1]?.current;
      return inc?.alive === true && inc.node.status().membership.membership.removed.includes(id);
    }).length;
    return knowing >= Math.floor(voters.length / 2) + 1;
  }

  private watchTransfer(): void {
    const w = this.transferWatch;
    if (w === null) return;
    if (this.host.queue.now > w.until) {
      this.transferWatch = null;
      return;
    }
    const s = this.host.nodes[w.target - 1]?.current?.node.status();
    if (s === undefined || s.term <= w.term) return;
    this.transferWatch = null;
    this.host.trace(
      `transfer target n${w.target} moved to term ${s.term} (${s.role}): cut it off, crash old leader n${w.leader}`,
    );
    this.host.isolate([w.target], w.isolateMs);
    this.host.crash(w.leader);
  }

  private armAsap(rng: Rng, leader: SimNode | undefined): void {
    const served = new Set<string>();
    const s = leader?.current?.node.status();
    if (leader !== undefined && s !== undefined) served.add(`${leader.id}@${s.term}`);
    this.asap = { until: this.host.queue.now + 4000, rng, served };
  }

  /** Proposes `next` on the current leader; the leader's id on success. */
  private propose(next: Membership, what: string): { leader: number; index: number } | null {
    const leader = this.host.currentLeader();
    const inc = leader?.current;
    if (leader === undefined || inc == null || !inc.alive || inc.paused) {
      this.count("refused:no_leader");
      return null;
    }
    try {
      const pos = inc.node.proposeMembership(next);
      this.count(`proposed:${what}`);
      this.host.trace(`n${leader.id} proposes ${what} at ${pos.index}: ${describe(next)}`);
      inc.loop.deliver([]); // let the loop persist and send it now, as a client call would
      return { leader: leader.id, index: pos.index };
    } catch (error) {
      if (error instanceof ConfigChangeError) this.count(`refused:${error.reason}`);
      else if (error instanceof NotLeaderError) this.count("refused:not_leader");
      else throw error;
      this.host.trace(`n${leader.id} refuses ${what}: ${(error as Error).message}`);
      return null;
    }
  }

  /** One single-member change of the leader's configuration; returns the proposal or null. */
  private change(
    action: "add-learner" | "promote" | "remove",
    rng: Rng,
    zombieMs: number,
  ): { leader: number; index: number; id: number } | null {
    const leader = this.host.currentLeader();
    const config = leader?.current?.node.status().membership.membership;
    if (config === undefined) {
      this.count("refused:no_leader");
      return null;
    }
    const learners = config.members.filter((m) => m.learner);
    const voters = voterIds(config);
    let act = action;
    if (act === "add-learner" && config.members.length >= MAX_MEMBERS) act = "remove";
    if (act === "promote" && learners.length === 0) act = "add-learner";
    if (act === "remove" && config.members.length <= 1) act = "add-learner";
    switch (act) {
      case "add-learner": {
        const id = this.host.nodes.length + 1;
        const m: Member = {
          id,
          learner: true,
          peerAddr: `n${id}`,
          clientAddr: `n${id}`,
          identity: `disk-${id}`,
        };
        const pos = this.propose(
          { members: [...config.members, m], removed: config.removed },
          "add-learner",
        );
        if (pos === null) return null;
        this.host.addNode();
        return { ...pos, id };
      }
      case "promote": {
        const status = leader?.current?.node.status();
        const ready = learners.filter(
          (m) => (status?.progress.get(m.id)?.match ?? 0) + PROMOTE_LAG >= (status?.commit ?? 0),
        );
        if (ready.length === 0) {
          this.count("refused:learner_lagging");
          return null;
        }
        const id = rng.pick(ready).id;
        const pos = this.propose(
          {
            members: config.members.map((m) => (m.id === id ? { ...m, learner: false } : m)),
            removed: config.removed,
          },
          "promote",
        );
        return pos === null ? null : { ...pos, id };
      }
      case "remove": {
        // Never the last voter; a learner may always go.
        const candidates = config.members.filter((m) => m.learner || voters.length > 1);
        const id = rng.pick(candidates).id;
        const pos = this.propose(
          {
            members: config.members.filter((m) => m.id !== id),
            removed: [...config.removed, id],
          },
          "remove",
        );
        if (pos !== null) this.zombieMs.set(id, zombieMs);
        return pos === null ? null : { ...pos, id };
      }
    }
  }

  /** Leadership transfer to the best voter or a random one; the target (0: refused). */
  private transfer(fault: MembershipFault, rng: Rng): number {
    const leader = this.host.currentLeader();
    const inc = leader?.current;
    if (leader === undefined || inc == null || inc.paused) {
      this.count("refused:no_leader");
      return 0;
    }
    const others = voterIds(inc.node.status().membership.membership).filter(
      (id) => id !== leader.id,
    );
    const to = fault.to === "best" || others.length === 0 ? 0 : rng.pick(others);
    try {
      const target = inc.node.transferLeadership(to);
      this.count("transfer");
      this.host.trace(`n${leader.id} transfers leadership to n${target}`);
      inc.loop.deliver([]);
      return target;
    } catch (error) {
      if (error instanceof ConfigChangeError) this.count(`refused:${error.reason}`);
      else if (error instanceof NotLeaderError) this.count("refused:not_leader");
      else throw error;
      return 0;
    }
  }

  /**
   * Replaces a voter by a new node on a fresh disk: remove it, add a new id as a learner,
   * promote it once caught up. Each step waits for the previous one to commit; gives up at
   * `end` or after 8 s.
   */
  private async replace(fault: MembershipFault, rng: Rng, end: number): Promise<void> {
    const deadline = Math.min(end, this.host.queue.now + 8000);
    const step = async (
      what: string,
      attempt: () => boolean,
      done: () => boolean,
    ): Promise<boolean> => {
      let proposed = false;
      while (this.host.queue.now < deadline) {
        if (!proposed) proposed = attempt();
        if (done()) return true;
        await this.host.runUntil(this.host.queue.now + 50);
        if (proposed && !done()) proposed = this.pendingHere();
      }
      this.host.trace(`replace: gave up at ${what}`);
      this.count(`replace-gave-up:${what}`);
      return false;
    };
    const latest = () => this.host.checker.latestConfig().membership;
    const voters = voterIds(latest());
    if (voters.length < 2) {
      this.change("add-learner", rng, fault.zombieMs);
      return;
    }
    const victim = rng.pick(voters);
    this.host.trace(`replace n${victim}: remove, add a new node, promote it`);
    const removed = await step(
      "remove",
      () => this.removeExactly(victim, fault.zombieMs),
      () => latest().removed.includes(victim),
    );
    if (!removed) return;
    let added = 0;
    const ok = await step(
      "add",
      () => {
        added = this.change("add-learner", rng, 0)?.id ?? 0;
        return added !== 0;
      },
      () => added !== 0 && latest().members.some((m) => m.id === added),
    );
    if (!ok) return;
    const promoted = await step(
      "promote",
      () => this.promoteExactly(added),
      () => latest().members.some((m) => m.id === added && !m.learner),
    );
    if (promoted) this.count("replaced");
  }

  /** True while the current leader still has a change pending (else: propose again). */
  private pendingHere(): boolean {
    return (this.host.currentLeader()?.current?.node.status().pendingConfig ?? 0) > 0;
  }

  private removeExactly(id: number, zombieMs: number): boolean {
    const config = this.host.currentLeader()?.current?.node.status().membership.membership;
    if (config === undefined || !config.members.some((m) => m.id === id)) return false;
    const ok =
      this.propose(
        { members: config.members.filter((m) => m.id !== id), removed: [...config.removed, id] },
        "remove",
      ) !== null;
    if (ok) this.zombieMs.set(id, zombieMs);
    return ok;
  }

  private promoteExactly(id: number): boolean {
    const leader = this.host.currentLeader();
    const s = leader?.current?.node.status();
    const config = s?.membership.membership;
    if (s === undefined || config === undefined) return false;
    if ((s.progress.get(id)?.match ?? 0) + PROMOTE_LAG < s.commit) return false; // catching up
    return (
      this.propose(
        {
          members: config.members.map((m) => (m.id === id ? { ...m, learner: false } : m)),
          removed: config.removed,
        },
        "promote",
      ) !== null
    );
  }

  /** Cuts off or crashes the proposing leader (or the target) a few ms later. */
  private followUp(fault: MembershipFault, leaderId: number, transferee: number, rng: Rng): void {
    const isolateMs = rng.between(300, 4000);
    const others = this.host.nodes.filter((n) => n.id !== leaderId && n.isUp());
    const other = others.length > 0 ? rng.pick(others).id : leaderId;
    const shuffle = rng.int(0x7fffffff);
    if (fault.followUp === "isolate-target-crash-leader") {
      const term = this.host.nodes[leaderId - 1]?.current?.node.status().term ?? 0;
      const target = transferee !== 0 ? transferee : other;
      this.transferWatch = {
        target,
        leader: leaderId,
        term,
        until: this.host.queue.now + 2000,
        isolateMs,
      };
      return;
    }
    this.host.later(fault.afterMs, () => {
      if (fault.followUp === "split-nonvoters") {
        this.splitNonVoters(leaderId, shuffle, isolateMs);
        return;
      }
      let target = leaderId;
      if (fault.followUp === "isolate-target") target = transferee !== 0 ? transferee : other;
      this.host.trace(`membership follow-up: ${fault.followUp} n${target}`);
      if (fault.followUp === "crash-leader") this.host.crash(target);
      else this.host.isolate([target], isolateMs);
    });
  }

  /**
   * Cuts off every running non-voter (learners, removed nodes not yet stopped) together
   * with as many voters as stay a minority, away from the leader.
   */
  private splitNonVoters(leaderId: number, shuffle: number, ms: number): void {
    const config = this.host.checker.latestConfig().membership;
    const voters = voterIds(config).filter((id) => id !== leaderId);
    const all = voterIds(config);
    const nonVoters = this.host.nodes
      .filter((n) => n.isUp() && !all.includes(n.id))
      .map((n) => n.id);
    const minority = Math.floor((all.length - 1) / 2);
    const picked = [...voters]
      .sort((a, b) => ((a * shuffle) % 97) - ((b * shuffle) % 97))
      .slice(0, minority);
    const group = [...nonVoters, ...picked];
    if (group.length === 0) return;
    this.host.trace(`membership follow-up: split off non-voters with [${group.join(",")}]`);
    this.host.isolate(group, ms);
  }
}

/** Short text of a configuration for the trace. */
function describe(m: Membership): string {
  const members = m.members.map((x) => `${x.id}${x.learner ? "L" : ""}`).join(",");
  return `[${members}]${m.removed.length > 0 ? ` removed [${m.removed.join(",")}]` : ""}`;
}
