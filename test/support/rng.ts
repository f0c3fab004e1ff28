/**
 * The one seeded PRNG of the tests, the simulator and chaos (sfc32 seeded through
 * splitmix32): every random decision derives from one seed, so a failing run replays
 * exactly from the seed it prints. The simulator's recorded seeds
 * (test/sim/regression-seeds.json) depend on this exact sequence: do not change it.
 */

/** A deterministic random source. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.float();
  }

  /** Uniform in [0, 1). */
  float(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform number in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + this.float() * (hi - lo);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A uniformly chosen element. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("rng: pick from empty list");
    return items[this.int(items.length)] as T;
  }

  /** This generator as a plain function, for code that takes a `random: () => number`. */
  source(): () => number {
    return () => this.float();
  }

  /** A fresh generator derived from this one (independent streams per component). */
  fork(): Rng {
    return new Rng(this.int(0x7fffffff));
  }
}

/** Uniform numbers in [0, 1) from `seed`, for code that takes a `random: () => number`. */
export function seededRandom(seed: number): () => number {
  return new Rng(seed).source();
}
