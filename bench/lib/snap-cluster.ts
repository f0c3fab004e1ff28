/**
 * A local cluster of real `dfs server` processes for the snapshot benchmark
 * (bench/snapshots.ts). Unlike the test suite's ProcessCluster it
 *
 * - spawns `node --import tsx src/cli/main.ts server …` with `process.execPath` itself,
 *   so the child's pid IS the node process (no npx/tsx wrapper in between) and
 *   /proc/<pid>/status is the server's own memory;
 * - takes extra server flags per start (e.g. `--debug` for one restart only);
 * - parses the pino JSON lines on stderr and keeps only the few events the benchmark
 *   needs (snapshot sent/failed, node started, role changes, warnings and worse) instead
 *   of the whole stream, which grows without bound under a long load;
 * - registers every child in a process-wide set so that `killAllChildrenSync()` (called
 *   from exit and signal handlers) never leaves a server behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DfsClient, type StatusResponse } from "../../src/client/index.ts";
import { SERVER_NODE_FLAGS } from "../../src/server/node-flags.ts";

/** Root of the repository (where package.json lives). */
export const REPO_ROOT = resolve(import.meta.dirname, "../..");

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
/** Non-JSON stderr lines (e.g. `dfs: error: …`) kept per node. */
const MAX_PLAIN_LINES = 200;

/**
 * Environment of the servers: this process's, plus `SNAPBENCH_SERVER_NODE_OPTIONS` as
 * their NODE_OPTIONS (e.g. `--max-old-space-size=128` to tell a leak from lazy GC).
 */
