/** The upload stall rule on a fake clock: no test waits for a real window to pass. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { StallClock, type StallTimers } from "../../../src/server/stall-clock.ts";

/** A clock that moves only when told, firing due timers as it passes them. */
class FakeTimers implements StallTimers {
  private time = 0;
  private readonly timers = new Set<{ at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.time + ms, fn };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.timers].filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers.delete(due);
      this.time = due.at;
      due.fn();
    }
    this.time = until;
  }
}

const WINDOW_MS = 60_000;
const MIN_BYTES = 64 * 1024;

function stallClock(): { clock: StallClock; timers: FakeTimers; stalls: () => number } {
  const timers = new FakeTimers();
  let stalls = 0;
  const clock = new StallClock(WINDOW_MS, MIN_BYTES, () => stalls++, timers);
  return { clock, timers, stalls: () => stalls };
}

test("a client that sends nothing for a whole window is stalled, not a moment before", () => {
  const { clock, timers, stalls } = stallClock();
  clock.run();
  timers.advance(WINDOW_MS - 1);
  assert.equal(stalls(), 0);
  timers.advance(1);
  assert.equal(stalls(), 1);
});

test("the window stops while the node works on what arrived", () => {
  const { clock, timers, stalls } = stallClock();
  clock.run();
  timers.advance(WINDOW_MS / 2);
  clock.pause(1);
  timers.advance(10 * WINDOW_MS); // the node's turn: the client's clock stands still
  assert.equal(stalls(), 0);
  clock.run();
  timers.advance(WINDOW_MS / 2 - 1);
  assert.equal(stalls(), 0);
  timers.advance(1);
  assert.equal(stalls(), 1, "the half window left ran out");
});

test("enough bytes start a fresh window; a trickle does not", () => {
  const { clock, timers, stalls } = stallClock();
  clock.run();
  timers.advance(WINDOW_MS - 10);
  clock.pause(MIN_BYTES);
  clock.run();
  timers.advance(WINDOW_MS - 1);
  assert.equal(stalls(), 0, "a full window after enough progress");
  for (let i = 0; i < 100; i++) {
    clock.pause(1); // a byte now and then
    clock.run();
  }
  timers.advance(1);
  assert.equal(stalls(), 1, "the trickle did not renew the window");
});

test("a stopped clock never fires", () => {
  const { clock, timers, stalls } = stallClock();
  clock.run();
  clock.stop();
  clock.run();
  timers.advance(10 * WINDOW_MS);
  assert.equal(stalls(), 0);
});
