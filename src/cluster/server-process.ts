/**
 * One node's process slot: its addresses and data dir stay across incarnations; the
 * process itself is started, signalled (SIGKILL, SIGTERM, SIGSTOP/SIGCONT) and started
 * again on the same data dir. Its output is kept (a bounded tail of stderr) and handed
 * line by line to a listener; an exit nobody asked for is recorded.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { PEER_PORT_OFFSET } from "../api/index.ts";

/** Lifecycle of one node's process as the harness drives it. */
export type ProcessState = "stopped" | "up" | "paused";

/** Which of the child's streams a line came from. */
export type OutputStream = "stdout" | "stderr";

/** What a slot does with its process's output and exits. */
export interface ProcessHooks {
  /** Characters of stderr kept in {@link ServerProcess.stderr} (its tail). */
  readonly keepStderr: number;
  /** Every output line; stdout is only read when this is given. */
  readonly onLine?: (node: ServerProcess, line: string, stream: OutputStream) => void;
  /** After every exit; `expected` when the harness had signalled the process. */
  readonly onExit?: (node: ServerProcess, how: string, expected: boolean) => void;
}

/** What to run: the full command line and environment of one incarnation. */
export interface CommandLine {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Every child any slot started that may still run (see {@link killAllSync}). */
const live = new Set<ChildProcess>();

/** SIGKILLs every server this process started; synchronous, so safe in an `exit` handler. */
export function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** One node slot of a local cluster. */
export class ServerProcess {
  #proc: ChildProcess | null = null;
  #state: ProcessState = "stopped";
  /** The running child (null when stopped): tests read its pid or send it signals. */
  get proc(): ChildProcess | null {
    return this.#proc;
  }
  /** Up, paused (SIGSTOP) or stopped; changed only by this class's own methods. */
  get state(): ProcessState {
    return this.#state;
  }
  /** The tail of everything the process wrote to stderr, across incarnations. */
  stderr = "";
  /** How the last incarnation ended when nobody asked it to (null when running or asked). */
  unexpectedExit: string | null = null;
  /** When the current incarnation was spawned (ms since the epoch). */
  spawnedAt = 0;
  private signalled = false;
  private exit: Promise<string> = Promise.resolve("never started");

  constructor(
    readonly id: number,
    readonly host: string,
    readonly port: number,
    /** Peer listener port; undefined means the server's default, port + PEER_PORT_OFFSET. */
    readonly explicitPeerPort: number | undefined,
    readonly dataDir: string,
    private readonly hooks: ProcessHooks,
  ) {}

  /** Client address: what clients (and client attacks) use. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Port of the peer listener. */
  get peerPort(): number {
    return this.explicitPeerPort ?? this.port + PEER_PORT_OFFSET;
  }

  /** Peer listener address: what peer attacks target. */
  get peerAddress(): string {
    return `${this.host}:${this.peerPort}`;
  }

  /** This node's `--peers` entry. */
  get peerEntry(): string {
    const peer = this.explicitPeerPort === undefined ? "" : `/${this.explicitPeerPort}`;
    return `${this.id}@${this.address}${peer}`;
  }

  /** The running process id, or throws. */
  get pid(): number {
    const pid = this.#proc?.pid;
    if (pid === undefined) throw new Error(`node ${this.id} is not running`);
    return pid;
  }

  /** Starts an incarnation; throws if one is running. */
  start(line: CommandLine): void {
    if (this.#proc !== null) throw new Error(`node ${this.id} is already running`);
    const proc = spawn(line.command, line.args, {
      cwd: line.cwd,
      env: line.env,
      stdio: ["ignore", this.hooks.onLine === undefined ? "ignore" : "pipe", "pipe"],
    });
    live.add(proc);
    this.#proc = proc;
    this.#state = "up";
    this.signalled = false;
    this.unexpectedExit = null;
    this.spawnedAt = Date.now();
    proc.stderr?.on("data", (chunk: Buffer) => {
      const keep = this.hooks.keepStderr;
      if (keep > 0) this.stderr = (this.stderr + chunk.toString()).slice(-keep);
    });
    this.forwardLines(proc.stdout, "stdout");
    this.forwardLines(proc.stderr, "stderr");
    this.exit = new Promise((settle) => {
      proc.once("error", (error) => {
        this.stderr += `\nspawn failed: ${error.message}\n`;
      });
      proc.once("exit", (code, signal) => {
        live.delete(proc);
        const how = signal ?? `exit ${code}`;
        if (this.#proc === proc) {
          this.#proc = null;
          this.#state = "stopped";
          if (!this.signalled) this.unexpectedExit = how;
        }
        this.hooks.onExit?.(this, how, this.signalled);
        settle(how);
      });
    });
  }

  /** Sends `signal` (default SIGKILL) and resolves once the process is gone. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = this.#proc;
    if (proc === null) return;
    this.signalled = true;
    const exited = this.exit;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill(signal);
      if (this.#state === "paused" && signal !== "SIGKILL") proc.kill("SIGCONT");
    }
    await exited;
  }

  /** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    const proc = this.#proc;
    if (proc === null) return;
    const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    try {
      await this.kill("SIGTERM");
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGSTOP: the process freezes with its sockets open, like a long GC pause. */
  pause(): void {
    if (this.#state !== "up" || this.#proc === null) return;
    this.#proc.kill("SIGSTOP");
    this.#state = "paused";
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    if (this.#state !== "paused" || this.#proc === null) return;
    this.#proc.kill("SIGCONT");
    this.#state = "up";
  }

  /**
   * Waits until the current incarnation exits by itself; returns its signal or
   * `exit <code>`. Throws after `timeoutMs`.
   */
  async exited(timeoutMs = 60_000): Promise<string> {
    if (this.#proc === null) throw new Error(`node ${this.id} is not running`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`node ${this.id} did not exit within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last non-empty line of stderr. */
  lastLine(): string {
    return this.stderr.trimEnd().split("\n").pop() ?? "";
  }

  private forwardLines(stream: Readable | null, name: OutputStream): void {
    const onLine = this.hooks.onLine;
    if (stream === null || onLine === undefined) return;
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) =>
      onLine(this, line, name),
    );
  }
}
