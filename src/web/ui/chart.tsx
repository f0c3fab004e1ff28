/**
 * A small time-series chart (uPlot: canvas, a few KiB, fast enough to redraw every
 * second). Sized to its container, redrawn when the container resizes (phones rotate).
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

/** Colours of nodes 1, 2, 3, ... in every chart and badge. */
export const NODE_COLOURS = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2"];

/** The colour of node `id`. */
export function nodeColour(id: number): string {
  return NODE_COLOURS[(Math.max(1, id) - 1) % NODE_COLOURS.length] as string;
}

/** One series: a label, its node (for the colour) and its values, aligned with `times`. */
export interface Series {
  label: string;
  node: number;
  values: (number | null)[];
}

interface ChartProps {
  title: string;
  unit: string;
  /** Seconds since the epoch. */
  times: number[];
  series: Series[];
}

/** A line chart of `series` over `times`. */
export function Chart({ title, unit, times, series }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join("|");

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 160,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{}, { size: 50 }],
      series: [
        {},
        ...series.map((s) => ({ label: s.label, stroke: nodeColour(s.node), width: 2 })),
      ],
    };
    plot.current = new uPlot(opts, [times, ...series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 160 });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuilt only when the set of series changes; data updates go through setData.
  }, [shape, unit]);

  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)]);
  }, [times, series]);

  return (
    <figure class="chart">
      <figcaption>
        {title} <span class="unit">({unit})</span>
      </figcaption>
      <div ref={box} />
    </figure>
  );
}
