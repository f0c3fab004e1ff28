/**
 * The per-key search: Wing & Gong's backtracking over the entry list with Lowe's cache
 * of (linearized set, state), as in Porcupine's `checkSingle`. On top of that, rules
 * that prune without losing answers (proof sketch in subsumption.ts):
 *
 * - indeterminate operations have no return event, so the search succeeds as soon as
 *   every determinate operation is linearized — the rest are placed at the end or
 *   "never happened";
 * - an indeterminate operation is only linearized where it changes the state: doing so
 *   where it is a no-op is dominated by leaving it pending;
 * - a determinate operation that fits without changing the state (a read, a failed
 *   cas) is a forced move: it can go first in any continuation, so if that branch
 *   fails no alternative is tried (reads that commute are not permuted);
 * - indeterminate twins (identical inputs) are used in call order only (twins.ts);
 * - a configuration dominated by a visited one — same determinate set and state, fewer
 *   indeterminate operations used — is pruned (subsumption.ts).
 */
import { END, EntryList } from "./entry-list.ts";
import { isDeterminate, type KeyOp } from "./history.ts";
import type { Model } from "./model.ts";
import type { PartialLinearization, SearchBudget, SearchOutcome } from "./search-outcome.ts";
import { LinearizedSet, StateCache, stateEquality } from "./state-cache.ts";
import { SubsumptionMemo } from "./subsumption.ts";
import { previousTwins } from "./twins.ts";

/**
 * Decides whether `ops` (one key, see `prepareKey`) is linearizable with respect to
 * `model`. With `trackBest` it also remembers the longest linearizable prefix (most
 * determinate operations), at the cost of a copy of the stack per new record.
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
  /** A forced move: if it fails, so does the configuration it was made from. */
  readonly forced: boolean;
}

/** What trying one candidate did. */
enum Tried {
  /** Linearized; the scan restarts from the top. */
  Lifted,
  /** Not possible or not new; the scan moves on. */
  Skipped,
  /** The current configuration is known to fail; backtrack. */
  Dead,
}

/**
 * Numbers determinate and indeterminate ops separately (their positions in their own
 * linearized sets) into `slot`; returns how many are indeterminate.
 */
function numberByKind<I, O>(ops: readonly KeyOp<I, O>[], slot: Int32Array): number {
  let determinate = 0;
  let indeterminate = 0;
  ops.forEach((op, i) => {
    slot[i] = isDeterminate(op) ? determinate++ : indeterminate++;
  });
  return indeterminate;
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
 * visited before the ones with it, so the subsumption memo can prune the latter.
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
  private readonly subsumption: SubsumptionMemo<S, I, O> | undefined;
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
  /** The stack holds a new record that `best` does not have yet. */
  private bestStale = false;

  constructor(
    private readonly model: Model<S, I, O>,
    private readonly ops: readonly KeyOp<I, O>[],
    private readonly budget: SearchBudget,
    private readonly trackBest: boolean,
  ) {
    this.det = new EntryList(ops, isDeterminate);
    this.indet = new EntryList(ops, (op) => !isDeterminate(op));
    this.slot = new Int32Array(ops.length);
    this.previousTwin = previousTwins(ops);
    this.done = new Uint8Array(ops.length);
    const indeterminateTotal = numberByKind(ops, this.slot);
    this.determinateTotal = ops.length - indeterminateTotal;
    this.detSet = new LinearizedSet(this.determinateTotal);
    this.indetSet = new LinearizedSet(indeterminateTotal);
    this.cache = new StateCache(model);
    this.subsumption = indeterminateTotal > 0 ? new SubsumptionMemo(model) : undefined;
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
      const tried = this.tryLinearize(this.det.opOf(node));
      if (tried === Tried.Dead) return this.backtrack();
      if (tried === Tried.Skipped) this.node = this.det.after(node);
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
    if (this.tryLinearize(this.indet.opOf(node)) !== Tried.Lifted) {
      this.node = this.indet.after(node);
    }
    return true;
  }

  /**
   * Linearizes `index` if its outcome fits and the result is new. A determinate op that
   * fits without changing the state is a forced move: it can be moved to the front of
   * any linearization of the rest (nothing pending must precede it, since it is a
   * candidate, and nobody sees a different state), so no alternative to it need be tried
   * here — if its branch fails, this configuration fails.
   */
  private tryLinearize(index: number): Tried {
    const twin = this.previousTwin[index] as number;
    if (twin !== -1 && this.done[twin] === 0) return Tried.Skipped;
    const op = this.ops[index] as KeyOp<I, O>;
    const { ok, next } = this.model.step(this.state, op.input, op.output);
    if (!ok) return Tried.Skipped;
    const determinate = isDeterminate(op);
    const noOp = this.same(this.state, next);
    if (noOp && !determinate) return Tried.Skipped;
    this.mark(index, true);
    if (!this.isNew(next)) {
      this.mark(index, false);
      return noOp ? Tried.Dead : Tried.Skipped;
    }
    this.stack.push({ op: index, before: this.state, deadline: this.deadline, forced: noOp });
    this.state = next;
    this.listOf(op).lift(index);
    if (determinate) this.pending--;
    if (this.trackBest) this.noteProgress();
    this.phase = DETERMINATE;
    this.node = this.det.first();
    return Tried.Lifted;
  }

  private isNew(next: S): boolean {
    const detKey = this.detSet.key();
    if (this.subsumption?.isSubsumed(detKey, this.indetSet.bits, next) === true) return false;
    const fresh = this.cache.visit(detKey + this.indetSet.key(), next);
    if (fresh) this.subsumption?.record(detKey, this.indetSet.bits, next);
    return fresh;
  }

  /**
   * Abandons the current configuration (it failed) and resumes its parent's scan — or,
   * when it was reached by a forced move, abandons the parent as well.
   */
  private backtrack(): boolean {
    let frame = this.undo();
    while (frame?.forced === true) frame = this.undo();
    return frame !== undefined;
  }

  /** Pops one linearization and points the scan just after it; undefined when none. */
  private undo(): Frame<S> | undefined {
    this.saveBest();
    const frame = this.stack.pop();
    if (frame === undefined) return undefined;
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
    return frame;
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
    this.bestStale = true;
  }

  /**
   * Copies the stack into `best` if it holds an unsaved record — lazily, just before
   * the stack shrinks, so a search that keeps improving copies once, not once per step.
   */
  private saveBest(): void {
    if (!this.bestStale) return;
    this.bestStale = false;
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
    this.saveBest();
    return { kind: "unknown", states: this.cache.size, reason, best: this.best };
  }

  private violation(): SearchOutcome<S> {
    return { kind: "violation", states: this.cache.size, best: this.best };
  }
}
