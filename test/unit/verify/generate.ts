/**
 * Random dfs histories that are linearizable by construction: clients issue operations
 * with random latencies, each operation takes effect at a point inside its interval
 * (its "linearization point"), and outputs come from executing the operations in the
 * order of those points against a plain sequential key store. Indeterminate operations
 * either never take effect or take effect at some point after their call — possibly
 * after the client gave up.
 */
import type { KvInput, KvOperation, KvOutput, KvState } from "../../../src/verify/index.ts";
import { pick, randInt } from "./seeds.ts";

/** The shape of a generated history. */
export interface GenOptions {
  readonly keys: number;
  readonly clients: number;
  readonly ops: number;
  /** Upper bound of each half of an interval (call → effect, effect → return). */
  readonly maxLatency: number;
  /** Upper bound of a client's pause between operations (0 gives touching intervals). */
  readonly maxThink: number;
  /** Probability that an operation times out. */
  readonly indeterminateRate: number;
}

interface Planned {
  readonly id: number;
  readonly client: number;
  readonly key: string;
  readonly call: number;
  readonly effectAt: number;
  readonly ret: number;
  readonly indeterminate: boolean;
  readonly applied: boolean;
}

/** A linearizable history drawn from `rng`, shuffled so the checker cannot rely on order. */
export function generateHistory(rng: () => number, o: GenOptions): KvOperation[] {
  const plans = planIntervals(rng, o).sort((a, b) => a.effectAt - b.effectAt || a.id - b.id);
  const states = new Map<string, KvState>();
  let values = 0;
  const ops = plans.map((plan) => {
    const state = states.get(plan.key) ?? { value: null, version: 0 };
    const input = chooseInput(rng, state, () => `v${values++}`);
    const { output, next } = execute(state, input);
    if (plan.applied) states.set(plan.key, next);
    return record(rng, plan, input, output);
  });
  return shuffle(rng, ops);
}

function planIntervals(rng: () => number, o: GenOptions): Planned[] {
  const free = Array.from({ length: o.clients }, () => randInt(rng, 0, o.maxLatency));
  const ids = Array.from({ length: o.clients }, (_, c) => c);
  let nextClient = o.clients;
  const plans: Planned[] = [];
  for (let id = 0; id < o.ops; id++) {
    const c = free.indexOf(Math.min(...free));
    const call = (free[c] as number) + randInt(rng, 0, o.maxThink);
    const indeterminate = rng() < o.indeterminateRate;
    const applied = !indeterminate || rng() < 0.5;
    let effectAt = call + randInt(rng, 0, o.maxLatency);
    const ret = effectAt + randInt(rng, 0, o.maxLatency);
    if (indeterminate && rng() < 0.3) effectAt += randInt(rng, 0, 5 * o.maxLatency);
    const key = `key-${randInt(rng, 0, o.keys - 1)}`;
    plans.push({ id, client: ids[c] as number, key, call, effectAt, ret, indeterminate, applied });
    free[c] = ret;
    if (indeterminate) ids[c] = nextClient++; // a client that timed out is replaced
  }
  return plans;
}

function chooseInput(rng: () => number, state: KvState, fresh: () => string): KvInput {
  const r = rng();
  if (r < 0.35) return { op: "get" };
  if (r < 0.65) return { op: "put", value: fresh() };
  if (r < 0.85) {
    const expectedVersion =
      rng() < 0.6 ? state.version : randInt(rng, 0, Math.max(0, state.version + 1));
    return { op: "cas", expectedVersion, value: fresh() };
  }
  return { op: "delete" };
}

/** The reference semantics, written independently of kvModel. */
export function execute(state: KvState, input: KvInput): { output: KvOutput; next: KvState } {
  const absent: KvState = { value: null, version: 0 };
  switch (input.op) {
    case "get":
      return {
        output:
          state.value === null ? { found: false } : { found: true, ...state, value: state.value },
        next: state,
      };
    case "put":
      return {
        output: { ok: true, version: state.version + 1 },
        next: { value: input.value, version: state.version + 1 },
      };
    case "delete":
      return { output: { existed: state.value !== null }, next: absent };
    case "cas":
      if (input.expectedVersion !== state.version) return { output: { ok: false }, next: state };
      return {
        output: { ok: true, version: state.version + 1 },
        next: { value: input.value, version: state.version + 1 },
      };
  }
}

function record(rng: () => number, p: Planned, input: KvInput, output: KvOutput): KvOperation {
  const base = { id: p.id, client: p.client, key: p.key, call: p.call, input };
  if (!p.indeterminate) return { ...base, ret: p.ret, output };
  // A timed-out op may be recorded with the time the client gave up, or with +∞.
  return { ...base, ret: rng() < 0.5 ? Number.POSITIVE_INFINITY : p.ret, output: undefined };
}

function shuffle<T>(rng: () => number, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randInt(rng, 0, i);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** A history with one output changed to something no execution could produce. */
export interface Mutation {
  readonly history: KvOperation[];
  readonly id: number;
  readonly description: string;
}

/**
 * Changes one determinate output so that it is impossible whatever the interleaving:
 * a get of a value nobody wrote, a get of a value with a version it never had (values
 * are unique, so each has exactly one writer), or a write version above the number of
 * writes to the key. undefined when the history offers no candidate.
 */
export function mutateImpossibly(
  rng: () => number,
  history: readonly KvOperation[],
): Mutation | undefined {
  const candidates = history.flatMap((op) =>
    impossibleOutputs(history, op).map((m) => ({ op, ...m })),
  );
  if (candidates.length === 0) return undefined;
  const chosen = pick(rng, candidates);
  return {
    history: history.map((op) => (op === chosen.op ? { ...op, output: chosen.output } : op)),
    id: chosen.op.id,
    description: `#${chosen.op.id} ${chosen.why}`,
  };
}

function impossibleOutputs(
  history: readonly KvOperation[],
  op: KvOperation,
): { output: KvOutput; why: string }[] {
  const out = op.output;
  if (out === undefined) return [];
  if ("found" in out) {
    const ghost = {
      output: { found: true, value: "never-written", version: 1 } as const,
      why: "get of a value never written",
    };
    if (!out.found) return [ghost];
    const writer = history.find(
      (w) => (w.input.op === "put" || w.input.op === "cas") && w.input.value === out.value,
    );
    const written = writer?.output;
    if (written === undefined || !("ok" in written) || !written.ok) return [ghost];
    return [
      ghost,
      {
        output: { ...out, version: written.version + 1 },
        why: "get with a version its value never had",
      },
    ];
  }
  if ("ok" in out && out.ok) {
    const writes = history.filter(
      (w) => w.key === op.key && (w.input.op === "put" || w.input.op === "cas"),
    ).length;
    return [
      {
        output: { ok: true, version: writes + 1 },
        why: "write version above the number of writes",
      },
    ];
  }
  return [];
}
