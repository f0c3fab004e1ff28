/**
 * A cluster of real `dfs server` processes on this machine: ports (free ones, or
 * consecutive from a base port), the shared `--peers` list, one data dir per node, optional
 * mutual TLS from a `dfs certs init` directory, extra server flags and environment,
 * waiting for a leader, and each node's output. Tests, chaos, benchmarks and `dfs dev`
 * all start their clusters here.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type ClientTls, DfsClient, type StatusResponse } from "../client/index.ts";
import { clientTlsArgs, nodeTlsArgs, readClientTls } from "./cert-files.ts";
import { type ServerEntry, sourceEntry } from "./entry.ts";
import { agreedLeader, highestTermLeader, probeStatus } from "./leader.ts";
import { freePorts } from "./ports.ts";
import { type CommandLine, type OutputStream, ServerProcess } from "./server-process.ts";
import { StopWaiting, waitFor } from "./wait.ts";

/** How to build and run a cluster; every field has a default. */
export interface ClusterOptions {
  /** Number of nodes (ids 1..size). Default 3. */
  readonly size?: number;
  /** Host of every address. Default 127.0.0.1. */
  readonly host?: string;
  /**
   * Client port of node 1; node i gets base + i - 1 and the server's default peer port.
   * Default: a free port each for the client and (explicit `/peerPort`) peer listeners.
   */
  readonly basePort?: number;
  /** Parent of the data dirs (`<root>/node<i>`), kept. Default: a temp dir `destroy()` removes. */
  readonly dataRoot?: string;
  /** How a node runs the CLI. Default: the sources through tsx ({@link sourceEntry}). */
  readonly entry?: ServerEntry;
  /** `dfs server` flags of every node, every start (e.g. snapshot tuning). */
  readonly serverArgs?: readonly string[];
  /** Flags of one node, every start (e.g. chaos's `--peer-via` through fault proxies). */
  readonly nodeArgs?: (node: ServerProcess) => readonly string[];
  /** Environment of every node. Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Every node runs the core's full invariant checks after each step
   * (DFS_CHECK_INVARIANTS=1, src/raft/invariants.ts). Default true: a test cluster checks
   * everything; `dfs dev` and the benchmarks turn it off to run as a real node does.
   */
  readonly checkInvariants?: boolean;
  /** Mutual TLS on both ports with certificates from `dfs certs init` in this directory. */
  readonly certsDir?: string;
  /** Characters of stderr kept per node. Default: all of it. */
  readonly keepStderr?: number;
  /** Every output line of every node (stdout is read only when this is given). */
  readonly onLine?: (node: ServerProcess, line: string, stream: OutputStream) => void;
  /** After every exit of a node; `expected` when the harness had signalled it. */
  readonly onExit?: (node: ServerProcess, how: string, expected: boolean) => void;
  /** How long one status probe may take (paused nodes must not stall the harness). */
  readonly statusTimeoutMs?: number;
  /** Waits for a leader give up at once when a node exits by itself (benchmarks). */
  readonly exitIsFatal?: boolean;
}

/** A restarted node must answer Status within this long (tsx start-up on a loaded core). */
const RESTART_DEADLINE_MS = 30_000;

/** Real processes; always `destroy()` (or `stop()`) it. */
export class LocalCluster {
  private tls: ClientTls | undefined;
  /** Environment for a node's next start only (e.g. DFS_CRASH_AT for one incarnation). */
  private readonly nextEnv = new Map<number, NodeJS.ProcessEnv>();
  /** Nodes that joined the running cluster (`--join`): started with their own entry only. */
  private readonly joiners = new Map<number, readonly string[]>();
  /** Nodes removed from the cluster for good: no longer counted or asked. */
  private readonly retired = new Set<number>();

  private constructor(
    private readonly slots: ServerProcess[],
    /** Holds every node's data dir. */
    readonly root: string,
    private readonly ownsRoot: boolean,
    private readonly options: ClusterOptions,
  ) {}

  /** Every node slot, joined ones included, retired ones not. */
  get nodes(): readonly ServerProcess[] {
    return this.slots.filter((n) => !this.retired.has(n.id));
  }

  /** TLS of the harness's own clients (mutual-TLS clusters only; read on first use). */
  get clientTls(): ClientTls | undefined {
    const dir = this.options.certsDir;
    if (dir !== undefined) this.tls ??= readClientTls(dir);
    return this.tls;
  }

