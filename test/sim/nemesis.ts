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

// ---- the swarm (nemesis "swarm") ------------------------------------------------------

/**
 * Fault kinds of the swarm. Each seed enables a random subset of them, each with a random
 * weight (swarm testing: Groce et al., "Swarm Testing", ISSTA 2012), so some seeds hammer
 * one mechanism while others mix everything.
 */
export const SWARM_KINDS = [
  "heal",
  "partition",
  "crash",
  "pause",
  "minority-leader",
  "leader-churn",
  "leader-trap",
  "partition-after-burst",
  "crash-after-sync",
  "crash-on-vote",
  "weather",
] as const;

/**
 * The membership nemesis' kind. Kept out of SWARM_KINDS, whose per-seed draws it would
 * shift: a seed enables it from its own stream (see {@link membershipWeight}), so every
 * seed that leaves it off runs exactly as before it existed.
 */
export const MEMBERSHIP_KIND = "membership" as const;

/**
 * Kinds aimed at plants the first swarm missed (issue 25, session 4). Like the membership
 * kind, kept out of SWARM_KINDS and enabled from a stream of the seed's own (see
 * {@link aimedWeights}), so a seed that leaves them off draws exactly what it drew before.
 *
 * - `cut-after-commit`: wait until the leader has applied (and answered clients for)
 *   entries no other node knows are committed, then cut it off at once. The others elect
 *   a leader whose commit index lags writes clients were told succeeded: only its first
 *   commit in its own term (thesis §6.4) keeps its reads from missing them.
 * - `stale-tail-snapshot`: cut the leader off alone (it keeps appending what clients send
 *   it, a tail nobody else has) and heal as soon as a newer leader compacted past where
 *   the two logs part, while its applied index still falls inside that tail: the snapshot
 *   it then sends is installed over a log holding another entry at the snapshot's index
 *   (the restart's reconciliation of store and WAL if the node crashes right after).
 */
export const AIMED_KINDS = ["cut-after-commit", "stale-tail-snapshot"] as const;

/** One fault kind of the swarm. */
export type SwarmKind =
  | (typeof SWARM_KINDS)[number]
  | typeof MEMBERSHIP_KIND
  | (typeof AIMED_KINDS)[number];

/** Every kind, in the order nextSwarmFault weighs them (membership, then aimed, last). */
const ALL_SWARM_KINDS: readonly SwarmKind[] = [...SWARM_KINDS, MEMBERSHIP_KIND, ...AIMED_KINDS];

/**
 * The aimed kinds' weights for a seed (each on in 40% of seeds, weight 3–12), drawn from
 * `rng`, a stream of their own, so turning them on changes nothing else the seed draws.
 */
export function aimedWeights(rng: Rng): Partial<Record<SwarmKind, number>> {
  const weights: Partial<Record<SwarmKind, number>> = {};
  for (const kind of AIMED_KINDS) {
    const on = rng.chance(0.4);
    const weight = 3 + rng.int(10);
    if (on) weights[kind] = weight;
  }
  return weights;
}

/**
 * Whether a run uses the membership nemesis: `swarm` (the default) lets each seed decide
 * from its own stream, `on` and `off` force it.
 */
export type MembershipMode = "swarm" | "on" | "off";

/** True for a known {@link MembershipMode}. */
export function isMembershipMode(value: string): value is MembershipMode {
  return value === "swarm" || value === "on" || value === "off";
}

/**
 * The membership nemesis' weight for a seed (0: off). Drawn from `rng`, a stream of its
 * own, so turning it on changes nothing else the seed draws.
 */
export function membershipWeight(rng: Rng, mode: MembershipMode): number {
  const on = rng.chance(0.6);
  const weight = 4 + rng.int(12);
  if (mode === "off" || (mode === "swarm" && !on)) return 0;
  return weight;
}

/**
 * What the membership nemesis does (driven through the leader's RawNode, as the server's
 * member commands will): add a learner (a new id on an empty disk), promote a learner,
 * remove a member (never the last voter; it may be the leader, which hands over), replace
 * a voter (remove it, add a new id as learner on an empty disk, promote it once caught
 * up), or transfer leadership; or, with no change, split off the running non-voters
 * (learners, removed nodes not yet stopped) with a minority of the voters, away from the
 * leader: only a candidate that counts a non-voter can win there.
 */
export type MemberAction =
  | "add-learner"
  | "promote"
  | "remove"
  | "replace"
  | "transfer"
  | "split-nonvoters";

