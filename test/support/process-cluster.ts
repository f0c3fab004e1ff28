/**
 * A cluster of real `dfs` server processes on 127.0.0.1 for integration tests: started
 * through the seed's `scripts/run_server.ts`, killed with real signals, restarted on the
 * same data dirs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DfsClient } from "../../src/client/index.ts";
import type { StatusResponse } from "../../src/gen/dfs.ts";
import { SERVER_NODE_FLAGS } from "../../src/server/node-flags.ts";
import { freePorts } from "./free-port.ts";
import { waitFor } from "./wait.ts";

/** Root of the repository (where package.json lives). */
export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** One server process slot: stays across restarts. */
export interface ClusterNode {
  readonly id: number;
  readonly port: number;
  readonly address: string;
  /**
   * Where this node's RaftPeer service listens (what peer attacks target). The same as
   * `address` until the peer listener gets its own port (issue 16, tls workstream).
   */
  readonly peerAddress: string;
  readonly dataDir: string;
  proc: ChildProcess | null;
  /** Everything the process wrote to stderr (for failure diagnostics). */
  stderr: string;
}

/** Real processes; always call `destroy()` (use `t.after`). */
export class ProcessCluster {
  /** Environment for a node's next start only (e.g. DFS_CRASH_AT for one incarnation). */
  private readonly nextEnv = new Map<number, Record<string, string>>();

  private constructor(
    readonly nodes: ClusterNode[],
    private readonly root: string,
    private readonly extraArgs: readonly string[],
    private readonly nodeFlags: readonly string[],
  ) {}

  /**
   * Starts `size` nodes (each with `extraArgs` server flags, and `nodeFlags` for the Node
   * runtime, e.g. `--cpu-prof`) and waits until one of them leads.
   */
  static async start(
    size = 3,
    extraArgs: readonly string[] = [],
    nodeFlags: readonly string[] = [],
  ): Promise<ProcessCluster> {
    const root = await mkdtemp(join(tmpdir(), "dfs-cluster-"));
    const ports = await freePorts(size);
    const nodes = ports.map((port, i) => ({
      id: i + 1,
      port,
      address: `127.0.0.1:${port}`,
      peerAddress: `127.0.0.1:${port}`,
      dataDir: join(root, `node${i + 1}`),
      proc: null,
      stderr: "",
    }));
    const cluster = new ProcessCluster(nodes, root, extraArgs, nodeFlags);
    for (const node of nodes) cluster.spawn(node);
    await cluster.waitForLeader();
    return cluster;
  }

  /** The `--peers` flag value. */
  peersFlag(): string {
    return this.nodes.map((n) => `${n.id}@${n.address}`).join(",");
  }

  /** Every node's client address. */
  endpoints(): string[] {
    return this.nodes.map((n) => n.address);
  }

  /** A client library instance; the caller closes it. */
  client(endpoints = this.endpoints(), timeoutMs = 15_000): DfsClient {
    return new DfsClient({ endpoints, timeoutMs });
  }

  node(id: number): ClusterNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Starts (or restarts) a node's process on its data dir. */
  spawn(node: ClusterNode): void {
    const args = [
      ...SERVER_NODE_FLAGS,
      ...this.nodeFlags,
      "--import",
      "tsx",
      "scripts/run_server.ts",
      "--id",
      String(node.id),
      "--port",
      String(node.port),
      "--peers",
      this.peersFlag(),
      "--data-dir",
      node.dataDir,
      ...this.extraArgs,
    ];
    const env = { ...process.env, ...this.nextEnv.get(node.id) };
    this.nextEnv.delete(node.id);
    const proc = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    proc.stderr?.on("data", (chunk: Buffer) => {
      node.stderr += chunk.toString();
    });
    node.proc = proc;
  }

  /** Sets environment variables for node `id`'s next start only. */
  envForNextStart(id: number, env: Record<string, string>): void {
    this.nextEnv.set(id, env);
  }

  /** Waits until node `id`'s process exits by itself; returns its signal or exit code. */
  async exited(id: number, timeoutMs = 60_000): Promise<string> {
    const proc = this.node(id).proc;
    if (proc === null) throw new Error(`node ${id} is not running`);
    const outcome = await waitFor(
      `node ${id} to exit`,
      async () => proc.signalCode ?? (proc.exitCode === null ? undefined : `exit ${proc.exitCode}`),
      timeoutMs,
    );
    this.node(id).proc = null;
    return outcome;
  }

  /** Sends a signal (default SIGKILL) and waits for the process to be gone. */
  async kill(id: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const node = this.node(id);
    const proc = node.proc;
    if (proc === null) return;
    node.proc = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((done) => {
      proc.once("exit", () => done());
      proc.kill(signal);
    });
  }

  /** Restarts a killed node and waits until it answers Status. */
  async restart(id: number): Promise<void> {
    const node = this.node(id);
    this.spawn(node);
    await waitFor(`node ${id} to answer status`, () => this.status(node));
  }

  /** One node's status, or undefined if it does not answer. */
  async status(node: ClusterNode): Promise<StatusResponse | undefined> {
    if (node.proc === null) return undefined;
    const client = this.client([node.address], 1000);
    try {
      return await client.status(node.address);
    } catch {
      return undefined;
    } finally {
      client.close();
    }
  }

  /** Waits until a majority of running nodes agree on one leader; returns its id. */
  async waitForLeader(timeoutMs = 15_000): Promise<number> {
    return waitFor(
      "a leader",
      async () => {
        const statuses = (await Promise.all(this.nodes.map((n) => this.status(n)))).filter(
          (s): s is StatusResponse => s !== undefined,
        );
        const leader = statuses.find((s) => s.role === "leader");
        if (leader === undefined) return undefined;
        const agree = statuses.filter((s) => s.leaderId === leader.id && s.term === leader.term);
        return agree.length > this.nodes.length / 2 ? leader.id : undefined;
      },
      timeoutMs,
    );
  }

  /** Kills every process and deletes the data dirs. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.id)));
    await rm(this.root, { recursive: true, force: true });
  }

  /** Stderr of every node, for assertion messages. */
  logs(): string {
    return this.nodes.map((n) => `--- node ${n.id} ---\n${n.stderr.slice(-4000)}`).join("\n");
  }
}
