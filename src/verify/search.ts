/**
 * The per-key search: Wing & Gong's backtracking over the entry list with Lowe's cache
 * of (linearized set, state), as in Porcupine's `checkSingle`, plus three rules for
 * indeterminate operations:
 *
 * - they have no return event, so the search succeeds as soon as every determinate
 *   operation is linearized — the rest are placed at the end or "never happened";
 * - one is only linearized where it changes the state: linearizing an operation that
 *   is a no-op here is dominated by leaving it pending (every continuation of the
 *   former is also a continuation of the latter), so that branch is skipped. This keeps
 *   failed cas attempts and the like from multiplying the search space;
 * - a configuration whose linearized indeterminate operations are a superset of those
 *   of a failed configuration with the same determinate set and state fails too
 *   (failure-memo.ts), so "it happened but was overwritten" is not re-explored.
 */
import { END, EntryList } from "./entry-list.ts";
import { FailureMemo } from "./failure-memo.ts";
import { isDeterminate, type KeyOp } from "./history.ts";
import type { Model } from "./model.ts";
import { LinearizedSet, StateCache, stateEquality } from "./state-cache.ts";

/** Limits after which a search stops and reports "unknown". */
export interface SearchBudget {
  /** A `performance.now()` value; the whole check shares one deadline. */
  readonly deadline: number;
  /** Most configurations this key may cache (bounds memory as well as time). */
  readonly maxStates: number;
}

/** A linearizable prefix found by the search, for counter-examples. */
export interface PartialLinearization<S> {
  /** Indexes into the searched operations, in linearization order. */
  readonly order: readonly number[];
  /** The model state after `order`. */
  readonly state: S;
}

/** What the search concluded about one key. */
export type SearchOutcome<S> =
  | { readonly kind: "ok"; readonly states: number }
  | { readonly kind: "violation"; readonly states: number; readonly best: PartialLinearization<S> }
  | {
      readonly kind: "unknown";
      readonly states: number;
      readonly reason: string;
      readonly best: PartialLinearization<S>;
    };

/**
 * Decides whether `ops` (one key, see `prepareKey`) is linearizable with respect to
 * `model`. With `trackBest` it also remembers the longest linearizable prefix (most
 * determinate operations), which costs a copy whenever the record improves.
 */
export function searchLinearization<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  budget: SearchBudget,
  trackBest = false,
): SearchOutcome<S> {
  return new WglSearch(model, ops, budget, trackBest).run();
}

interface Frame<S> {
  readonly op: number;
  /** The state before `op` was linearized, restored on backtrack. */
  readonly before: S;
  /** The indeterminate scan's deadline when `op` was linearized. */
  readonly deadline: number;
}

/**
 * Links each indeterminate op to the previous one (in call order) with an identical
 * input. Such twins are interchangeable — only their calls constrain them, and the
 * earlier one was called first — so the search uses them in call order only: any
 * linearization using a later twin while an earlier one is unused has a counterpart
 * that swaps them, with the same states throughout.
 */
function twins<I, O>(ops: readonly KeyOp<I, O>[]): Int32Array {
  const previous = new Int32Array(ops.length).fill(-1);
  const lastOfInput = new Map<string, number>();
  ops.forEach((op, i) => {
    if (isDeterminate(op)) return;
    const key = JSON.stringify(op.input);
    previous[i] = lastOfInput.get(key) ?? -1;
    lastOfInput.set(key, i);
  });
  return previous;
}

/** How many loop iterations pass between two looks at the clock. */
const CLOCK_EVERY = 1024;
/** Scanning the determinate list (calls before its first return). */
const DETERMINATE = 0;
/** Scanning the indeterminate calls made no later than `deadline`. */
const INDETERMINATE = 1;

/**
 * Candidates to linearize next are the determinate calls before the first pending
 * return, then the indeterminate calls made no later than that return. Trying
 * determinate operations first means configurations without an indeterminate write are
 * explored (and fail) before the ones with it, so the failure memo can prune the latter.
 */
class WglSearch<S, I, O> {
  private readonly det: EntryList;
  private readonly indet: EntryList;
  /** Each op's position in its own set (determinate or indeterminate). */
  private readonly slot: Int32Array;
  /** For an indeterminate op: the previous one with an identical input, or -1. */
  private readonly previousTwin: Int32Array;
  /** 1 for each linearized op. */
  private readonly done: Uint8Array;
  private readonly detSet: LinearizedSet;
  private readonly indetSet: LinearizedSet;
  private readonly cache: StateCache<S, I, O>;
  private readonly failures: FailureMemo<S, I, O> | undefined;
  private readonly same: (a: S, b: S) => boolean;
  private readonly stack: Frame<S>[] = [];
  private state: S;
  /** Determinate operations not yet linearized; the search succeeds at zero. */
  private pending: number;
  private readonly determinateTotal: number;
  private phase = DETERMINATE;
  private node: number;
  private deadline = Number.POSITIVE_INFINITY;
  private best: PartialLinearization<S>;
  private bestDeterminate = 0;