/** A seed's swarm: which fault kinds it uses, how often, and how long partitions last. */
export interface SwarmProfile extends FaultProfile {
  /** Weight of each enabled kind (absent: disabled). */
  readonly weights: Partial<Record<SwarmKind, number>>;
  /** Probability a partition heals by itself after a short time (else: a long one). */
  readonly shortPartitionP: number;
  /** How soon a crashed node comes back: ms range. */
  readonly restartMs: readonly [number, number];
}

/** Draws a seed's swarm profile: a random subset of kinds with random weights. */
export function swarmProfile(rng: Rng): SwarmProfile {
  const base = randomProfile(rng);
  const weights: Partial<Record<SwarmKind, number>> = {};
  for (const kind of SWARM_KINDS) if (rng.chance(0.55)) weights[kind] = 1 + rng.int(10);
  // At least two kinds, one of which injects something.
  while (Object.keys(weights).filter((k) => k !== "heal").length < 2) {
    weights[rng.pick(SWARM_KINDS.filter((k) => k !== "heal"))] = 1 + rng.int(10);
  }
  return {
    ...base,
    faultEveryMs: rng.pick([rng.between(150, 800), rng.between(500, 3000)]),
    partitions: weights.partition !== undefined,
    crashes: weights.crash !== undefined,
    pauses: weights.pause !== undefined,
    weights,
    shortPartitionP: rng.float(),
    restartMs: rng.pick([
      [10, 300],
      [100, 5000],
      [1000, 8000],
    ] as const),
  };
}

/** A fault of the swarm (the v1 faults plus the ones aimed at consensus interleavings). */
export type SwarmFault =
  | (Fault & { readonly healAfterMs?: number })
  | {
      /** Cut the leader off with a minority, let it take writes, then crash or keep it cut. */
      readonly kind: "minority-leader";
      readonly outcome: "crash" | "isolate";
      readonly afterMs: number;
      readonly healAfterMs: number;
    }
  | {
      /** Isolate whoever leads, `rounds` times, healing in between: terms race ahead. */
      readonly kind: "leader-churn";
      readonly rounds: number;
      readonly isolateMs: number;
      readonly gapMs: number;
    }
  | {
      /**
       * For `windowMs`, every node that becomes leader is crashed or cut off `delayMs`
       * later, before its first entry reaches a majority: the new leader's term starts
       * over uncommitted tails of earlier terms (the Figure 8 sequences).
       */
      readonly kind: "leader-trap";
      readonly windowMs: number;
      readonly delayMs: number;
      readonly action: "crash" | "isolate";
      readonly isolateMs: number;
    }
  | {
      /** Wait until the leader has entries in flight, then partition at once. */
      readonly kind: "partition-after-burst";
      readonly shape: "isolate-leader" | "halves";
      readonly healAfterMs: number;
    }
  | {
      /** Crash a node right after a sync returns, before it acts on it. */
      readonly kind: "crash-after-sync";
      readonly target: "leader" | "random" | "follower";
    }
  | {
      /** Crash a node while a new term or vote is being saved. */
      readonly kind: "crash-on-vote";
    }
  | { readonly kind: "weather"; readonly conditions: NetworkConditions }
  | {
      /** Cut the leader off the moment it applied past every other node's commit index. */
      readonly kind: "cut-after-commit";
      readonly isolateMs: number;
    }
  | {
      /** Cut the leader off; heal when a newer leader must snapshot over its stale tail. */
      readonly kind: "stale-tail-snapshot";
      readonly isolateMs: number;
    }
  | {
      /** A membership change or a leadership transfer (see {@link MemberAction}). */
      readonly kind: "membership";
      readonly action: MemberAction;
      /** Transfer to the most caught-up voter, or to a random one. */
      readonly to: "best" | "random";
      /**
       * Then, `afterMs` later: cut off or crash the leader that proposed it (or, after a
       * transfer, the old leader or the target), so the change is left uncommitted in
       * some logs, or two would-be leaders overlap; or split off the non-voters (learners,
       * removed nodes still running) with a minority of the voters, away from the leader:
       * only a candidate that counts a non-voter can win there. After a transfer,
       * `isolate-target-crash-leader` waits for the target to move to a new term, then
       * cuts it off and crashes the old leader: the others elect in that term, and only
       * a target that took over without their votes makes two leaders of it.
       */
      readonly followUp:
        | "none"
        | "isolate-leader"
        | "crash-leader"
        | "isolate-target"
        | "split-nonvoters"
        | "isolate-target-crash-leader";
      readonly afterMs: number;
      /** And let the next leader elected propose a change at once (the 2015 bug's setup). */
      readonly nextLeaderAsap: boolean;
      /** How long a removed node keeps running before it is stopped for good. */
      readonly zombieMs: number;
    };