export function serverEnv(): NodeJS.ProcessEnv {
  const extra = process.env.SNAPBENCH_SERVER_NODE_OPTIONS;
  if (extra === undefined || extra === "") return process.env;
  return { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} ${extra}`.trim() };
}

/** Every child ever spawned by this module that may still be running. */
const liveChildren = new Set<ChildProcess>();

/** SIGKILLs every server this process started; safe in an `exit` handler (synchronous). */
export function killAllChildrenSync(): void {
  for (const child of liveChildren) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  liveChildren.clear();
}

/** One node slot: its address and data dir stay across restarts. */
export class NodeSlot {
  proc: ChildProcess | null = null;
  /** Set when the process exited without us killing it (e.g. a startup error). */
  unexpectedExit: string | null = null;
  /** Kept events of every incarnation, in order. */
  readonly events: NodeEvent[] = [];
  /** Non-JSON stderr lines of every incarnation (at most {@link MAX_PLAIN_LINES}). */
  readonly plain: string[] = [];
  /** Count of every stderr line seen. */
  lines = 0;
  /** When the current incarnation was spawned (performance-free wall clock, ms). */
  spawnedAt = 0;
  private killing = false;

  constructor(
    readonly id: number,
    readonly port: number,
    readonly dataDir: string,
    /** Port of the node's peer listener (a free port of its own). */
    readonly peerPort: number,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The running process id (the node itself), or throws. */
  get pid(): number {
    const pid = this.proc?.pid;
    if (pid === undefined || this.proc === null) throw new Error(`node ${this.id} is not running`);
    return pid;
  }

  /** Events with exactly this message, optionally only those seen at or after `since`. */
  eventsNamed(msg: string, since = 0): NodeEvent[] {
    return this.events.filter((e) => e.msg === msg && e.seenAt >= since);
  }

  /** Starts the process with `args`; stderr is parsed line by line. */
  start(args: readonly string[]): void {
    if (this.proc !== null) throw new Error(`node ${this.id} is already running`);
    const proc = spawn(
      process.execPath,
      [...SERVER_NODE_FLAGS, "--import", "tsx", "src/cli/main.ts", ...args],
      {
        cwd: REPO_ROOT,
        env: serverEnv(),
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    if (proc.pid === undefined) throw new Error(`could not spawn node ${this.id}`);
    liveChildren.add(proc);
    this.spawnedAt = Date.now();
    this.unexpectedExit = null;
    this.killing = false;
    this.proc = proc;
    let pending = "";
    proc.stderr?.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        this.onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
      }
    });
    proc.on("exit", (code, signal) => {
      liveChildren.delete(proc);
      if (this.proc === proc) this.proc = null;
      if (!this.killing) this.unexpectedExit = signal ?? `exit code ${code}`;
    });
  }

  /** Sends `signal` (default SIGKILL) and resolves once the process is gone. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = this.proc;
    if (proc === null) return;
    this.killing = true;
    if (proc.exitCode !== null || proc.signalCode !== null) {
      this.proc = null;
      return;
    }
    await new Promise<void>((done) => {
      proc.once("exit", () => done());
      proc.kill(signal);
    });
    this.proc = null;
  }

  /** Throws with the node's last words if it died by itself. */
  assertAlive(): void {
    if (this.unexpectedExit === null) return;
    throw new Error(
      `node ${this.id} exited by itself (${this.unexpectedExit}); last stderr:\n${this.lastWords()}`,
    );
  }

  /** The last plain lines and warnings, for error messages. */
  lastWords(): string {
    const warnings = this.events
      .filter((e) => e.level >= WARN)
      .slice(-10)
      .map((e) => `${e.msg} ${JSON.stringify(e.fields)}`);
    return [...this.plain.slice(-20), ...warnings].join("\n");
  }

  private onLine(line: string): void {
    this.lines++;
    if (line.trim() === "") return;
    let parsed: Record<string, unknown> | null = null;
    if (line.startsWith("{")) {
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = null;
      }
    }
    if (parsed === null) {
      if (this.plain.length < MAX_PLAIN_LINES) this.plain.push(line);
      return;
    }
    const { level, time, msg, pid: _pid, hostname: _host, node: _node, ...fields } = parsed;
    const message = typeof msg === "string" ? msg : "";
    const lvl = typeof level === "number" ? level : 30;
    if (lvl < WARN && !KEPT_MESSAGES.test(message)) return;
    this.events.push({
      seenAt: Date.now(),
      time: typeof time === "number" ? time : Date.now(),
      level: lvl,
      msg: message,
      fields,
    });
  }
}

/** A fresh 3- (or n-) node cluster in a temp dir; always `destroy()` it. */
export class SnapCluster {
  private constructor(
    readonly nodes: NodeSlot[],
    readonly root: string,
    private readonly serverArgs: readonly string[],
  ) {}

  /**
   * Starts `size` nodes with `serverArgs` (e.g. `--snapshot-entries N`) on free ports
   * and waits for a leader.
   */
  static async start(size: number, serverArgs: readonly string[]): Promise<SnapCluster> {
    const root = await mkdtemp(join(tmpdir(), "dfs-snapbench-"));
    const ports = await freePorts(2 * size);
    const nodes = Array.from(
      { length: size },
      (_, i) =>
        new NodeSlot(
          i + 1,
          ports[2 * i] as number,
          join(root, `node${i + 1}`),
          ports[2 * i + 1] as number,
        ),
    );
    const cluster = new SnapCluster(nodes, root, serverArgs);
    try {
      for (const node of nodes) cluster.spawn(node);
      await cluster.waitForLeader(30_000);
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** `--peers` value, each node with its explicit `/peerPort`. */
  peersFlag(): string {
    return this.nodes.map((n) => `${n.id}@${n.address}/${n.peerPort}`).join(",");
  }

  endpoints(): string[] {
    return this.nodes.map((n) => n.address);
  }

  node(id: number): NodeSlot {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Starts (or restarts) `node` on its data dir; `extra` flags for this start only. */
  spawn(node: NodeSlot, extra: readonly string[] = []): void {
    node.start([
      "server",
      "--id",
      String(node.id),
      "--port",
      String(node.port),
      "--peers",
      this.peersFlag(),
      "--data-dir",
      node.dataDir,
      ...this.serverArgs,
      ...extra,
    ]);
  }

  /** Throws if any node that should run has died by itself. */
  assertAlive(): void {
    for (const n of this.nodes) n.assertAlive();
  }

  /** One node's status (fresh connection, so a restarted node is seen at once), or undefined. */
  async status(node: NodeSlot, timeoutMs = 1000): Promise<StatusResponse | undefined> {
    if (node.proc === null) return undefined;
    const client = new DfsClient({ endpoints: [node.address], timeoutMs });
    try {
      return await client.status(node.address);
    } catch {
      return undefined;
    } finally {
      client.close();
    }
  }

  /** Waits until a majority of running nodes agree on one leader; returns its slot. */
  async waitForLeader(timeoutMs = 15_000): Promise<NodeSlot> {
    return waitFor(
      "a leader",
      async () => {
        this.assertAlive();
        const statuses = (await Promise.all(this.nodes.map((n) => this.status(n)))).filter(
          (s): s is StatusResponse => s !== undefined,
        );
        const leader = statuses.find((s) => s.role === "leader");
        if (leader === undefined) return undefined;
        const agree = statuses.filter((s) => s.leaderId === leader.id && s.term === leader.term);
        return agree.length > this.nodes.length / 2 ? this.node(leader.id) : undefined;
      },
      timeoutMs,
    );
  }

  /** Kills every process and removes the data dirs. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill("SIGKILL")));
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Polls `probe` every `intervalMs` until it returns a value; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await onePort());
  return [...ports];
}

function onePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
