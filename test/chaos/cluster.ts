/**
 * N real `dfs server` processes on 127.0.0.1 whose every peer link i→j runs through its
 * own {@link FaultProxy} (`--peer-via j=127.0.0.1:<proxy i→j>`, the proxy forwarding to
 * j's peer listener), so the harness can cut,
 * slow or break any directed link, and signal any process: SIGKILL, SIGSTOP/SIGCONT, and
 * restart on the same data dir. Clients reach the nodes directly, not through proxies.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DfsClient } from "../../src/client/index.ts";
import type { StatusResponse } from "../../src/gen/dfs.ts";
import { SERVER_NODE_FLAGS } from "../../src/server/node-flags.ts";
import { freePorts } from "../support/free-port.ts";
import { REPO_ROOT } from "../support/process-cluster.ts";
import { waitFor } from "../support/wait.ts";
import { FaultProxy } from "./fault-proxy.ts";

/** Lifecycle of one node's process as the harness drives it. */
export type NodeState = "up" | "paused" | "killed";

/** One node slot; survives restarts. */
export interface ChaosNode {
  readonly id: number;
  readonly port: number;
  readonly address: string;
  /** Port of the node's peer listener, where the proxies of its incoming links forward. */
  readonly peerPort: number;
  readonly dataDir: string;
  proc: ChildProcess | null;
  state: NodeState;
  /** The tail of everything the process wrote to stderr, across restarts. */
  stderr: string;
}

/** How long a status probe may take: paused nodes must not stall the harness. */
const STATUS_TIMEOUT_MS = 500;
/** A restarted node must answer Status within this long (tsx start-up on a loaded CI core). */
const RESTART_DEADLINE_MS = 30_000;
/** Stderr kept per node, for failure reports. */
const STDERR_TAIL = 20_000;

/** The cluster plus its proxies; always `destroy()` it. */
export class ChaosCluster {
  /** Processes that exited without being killed by the harness: always a bug. */
  readonly crashes: string[] = [];

  private constructor(
    readonly nodes: readonly ChaosNode[],
    private readonly proxies: ReadonlyMap<string, FaultProxy>,
    /** Holds every node's data dir. */
    readonly root: string,
  ) {}

  /** Starts `size` nodes with a proxy on every directed link; resolves once a leader leads. */
  static async start(size: number, random: () => number = Math.random): Promise<ChaosCluster> {
    const root = await mkdtemp(join(tmpdir(), "dfs-chaos-"));
    const ports = await freePorts(2 * size);
    const nodes: ChaosNode[] = Array.from({ length: size }, (_, i) => ({
      id: i + 1,
      port: ports[2 * i] as number,
      address: `127.0.0.1:${ports[2 * i]}`,
      peerPort: ports[2 * i + 1] as number,
      dataDir: join(root, `node${i + 1}`),
      proc: null,
      state: "killed",
      stderr: "",
    }));
    const proxies = new Map<string, FaultProxy>();
    for (const from of nodes) {
      for (const to of nodes) {
        if (from.id !== to.id)
          proxies.set(linkName(from.id, to.id), await FaultProxy.start(to.peerPort, { random }));
      }
    }
    const cluster = new ChaosCluster(nodes, proxies, root);
    for (const node of nodes) cluster.spawn(node);
    try {
      await cluster.waitForLeader(30_000);
    } catch (err) {
      const logs = cluster.logs();
      await cluster.destroy();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
    }
    return cluster;
  }

  /** Every node's client address. */
  endpoints(): string[] {
    return this.nodes.map((n) => n.address);
  }

  /** Ids of all nodes. */
  ids(): number[] {
    return this.nodes.map((n) => n.id);
  }

  node(id: number): ChaosNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** The proxy of the directed link from → to. */
  link(from: number, to: number): FaultProxy {
    const proxy = this.proxies.get(linkName(from, to));
    if (proxy === undefined) throw new Error(`no link ${from}→${to}`);
    return proxy;
  }

  /** Every proxy back to pass; held bytes are delivered. */
  healNetwork(): void {
    for (const proxy of this.proxies.values()) proxy.heal();
  }

  /** SIGKILL: the process dies at once, losing nothing it had fsynced. */
  async kill(id: number): Promise<void> {
    const node = this.node(id);
    const proc = node.proc;
    node.proc = null;
    node.state = "killed";
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((done) => {
      proc.once("exit", () => done());
      proc.kill("SIGKILL");
    });
  }