/** One step of a swarm schedule: when (ms into the fault phase), what, and its choices' seed. */
export interface ScheduledFault {
  readonly at: number;
  readonly fault: SwarmFault;
  /** Seed of the generator that makes the fault's choices (which node, how long). */
  readonly choices: number;
}

/** Picks the next fault by the profile's weights. */
export function nextSwarmFault(rng: Rng, profile: SwarmProfile): SwarmFault {
  const kinds = ALL_SWARM_KINDS.filter((k) => profile.weights[k] !== undefined);
  let total = 0;
  for (const k of kinds) total += profile.weights[k] as number;
  let r = rng.float() * total;
  let kind: SwarmKind = kinds[kinds.length - 1] as SwarmKind;
  for (const k of kinds) {
    r -= profile.weights[k] as number;
    if (r < 0) {
      kind = k;
      break;
    }
  }
  const partitionMs = (): number =>
    rng.chance(profile.shortPartitionP) ? rng.between(50, 700) : rng.between(2000, 9000);
  switch (kind) {
    case "heal":
      return { kind: "heal" };
    case "partition":
      return {
        kind: "partition",
        shape: rng.pick(["halves", "isolate-leader", "one-way", "bridge"] as const),
        healAfterMs: partitionMs(),
      };
    case "crash":
      return {
        kind: "crash",
        target: rng.chance(0.08) ? "all" : rng.pick(["leader", "random"] as const),
      };
    case "pause":
      return {
        kind: "pause",
        target: rng.pick(["leader", "random"] as const),
        ms: rng.between(100, 6000),
      };
    case "minority-leader":
      return {
        kind: "minority-leader",
        outcome: rng.pick(["crash", "isolate"] as const),
        afterMs: rng.between(5, 600),
        healAfterMs: rng.between(300, 6000),
      };
    case "leader-churn":
      return {
        kind: "leader-churn",
        rounds: 2 + rng.int(4),
        isolateMs: rng.between(400, 2500),
        gapMs: rng.between(0, 400),
      };
    case "leader-trap":
      return {
        kind: "leader-trap",
        windowMs: rng.between(1500, 8000),
        delayMs: rng.pick([rng.between(0, 3), rng.between(0, 60)]),
        action: rng.pick(["crash", "isolate"] as const),
        isolateMs: rng.between(200, 3000),
      };
    case "partition-after-burst":
      return {
        kind: "partition-after-burst",
        shape: rng.pick(["isolate-leader", "halves"] as const),
        healAfterMs: partitionMs(),
      };
    case "crash-after-sync":
      return { kind: "crash-after-sync", target: rng.pick(["leader", "random", "follower"]) };
    case "crash-on-vote":
      return { kind: "crash-on-vote" };
    case "membership":
      return nextMembershipFault(rng);
    case "cut-after-commit":
      return { kind: "cut-after-commit", isolateMs: rng.between(800, 4000) };
    case "stale-tail-snapshot":
      return { kind: "stale-tail-snapshot", isolateMs: rng.between(1500, 6000) };
    case "weather":
      return {
        kind: "weather",
        conditions: {
          loss: rng.chance(0.5) ? rng.between(0, 0.4) : 0,
          duplicate: rng.chance(0.4) ? rng.between(0, 0.5) : 0,
          minDelay: 0.05,
          maxDelay: rng.pick([1, 5, 20, 100]),
          longDelay: rng.chance(0.3) ? rng.between(0, 0.03) : 0,
        },
      };
  }
}

/** Draws one membership fault. */
function nextMembershipFault(rng: Rng): SwarmFault {
  const r = rng.float();
  const action: MemberAction =
    r < 0.2
      ? "add-learner"
      : r < 0.38
        ? "promote"
        : r < 0.54
          ? "remove"
          : r < 0.68
            ? "replace"
            : r < 0.86
              ? "transfer"
              : "split-nonvoters";
  return {
    kind: "membership",
    action,
    to: rng.pick(["best", "random"] as const),
    followUp: rng.chance(0.4)
      ? "none"
      : rng.pick([
          "isolate-leader",
          "crash-leader",
          "isolate-target",
          "split-nonvoters",
          "isolate-target-crash-leader",
        ] as const),
    afterMs: rng.pick([rng.between(0, 5), rng.between(0, 200)]),
    nextLeaderAsap: rng.chance(0.5),
    zombieMs: rng.pick([0, rng.between(0, 3000), rng.between(2000, 15_000)]),
  };
}
