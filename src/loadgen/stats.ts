/**
 * The arithmetic of benchmark results: latency percentiles, medians over runs and the
 * summary of one measured window. Pure functions, so the unit tests pin them down.
 */

/** Latency summary of one window, in milliseconds. */
export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * The `p`-th percentile (0 < p <= 100) of ascending `sorted` by the nearest-rank method:
 * the smallest sample such that at least p% of samples are at or below it. Nearest rank
 * always returns a value that was observed, so a p99 is a real request's latency.
 * NaN for no samples.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/** Median of `values` (mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => !Number.isNaN(v));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** p50/p90/p99/max/mean of `samples` (any order; the array is sorted in place). */
export function summarize(samples: Float64Array): LatencySummary {
  samples.sort();
  let sum = 0;
  for (const s of samples) sum += s;
  return {
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max: samples.length === 0 ? Number.NaN : (samples[samples.length - 1] as number),
    mean: samples.length === 0 ? Number.NaN : sum / samples.length,
  };
}

/** An append-only list of latencies that grows without boxing every number. */
export class SampleBuffer {
  private data = new Float64Array(1024);
  private size = 0;

  /** Number of samples recorded. */
  get length(): number {
    return this.size;
  }

  /** Records one sample. */
  push(value: number): void {
    if (this.size === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.size++] = value;
  }

  /** A copy of the recorded samples, sized exactly. */
  toArray(): Float64Array {
    return this.data.slice(0, this.size);
  }
}
