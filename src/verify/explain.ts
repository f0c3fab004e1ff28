/**
 * Renders a {@link Diagnosis} as text a human can check by hand: the culprit, the longest
 * linearizable prefix and the state it leaves, why nothing can go next, and the key's
 * operations around the problem in call order.
 */
import type { Diagnosis } from "./diagnose.ts";
import { nearestSources } from "./diagnose.ts";
import type { KeyOp, Operation } from "./history.ts";
import type { Model } from "./model.ts";

/** Prefix entries shown before eliding the older ones. */
const PREFIX_SHOWN = 8;
/** Possible sources of the culprit's observation that are listed. */
const SOURCES_SHOWN = 3;
/** Operations listed before eliding the ones furthest from the culprit. */
const LISTING_SHOWN = 40;

/** The counter-example for one key, several lines, mentioning the key first. */
export function explainViolation<S, I, O>(
  model: Model<S, I, O>,
  key: string,
  keyOps: readonly Operation<I, O>[],
  d: Diagnosis<S, I, O>,
): string {
  return [
    `Key ${JSON.stringify(key)} is not linearizable (${count(keyOps.length, "operation")}).`,
    culpritLine(model, d),
    ...prefixLines(model, d),
    ...frontierLines(model, d),
    ...sourceLines(model, d),
    `Operations involved: ${d.involved.map((op) => `#${op.id}`).join(", ")}`,
    ...listingLines(model, key, keyOps, d),
  ].join("\n");
}

/** One operation: id, client, interval, and the model's description of it. */
export function formatOperation<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string {
  return `#${op.id} client ${op.client} ${formatInterval(op)} ${describe(model, op)}`;
}

function formatInterval<I, O>(op: Operation<I, O>): string {
  return op.output === undefined ? `[${op.call}, ∞)` : `[${op.call}, ${op.ret}]`;
}

function describe<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string {
  if (model.describe !== undefined) return model.describe(op.input, op.output);
  const out = op.output === undefined ? "? (indeterminate)" : JSON.stringify(op.output);
  return `${JSON.stringify(op.input)} → ${out}`;
}

function describeState<S, I, O>(model: Model<S, I, O>, state: S): string {
  return model.describeState?.(state) ?? JSON.stringify(state);
}

function short<S, I, O>(model: Model<S, I, O>, op: KeyOp<I, O>): string {
  return `#${op.source.id} ${describe(model, op.source)}`;
}

function culpritLine<S, I, O>(model: Model<S, I, O>, d: Diagnosis<S, I, O>): string {
  const op = formatOperation(model, d.culprit.source);
  if (!d.culpritIsFirst) {
    return `${op} cannot be explained by the time it returned (the budget ran out before an earlier return could be ruled out).`;
  }
  return `${op} is the first operation, by return time, whose outcome cannot be explained: everything that returned before it is linearizable, but not together with it.`;
}

function prefixLines<S, I, O>(model: Model<S, I, O>, d: Diagnosis<S, I, O>): string[] {
  const shown = d.prefix.slice(-PREFIX_SHOWN).map((op) => short(model, op));
  const elided = d.prefix.length - shown.length;
  const list = (elided > 0 ? [`… ${elided} earlier`, ...shown] : shown).join("; ");
  const writer = d.lastWriter === undefined ? "" : `, last changed by #${d.lastWriter.source.id}`;
  const lines = [
    `Longest linearizable prefix (${count(d.prefix.length, "operation")}): ${list || "(empty)"}`,
    `  after which the key holds ${describeState(model, d.state)}${writer}.`,
  ];
  if (!d.searchComplete) lines.push("  (the budget ran out; a longer prefix may exist)");
  return lines;
}

function frontierLines<S, I, O>(model: Model<S, I, O>, d: Diagnosis<S, I, O>): string[] {
  const state = describeState(model, d.state);
  return [
    "Operations that could go next, and why none works:",
    ...d.frontier.map(({ op, verdict }) => {
      const why =
        verdict === "rejected"
          ? `impossible when the key holds ${state}`
          : "possible there, but no order of the remaining operations works after it";
      return `  ${formatOperation(model, op.source)}: ${why}`;
    }),
  ];
}

function sourceLines<S, I, O>(model: Model<S, I, O>, d: Diagnosis<S, I, O>): string[] {
  if (d.sources === undefined) return [];
  const head = `Operations that could have produced what #${d.culprit.source.id} observed:`;
  if (d.sources.length === 0) return [`${head} none.`];
  const nearest = nearestSources(d.culprit, d.sources, SOURCES_SHOWN);
  const more = d.sources.length - nearest.length;
  return [
    head,
    ...nearest.map((op) => `  ${formatOperation(model, op.source)}`),
    ...(more > 0 ? [`  … and ${more} more`] : []),
  ];
}

/** The key's operations overlapping the involved ones, up to the culprit's return. */
function listingLines<S, I, O>(
  model: Model<S, I, O>,
  key: string,
  keyOps: readonly Operation<I, O>[],
  d: Diagnosis<S, I, O>,
): string[] {
  const involved = new Set(d.involved);
  const start = Math.min(...d.involved.map((op) => op.call));
  const end = d.culprit.ret;
  const sorted = [...keyOps].sort((a, b) => a.call - b.call || a.id - b.id);
  const window = sorted.filter((op) => op.call <= end && endOf(op) >= start);
  const shown = window.filter((op, i) => involved.has(op) || i >= window.length - LISTING_SHOWN);
  const lines = [`Operations on ${JSON.stringify(key)} in call order (* = involved):`];
  for (const op of shown) {
    lines.push(`${involved.has(op) ? "*" : " "} ${formatOperation(model, op)}`);
  }
  const hidden = sorted.length - shown.length;
  if (hidden > 0) {
    lines.push(`  (${count(hidden, "operation")} further from the problem not shown)`);
  }
  return lines;
}

function endOf<I, O>(op: Operation<I, O>): number {
  return op.output === undefined ? Number.POSITIVE_INFINITY : op.ret;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