  constructor(
    private readonly model: Model<S, I, O>,
    private readonly ops: readonly KeyOp<I, O>[],
    private readonly budget: SearchBudget,
    private readonly trackBest: boolean,
  ) {
    this.det = new EntryList(ops, isDeterminate);
    this.indet = new EntryList(ops, (op) => !isDeterminate(op));
    this.slot = new Int32Array(ops.length);
    this.previousTwin = twins(ops);
    this.done = new Uint8Array(ops.length);
    const counts = [0, 0];
    ops.forEach((op, i) => {
      const kind = isDeterminate(op) ? 0 : 1;
      this.slot[i] = counts[kind] ?? 0;
      counts[kind] = (counts[kind] ?? 0) + 1;
    });
    this.determinateTotal = counts[0] ?? 0;
    this.detSet = new LinearizedSet(this.determinateTotal);
    this.indetSet = new LinearizedSet(counts[1] ?? 0);
    this.cache = new StateCache(model);
    this.failures = (counts[1] ?? 0) > 0 ? new FailureMemo(model) : undefined;
    this.same = stateEquality(model);
    this.state = model.init();
    this.pending = this.determinateTotal;
    this.node = this.det.first();
    this.best = { order: [], state: this.state };
  }

  run(): SearchOutcome<S> {
    for (let iteration = 1; this.pending > 0; iteration++) {
      const exhausted = this.budgetExhausted(iteration);
      if (exhausted !== undefined) return this.unknown(exhausted);
      if (!this.advance()) return this.violation();
    }
    return { kind: "ok", states: this.cache.size };
  }

  /** One move of the scan; false when there is nothing left to backtrack to. */
  private advance(): boolean {
    return this.phase === DETERMINATE ? this.scanDeterminate() : this.scanIndeterminate();
  }

  private scanDeterminate(): boolean {
    const node = this.node;
    if (node !== END && this.det.isCall(node)) {
      if (!this.tryLinearize(this.det.opOf(node))) this.node = this.det.after(node);
      return true;
    }
    this.phase = INDETERMINATE;
    this.deadline = node === END ? Number.POSITIVE_INFINITY : this.det.timeOf(node);
    this.node = this.indet.first();
    return true;
  }

  private scanIndeterminate(): boolean {
    const node = this.node;
    if (node === END || this.indet.timeOf(node) > this.deadline) return this.backtrack();
    if (!this.tryLinearize(this.indet.opOf(node))) this.node = this.indet.after(node);
    return true;
  }

  /** Linearizes `index` if its outcome fits and the result is new; restarts the scan. */
  private tryLinearize(index: number): boolean {
    const twin = this.previousTwin[index] as number;
    if (twin !== -1 && this.done[twin] === 0) return false;
    const op = this.ops[index] as KeyOp<I, O>;
    const { ok, next } = this.model.step(this.state, op.input, op.output);
    const determinate = isDeterminate(op);
    if (!ok || (!determinate && this.same(this.state, next))) return false;
    this.mark(index, true);
    if (!this.isNew(next)) {
      this.mark(index, false);
      return false;
    }
    this.stack.push({ op: index, before: this.state, deadline: this.deadline });
    this.state = next;
    this.listOf(op).lift(index);
    if (determinate) this.pending--;
    if (this.trackBest) this.noteProgress();
    this.phase = DETERMINATE;
    this.node = this.det.first();
    return true;
  }

  private isNew(next: S): boolean {
    const detKey = this.detSet.key();
    if (this.failures?.isSubsumed(detKey, this.indetSet.bits, next) === true) return false;
    const fresh = this.cache.visit(detKey + this.indetSet.key(), next);
    if (fresh) this.failures?.recordFailure(detKey, this.indetSet.bits, next);
    return fresh;
  }

  /** Abandons the current configuration (it failed) and resumes its parent's scan. */
  private backtrack(): boolean {
    const frame = this.stack.pop();
    if (frame === undefined) return false;
    const op = this.ops[frame.op] as KeyOp<I, O>;
    const list = this.listOf(op);
    this.state = frame.before;
    this.mark(frame.op, false);
    list.unlift(frame.op);
    const determinate = isDeterminate(op);
    if (determinate) this.pending++;
    this.phase = determinate ? DETERMINATE : INDETERMINATE;
    this.deadline = frame.deadline;
    this.node = list.after(list.callOf(frame.op));
    return true;
  }

  private listOf(op: KeyOp<I, O>): EntryList {
    return isDeterminate(op) ? this.det : this.indet;
  }

  private mark(index: number, linearized: boolean): void {
    const set = isDeterminate(this.ops[index] as KeyOp<I, O>) ? this.detSet : this.indetSet;
    const slot = this.slot[index] as number;
    this.done[index] = linearized ? 1 : 0;
    if (linearized) set.add(slot);
    else set.delete(slot);
  }

  /** Remembers the stack if it holds more determinate operations than any before. */
  private noteProgress(): void {
    const determinate = this.determinateTotal - this.pending;
    if (determinate <= this.bestDeterminate) return;
    this.bestDeterminate = determinate;
    this.best = { order: this.stack.map((frame) => frame.op), state: this.state };
  }

  private budgetExhausted(iteration: number): string | undefined {
    if (this.cache.size > this.budget.maxStates) {
      return `search budget exhausted: more than ${this.budget.maxStates} states explored`;
    }
    if (iteration % CLOCK_EVERY === 0 && performance.now() > this.budget.deadline) {
      return `search timed out after exploring ${this.cache.size} states`;
    }
    return undefined;
  }

  private unknown(reason: string): SearchOutcome<S> {
    return { kind: "unknown", states: this.cache.size, reason, best: this.best };
  }

  private violation(): SearchOutcome<S> {
    return { kind: "violation", states: this.cache.size, best: this.best };
  }
}
