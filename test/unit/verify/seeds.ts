/**
 * Seeds for the randomized verify tests. Every run prints its seeds and a one-line
 * replay command (docs/testing.md#replaying-a-seed); seeds that ever failed are replayed first.
 */
import { seededRandom } from "../../support/rng.ts";

/** The shared seeded PRNG (test/support/rng.ts), uniforms in [0, 1). */
export const prng: (seed: number) => () => number = seededRandom;

/** A uniform integer in [lo, hi]. */
export function randInt(rng: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** One element of a non-empty array. */
export function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)] as T;
}

/** The command that replays `seed` of the test file `file`. */
export function replayCommand(seed: number, file: string): string {
  return `VERIFY_SEED=${seed} node --import tsx --test ${file}`;
}

/**
 * The seeds to run: just VERIFY_SEED when set; otherwise `regressions` (seeds of this
 * file that once failed, replayed forever) plus `count` consecutive seeds from
 * VERIFY_SEED_BASE (random when unset), printed with the command that replays one.
 */
export function seedsFor(
  file: string,
  count: number,
  regressions: readonly number[] = [],
): number[] {
  const only = process.env.VERIFY_SEED;
  if (only !== undefined && only !== "") return [Number(only)];
  const fromEnv = process.env.VERIFY_SEED_BASE;
  const base =
    fromEnv !== undefined && fromEnv !== "" ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
  console.log(
    `${file}: seeds ${base}..${base + count - 1}; replay one: ${replayCommand(base, file)}`,
  );
  return [...regressions, ...Array.from({ length: count }, (_, i) => base + i)];
}
