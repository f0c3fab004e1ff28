/**
 * Reads `/metrics` text through a real Prometheus text-format parser (`prom2javascript`),
 * so tests check what a Prometheus server would read, not what our own formatter meant.
 * It throws on any line it cannot parse and on a histogram whose count is not its +Inf
 * bucket. (`parse-prometheus-text-format`, the older choice, merges every label set of a
 * histogram into one and loses its labels.) It does not take the special values NaN and
 * -Inf, which Prometheus accepts in any letter case (prom-client writes `Nan` for an event
 * loop gauge before its first sample): such lines are checked against the format's sample
 * grammar here and set aside.
 */
import {
  getMetricsFromIterator,
  type PromData,
  type PromHistogramData,
  type PromMetric,
} from "prom2javascript";

/** One parsed family: its type ("counter", "gauge", "histogram"…), help and samples. */
export interface ParsedFamily {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: readonly (PromData | PromHistogramData)[];
}

/** Every family in `text`, by name. Rejects if the parser refuses a line. */
export async function parseMetrics(text: string): Promise<Map<string, ParsedFamily>> {
  const lines = text.split("\n").filter((line) => {
    if (!/ (?:nan|-inf)$/i.test(line)) return true;
    if (!SPECIAL_SAMPLE.test(line)) throw new Error(`Unable to parse metric [${line}]`);
    return false;
  });
  const parsed: Record<string, PromMetric> = await getMetricsFromIterator(lines[Symbol.iterator]());
  return new Map(
    Object.entries(parsed).map(([name, m]) => [
      name,
      { name, type: m.type, help: m.help, samples: m.data as (PromData | PromHistogramData)[] },
    ]),
  );
}

/** A sample line whose value is NaN or -Inf: name, optional labels, value. */
const SPECIAL_SAMPLE =
  /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*,?\})? (?:nan|-inf)$/i;

type Labels = Readonly<Record<string, string>>;

function find(
  families: ReadonlyMap<string, ParsedFamily>,
  name: string,
  labels: Labels,
): PromData | PromHistogramData | undefined {
  return families
    .get(name)
    ?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** A counter's or gauge's value (0 when the sample is absent). */
export function sampleValue(
  families: ReadonlyMap<string, ParsedFamily>,
  name: string,
  labels: Labels = {},
): number {
  const s = find(families, name, labels);
  return s !== undefined && "value" in s ? s.value : 0;
}

/** A histogram sample (buckets, sum, count), or undefined. */
export function histogramOf(
  families: ReadonlyMap<string, ParsedFamily>,
  name: string,
  labels: Labels = {},
): PromHistogramData | undefined {
  const s = find(families, name, labels);
  return s !== undefined && "buckets" in s ? s : undefined;
}

/** A histogram's observation count (0 when the sample is absent). */
export function countOf(
  families: ReadonlyMap<string, ParsedFamily>,
  name: string,
  labels: Labels = {},
): number {
  return histogramOf(families, name, labels)?.count ?? 0;
}