  /** SIGSTOP: the process freezes with its sockets open, like a long GC pause. */
  pause(id: number): void {
    const node = this.node(id);
    if (node.state !== "up" || node.proc === null) return;
    node.proc.kill("SIGSTOP");
    node.state = "paused";
  }

  /** SIGCONT after {@link pause}. */
  resume(id: number): void {
    const node = this.node(id);
    if (node.state !== "paused" || node.proc === null) return;
    node.proc.kill("SIGCONT");
    node.state = "up";
  }

  /**
   * Starts a killed node again on its data dir and waits until it answers Status; throws
   * at once (with its last words) if the process exits instead, e.g. refusing its WAL.
   */
  async restart(id: number): Promise<void> {
    const node = this.node(id);
    if (node.state !== "killed") return;
    this.spawn(node);
    const deadline = Date.now() + RESTART_DEADLINE_MS;
    for (;;) {
      if (node.state === "killed") {
        throw new Error(`node ${id} exited while restarting: ${lastLine(node.stderr)}`);
      }
      if ((await this.status(node)) !== undefined) return;
      if (Date.now() > deadline) {
        throw new Error(`node ${id} did not answer within ${RESTART_DEADLINE_MS} ms of a restart`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Resumes paused nodes, restarts killed ones and heals every link; resolves with the
   * reason of every node that could not be brought back.
   */
  async healAll(): Promise<string[]> {
    this.healNetwork();
    for (const node of this.nodes) this.resume(node.id);
    const results = await Promise.allSettled(this.nodes.map((n) => this.restart(n.id)));
    return results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
  }

  /** One running node's status, or undefined if it does not answer quickly. */
  async status(node: ChaosNode): Promise<StatusResponse | undefined> {
    if (node.state !== "up") return undefined;
    const client = new DfsClient({ endpoints: [node.address], timeoutMs: STATUS_TIMEOUT_MS });
    try {
      return await client.status(node.address);
    } catch {
      return undefined;
    } finally {
      client.close();
    }
  }

  /** The leader of the highest term any running node reports, if any. */
  async leader(): Promise<number | undefined> {
    const statuses = await Promise.all(this.nodes.map((n) => this.status(n)));
    let best: StatusResponse | undefined;
    for (const s of statuses) {
      if (s?.role === "leader" && (best === undefined || s.term > best.term)) best = s;
    }
    return best?.id;
  }

  /** Polls until some running node leads; returns its id. */
  waitForLeader(timeoutMs = 15_000): Promise<number> {
    return waitFor("a leader", () => this.leader(), timeoutMs, 100);
  }

  /** Kills every process, closes every proxy and (unless kept) deletes the data dirs. */
  async destroy(keepData = false): Promise<void> {
    for (const node of this.nodes) this.resume(node.id);
    await Promise.all(this.nodes.map((n) => this.kill(n.id)));
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    if (!keepData) await rm(this.root, { recursive: true, force: true });
  }

  /** The tail of every node's stderr, for failure reports. */
  logs(): string {
    return this.nodes
      .map((n) => `--- node ${n.id} ---\n${n.stderr.slice(-3000).trimEnd()}`)
      .join("\n");
  }

  private spawn(node: ChaosNode): void {
    const proc = spawn(
      process.execPath,
      [...SERVER_NODE_FLAGS, "bin/dfs.mjs", ...this.serverArgs(node)],
      {
        cwd: REPO_ROOT,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    proc.stderr?.on("data", (chunk: Buffer) => {
      node.stderr = (node.stderr + chunk.toString()).slice(-STDERR_TAIL);
    });
    proc.once("exit", (code, signal) => {
      if (node.proc !== proc) return; // killed by the harness
      node.proc = null;
      node.state = "killed";
      const last = lastLine(node.stderr);
      this.crashes.push(`node ${node.id} exited on its own (${signal ?? `code ${code}`}): ${last}`);
    });
    node.proc = proc;
    node.state = "up";
  }

  private serverArgs(node: ChaosNode): string[] {
    const peers = this.nodes.map((n) => `${n.id}@${n.address}/${n.peerPort}`).join(",");
    const via = this.nodes
      .filter((n) => n.id !== node.id)
      .map((n) => `${n.id}=127.0.0.1:${this.link(node.id, n.id).port}`)
      .join(",");
    return [
      "server",
      "--id",
      String(node.id),
      "--port",
      String(node.port),
      "--peers",
      peers,
      "--data-dir",
      node.dataDir,
      "--peer-via",
      via,
    ];
  }
}

function lastLine(text: string): string {
  return text.trimEnd().split("\n").pop() ?? "";
}

function linkName(from: number, to: number): string {
  return `${from}->${to}`;
}