  /** Plans the nodes (ports, data dirs) without starting anything. */
  static async create(options: ClusterOptions = {}): Promise<LocalCluster> {
    const size = options.size ?? 3;
    const host = options.host ?? "127.0.0.1";
    const base = options.basePort;
    const ports = base === undefined ? await freePorts(2 * size) : [];
    const root = options.dataRoot ?? (await mkdtemp(join(tmpdir(), "dfs-cluster-")));
    const hooks = {
      keepStderr: options.keepStderr ?? Number.POSITIVE_INFINITY,
      ...(options.onLine ? { onLine: options.onLine } : {}),
      ...(options.onExit ? { onExit: options.onExit } : {}),
    };
    const nodes = Array.from({ length: size }, (_, i) => {
      const port = base === undefined ? (ports[2 * i] as number) : base + i;
      const peerPort = base === undefined ? ports[2 * i + 1] : undefined;
      return new ServerProcess(i + 1, host, port, peerPort, resolve(root, `node${i + 1}`), hooks);
    });
    return new LocalCluster(nodes, root, options.dataRoot === undefined, options);
  }

  /**
   * Starts a cluster and waits until a majority agrees on a leader; on failure everything
   * is torn down and the error carries the nodes' logs.
   */
  static async start(options: ClusterOptions = {}): Promise<LocalCluster> {
    const cluster = await LocalCluster.create(options);
    try {
      await cluster.spawnAll();
      await cluster.waitForLeader(30_000);
    } catch (error) {
      const logs = cluster.logs();
      await cluster.destroy();
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`);
    }
    return cluster;
  }

  /** Starts every node (without waiting for anything). */
  async spawnAll(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const node of this.nodes) this.spawn(node);
  }

  /** Starts (or restarts) `node` on its data dir; `extra` server flags for this start only. */
  spawn(node: ServerProcess, extra: readonly string[] = []): void {
    const line = this.commandLine(node, extra);
    this.nextEnv.delete(node.id);
    node.start(line);
  }

  /** Sets environment variables for node `id`'s next start only. */
  envForNextStart(id: number, env: NodeJS.ProcessEnv): void {
    this.nextEnv.set(id, env);
  }

  /**
   * The node's full command line as the cluster starts it, so a test can start the same
   * server another way (in a namespace, say).
   */
  commandLine(node: ServerProcess, extra: readonly string[] = []): CommandLine {
    const entry = this.options.entry ?? sourceEntry();
    const certs = this.options.certsDir;
    return {
      command: entry.command,
      args: [
        ...entry.args,
        "server",
        ...["--id", String(node.id), "--port", String(node.port)],
        ...this.membershipArgs(node),
        ...["--data-dir", node.dataDir],
        ...(certs === undefined ? [] : nodeTlsArgs(certs, node.id)),
        ...(this.options.serverArgs ?? []),
        ...(this.options.nodeArgs?.(node) ?? []),
        ...extra,
      ],
      cwd: entry.cwd,
      env: {
        ...(this.options.checkInvariants === false ? {} : { DFS_CHECK_INVARIANTS: "1" }),
        ...(this.options.env ?? process.env),
        ...this.nextEnv.get(node.id),
      },
    };
  }

  /** The `--peers` value every bootstrapping node is given (the founding members). */
  peersFlag(): string {
    return this.slots
      .filter((n) => !this.joiners.has(n.id))
      .map((n) => n.peerEntry)
      .join(",");
  }

  /** `--peers` (and `--join`) of one node: a joiner names only itself and whom to ask. */
  private membershipArgs(node: ServerProcess): string[] {
    const join = this.joiners.get(node.id);
    if (join === undefined) return ["--peers", this.peersFlag()];
    return ["--peers", node.peerEntry, "--join", join.join(",")];
  }

  /**
   * Plans a new node slot (id: one past the highest so far unless given, fresh ports, data
   * dir `<root>/node<id>`) that joins the running cluster with `--join` (the client
   * addresses of the nodes running now), and starts it. It is not a member until a member
   * change adds it (`DfsClient.memberAdd`). Returns its slot.
   */
  async startJoining(id?: number, extra: readonly string[] = []): Promise<ServerProcess> {
    const nextId = id ?? Math.max(0, ...this.slots.map((n) => n.id)) + 1;
    if (this.slots.some((n) => n.id === nextId)) throw new Error(`node ${nextId} exists`);
    const [port, peerPort] = await freePorts(2);
    const host = this.options.host ?? "127.0.0.1";
    const node = new ServerProcess(
      nextId,
      host,
      port as number,
      peerPort,
      resolve(this.root, `node${nextId}`),
      {
        keepStderr: this.options.keepStderr ?? Number.POSITIVE_INFINITY,
        ...(this.options.onLine ? { onLine: this.options.onLine } : {}),
        ...(this.options.onExit ? { onExit: this.options.onExit } : {}),
      },
    );
    const running = this.nodes.filter((n) => n.state === "up").map((n) => n.address);
    this.joiners.set(nextId, running.length > 0 ? running : this.endpoints());
    this.slots.push(node);
    this.spawn(node, extra);
    return node;
  }

  /**
   * Forgets node `id` for good (after `memberRemove`): it is killed if running, its data
   * dir kept, and it no longer counts in {@link nodes}, leader waits or endpoints.
   */
  async retire(id: number): Promise<void> {
    await this.node(id).kill("SIGKILL");
    this.retired.add(id);
  }

  /** Deletes node `id`'s data dir (it must be stopped): the next start is a new data dir. */
  async wipe(id: number): Promise<void> {
    const node = this.node(id);
    if (node.state !== "stopped") throw new Error(`node ${id} is running; stop it before wiping`);
    await rm(node.dataDir, { recursive: true, force: true });
  }

  /** SIGTERM to node `id` (a leader hands over first), SIGKILL after `graceMs`. */
  stopNode(id: number, graceMs = 10_000): Promise<void> {
    return this.node(id).stop(graceMs);
  }

  /** Every node's client address. */
  endpoints(): string[] {
    return this.nodes.map((n) => n.address);
  }

  /** Every node's id, 1..size. */
  ids(): number[] {
    return this.nodes.map((n) => n.id);
  }

  /** The node with this id; throws on an unknown id (a bug in the test). */
  node(id: number): ServerProcess {
    const node = this.slots.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** The client TLS flags of the CLI for this cluster (empty when plain text). */
  clientTlsArgs(): string[] {
    return this.options.certsDir === undefined ? [] : clientTlsArgs(this.options.certsDir);
  }

  /** A client library instance (with the cluster's client TLS); the caller closes it. */
  client(endpoints = this.endpoints(), timeoutMs = 15_000): DfsClient {
    const tls = this.clientTls;
    return new DfsClient({ endpoints, timeoutMs, ...(tls !== undefined ? { tls } : {}) });
  }

  /** One running (not paused) node's status, or undefined if it does not answer in time. */
  async status(
    node: ServerProcess,
    timeoutMs = this.options.statusTimeoutMs ?? 1000,
  ): Promise<StatusResponse | undefined> {
    if (node.state !== "up") return undefined;
    return probeStatus(node.address, timeoutMs, this.clientTls);
  }

  /** The leader of the highest term any running node reports, if any. */
  async leader(): Promise<number | undefined> {
    return highestTermLeader(await Promise.all(this.nodes.map((n) => this.status(n))));
  }

  /** Waits until a majority of the nodes agree on one leader; returns its id. */
  waitForLeader(timeoutMs = 15_000): Promise<number> {
    return waitFor(
      "a leader",
      async () => {
        if (this.options.exitIsFatal) this.assertAlive();
        return agreedLeader(
          await Promise.all(this.nodes.map((n) => this.status(n))),
          this.nodes.length,
        );
      },
      timeoutMs,
      100,
    );
  }

  /** Throws with its last words if some node exited without the harness asking it to. */
  assertAlive(): void {
    const dead = this.nodes.find((n) => n.unexpectedExit !== null);
    if (dead === undefined) return;
    throw new StopWaiting(
      `node ${dead.id} exited by itself (${dead.unexpectedExit}); last stderr:\n${dead.stderr.slice(-3000)}`,
    );
  }

  /** Sends a signal (default SIGKILL) to node `id` and waits for its process to be gone. */
  kill(id: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    return this.node(id).kill(signal);
  }

  /** SIGSTOP to node `id`. */
  pause(id: number): void {
    this.node(id).pause();
  }

  /** SIGCONT to node `id` after {@link pause}. */
  resume(id: number): void {
    this.node(id).resume();
  }

  /** Waits until node `id`'s process exits by itself; returns its signal or exit code. */
  exited(id: number, timeoutMs = 60_000): Promise<string> {
    return this.node(id).exited(timeoutMs);
  }

  /**
   * Starts a stopped node again on its data dir (`extra` flags for this start only) and
   * waits until it answers Status; throws at once, with its last words, if it exits
   * instead (e.g. refusing its WAL). A running node is left alone.
   */
  async restart(id: number, extra: readonly string[] = []): Promise<void> {
    const node = this.node(id);
    if (node.state !== "stopped") return;
    this.spawn(node, extra);
    await waitFor(
      `node ${id} to answer status after a restart`,
      async () => {
        if (node.state === "stopped") {
          throw new StopWaiting(`node ${id} exited while restarting: ${node.lastLine()}`);
        }
        return this.status(node);
      },
      RESTART_DEADLINE_MS,
      100,
    );
  }

  /** SIGTERM to every node, SIGKILL to those still there after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(graceMs)));
  }

  /** Kills every process and deletes the data dirs (unless kept or given by the caller). */
  async destroy(keepData = false): Promise<void> {
    for (const node of this.slots) node.resume();
    await Promise.all(this.slots.map((n) => n.kill("SIGKILL")));
    if (this.ownsRoot && !keepData) await rm(this.root, { recursive: true, force: true });
  }

  /** The tail of every node's stderr, for failure reports. */
  logs(tail = 4000): string {
    return this.slots
      .map((n) => `--- node ${n.id} ---\n${n.stderr.slice(-tail).trimEnd()}`)
      .join("\n");
  }
}
