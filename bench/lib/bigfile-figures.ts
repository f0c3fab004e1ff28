/**
 * Pure pieces of the big-file benchmark (bench/bigfile.ts): reading memory lines of
 * /proc/<pid>/status, keeping per-process peaks, walking a data dir's disk use, and
 * judging a series of disk samples against the "< 10 % of peak within a minute" goal.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

const MiB = 1024 * 1024;

/** A `Name:   1234 kB` line of /proc/<pid>/status, in bytes (undefined when absent). */
export function statusKb(text: string, name: "RssAnon" | "VmHWM" | "VmRSS"): number | undefined {
  const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, "m").exec(text);
  return match === null ? undefined : Number(match[1]) * 1024;
}

/** Reads one memory figure of `pid` in bytes; 0 once the process is gone. */
export async function procFigure(pid: number, name: "RssAnon" | "VmHWM" | "VmRSS") {
  try {
    return statusKb(await readFile(`/proc/${pid}/status`, "utf8"), name) ?? 0;
  } catch {
    return 0;
  }
}

/** The largest value seen per key. */
export class Peaks {
  private readonly peaks = new Map<number, number>();

  /** Records one sample. */
  add(key: number, value: number): void {
    this.peaks.set(key, Math.max(this.peaks.get(key) ?? 0, value));
  }

  /** The peak of `key` (0 if never sampled). */
  of(key: number): number {
    return this.peaks.get(key) ?? 0;
  }

  /** The largest peak over all keys. */
  max(): number {
    return Math.max(0, ...this.peaks.values());
  }
}

/**
 * Samples `read(pid)` for each of `pids()` every `everyMs` until `stop()`; the peaks are
 * kept per pid. Samples of one tick run concurrently and a tick is skipped while the
 * previous one is still reading.
 */
export function sampleEvery(
  everyMs: number,
  pids: () => readonly number[],
  read: (pid: number) => Promise<number>,
): { peaks: Peaks; stop: () => Promise<void> } {
  const peaks = new Peaks();
  let busy: Promise<void> | undefined;
  const tick = () => {
    if (busy !== undefined) return;
    busy = Promise.all(pids().map(async (pid) => peaks.add(pid, await read(pid)))).then(() => {
      busy = undefined;
    });
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    peaks,
    stop: async () => {
      clearInterval(timer);
      await busy;
    },
  };
}

/** Bytes a directory tree takes on disk (st_blocks × 512, like `du`); 0 if it is gone. */
export async function diskUsed(dir: string): Promise<number> {
  let total = 0;
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) total += await diskUsed(path);
    else {
      try {
        total += (await stat(path)).blocks * 512;
      } catch {
        // removed between readdir and stat
      }
    }
  }
  return total;
}

/** One disk sample after the deletes: seconds since the last delete, bytes used. */
export interface DiskSample {
  readonly seconds: number;
  readonly bytes: number;
}

/**
 * The first sample at which use fell under `fraction` of `peak`, as its seconds after
 * the deletes; undefined if it never did within the samples.
 */
export function secondsBelow(
  samples: readonly DiskSample[],
  peak: number,
  fraction: number,
): number | undefined {
  return samples.find((s) => s.bytes < peak * fraction)?.seconds;
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): number {
  return Math.round((bytes / MiB) * 10) / 10;
}

/** MiB per second for `bytes` moved in `ms`, one decimal. */
export function mibPerS(bytes: number, ms: number): number {
  return Math.round((bytes / MiB / (ms / 1000)) * 10) / 10;
}

/** The median of numbers (the mean of the middle two for an even count); NaN if none. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
