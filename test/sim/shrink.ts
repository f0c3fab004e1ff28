/**
 * Shrinking a failing swarm schedule (fast-check style, by delta debugging): drop chunks
 * of fault steps, then single steps, keeping each removal after which the run still fails;
 * then cut the fault phase to just after the last step that is left. Every step keeps the
 * generator of its own choices (nemesis.ts ScheduledFault), so the steps that stay replay
 * the way they did.
 */
import type { ScheduledFault } from "./nemesis.ts";

/** A schedule and fault-phase length to try. */
export interface Candidate {
  readonly schedule: readonly ScheduledFault[];
  readonly faultMs: number;
}

/** Runs a candidate; resolves to the failure message, or null when it passed. */
export type TryRun = (c: Candidate) => Promise<string | null>;

/** What shrinking found. */
export interface Shrunk extends Candidate {
  readonly failure: string;
  /** Runs spent. */
  readonly runs: number;
}

/**
 * Shrinks `start` (which failed with `failure`) within `maxRuns` runs. Any failure counts
 * as still failing: a smaller schedule that breaks another invariant is still a bug.
 */
export async function shrinkSchedule(
  start: Candidate,
  failure: string,
  tryRun: TryRun,
  maxRuns = 200,
): Promise<Shrunk> {
  let best: Candidate = start;
  let bestFailure = failure;
  let runs = 0;
  const attempt = async (c: Candidate): Promise<boolean> => {
    if (runs >= maxRuns) return false;
    runs++;
    const f = await tryRun(c);
    if (f === null) return false;
    best = c;
    bestFailure = f;
    return true;
  };

  let chunks = 2;
  while (best.schedule.length > 0 && runs < maxRuns) {
    const steps = best.schedule;
    const size = Math.ceil(steps.length / chunks);
    let removed = false;
    for (let i = 0; i < steps.length; i += size) {
      const rest = [...steps.slice(0, i), ...steps.slice(i + size)];
      if (await attempt({ ...best, schedule: rest })) {
        removed = true;
        chunks = Math.max(2, chunks - 1);
        break;
      }
    }
    if (!removed) {
      if (size <= 1) break;
      chunks = Math.min(steps.length, chunks * 2);
    }
  }

  const last = best.schedule[best.schedule.length - 1]?.at ?? 0;
  for (const tail of [200, 1000, 3000, 8000]) {
    const faultMs = Math.ceil(last + tail);
    if (faultMs >= best.faultMs) break;
    if (await attempt({ ...best, faultMs })) break;
  }
  return { ...best, failure: bestFailure, runs };
}
