/**
 * Counters, gauges and histograms whose values live in plain numbers ("cells"), each
 * bound to its label values once, and which a prom-client registry formats at scrape
 * time. prom-client's own `inc` and `observe` build a label hash string and a few objects
 * on every call, even on a child from `labels()`; a cell's update is an addition (a
 * histogram's also a short scan of its bounds) and allocates nothing, which is what the
 * hot path needs (docs/observability.md#cost). prom-client still owns the registry and
 * the text format, so these sit beside its own metrics (process defaults, gauges).
 */
import type { Registry } from "prom-client";

/** One exported sample, in the shape prom-client's registry formats. */
interface Sample {
  readonly metricName?: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

type Labels = Readonly<Record<string, string>>;

/** A metric family: name, help, type, and one cell per label set seen. */
abstract class Family<C> {
  readonly aggregator = "sum";
  private readonly cells = new Map<string, { labels: Labels; cell: C }>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
    private readonly labelNames: readonly string[],
  ) {
    // The registry only calls get() (and reset()); it formats the samples itself.
    registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  /** The cell of these label values (in `labelNames` order), created the first time. */
  cell(...values: string[]): C {
    const key = values.join("\u0000");
    let entry = this.cells.get(key);
    if (entry === undefined) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = values[i] ?? "";
      });
      entry = { labels, cell: this.create() };
      this.cells.set(key, entry);
    }
    return entry.cell;
  }

  /** Called by the registry at scrape time. */
  get(): { name: string; help: string; type: string; aggregator: string; values: Sample[] } {
    const values: Sample[] = [];
    for (const { labels, cell } of this.cells.values()) this.samples(labels, cell, values);
    const { name, help, type, aggregator } = this;
    return { name, help, type, aggregator, values };
  }

  /** Clears every cell's value (Registry.resetMetrics). */
  reset(): void {
    for (const { cell } of this.cells.values()) this.clear(cell);
  }

  protected abstract create(): C;
  protected abstract clear(cell: C): void;
  protected abstract samples(labels: Labels, cell: C, out: Sample[]): void;
}

/** A number that only goes up. */
export class CounterCell {
  value = 0;

  inc(n = 1): void {
    this.value += n;
  }
}

/** A number that goes up and down. */
export class GaugeCell {
  value = 0;

  inc(): void {
    this.value++;
  }

  dec(): void {
    this.value--;
  }
}

/** Counts per bucket (not cumulative; summed at export), sum and count. */
export class HistogramCell {
  sum = 0;
  count = 0;
  readonly counts: Float64Array;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && v > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += v;
    this.count++;
  }
}

/** A counter family (`_total` names). */
export class Counters extends Family<CounterCell> {
  constructor(registry: Registry, name: string, help: string, labelNames: string[] = []) {
    super(registry, name, help, "counter", labelNames);
  }
  protected create(): CounterCell {
    return new CounterCell();
  }
  protected clear(cell: CounterCell): void {
    cell.value = 0;
  }
  protected samples(labels: Labels, cell: CounterCell, out: Sample[]): void {
    out.push({ labels, value: cell.value });
  }
}

/** A gauge family updated on the hot path (in-flight requests). */
export class Gauges extends Family<GaugeCell> {
  constructor(registry: Registry, name: string, help: string, labelNames: string[] = []) {
    super(registry, name, help, "gauge", labelNames);
  }
  protected create(): GaugeCell {
    return new GaugeCell();
  }
  protected clear(cell: GaugeCell): void {
    cell.value = 0;
  }
  protected samples(labels: Labels, cell: GaugeCell, out: Sample[]): void {
    out.push({ labels, value: cell.value });
  }
}

/** A histogram family with fixed bucket bounds (ascending, +Inf implied). */
export class Histograms extends Family<HistogramCell> {
  constructor(
    registry: Registry,
    name: string,
    help: string,
    private readonly bounds: readonly number[],
    labelNames: string[] = [],
  ) {
    super(registry, name, help, "histogram", labelNames);
  }
  protected create(): HistogramCell {
    return new HistogramCell(this.bounds);
  }
  protected clear(cell: HistogramCell): void {
    cell.counts.fill(0);
    cell.sum = 0;
    cell.count = 0;
  }
  protected samples(labels: Labels, cell: HistogramCell, out: Sample[]): void {
    let cumulative = 0;
    this.bounds.forEach((le, i) => {
      cumulative += cell.counts[i] as number;
      out.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
    });
    out.push({
      metricName: `${this.name}_bucket`,
      labels: { ...labels, le: "+Inf" },
      value: cell.count,
    });
    out.push({ metricName: `${this.name}_sum`, labels, value: cell.sum });
    out.push({ metricName: `${this.name}_count`, labels, value: cell.count });
  }
}
