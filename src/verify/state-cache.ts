/**
 * The memo that makes Wing & Gong tractable (Lowe's improvement, as in Porcupine): a
 * configuration (set of linearized operations, model state) reached once and failed
 * will fail again, so the search never expands it twice.
 */
import { isDeepStrictEqual } from "node:util";
import type { Model } from "./model.ts";

/** Largest argument list handed to String.fromCharCode at once (engine limits). */
const CHUNK = 8192;

/**
 * The set of linearized operations, as a bitset that can be turned into a Map key.
 * Operations are indexed in call order, and the search can only linearize operations
 * called before the earliest pending return, so a set is "everything below `low`" plus a
 * narrow window above it. Keys encode just that, which keeps them short (and hashing
 * them cheap) however long the history.
 */
export class LinearizedSet {
  private readonly words: Uint16Array;
  /** Every index below `low` is in the set; `low` is not. */
  private low = 0;
  /** The largest index in the set, or -1. */
  private high = -1;

  constructor(size: number) {
    this.words = new Uint16Array(Math.ceil(size / 16));
  }

  /** The raw words, for subset tests; valid until the next change. */
  get bits(): Uint16Array {
    return this.words;
  }

  /** Whether operation `i` is linearized. */
  has(i: number): boolean {
    return (((this.words[i >>> 4] as number) >>> (i & 15)) & 1) === 1;
  }

  /** Marks operation `i` linearized. */
  add(i: number): void {
    this.words[i >>> 4] = (this.words[i >>> 4] as number) | (1 << (i & 15));
    if (i > this.high) this.high = i;
    while (this.low <= this.high && this.has(this.low)) this.low++;
  }

  /** Marks operation `i` not linearized (on backtrack). */
  delete(i: number): void {
    this.words[i >>> 4] = (this.words[i >>> 4] as number) & ~(1 << (i & 15));
    if (i < this.low) this.low = i;
    if (i !== this.high) return;
    let h = i - 1;
    while (h >= this.low && !this.has(h)) h--;
    this.high = h;
  }

  /**
   * An exact encoding: (low, window length, the words from low's to high's). Two sets
   * have the same key iff they are equal, so the cache never confuses configurations.
   */
  key(): string {
    const from = this.low >>> 4;
    const count = this.high < 0 ? 0 : Math.max(0, (this.high >>> 4) - from + 1);
    const header = String.fromCharCode(
      this.low & 0xffff,
      this.low >>> 16,
      count & 0xffff,
      count >>> 16,
    );
    if (count === 0) return header;
    // apply takes the typed array as an array-like without iterating it (spread would).
    return header + fromCharCodes(this.words.subarray(from, from + count));
  }
}

function fromCharCodes(words: Uint16Array): string {
  if (words.length <= CHUNK) return String.fromCharCode.apply(null, words as never);
  let out = "";
  for (let i = 0; i < words.length; i += CHUNK) {
    out += String.fromCharCode.apply(null, words.subarray(i, i + CHUNK) as never);
  }
  return out;
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
  /** Without a hash: states by linearized-set key, compared with `equal`. */
  private readonly buckets = new Map<string, S[]>();
  /** With a hash: linearized-set key (fixed length) followed by the state hash. */
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
    if (hash !== undefined) return this.visitCanonical(setKey + hash.call(this.model, state));
    return this.visitBucket(setKey, state);
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
