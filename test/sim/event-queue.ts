/**
 * The simulator's clock and agenda: events ordered by (time, insertion order), so runs
 * are deterministic. Time is in simulated milliseconds and only moves when events run.
 */

/** A scheduled callback. */
interface SimEvent {
  readonly time: number;
  readonly seq: number;
  readonly run: () => void;
}

/** A binary min-heap of events. */
export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;
  /** Current simulated time (ms). */
  now = 0;

  /** Schedules `run` at absolute time `time` (not before now). */
  at(time: number, run: () => void): void {
    this.push({ time: Math.max(time, this.now), seq: this.seq++, run });
  }

  /** Schedules `run` after `delay` ms. */
  after(delay: number, run: () => void): void {
    this.at(this.now + delay, run);
  }

  /** Removes and returns the next event, advancing time; undefined when empty. */
  next(): (() => void) | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const last = this.heap.pop() as SimEvent;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    this.now = top.time;
    return top.run;
  }

  /** Time of the next event, or Infinity. */
  peekTime(): number {
    return this.heap[0]?.time ?? Number.POSITIVE_INFINITY;
  }

  private push(event: SimEvent): void {
    const h = this.heap;
    h.push(event);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i] as SimEvent, h[parent] as SimEvent)) break;
      [h[i], h[parent]] = [h[parent] as SimEvent, h[i] as SimEvent];
      i = parent;
    }
  }

  private siftDown(start: number): void {
    const h = this.heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l] as SimEvent, h[m] as SimEvent)) m = l;
      if (r < h.length && before(h[r] as SimEvent, h[m] as SimEvent)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m] as SimEvent, h[i] as SimEvent];
      i = m;
    }
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
