/**
 * The swarm's aim at a vote forgotten in a crash (plant `vote-before-persist`). A voter
 * that answers before its vote is durable, then crashes, forgets it; if it restarts while
 * a second candidate of the same term is still to ask, it votes again and the term gets
 * two leaders. The plain `crash-on-vote` kind crashes a node while it saves a new term or
 * vote, but rarely while a second candidate of that term is still to come: the first
 * swarm found the plant at seed 140 and a later one only at 516. So on some seeds that
 * have `crash-on-vote` on, the fault phase also runs vote races, one after another, each
 * holding off the swarm's other faults while it plays out:
 *
 * 1. a blackout (every link cut) longer than an election timeout, so the leader steps
 *    down (check-quorum) and nobody's lease holds back a vote afterwards;
 * 2. then the voter bridges two groups that cannot reach each other, each of which
 *    wins only with the voter's vote: its own campaigns are dropped (so it does not
 *    simply win itself), and it is the node with the shortest log (so it refuses no
 *    candidate for being behind);
 * 3. when the voter starts saving a vote for a candidate, it crashes, restarts after a
 *    few ms, and no longer hears from that candidate's group, which therefore cannot tell it
 *    the new term: the other group's next candidate of the same term asks a voter that
 *    (correctly) never sent a vote it had not saved, or (planted) did.
 *
 * Without the plant nothing unsafe can follow: the crashed voter never answered. Drawn
 * from a stream of the seed's own, so seeds that leave it off run exactly as before. The
 * races are not steps of the swarm's schedule: shrinking keeps them as they were.
 */
import { Rng } from "../support/rng.ts";

/** Chance a seed with `crash-on-vote` on turns its faults into vote races. */
const AIM_P = 0.6;

/** A seed's vote-race aim (see the module comment). */
export interface VoteRaceAim {
  /** How long every link is cut first, ms (longer than an election timeout). */
  readonly blackoutMs: readonly [number, number];
  /** How soon the crashed voter restarts, ms. */
  readonly restartMs: readonly [number, number];
  /** How long the bridge stays before every link heals, ms. */
  readonly bridgeMs: readonly [number, number];
  /** The wait before each race (from the fault phase's start, then from the last race's end), ms. */
  readonly gapMs: readonly [number, number];
  /** The aim's own generator: when the races start, and each race's choices. */
  readonly rng: Rng;
}

/** The aim of one run (null: off). */
export function drawVoteRaceAim(seed: number): VoteRaceAim | null {
  const rng = new Rng(seed ^ 0x766f7465);
  const on = rng.chance(AIM_P);
  const restartMs = rng.pick([
    [1, 10],
    [5, 60],
  ] as const);
  if (!on) return null;
  return { blackoutMs: [1100, 2500], restartMs, bridgeMs: [1500, 4000], gapMs: [500, 4000], rng };
}

/** A node as the race sees it: its id and how far its log reaches. */
export interface RaceNode {
  readonly id: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

/** Who does what in one race. */
export interface RacePlan {
  /** The bridging voter. */
  readonly voter: number;
  /** The two groups it bridges; neither reaches the other. */
  readonly sides: readonly [readonly number[], readonly number[]];
}

/**
 * Plans a race among the running members `up` (at least 3) of a cluster of `size` voters:
 * the voter is the one with the shortest log (ties drawn), the others split into two
 * sides that each make a majority with the voter and only with it. Null when the running
 * members cannot make that shape.
 */
export function planRace(up: readonly RaceNode[], size: number, rng: Rng): RacePlan | null {
  const majority = Math.floor(size / 2) + 1;
  if (up.length < 3) return null;
  const behind = (a: RaceNode, b: RaceNode): number =>
    a.lastTerm !== b.lastTerm ? a.lastTerm - b.lastTerm : a.lastIndex - b.lastIndex;
  const shortest = [...up].sort(behind)[0] as RaceNode;
  const ties = up.filter((n) => behind(n, shortest) === 0);
  const voter = rng.pick(ties).id;
  const others = up
    .filter((n) => n.id !== voter)
    .map((n) => n.id)
    .sort(() => rng.float() - 0.5);
  const half = Math.ceil(others.length / 2);
  const sides = [others.slice(0, half), others.slice(half)] as const;
  // Each side wins with the voter, neither without it.
  const wins = (side: readonly number[]): boolean => side.length + 1 >= majority;
  const winsAlone = (side: readonly number[]): boolean => side.length >= majority;
  if (!sides.every(wins) || sides.some(winsAlone)) return null;
  return { voter, sides };
}
