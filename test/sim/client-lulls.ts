/**
 * Lulls in the client workload: on some swarm seeds, every client stops issuing
 * operations for a while (0.8–4 s), again and again through the fault phase. An idle
 * cluster is where some bugs live: a follower cut off from its leader keeps a log as
 * up to date as everyone's only while nothing is written, so only then can it win the
 * pre-vote a lease-ignoring peer grants it (plant `prevote-ignores-lease`), and a quiet
 * leader only sends heartbeats. Production clusters are idle most of the time; eight
 * clients writing without a pause never are.
 *
 * Drawn from a stream of the seed's own (like the membership nemesis), so every seed
 * without lulls draws and runs exactly as before they existed.
 */
import { Rng } from "../support/rng.ts";
import type { EventQueue } from "./event-queue.ts";
import type { SimClient } from "./sim-client.ts";

/** Chance a swarm seed has lulls. */
const LULL_P = 0.35;

/** How often lulls come, how long they last, how often one comes with a leader cut. */
export interface LullShape {
  readonly everyMs: [number, number];
  readonly lullMs: [number, number];
  readonly cutP: number;
}

/** What the lulls drive. */
export interface LullContext {
  readonly queue: EventQueue;
  readonly clients: readonly SimClient[];
  /** Each client's running loop (SimClient.run), replaced when it restarts. */
  readonly runs: Promise<void>[];
  readonly trace: (line: string) => void;
  /**
   * Cuts the leader off from one follower (both ways, replacing any partition) for `ms`;
   * a lull may come with it: the one way a follower falls out of touch with an idle leader
   * while the rest stay in touch with both.
   */
  readonly cutFromLeader: (choice: number, ms: number) => void;
  /** True while something else holds the clients quiet (divergent-install.ts): no restart. */
  readonly heldElsewhere?: () => boolean;
}

/** The lulls of one run (null: this seed has none). */
export function drawLulls(seed: number): LullShape | null {
  const rng = new Rng(seed ^ 0x6c756c6c);
  if (!rng.chance(LULL_P)) return null;
  return {
    everyMs: rng.pick([
      [300, 2000],
      [1000, 5000],
    ] as [number, number][]),
    lullMs: rng.pick([
      [800, 1500],
      [1000, 4000],
    ] as [number, number][]),
    cutP: rng.pick([0, 0.3, 0.7]),
  };
}

/** Plays a seed's lulls until {@link ClientLulls.stop} (the fault phase's end). */
export class ClientLulls {
  private over = false;
  private lulling = false;
  private readonly rng: Rng;

  constructor(
    seed: number,
    private readonly ctx: LullContext,
    private readonly shape: LullShape,
  ) {
    this.rng = new Rng(seed ^ 0x6c756c6d);
  }

  /** True during a lull (the clients are quiet). */
  get quiet(): boolean {
    return this.lulling;
  }

  /** Schedules the first lull. */
  start(): void {
    this.ctx.trace(`client lulls: ${JSON.stringify(this.shape)}`);
    this.next();
  }

  /** No more lulls, and no client restarts: the liveness phase drives the clients now. */
  stop(): void {
    this.over = true;
  }

  private next(): void {
    const wait = this.rng.between(...this.shape.everyMs);
    const lull = this.rng.between(...this.shape.lullMs);
    const cut = this.rng.chance(this.shape.cutP);
    // Early in the lull, and long enough (1.2–3 s) for the cut-off follower's election
    // timeout (0.5–1 s after the leader's last heartbeat) to fire while nothing is written.
    const cutAfter = this.rng.between(0, 200);
    const cutMs = this.rng.between(1200, 3000);
    const choice = this.rng.int(0x7fffffff);
    this.ctx.queue.after(wait, () => {
      if (this.over) return;
      this.ctx.trace(`client lull for ${lull.toFixed(0)} ms${cut ? ", with a leader cut" : ""}`);
      if (cut) {
        this.ctx.queue.after(cutAfter, () => {
          if (!this.over) this.ctx.cutFromLeader(choice, cutMs);
        });
      }
      this.lulling = true;
      for (const c of this.ctx.clients) c.running = false;
      this.ctx.queue.after(lull, () => {
        if (this.over) return;
        this.lulling = false;
        this.ctx.trace("clients resume");
        this.ctx.clients.forEach((c, i) => {
          // Restart only once the old loop has ended (its last operation finished or timed
          // out): a client runs one operation at a time, under one session sequence.
          const previous = this.ctx.runs[i] ?? Promise.resolve();
          this.ctx.runs[i] = previous.then(() => {
            if (this.over || this.lulling || c.running || this.ctx.heldElsewhere?.()) return;
            c.running = true;
            return c.run();
          });
        });
        this.next();
      });
    });
  }
}
