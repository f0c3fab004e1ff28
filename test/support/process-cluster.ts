/**
 * A cluster of real `dfs` server processes on 127.0.0.1 for integration tests: started
 * as `dfs server` from src/ through tsx, killed with real signals, restarted on the same
 * data dirs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CERT_FILES } from "../../src/cli/certs-command.ts";
import { type ClientTls, DfsClient } from "../../src/client/index.ts";
import type { StatusResponse } from "../../src/gen/dfs.ts";
import { SERVER_NODE_FLAGS } from "../../src/server/node-flags.ts";
import { freePorts } from "./free-port.ts";
import { waitFor } from "./wait.ts";

/** Root of the repository (where package.json lives). */
export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** One server process slot: stays across restarts. */
export interface ClusterNode {
  readonly id: number;
  /** Client port. */
  readonly port: number;
  /** Client address: clients attack and use this one. */
  readonly address: string;
  /** Peer listener port (a free port of its own, given as `/peerPort` in `--peers`). */
  readonly peerPort: number;
  /** Peer listener address: peer attacks target this one. */
  readonly peerAddress: string;
  readonly dataDir: string;
  proc: ChildProcess | null;
  /** Everything the process wrote to stderr (for failure diagnostics). */
  stderr: string;
}

/** Options of {@link ProcessCluster.start} beyond size and flags. */
export interface ProcessClusterOptions {
  /**
   * Mutual TLS on both ports with certificates from `dfs certs init` in this directory
   * (node<i>.crt/.key, ca.crt, client.crt/.key); clients of the harness use client.crt.
   */
  readonly certsDir?: string;
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
    private readonly options: ProcessClusterOptions = {},
    /** TLS of the harness's own clients (mTLS clusters only). */
    readonly clientTls?: ClientTls,
  ) {}

  /**
   * Starts `size` nodes (each with `extraArgs` server flags, and `nodeFlags` for the Node
   * runtime, e.g. `--cpu-prof`) and waits until one of them leads.
   */
  static async start(
    size = 3,
    extraArgs: readonly string[] = [],
    nodeFlags: readonly string[] = [],
    options: ProcessClusterOptions = {},
  ): Promise<ProcessCluster> {
    const root = await mkdtemp(join(tmpdir(), "dfs-cluster-"));
    const ports = await freePorts(2 * size);
    const nodes = Array.from({ length: size }, (_, i) => {
      const port = ports[2 * i] as number;
      const peerPort = ports[2 * i + 1] as number;
      return {
        id: i + 1,
        port,
        address: `127.0.0.1:${port}`,
        peerPort,
        peerAddress: `127.0.0.1:${peerPort}`,
        dataDir: join(root, `node${i + 1}`),
        proc: null,
        stderr: "",
      };
    });
    const clientTls = options.certsDir === undefined ? undefined : readClientTls(options.certsDir);
    const cluster = new ProcessCluster(nodes, root, extraArgs, nodeFlags, options, clientTls);
    for (const node of nodes) cluster.spawn(node);
    await cluster.waitForLeader();
    return cluster;
  }

  /** The `--peers` flag value, with each node's explicit `/peerPort`. */
  peersFlag(): string {
    return this.nodes.map((n) => `${n.id}@${n.address}/${n.peerPort}`).join(",");
  }

  /** The server flags for mutual TLS on both ports, when the cluster has certificates. */
  private tlsArgs(node: ClusterNode): string[] {
    const dir = this.options.certsDir;
    if (dir === undefined) return [];
    const file = (name: string) => join(dir, name);
    return [
      "--peer-cert",
      file(CERT_FILES.nodeCert(node.id)),
      "--peer-key",
      file(CERT_FILES.nodeKey(node.id)),
      "--peer-ca",
      file(CERT_FILES.caCert),
      "--cert",
      file(CERT_FILES.nodeCert(node.id)),
      "--key",
      file(CERT_FILES.nodeKey(node.id)),
      "--client-ca",
      file(CERT_FILES.caCert),
    ];
  }

  /** The client TLS flags of the CLI for this cluster (empty when plain text). */
  clientTlsArgs(): string[] {
    const dir = this.options.certsDir;
    if (dir === undefined) return [];
    return [
      "--cacert",
      join(dir, CERT_FILES.caCert),
      "--cert",
      join(dir, CERT_FILES.clientCert),
      "--key",
      join(dir, CERT_FILES.clientKey),
    ];
  }

  /** Every node's client address. */
  endpoints(): string[] {
    return this.nodes.map((n) => n.address);
  }

  /** A client library instance; the caller closes it. */
  client(endpoints = this.endpoints(), timeoutMs = 15_000): DfsClient {
    const tls = this.clientTls;
    return new DfsClient({ endpoints, timeoutMs, ...(tls !== undefined ? { tls } : {}) });
  }

  node(id: number): ClusterNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /**
   * The node's `node` command line as this cluster starts it (run from {@link REPO_ROOT}),
   * so a test can start the same server another way (in a namespace, say).
   */
  serverArgs(node: ClusterNode): string[] {
    return [
      ...SERVER_NODE_FLAGS,
      ...this.nodeFlags,
      "--import",
      "tsx",
      "src/cli/main.ts", // the source, never a possibly stale dist/ (scripts/ run dist/)
      "server",
      "--id",
      String(node.id),
      "--port",
      String(node.port),
      "--peers",
      this.peersFlag(),
      "--data-dir",
      node.dataDir,
      ...this.tlsArgs(node),
      ...this.extraArgs,
    ];
  }

  /** Starts (or restarts) a node's process on its data dir. */
  spawn(node: ClusterNode): void {
    const args = this.serverArgs(node);
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

/** The harness's client TLS from a `dfs certs init` directory. */
function readClientTls(dir: string): ClientTls {
  return {
    ca: readFileSync(join(dir, CERT_FILES.caCert)),
    cert: readFileSync(join(dir, CERT_FILES.clientCert)),
    key: readFileSync(join(dir, CERT_FILES.clientKey)),
  };
}
