/**
 * Who holds a lock file, and whether that holder still runs. A pid alone is not enough:
 * after a reboot or a container restart the same pid is routinely given to another
 * process (often to the new dfs node itself), so the record also carries the kernel's
 * boot id and the process start time, and every acquisition a random nonce.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";

/** The content of a LOCK (or takeover claim) file. */
export interface LockOwner {
  /** Process id of the holder. */
  readonly pid: number;
  /** Random per acquisition: tells two acquisitions by the same pid apart. */
  readonly nonce: string;
  /** Linux boot id when the lock was taken; a different one means the holder is gone. */
  readonly bootId?: string;
  /** Start time of the holder (ticks since boot, Linux); a different one means pid reuse. */
  readonly startTime?: string;
}

/** Nonces of this process's live acquisitions and claims; pid checks cannot see them. */
const liveNonces = new Set<string>();

/**
 * A fresh owner record for this process, registered as live until {@link retireOwner}.
 * Why register: a record with our own pid is ours only if its nonce is one we hold;
 * otherwise it was left by an earlier process that had the same pid.
 */
export async function newOwner(): Promise<LockOwner> {
  const nonce = randomBytes(8).toString("hex");
  liveNonces.add(nonce);
  const [bootId, startTime] = await Promise.all([readBootId(), readStartTime(process.pid)]);
  return { pid: process.pid, nonce, bootId, startTime };
}

/** Marks an owner record of this process as no longer live. */
export function retireOwner(owner: LockOwner): void {
  liveNonces.delete(owner.nonce);
}

/** Serializes an owner record: one JSON line, readable by an operator with `cat`. */
export function formatOwner(owner: LockOwner): string {
  return `${JSON.stringify(owner)}\n`;
}

/** Parses a record written by {@link formatOwner}; null for anything else (crash garbage). */
export function parseOwner(text: string): LockOwner | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { pid, nonce, bootId, startTime } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(pid) || (pid as number) < 1 || typeof nonce !== "string") return null;
  return {
    pid: pid as number,
    nonce,
    bootId: typeof bootId === "string" ? bootId : undefined,
    startTime: typeof startTime === "string" ? startTime : undefined,
  };
}

/**
 * True when the process that wrote `owner` may still be running. Errs towards "alive"
 * (EPERM, missing /proc): a wrongly refused start is an operator's nuisance, a wrongly
 * broken lock is two nodes writing one WAL.
 */
export async function isOwnerAlive(owner: LockOwner): Promise<boolean> {
  if (owner.pid === process.pid) return liveNonces.has(owner.nonce);
  const bootId = await readBootId();
  if (owner.bootId !== undefined && bootId !== undefined && owner.bootId !== bootId) return false;
  if (!pidExists(owner.pid)) return false;
  if (owner.startTime === undefined) return true;
  const startTime = await readStartTime(owner.pid);
  return startTime === undefined || startTime === owner.startTime;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readBootId(): Promise<string | undefined> {
  try {
    return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may contain spaces and ')'. */
async function readStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
