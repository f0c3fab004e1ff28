/**
 * LMDB mode's aim at a snapshot installed over a divergent log (the restart's hardest
 * reconciliation of store and WAL; plant `recover-keeps-superseded-log`). The
 * `stale-tail-snapshot` kind alone never got there: check-quorum keeps the cut leader's
 * tail short (an election timeout of client writes), and the snapshot a newer leader
 * sends ends at its applied index, which busy clients and a snapshot every 10–300
 * entries carry past that tail before the leader compacts. So on some seeds that have
 * the kind on, under `--store lmdb`:
 *
 * - the nodes snapshot every 1 or 2 applied entries, keeping none (a config choice a
 *   real cluster can make), so a newer leader compacts as soon as it applies its first
 *   entries, on the cut leader's tail;
 * - while a stale-tail cut is in force, the clients go quiet the moment a newer leader
 *   leads (an idle cluster, as production ones mostly are), until a short while after
 *   the cut heals: that leader's applied index, where its snapshot will end, stays on
 *   the tail until the snapshot is sent;
 * - the other faults wait while the cut is in force, so none heals it early.
 *
 * Drawn from a stream of the seed's own, so every other seed (memory mode, LMDB seeds
 * without the kind or without the aim) runs exactly as before.
 */
import { Rng } from "../support/rng.ts";
import type { SimClient } from "./sim-client.ts";

/** Chance an LMDB seed with `stale-tail-snapshot` on takes the aim. */
const AIM_P = 0.5;

/** A seed's aim (see the module comment). */
export interface DivergentAim {
  /** Snapshot every this many applied entries (keeping none). */
  readonly snapshotEvery: number;
  /** How long after the cut heals the clients resume (ms range). */
  readonly resumeMs: readonly [number, number];
  /** The aim's own generator (resume delays). */
  readonly rng: Rng;
}

/** The aim of one run (null: off), for an LMDB seed whose aimed kinds include stale-tail. */
export function drawDivergentAim(seed: number, staleTailOn: boolean): DivergentAim | null {
  const rng = new Rng(seed ^ 0x64766169);
  const on = rng.chance(AIM_P);
  const snapshotEvery = rng.pick([1, 2]);
  const resumeMs = rng.pick([
    [200, 800],
    [500, 2000],
  ] as const);
  if (!staleTailOn || !on) return null;
  return { snapshotEvery, resumeMs, rng };
}

/** What holding the clients needs from the simulation. */
export interface HoldContext {
  readonly clients: readonly SimClient[];
  /** Each client's running loop (SimClient.run), replaced when it restarts. */
  readonly runs: Promise<void>[];
  /** True while something else keeps the clients quiet (a lull). */
  readonly quietElsewhere: () => boolean;
  readonly trace: (line: string) => void;
}

/** Holds every client quiet and lets them go again (the aim's idle cluster). */
export class ClientHold {
  private holding = false;
  private over = false;

  constructor(private readonly ctx: HoldContext) {}

  /** True while the clients are held. */
  get held(): boolean {
    return this.holding;
  }

  /** Every client stops after its operation in flight. */
  hold(why: string): void {
    if (this.holding || this.over) return;
    this.holding = true;
    for (const c of this.ctx.clients) c.running = false;
    this.ctx.trace(`clients go quiet: ${why}`);
  }

  /** The clients resume (unless a lull keeps them quiet; it resumes them then). */
  release(): void {
    if (!this.holding) return;
    this.holding = false;
    if (this.over) return;
    this.ctx.trace("clients resume (hold over)");
    this.ctx.clients.forEach((c, i) => {
      // As the lulls do: restart only once the old loop ended (one operation at a time).
      const previous = this.ctx.runs[i] ?? Promise.resolve();
      this.ctx.runs[i] = previous.then(() => {
        if (this.over || this.holding || this.ctx.quietElsewhere() || c.running) return;
        c.running = true;
        return c.run();
      });
    });
  }

  /** The fault phase is over: no more restarts (the liveness phase drives the clients). */
  stop(): void {
    this.over = true;
    this.holding = false;
  }
}
