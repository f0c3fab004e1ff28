/**
 * The nemesis: a seeded schedule of faults from the enabled families, one at a time —
 * apply, hold, heal, wait for a leader, pause briefly — until the fault phase is over.
 * Families take turns (each round in a new seeded order); the kind within a family is
 * drawn at random.
 * The seed fixes every choice the schedule makes (which fault, how long, which nodes
 * when the choice is random); which node leads at that moment is up to the cluster.
 */

import { waitFor } from "../../src/cluster/index.ts";
import type { Rng } from "../support/rng.ts";
import {
  FAULT_KINDS,
  type FaultContext,
  type FaultFamily,
  type FaultKind,
  shuffle,
} from "./faults.ts";
import type { ChaosCluster } from "./proxied-cluster.ts";

/** One injected fault, on the workload's clock (ms since the workload started). */
export interface FaultRecord {
  readonly name: string;
  readonly family: FaultFamily;
  readonly detail: string;
  readonly start: number;
  readonly healed: number;
  /** ms from the end of the heal until some node led again; undefined if none in time. */
  readonly leaderAfterMs: number | undefined;
  /** Why undoing the fault failed (e.g. a killed node refused to restart). */
  readonly healError: string | undefined;
}

/** What the nemesis needs. */
export interface NemesisOptions {
  readonly cluster: ChaosCluster;
  readonly rng: Rng;
  readonly families: ReadonlySet<FaultFamily>;
  /** Length of the fault phase; the last fault may overrun it by its hold time. */
  readonly durationMs: number;
  /** The workload's clock, so faults and operations share one timeline. */
  readonly now: () => number;
  readonly log: (line: string) => void;
}

/** How long to look for the current leader before a fault picks a random target. */
const FIND_LEADER_MS = 3000;
/** How long after a heal a leader must appear before the nemesis notes a stall. */
const RECOVERY_DEADLINE_MS = 20_000;
/** Quiet time between faults, so the workload gets work done in between. */
const GAP_MS: readonly [number, number] = [500, 2500];

/** Runs the schedule; resolves with every fault injected once the phase is over and healed. */
export async function runNemesis(options: NemesisOptions): Promise<FaultRecord[]> {
  const families = [...new Set(FAULT_KINDS.map((k) => k.family))].filter((f) =>
    options.families.has(f),
  );
  if (families.length === 0) throw new Error("no fault family enabled");
  const ctx = faultContext(options);
  const records: FaultRecord[] = [];
  const end = options.now() + options.durationMs;
  let turn: FaultFamily[] = [];
  while (options.now() < end) {
    // Families take turns in a freshly shuffled order, so even a short run exercises every
    // enabled family, each as often as the others whatever its number of kinds.
    if (turn.length === 0) turn = shuffle(options.rng, families);
    const family = turn.shift() as FaultFamily;
    const kind = options.rng.pick(FAULT_KINDS.filter((k) => k.family === family));
    const holdMs = Math.round(options.rng.between(kind.holdMs[0], kind.holdMs[1]));
    const gapMs = Math.round(options.rng.between(GAP_MS[0], GAP_MS[1]));
    records.push(await injectOne(options, ctx, kind, holdMs));
    await pause(gapMs);
  }
  return records;
}

async function injectOne(
  options: NemesisOptions,
  ctx: FaultContext,
  kind: FaultKind,
  holdMs: number,
): Promise<FaultRecord> {
  const start = options.now();
  const active = await kind.apply(ctx);
  options.log(`${stamp(start)} ${kind.name}: ${active.detail}, held ${seconds(holdMs)}`);
  await pause(holdMs); // the fault's duration is the schedule's job, not synchronisation
  const healError = await active.heal().then(
    () => undefined,
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
  if (healError !== undefined) options.log(`${stamp(options.now())}   HEAL FAILED: ${healError}`);
  const healed = options.now();
  const leaderAfterMs = await timeToLeader(options);
  const leader =
    leaderAfterMs === undefined ? "NO LEADER" : `leader after ${seconds(leaderAfterMs)}`;
  options.log(`${stamp(healed)}   healed ${kind.name}; ${leader}`);
  return {
    name: kind.name,
    family: kind.family,
    detail: active.detail,
    start,
    healed,
    leaderAfterMs,
    healError,
  };
}

async function timeToLeader(options: NemesisOptions): Promise<number | undefined> {
  const from = options.now();
  try {
    // Any node leading in the highest term (not yet a majority agreeing on it).
    await waitFor("a leader", () => options.cluster.processes.leader(), RECOVERY_DEADLINE_MS, 100);
    return options.now() - from;
  } catch {
    return undefined;
  }
}

function faultContext(options: NemesisOptions): FaultContext {
  // A separate stream, so whether a leader was found does not shift the schedule's draws.
  const fallback = options.rng.fork();
  return {
    cluster: options.cluster,
    rng: options.rng,
    async leaderOrAny() {
      try {
        return await waitFor("a leader", () => options.cluster.leaderSlot(), FIND_LEADER_MS, 100);
      } catch {
        const up = options.cluster.nodes.filter((n) => n.state === "up");
        return fallback.pick(up.length > 0 ? up : options.cluster.nodes).id;
      }
    },
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `+12.3s`: a time on the workload's clock. */
export function stamp(ms: number): string {
  return `+${(ms / 1000).toFixed(1)}s`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
