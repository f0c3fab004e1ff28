/**
 * A {@link LocalCluster} whose every peer link i→j runs through its own
 * {@link FaultProxy} (`--peer-via j=127.0.0.1:<proxy i→j>`, the proxy forwarding to j's
 * peer listener), so the nemesis can cut, slow or break any directed link, and signal any
 * process. Clients reach the nodes directly, not through proxies.
 */
import { LocalCluster, type ServerProcess } from "../../src/cluster/index.ts";
import { FaultProxy } from "./fault-proxy.ts";

/** Stderr kept per node, for failure reports. */
const STDERR_TAIL = 20_000;
/** How long a status probe may take: paused nodes must not stall the harness. */
const STATUS_TIMEOUT_MS = 500;

/** The cluster's processes plus its proxies; always `destroy()` it. */
export class ChaosCluster {
  private constructor(
    /** The node processes: kill, pause, resume, restart, status, leader. */
    readonly processes: LocalCluster,
    private readonly proxies: ReadonlyMap<string, FaultProxy>,
    /** Processes that exited without being killed by the harness: always a bug. */
    readonly crashes: readonly string[],
  ) {}

  /** Starts `size` nodes with a proxy on every directed link; resolves once a leader leads. */
  static async start(size: number, random: () => number = Math.random): Promise<ChaosCluster> {
    const proxies = new Map<string, FaultProxy>();
    const crashes: string[] = [];
    const processes = await LocalCluster.create({
      size,
      keepStderr: STDERR_TAIL,
      statusTimeoutMs: STATUS_TIMEOUT_MS,
      nodeArgs: (node) => ["--peer-via", peerVia(node, processes.nodes, proxies)],
      onExit: (node, how, expected) => {
        if (!expected)
          crashes.push(`node ${node.id} exited on its own (${how}): ${node.lastLine()}`);
      },
    });
    for (const from of processes.nodes) {
      for (const to of processes.nodes) {
        if (from.id !== to.id)
          proxies.set(linkName(from.id, to.id), await FaultProxy.start(to.peerPort, { random }));
      }
    }
    const cluster = new ChaosCluster(processes, proxies, crashes);
    try {
      await processes.spawnAll();
      await processes.waitForLeader(30_000);
    } catch (err) {
      const logs = processes.logs();
      await cluster.destroy();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
    }
    return cluster;
  }

  /** Holds every node's data dir. */
  get root(): string {
    return this.processes.root;
  }

  get nodes(): readonly ServerProcess[] {
    return this.processes.nodes;
  }

  endpoints(): string[] {
    return this.processes.endpoints();
  }

  ids(): number[] {
    return this.processes.ids();
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

  /**
   * Resumes paused nodes, restarts killed ones and heals every link; resolves with the
   * reason of every node that could not be brought back.
   */
  async healAll(): Promise<string[]> {
    this.healNetwork();
    for (const node of this.nodes) node.resume();
    const results = await Promise.allSettled(this.ids().map((id) => this.processes.restart(id)));
    return results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
  }

  /** Kills every process, closes every proxy and (unless kept) deletes the data dirs. */
  async destroy(keepData = false): Promise<void> {
    await this.processes.destroy(keepData);
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
  }
}

/** Node `node`'s `--peer-via`: every other node through the proxy of the link to it. */
function peerVia(
  node: ServerProcess,
  nodes: readonly ServerProcess[],
  proxies: ReadonlyMap<string, FaultProxy>,
): string {
  return nodes
    .filter((n) => n.id !== node.id)
    .map((n) => `${n.id}=127.0.0.1:${proxies.get(linkName(node.id, n.id))?.port}`)
    .join(",");
}

function linkName(from: number, to: number): string {
  return `${from}->${to}`;
}
