/**
 * The snapshot benchmark's cluster (bench/snapshots.ts): a {@link LocalCluster} whose
 * nodes' pino JSON lines are parsed as they come, keeping only the few events the
 * benchmark needs (snapshot sent/failed, node started, role changes, warnings and worse)
 * instead of the whole stream, which grows without bound under a long load. A node that
 * dies by itself fails the run at the next wait.
 */
import { LocalCluster, type ServerProcess } from "../../src/cluster/index.ts";

/** One structured log line of a node that the benchmark keeps. */
export interface NodeEvent {
  /** When this process read the line (ms since epoch). */
  readonly seenAt: number;
  /** pino's own `time` field (ms since epoch). */
  readonly time: number;
  readonly level: number;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Messages kept whatever their level. */
const KEPT_MESSAGES = /snapshot|node started|role |fatal|stopp|cannot/i;
/** pino level of `warn`: everything at or above it is kept. */
const WARN = 40;
/** Stderr kept per node for error messages (the events are kept apart). */
const STDERR_TAIL = 20_000;

/**
 * Environment of the servers: this process's, plus `SNAPBENCH_SERVER_NODE_OPTIONS` as
 * their NODE_OPTIONS (e.g. `--max-old-space-size=128` to tell a leak from lazy GC).
 */
export function serverEnv(): NodeJS.ProcessEnv {
  const extra = process.env.SNAPBENCH_SERVER_NODE_OPTIONS;
  if (extra === undefined || extra === "") return process.env;
  return { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} ${extra}`.trim() };
}

/** Kept events of every incarnation of every node. */
const events = new WeakMap<ServerProcess, NodeEvent[]>();

/** The kept events of `node`, in order, across its incarnations. */
export function eventsOf(node: ServerProcess): NodeEvent[] {
  let list = events.get(node);
  if (list === undefined) {
    list = [];
    events.set(node, list);
  }
  return list;
}

/** `node`'s events with exactly this message, optionally only those seen at or after `since`. */
export function eventsNamed(node: ServerProcess, msg: string, since = 0): NodeEvent[] {
  return eventsOf(node).filter((e) => e.msg === msg && e.seenAt >= since);
}

/**
 * Starts a 3-node cluster with `serverArgs` (e.g. `--snapshot-entries N`) on free ports
 * and waits for a leader; always `destroy()` it.
 */
export function startSnapCluster(serverArgs: readonly string[]): Promise<LocalCluster> {
  return LocalCluster.start({
    checkInvariants: false,
    serverArgs,
    env: serverEnv(),
    keepStderr: STDERR_TAIL,
    exitIsFatal: true,
    onLine: (node, line, stream) => {
      if (stream === "stderr") keepEvent(node, line);
    },
  });
}

function keepEvent(node: ServerProcess, line: string): void {
  if (!line.startsWith("{")) return;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  const { level, time, msg, pid: _pid, hostname: _host, node: _node, ...fields } = parsed;
  const message = typeof msg === "string" ? msg : "";
  const lvl = typeof level === "number" ? level : 30;
  if (lvl < WARN && !KEPT_MESSAGES.test(message)) return;
  eventsOf(node).push({
    seenAt: Date.now(),
    time: typeof time === "number" ? time : Date.now(),
    level: lvl,
    msg: message,
    fields,
  });
}
