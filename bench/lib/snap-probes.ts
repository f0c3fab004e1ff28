/**
 * What the snapshot benchmark reads from outside the nodes: data dir sizes (split into
 * the WAL, the state store and the rest), WAL segment counts, and resident memory from
 * /proc, including a fast peak-RSS sampler.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseVmRss } from "./proc-stat.ts";

/** Bytes of one data dir. `bytes` are apparent sizes; `allocated` are disk blocks (du). */
export interface DirUsage {
  readonly totalBytes: number;
  readonly walBytes: number;
  /** `state/` plus a `state.new/` or `state.old/` left by a snapshot install. */
  readonly stateBytes: number;
  /** meta.json, the lock, anything else. */
  readonly otherBytes: number;
  /** Blocks actually allocated (st_blocks × 512) of the whole dir: LMDB files may be sparse. */
  readonly allocatedBytes: number;
  /** `*.wal` files in `wal/`. */
  readonly walSegments: number;
}

interface Walk {
  bytes: number;
  allocated: number;
  files: number;
}

/** Sizes of `dataDir`; files that vanish while walking (compaction) are skipped. */
export function dirUsage(dataDir: string): DirUsage {
  let wal = 0;
  let state = 0;
  let other = 0;
  let allocated = 0;
  let walSegments = 0;
  let entries: string[];
  try {
    entries = readdirSync(dataDir);
  } catch {
    entries = [];
  }
  for (const name of entries) {
    const w = walk(join(dataDir, name), name === "wal" ? /\.wal$/ : null);
    allocated += w.allocated;
    if (name === "wal") {
      wal += w.bytes;
      walSegments += w.files;
    } else if (name === "state" || name.startsWith("state.")) state += w.bytes;
    else other += w.bytes;
  }
  return {
    totalBytes: wal + state + other,
    walBytes: wal,
    stateBytes: state,
    otherBytes: other,
    allocatedBytes: allocated,
    walSegments,
  };
}

function walk(path: string, countFiles: RegExp | null): Walk {
  const out: Walk = { bytes: 0, allocated: 0, files: 0 };
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return out;
  }
  if (!st.isDirectory()) {
    out.bytes = st.size;
    out.allocated = st.blocks * 512;
    if (countFiles?.test(path)) out.files = 1;
    return out;
  }
  let names: string[] = [];
  try {
    names = readdirSync(path);
  } catch {
    return out;
  }
  for (const name of names) {
    const sub = walk(join(path, name), countFiles);
    out.bytes += sub.bytes;
    out.allocated += sub.allocated;
    out.files += sub.files;
  }
  return out;
}

/** VmRSS of `pid` in bytes, or null if the process is gone. */
export function rssOrNull(pid: number): number | null {
  try {
    return parseVmRss(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return null;
  }
}

/** Resident memory of `pid` split as /proc/<pid>/status reports it (bytes). */
export interface MemSplit {
  readonly rss: number;
  /** Anonymous pages: the JS heap, native allocations (RssAnon). */
  readonly anon: number;
  /** File-backed pages: code, and the LMDB store's memory map (RssFile). */
  readonly file: number;
}

/** RSS, RssAnon and RssFile of `pid`, or null if the process is gone. */
export function memOrNull(pid: number): MemSplit | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const kb = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { rss: parseVmRss(text), anon: kb("RssAnon"), file: kb("RssFile") };
}

/**
 * The command line of `pid` (NUL-separated in /proc), to check that the pid measured is
 * the server itself and not a wrapper.
 */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** Direct children of `pid` (from /proc/<pid>/task/<pid>/children), empty if unknown. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter((s) => s !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** Peak RSS per named pid, sampled every `intervalMs` until `stop()`. */
export class PeakRss {
  private readonly peaks = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  samples = 0;

  /** `pids` is re-read on every sample, so a process restarted meanwhile is followed. */
  constructor(
    private readonly pids: () => ReadonlyMap<string, number | null>,
    intervalMs: number,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Takes one more sample now (e.g. right at the end of a phase). */
  sample(): void {
    this.samples++;
    for (const [name, pid] of this.pids()) {
      if (pid === null) continue;
      const rss = rssOrNull(pid);
      if (rss !== null && rss > (this.peaks.get(name) ?? 0)) this.peaks.set(name, rss);
    }
  }

  /** Stops sampling; returns each name's peak in bytes. */
  stop(): Record<string, number> {
    clearInterval(this.timer);
    this.sample();
    return Object.fromEntries(this.peaks);
  }
}

/** MiB with one decimal. */
export function mib(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}
