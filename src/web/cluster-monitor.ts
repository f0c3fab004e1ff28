/**
 * Polls every member's Status about once a second while someone looks at the console,
 * and keeps the last minutes of answers in a bounded ring: the data behind the live
 * cluster view. Status needs no credentials (docs/auth.md), so one monitor serves every
 * visitor. Members are learned from the answers (the configuration in the log), so a node
 * added with `dfs member add` appears without restarting anything.
 */
import { type ClientTls, DfsClient } from "../client/index.ts";
import { type LeaderChange, leaderChange, type Probe, type Tick, toTick } from "./cluster-model.ts";
import { Ring } from "./ring.ts";

/** How the monitor polls. */
export interface MonitorOptions {
  /** Client addresses to start from; the members' own addresses replace them once known. */
  readonly endpoints: readonly string[];
  readonly tls?: ClientTls;
  /** Between the starts of two polls (default 1000 ms). */
  readonly intervalMs?: number;
  /** Polls kept (default 300: five minutes at one a second). */
  readonly historyTicks?: number;
  /** Polling stops this long after the last visitor left (default 5 minutes). */
  readonly idleMs?: number;
}

/** What a newly connected page gets first: the history it has not seen. */
export interface MonitorSnapshot {
  readonly ticks: readonly Tick[];
  readonly leaders: readonly LeaderChange[];
}

/** Called with each new poll and the leader change it brought, if any. */
export type TickListener = (tick: Tick, change: LeaderChange | null) => void;

/** Leader changes kept for the timeline. */
const LEADER_CHANGES_KEPT = 100;

/** Polls the cluster's Status while the console is in use; see the file comment. */
export class ClusterMonitor {
  private readonly client: DfsClient;
  private readonly intervalMs: number;
  private readonly idleMs: number;
  private readonly ticks: Ring<Tick>;
  private readonly leaders = new Ring<LeaderChange>(LEADER_CHANGES_KEPT);
  private readonly listeners = new Set<TickListener>();
  /** Member id → client address, from the latest configuration seen. */
  private targets = new Map<number, string>();
  private lastTouched = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: MonitorOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.idleMs = options.idleMs ?? 5 * 60_000;
    this.ticks = new Ring(options.historyTicks ?? 300);
    // One attempt per node per poll, answered within the poll's interval or counted unreachable.
    this.client = new DfsClient({
      endpoints: options.endpoints,
      timeoutMs: Math.max(200, Math.min(this.intervalMs - 100, 900)),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    });
  }

  /** Keeps polling (starting now if it had stopped) for at least the idle period. */
  touch(): void {
    this.lastTouched = Date.now();
    if (this.timer === null && this.running === null && !this.closed) this.schedule(0);
  }

  /** The history so far. */
  snapshot(): MonitorSnapshot {
    return { ticks: this.ticks.toArray(), leaders: this.leaders.toArray() };
  }

  /** The newest poll, if any. */
  latest(): Tick | undefined {
    return this.ticks.last();
  }

  /** Calls `listener` after every poll until the returned function is called. */
  subscribe(listener: TickListener): () => void {
    this.listeners.add(listener);
    this.touch();
    return () => {
      this.listeners.delete(listener);
      this.lastTouched = Date.now();
    };
  }

  /** Stops polling and closes the monitor's connections. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    this.listeners.clear();
    this.client.close();
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.poll().finally(() => {
        this.running = null;
      });
    }, delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const started = Date.now();
    const probes = await this.probeAll();
    if (this.closed) return;
    const previous = this.ticks.last();
    const recent = previous !== undefined && started - previous.t < 5 * this.intervalMs;
    const tick = toTick(started, probes, recent ? previous : undefined);
    this.ticks.push(tick);
    const change = leaderChange(tick, this.leaders.last());
    if (change !== null) this.leaders.push(change);
    for (const listener of this.listeners) listener(tick, change);
    const wanted = this.listeners.size > 0 || Date.now() - this.lastTouched < this.idleMs;
    if (wanted && !this.closed) {
      this.schedule(Math.max(0, this.intervalMs - (Date.now() - started)));
    }
  }

  /** One Status call to every target at once; learns the membership from the answers. */
  private async probeAll(): Promise<Probe[]> {
    const targets: [number, string][] =
      this.targets.size > 0
        ? [...this.targets]
        : this.options.endpoints.map((address) => [0, address]);
    const probes = await Promise.all(targets.map(([id, address]) => this.probe(id, address)));
    this.learnMembers(probes);
    return probes;
  }

  private async probe(id: number, address: string): Promise<Probe> {
    const started = performance.now();
    try {
      const status = await this.client.status(address);
      return { id, address, status, probeMs: performance.now() - started };
    } catch (error) {
      return { id, address, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Takes the member list of the leader's answer (else of any answer) as the new targets. */
  private learnMembers(probes: readonly Probe[]): void {
    let best: Probe | undefined;
    for (const probe of probes) {
      if (!("status" in probe) || probe.status.members.length === 0) continue;
      if (best === undefined || probe.status.role === "leader") best = probe;
    }
    if (best === undefined || !("status" in best)) return;
    this.targets = new Map(best.status.members.map((member) => [member.id, member.address]));
  }
}
