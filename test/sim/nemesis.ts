/**
 * The fault injector of a randomized run: a fault profile drawn from the seed (how lossy,
 * how often partitions, crashes and pauses happen), then a stream of faults over the
 * run's fault phase: partitions of every shape, crashes (sometimes all nodes at once, with
 * torn writes), pauses of up to three election timeouts, lossy and slow links.
 */
import type { Rng } from "../support/rng.ts";
import type { NetworkConditions } from "./sim-network.ts";

/**
 * Which fault scheduler a run uses: `swarm` (the default) draws each seed's set of fault
 * kinds and their weights; `v1` is the scheduler before planted-bug measurement (issue
 * 25), kept so seeds recorded with it replay exactly (regression-seeds.json).
 */
export type NemesisVersion = "swarm" | "v1";

/** True for a known {@link NemesisVersion}. */
export function isNemesis(value: string): value is NemesisVersion {
  return value === "swarm" || value === "v1";
}

/** How hostile one run is; drawn per seed so the swarm covers a wide mix. */
export interface FaultProfile {
  readonly conditions: NetworkConditions;
  /** Mean ms between fault injections. */
  readonly faultEveryMs: number;
  readonly partitions: boolean;
  readonly crashes: boolean;
  readonly pauses: boolean;
  /** Probability a crash leaves a torn prefix of the unsynced write on disk. */
  readonly tornP: number;
}

/** Draws a random profile (the ranges in docs/testing.md#nemesis). */
export function randomProfile(rng: Rng): FaultProfile {
  const maxDelay = rng.pick([1, 5, 20, 100]);
  return {
    conditions: {
      loss: rng.chance(0.7) ? rng.between(0, 0.3) : 0,
      duplicate: rng.chance(0.5) ? rng.between(0, 0.5) : 0,
      minDelay: 0.05,
      maxDelay,
      longDelay: rng.chance(0.3) ? rng.between(0, 0.02) : 0,
    },
    faultEveryMs: rng.between(300, 3000),
    partitions: rng.chance(0.8),
    crashes: rng.chance(0.8),
    pauses: rng.chance(0.6),
    tornP: rng.between(0, 1),
  };
}

/** One fault the simulation knows how to inject. */
export type Fault =
  | {
      readonly kind: "partition";
      readonly shape: "halves" | "isolate-leader" | "one-way" | "bridge";
    }
  | { readonly kind: "crash"; readonly target: "leader" | "random" | "all" }
  | { readonly kind: "pause"; readonly target: "leader" | "random"; readonly ms: number }
  | { readonly kind: "heal" };

/** Picks the next fault allowed by the profile. */
export function nextFault(rng: Rng, profile: FaultProfile): Fault {
  const options: (() => Fault)[] = [() => ({ kind: "heal" })];
  if (profile.partitions) {
    options.push(() => ({
      kind: "partition",
      shape: rng.pick(["halves", "isolate-leader", "one-way", "bridge"] as const),
    }));
  }
  if (profile.crashes) {
    options.push(() => ({
      kind: "crash",
      target: rng.chance(0.08) ? "all" : rng.pick(["leader", "random"] as const),
    }));
  }
  if (profile.pauses) {
    options.push(() => ({
      kind: "pause",
      target: rng.pick(["leader", "random"] as const),
      ms: rng.between(100, 6000),
    }));
  }
  return rng.pick(options)();
}
