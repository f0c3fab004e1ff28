/**
 * The memo that makes Wing & Gong tractable (Lowe's improvement, as in Porcupine): a
 * configuration (set of linearized operations, model state) reached once and failed
 * will fail again, so the search never expands it twice.
 */
import { isDeepStrictEqual } from "node:util";
import type { Model } from "./model.ts";

/** Largest argument list handed to String.fromCharCode at once (engine limits). */
const CHUNK = 8192;

/** The set of linearized operations, as a bitset that can be turned into a Map key. */
export class LinearizedSet {
  private readonly words: Uint16Array;

  constructor(size: number) {
    this.words = new Uint16Array(Math.ceil(size / 16));
  }

  add(i: number): void {
    this.words[i >>> 4] = (this.words[i >>> 4] as number) | (1 << (i & 15));
  }

  /** The raw words, for subset tests; valid until the next change. */
  get bits(): Uint16Array {
    return this.words;
  }

  delete(i: number): void {
    this.words[i >>> 4] = (this.words[i >>> 4] as number) & ~(1 << (i & 15));
  }

  /**
   * An exact encoding (one UTF-16 code unit per 16 operations): two sets have the same
   * key iff they are equal, so the cache never confuses configurations.
   */
  key(): string {
    // apply takes the typed array as an array-like without iterating it (spread would).
    if (this.words.length <= CHUNK) return String.fromCharCode.apply(null, this.words as never);
    let out = "";
    for (let i = 0; i < this.words.length; i += CHUNK) {
      out += String.fromCharCode.apply(null, this.words.subarray(i, i + CHUNK) as never);
    }
    return out;
  }
}

/** State equality as the model defines it: `equal`, else canonical `hash`, else deep. */
export function stateEquality<S, I, O>(model: Model<S, I, O>): (a: S, b: S) => boolean {
  if (model.equal !== undefined) return model.equal.bind(model);
  const hash = model.hash;
  if (hash !== undefined) return (a, b) => hash.call(model, a) === hash.call(model, b);
  return isDeepStrictEqual;
}

/** Configurations already expanded by the search. */
export class StateCache<S, I, O> {
  /** Keyed by linearized-set key (fixed length) followed by the state hash. */
  private readonly buckets = new Map<string, S[]>();
  private readonly seen = new Set<string>();
  private readonly equal: (a: S, b: S) => boolean;
  private count = 0;

  constructor(private readonly model: Model<S, I, O>) {
    this.equal = stateEquality(model);
  }

  /** Distinct configurations recorded so far (the "states" budget counts these). */
  get size(): number {
    return this.count;
  }

  /** Records (set, state); false if it was already there (so the branch is pruned). */
  visit(setKey: string, state: S): boolean {
    const hash = this.model.hash;
    if (hash !== undefined && this.model.equal === undefined) {
      return this.visitCanonical(setKey + hash.call(this.model, state));
    }
    const key = hash === undefined ? setKey : setKey + hash.call(this.model, state);
    return this.visitBucket(key, state);
  }

  private visitCanonical(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.count++;
    return true;
  }

  private visitBucket(key: string, state: S): boolean {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) this.buckets.set(key, [state]);
    else if (bucket.some((other) => this.equal(other, state))) return false;
    else bucket.push(state);
    this.count++;
    return true;
  }
}
