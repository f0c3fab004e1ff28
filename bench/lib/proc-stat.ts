/**
 * Server cost from Linux's /proc: CPU time (utime + stime of every thread of a process,
 * as /proc/<pid>/stat reports them) and resident memory (VmRSS of /proc/<pid>/status).
 * The parsers are pure; the readers are thin wrappers around them.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** CPU time of one process split by mode, in clock ticks. */
export interface CpuTicks {
  readonly utime: number;
  readonly stime: number;
}

/**
 * utime and stime (fields 14 and 15) of a /proc/<pid>/stat line. The second field is
 * the command name in parentheses and may itself contain spaces or parentheses, so the
 * fields are counted from the last ')'.
 */
export function parseProcStat(text: string): CpuTicks {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  // After ')' come field 3 (state), 4, ...: field n is at index n - 3.
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isSafeInteger(utime) || !Number.isSafeInteger(stime)) {
    throw new Error(`cannot read utime/stime from: ${text.slice(0, 120)}`);
  }
  return { utime, stime };
}

/** VmRSS of a /proc/<pid>/status text, in bytes. */
export function parseVmRss(text: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  if (match === null) throw new Error("no VmRSS line in /proc/<pid>/status");
  return Number(match[1]) * 1024;
}

/** Machine-wide CPU time from the first line of /proc/stat, in clock ticks summed over CPUs. */
export interface MachineTicks {
  /** user + nice + system + irq + softirq + steal. */
  readonly busy: number;
  /** busy + idle + iowait. */
  readonly total: number;
}

/**
 * The aggregate `cpu` line of /proc/stat: `cpu user nice system idle iowait irq softirq
 * steal guest guest_nice`. Guest time is already counted in user and nice, so it is left out.
 */
export function parseMachineStat(text: string): MachineTicks {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) throw new Error("no aggregate cpu line in /proc/stat");
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
    line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map((field) => Number(field));
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** Converts clock ticks to milliseconds given the kernel's ticks per second. */
export function ticksToMs(ticks: number, ticksPerSecond: number): number {
  return (ticks * 1000) / ticksPerSecond;
}

let cachedTicksPerSecond: number | undefined;

/** The kernel's USER_HZ (`getconf CLK_TCK`), 100 on every common Linux; cached. */
export function ticksPerSecond(): number {
  if (cachedTicksPerSecond === undefined) {
    try {
      const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
      cachedTicksPerSecond = Number.isSafeInteger(n) && n > 0 ? n : 100;
    } catch {
      cachedTicksPerSecond = 100;
    }
  }
  return cachedTicksPerSecond;
}

/** Total user + system CPU of `pids` so far, in milliseconds. */
export function cpuMsOf(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const t = parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    ticks += t.utime + t.stime;
  }
  return ticksToMs(ticks, ticksPerSecond());
}

/**
 * The system (kernel) part of {@link cpuMsOf} for one process, in milliseconds: what its
 * socket and disk calls cost, apart from its own code (bench/upload-cpu.ts reports both).
 */
export function sysMsOf(pid: number): number {
  return ticksToMs(
    parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8")).stime,
    ticksPerSecond(),
  );
}

/** Machine-wide busy CPU so far, in milliseconds (all CPUs together). */
export function machineBusyMs(): number {
  return ticksToMs(parseMachineStat(readFileSync("/proc/stat", "utf8")).busy, ticksPerSecond());
}

/** Resident set size of `pid`, in bytes. */
export function rssOf(pid: number): number {
  return parseVmRss(readFileSync(`/proc/${pid}/status`, "utf8"));
}
