/**
 * The simulated network between nodes: per-message loss, duplication and random delay
 * (which reorders), occasional very long delays, and link cuts that can be one-way, so
 * partitions of any shape (halves, isolated leader, bridges) are just sets of cut links.
 */
import type { Message } from "../../src/raft/index.ts";
import type { Rng } from "../support/rng.ts";
import type { EventQueue } from "./event-queue.ts";

/** How the network misbehaves at the moment; the nemesis changes it over time. */
export interface NetworkConditions {
  /** Probability a message is dropped. */
  loss: number;
  /** Probability a message is delivered twice. */
  duplicate: number;
  /** Delivery delay range in ms (uniform). */
  minDelay: number;
  maxDelay: number;
  /** Probability of an extra long delay (seconds), reordering far past the rest. */
  longDelay: number;
}

/** A network that delivers everything promptly. */
export const HEALTHY: NetworkConditions = {
  loss: 0,
  duplicate: 0,
  minDelay: 0.05,
  maxDelay: 1,
  longDelay: 0,
};

/** Delivers a message to a node (the simulation decides what "crashed" or "paused" means). */
export type DeliverFn = (message: Message) => void;

/** Messages between simulated nodes. */
export class SimNetwork {
  conditions: NetworkConditions = { ...HEALTHY };
  private readonly cut = new Set<string>();
  /** Nodes whose campaigns (pre-vote and vote requests) are lost until the links heal. */
  private readonly muted = new Set<number>();
  /** Bumped by dropInFlight(); deliveries scheduled in an older epoch are discarded. */
  private epoch = 0;
  /** Directed scenarios: a message for which this returns false is dropped. */
  filter: ((m: Message) => boolean) | null = null;
  /** Messages handed to the network, by type (for message-count bounds). */
  readonly sent = new Map<string, number>();

  constructor(
    private readonly queue: EventQueue,
    private readonly rng: Rng,
    private readonly deliver: DeliverFn,
    /** A snapshot message that will never arrive: its stream failed (the sender is told). */
    private readonly snapshotLost: DeliverFn = () => {},
  ) {}

  /** Sends messages from one node; each is delivered (or not) independently. */
  send(messages: readonly Message[]): void {
    for (const m of messages) {
      this.sent.set(m.type, (this.sent.get(m.type) ?? 0) + 1);
      if (m.type === "appendResp" && m.reject)
        this.sent.set("appendRespReject", (this.sent.get("appendRespReject") ?? 0) + 1);
      const dropped =
        this.isCut(m.from, m.to) ||
        (this.muted.has(m.from) && (m.type === "preVote" || m.type === "vote")) ||
        this.rng.chance(this.conditions.loss) ||
        (this.filter !== null && !this.filter(m));
      if (dropped) {
        if (m.type === "snapshot")
          this.queue.after(this.conditions.maxDelay, () => this.snapshotLost(m));
        continue;
      }
      this.schedule(m);
      if (this.rng.chance(this.conditions.duplicate)) this.schedule(m);
    }
  }

  private schedule(m: Message): void {
    const c = this.conditions;
    let delay = this.rng.between(c.minDelay, c.maxDelay);
    if (this.rng.chance(c.longDelay)) delay += this.rng.between(500, 3000);
    const epoch = this.epoch;
    this.queue.after(delay, () => {
      if (epoch === this.epoch && !this.isCut(m.from, m.to)) this.deliver(m);
      else if (m.type === "snapshot") this.snapshotLost(m);
    });
  }

  /** Cuts the link from → to (one direction). */
  cutLink(from: number, to: number): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Cuts both directions between every node of `a` and every node of `b`. */
  separate(a: readonly number[], b: readonly number[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cutLink(x, y);
        this.cutLink(y, x);
      }
    }
  }

  /** True when from → to is cut. */
  isCut(from: number, to: number): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  /**
   * Loses every message still in flight. The final heal uses it: a healed network does not
   * go on delivering seconds-old packets (TCP connections of crashed senders are gone), so
   * the liveness bounds measure the protocol, not leftovers of the fault phase.
   */
  dropInFlight(): void {
    this.epoch++;
  }

  /** Cuts every link except the listed pairs (both directions kept for each pair). */
  onlyLinks(ids: readonly number[], pairs: readonly (readonly [number, number])[]): void {
    this.cut.clear();
    const keep = new Set(pairs.flatMap(([a, b]) => [`${a}>${b}`, `${b}>${a}`]));
    for (const a of ids)
      for (const b of ids) if (a !== b && !keep.has(`${a}>${b}`)) this.cutLink(a, b);
  }

  /**
   * Loses every pre-vote and vote request `id` sends until the links heal: a lossy
   * network can do that to any message, and the vote race needs a bridge that never
   * campaigns itself.
   */
  muteCampaigns(id: number): void {
    this.muted.add(id);
  }

  /** Restores every link (and unmutes every campaign). */
  healLinks(): void {
    this.cut.clear();
    this.muted.clear();
  }

  /** Total messages sent since the counter was last reset. */
  totalSent(): number {
    let total = 0;
    for (const n of this.sent.values()) total += n;
    return total;
  }
}
