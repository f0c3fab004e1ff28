/**
 * A {@link LocalCluster} whose every peer link i→j runs through its own
 * {@link FaultProxy} (`--peer-via j=127.0.0.1:<proxy i→j>`, the proxy forwarding to j's
 * peer listener), so the nemesis can cut, slow or break any directed link, and signal any
 * process. Clients reach the nodes directly, not through proxies.
 *
 * Nodes are *slots* 1..N (a process, its ports, its data dir, its proxies); the member
 * id a slot runs under changes when the `member` fault replaces it (removed, wiped, added
 * back as a new member with `--join`). Slot s runs as member s, then s + N, s + 2N, …, so
 * every node's `--peer-via` names all of a slot's future ids in advance and its links stay
 * proxied; {@link ChaosCluster.slotOf} maps a member id (e.g. a leader's) back to its slot.
 */
import { LocalCluster, type ServerProcess, waitFor } from "../../src/cluster/index.ts";
import { StopWaiting } from "../../src/cluster/wait.ts";
import { FaultProxy } from "./fault-proxy.ts";

/** Replacements planned per slot: member ids s + k·N for k below this. */
export const IDS_PER_SLOT = 16;
/** A restarted node must answer Status within this long (tsx start-up on a loaded core). */
const RESTART_DEADLINE_MS = 30_000;

/** Stderr kept per node, for failure reports. */
const STDERR_TAIL = 20_000;
/** How long a status probe may take: paused nodes must not stall the harness. */
const STATUS_TIMEOUT_MS = 500;

/** The cluster's processes plus its proxies; always `destroy()` it. */
export class ChaosCluster {
  /** The member id each slot runs as now (absent: the slot's own id). */
  private readonly memberIds = new Map<number, number>();

  private constructor(
    /** The node processes: kill, pause, resume, status; use {@link restart} to restart. */
    readonly processes: LocalCluster,
    private readonly proxies: ReadonlyMap<string, FaultProxy>,
    /** Processes that exited without being killed by the harness: always a bug. */
    readonly crashes: readonly string[],
    /** Slots whose process may exit by itself (a member being removed). */
    readonly retiring: Set<number>,
  ) {}

  /** Starts `size` nodes with a proxy on every directed link; resolves once a leader leads. */
  static async start(size: number, random: () => number = Math.random): Promise<ChaosCluster> {
    const proxies = new Map<string, FaultProxy>();
    const crashes: string[] = [];
    const retiring = new Set<number>();
    const processes = await LocalCluster.create({
      size,
      keepStderr: STDERR_TAIL,
      statusTimeoutMs: STATUS_TIMEOUT_MS,
      nodeArgs: (node) => ["--peer-via", peerVia(node, processes.nodes, proxies)],
      onExit: (node, how, expected) => {
        if (!expected && !retiring.has(node.id))
          crashes.push(`node ${node.id} exited on its own (${how}): ${node.lastLine()}`);
      },
    });
    for (const from of processes.nodes) {
      for (const to of processes.nodes) {
        if (from.id !== to.id)
          proxies.set(linkName(from.id, to.id), await FaultProxy.start(to.peerPort, { random }));
      }
    }
    const cluster = new ChaosCluster(processes, proxies, crashes, retiring);
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

  /** The member id slot `slot` runs as now. */
  memberId(slot: number): number {
    return this.memberIds.get(slot) ?? slot;
  }

  /** The slot that runs (or ran) member `id`. */
  slotOf(id: number): number {
    return ((id - 1) % this.nodes.length) + 1;
  }

  /** The next member id of `slot` (its current id plus N); throws past the planned ids. */
  nextMemberId(slot: number): number {
    const next = this.memberId(slot) + this.nodes.length;
    if (next > slot + (IDS_PER_SLOT - 1) * this.nodes.length) {
      throw new Error(`slot ${slot} was replaced ${IDS_PER_SLOT - 1} times; no id planned`);
    }
    return next;
  }

  /** The slot the leader of the highest term runs in, if any node leads. */
  async leaderSlot(): Promise<number | undefined> {
    const id = await this.processes.leader();
    return id === undefined ? undefined : this.slotOf(id);
  }

  /**
   * Starts `slot`'s process as member `id` joining the running cluster (`--join` the
   * other slots), on its (wiped) data dir, and waits until it answers Status. From now
   * on the slot restarts as that member.
   */
  async startAsNewMember(slot: number, id: number): Promise<void> {
    this.memberIds.set(slot, id);
    await this.restart(slot);
  }

  /**
   * Starts a stopped slot again on its data dir and waits until it answers Status; a
   * running one is left alone. A replaced slot restarts as its current member, with
   * `--join` (which a data dir that joined before ignores when nobody answers).
   */
  async restart(slot: number): Promise<void> {
    const node = this.processes.node(slot);
    if (node.state !== "stopped") return;
    if (this.memberId(slot) === slot) return this.processes.restart(slot);
    node.start(this.joinCommandLine(node));
    await waitFor(
      `node ${slot} (member ${this.memberId(slot)}) to answer status`,
      async () => {
        if (node.state === "stopped") {
          throw new StopWaiting(`node ${slot} exited while starting: ${node.lastLine()}`);
        }
        return this.processes.status(node);
      },
      RESTART_DEADLINE_MS,
      100,
    );
  }

  /** The slot's bootstrap command line, rewritten to start its current member with --join. */
  private joinCommandLine(node: ServerProcess) {
    const line = this.processes.commandLine(node);
    const args: string[] = [];
    for (let i = 0; i < line.args.length; i++) {
      const arg = line.args[i] as string;
      if (arg === "--peers") {
        i++; // and its value
      } else if (arg === "--id") {
        args.push(arg, String(this.memberId(node.id)));
        i++;
      } else {
        args.push(arg);
      }
    }
    const others = this.nodes.filter((n) => n.id !== node.id).map((n) => n.address);
    args.push("--peer-port", String(node.peerPort), "--listen", node.host);
    args.push("--join", others.join(","));
    return { ...line, args };
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
    const results = await Promise.allSettled(this.ids().map((id) => this.restart(id)));
    return results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
  }

  /** Kills every process, closes every proxy and (unless kept) deletes the data dirs. */
  async destroy(keepData = false): Promise<void> {
    await this.processes.destroy(keepData);
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
  }
}

/**
 * Node `node`'s `--peer-via`: every other slot, under each member id it may ever run as,
 * through the proxy of the link to that slot.
 */
function peerVia(
  node: ServerProcess,
  nodes: readonly ServerProcess[],
  proxies: ReadonlyMap<string, FaultProxy>,
): string {
  return nodes
    .filter((n) => n.id !== node.id)
    .flatMap((n) =>
      Array.from({ length: IDS_PER_SLOT }, (_, k) => n.id + k * nodes.length).map(
        (id) => `${id}=127.0.0.1:${proxies.get(linkName(node.id, n.id))?.port}`,
      ),
    )
    .join(",");
}

function linkName(from: number, to: number): string {
  return `${from}->${to}`;
}
