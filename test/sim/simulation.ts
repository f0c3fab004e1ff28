/**
 * One deterministic simulation run: N real Raft nodes (core + production event loop +
 * state machine) on a simulated clock, disk and network, clients recording a history,
 * and a nemesis injecting faults; then a liveness phase on a healed cluster, a
 * convergence check and a linearizability check of the whole history. Everything
 * derives from one seed.
 */
import type { Message } from "../../src/raft/index.ts";
import { Rng } from "../support/rng.ts";
import { EventQueue } from "./event-queue.ts";
import { InvariantChecker } from "./invariants.ts";
import {
  type Fault,
  type FaultProfile,
  type NemesisVersion,
  nextFault,
  randomProfile,
} from "./nemesis.ts";
import { type HistoryOp, SimClient } from "./sim-client.ts";
import { checkHistory } from "./sim-linearizability.ts";
import { HEALTHY, SimNetwork } from "./sim-network.ts";
import { SIM_TUNING, SimNode } from "./sim-node.ts";

/** Knobs of one run. */
export interface SimOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Length of the fault phase in simulated ms. */
  readonly faultMs: number;
  readonly clients: number;
  /** Fault scheduler (default `swarm`; `v1` replays seeds recorded before it). */
  readonly nemesis?: NemesisVersion;
  /** Fixed profile; drawn from the seed when absent. */
  readonly profile?: FaultProfile;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Append size limit; drawn from the seed when absent (1 byte = one entry per message). */
  readonly maxMsgBytes?: number;
  /** Pipelining window; drawn from the seed when absent. */
  readonly maxInflight?: number;
  /** Snapshot every N applied entries (0 = never); drawn from the seed when absent. */
  readonly snapshotEvery?: number;
  /** Entries kept after a snapshot; drawn from the seed when absent. */
  readonly snapshotKeep?: number;
  /** Print every trace line as it happens. */
  readonly verbose?: boolean;
}

/** Outcome of a run. */
export interface SimReport {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure?: string;
  /** The last trace lines before the end (or the failure). */
  readonly trace: readonly string[];
  readonly events: number;
  readonly simMs: number;
  readonly ops: number;
  readonly definite: number;
  readonly faults: number;
  readonly maxTerm: number;
}

/** Liveness bounds (docs/testing.md#liveness-and-convergence). */
const LEADER_WITHIN_MS = 3000;
const REQUESTS_WITHIN_MS = 5000;
const QUIET_TIMEOUTS = 20;
const TRACE_LINES = 300;

/** A simulated cluster plus the machinery to drive and judge it. */
export class Simulation {
  readonly queue = new EventQueue();
  readonly rng: Rng;
  readonly nodes: SimNode[] = [];
  readonly network: SimNetwork;
  readonly checker: InvariantChecker;
  readonly history: HistoryOp[] = [];
  readonly clients: SimClient[] = [];
  private readonly traceLines: string[] = [];
  private fatal: Error | null = null;
  private events = 0;
  private faults = 0;
  private readonly roles = new Map<number, string>();
  private readonly restartPending = new Set<number>();
  private readonly flowTrace: string;

  constructor(readonly options: SimOptions) {
    this.rng = new Rng(options.seed);
    const voters = Array.from({ length: options.nodes }, (_, i) => i + 1);
    this.network = new SimNetwork(
      this.queue,
      this.rng.fork(),
      (m) => this.deliver(m),
      (m) => this.snapshotFailed(m),
    );
    this.checker = new InvariantChecker(this.nodes);
    const flow = this.rng.fork();
    const maxMsgBytes = options.maxMsgBytes ?? flow.pick([1, 64, 1024, 1024 * 1024]);
    const maxInflight = options.maxInflight ?? flow.pick([1, 4, 64]);
    const snapshotEvery = options.snapshotEvery ?? flow.pick([0, 10, 50, 300]);
    const snapshotKeep = options.snapshotKeep ?? flow.pick([0, 5, 100]);
    this.flowTrace = `maxMsgBytes=${maxMsgBytes} maxInflight=${maxInflight} snapshotEvery=${snapshotEvery} keep=${snapshotKeep}`;
    for (const id of voters) {
      const node = new SimNode(
        id,
        voters,
        this.queue,
        this.rng.fork(),
        (_from, msgs) => this.network.send(msgs),
        (n, i, w) => this.onApply(n, i, w),
        {
          preVote: options.preVote ?? true,
          checkQuorum: options.checkQuorum ?? true,
          maxMsgBytes,
          maxInflight,
          snapshotEvery,
          snapshotKeep,
          onFatal: (e) => {
            this.fatal ??= e;
          },
        },
      );
      this.nodes.push(node);
    }
  }

  /** Runs the whole schedule and judges it. */
  async run(): Promise<SimReport> {
    try {
      this.startAll();
      const profile = this.options.profile ?? randomProfile(this.rng.fork());
      this.trace(`profile ${JSON.stringify(profile)} nodes=${this.nodes.length} ${this.flowTrace}`);
      this.startClients();
      await this.faultPhase(profile);
      await this.finish();
      return this.report(null);
    } catch (error) {
      return this.report(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Ends a run: heals every fault, checks liveness and convergence, the costly
   * invariants, and the linearizability of the whole client history. Throws on failure.
   */
  async finish(): Promise<void> {
    this.heal();
    await this.livenessPhase();
    this.checker.checkExpensive();
    const verdict = checkHistory(this.history);
    if (verdict !== null) throw new Error(verdict);
  }

  /** The run's outcome so far (for scenarios that drive the simulation themselves). */
  summary(error: Error | null = null): SimReport {
    return this.report(error);
  }

  // ---- driving ----------------------------------------------------------------------

  /** Runs events until simulated time `until`, checking invariants after each. */
  async runUntil(until: number): Promise<void> {
    while (this.queue.peekTime() <= until) {
      const fn = this.queue.next() as () => void;
      fn();
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.events++;
      if (this.fatal) throw this.fatal;
      this.checker.afterEvent();
      this.traceRoles();
    }
    this.queue.now = Math.max(this.queue.now, until);
  }

  /** Polls `probe` every 10 simulated ms until true or `withinMs` passes. */
  async waitFor(what: string, withinMs: number, probe: () => boolean): Promise<void> {
    const deadline = this.queue.now + withinMs;
    while (!probe()) {
      if (this.queue.now >= deadline)
        throw new Error(
          `liveness: ${what} not within ${withinMs} ms (t=${this.queue.now.toFixed(1)})`,
        );
      await this.runUntil(this.queue.now + 10);
    }
  }

  private deliver(m: Message): void {
    if (process.env.SIM_TRACE_MESSAGES) this.trace(`deliver ${JSON.stringify(m)}`);
    const target = this.nodes[m.to - 1];
    const inc = target?.current;
    if (target === undefined || inc == null || !inc.alive) {
      if (m.type === "snapshot") this.snapshotFailed(m);
      return;
    }
    if (m.type === "snapshot") {
      // The transport streams the image beside the message; it must still exist at the sender.
      const stored = this.nodes[m.from - 1]?.disk.snapshot;
      if (stored == null || stored.meta.index !== m.snapshot.index) {
        this.snapshotFailed(m);
        return;
      }
      this.trace(`n${m.from} -> n${m.to} snapshot ${m.snapshot.index}@${m.snapshot.term}`);
      inc.run(() => {
        target.incoming.set(m.snapshot.index, stored.image);
        inc.loop.deliver([m]);
      });
      // Like a real stream, the sender learns that the transfer completed (whatever the
      // receiver then does with it); the core then probes just past the snapshot.
      const sender = this.nodes[m.from - 1]?.current;
      if (sender?.alive) sender.run(() => sender.loop.reportSnapshot(m.to, true));
      return;
    }
    inc.run(() => inc.loop.deliver([m]));
  }

  /** A snapshot stream failed: the sender's transport tells its core (which retries later). */
  private snapshotFailed(m: Message): void {
    const inc = this.nodes[m.from - 1]?.current;
    if (inc == null || !inc.alive) return;
    inc.run(() => inc.loop.reportSnapshot(m.to, false));
  }

  private onApply(node: number, index: number, what: string): void {
    try {
      this.checker.onApply(node, index, what);
    } catch (error) {
      this.fatal ??= error as Error;
      throw error;
    }
  }

  /** Starts every node (scenario tests drive the rest by hand). */
  startAll(): void {
    for (const n of this.nodes) if (!n.isUp()) this.startNode(n);
  }

  /** The node with this id. */
  node(id: number): SimNode {
    const n = this.nodes[id - 1];
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** kill -9 of one node now (no automatic restart). */
  crashNow(id: number, tornP = 0): void {
    const torn = this.node(id).crash(tornP);
    this.trace(`crash n${id}${torn ? ` (${torn})` : ""}`);
  }

  /** Restarts a crashed node from its disk. */
  restartNow(id: number): void {
    this.trace(`restart n${id}`);
    this.startNode(this.node(id));
  }

  private startNode(n: SimNode): void {
    this.checker.onRestart(n.id);
    n.start();
  }

  /** Starts the randomized clients (8 by default) that record the history. */
  startClients(): void {
    const ctx = {
      queue: this.queue,
      nodes: this.nodes,
      history: this.history,
      keys: () => {
        const epoch = Math.floor(this.queue.now / 5000);
        return Array.from({ length: 20 }, (_, i) => `k${epoch}-${i}`);
      },
      timeoutMs: 2000,
      trace: (line: string) => this.trace(line),
    };
    for (let c = 1; c <= this.options.clients; c++) {
      const client = new SimClient(c, ctx, this.rng.fork());
      this.clients.push(client);
      void client.run();
    }
  }

  // ---- faults -----------------------------------------------------------------------

  private async faultPhase(profile: FaultProfile): Promise<void> {
    this.network.conditions = { ...profile.conditions };
    const end = this.queue.now + this.options.faultMs;
    while (this.queue.now < end) {
      await this.runUntil(
        Math.min(end, this.queue.now + this.rng.between(0.2, 1.8) * profile.faultEveryMs),
      );
      if (this.queue.now < end) this.inject(nextFault(this.rng, profile), profile);
    }
  }

  /** Applies one fault now. */
  inject(fault: Fault, profile: FaultProfile): void {
    this.faults++;
    const up = this.nodes.filter((n) => n.isUp());
    const leader = up.find((n) => n.current?.node.status().role === "leader");
    switch (fault.kind) {
      case "heal":
        this.network.healLinks();
        this.trace("heal network");
        return;
      case "partition":
        this.partition(fault.shape, leader?.id);
        return;
      case "crash": {
        const targets =
          fault.target === "all"
            ? up
            : [fault.target === "leader" && leader ? leader : this.rng.pick(this.nodes)];
        for (const n of targets) this.crash(n, profile.tornP, this.rng.between(100, 5000));
        return;
      }
      case "pause": {
        const n = fault.target === "leader" && leader ? leader : this.rng.pick(this.nodes);
        const inc = n.current;
        if (inc == null || !inc.alive || inc.paused) return;
        inc.paused = true;
        this.trace(`pause n${n.id} for ${fault.ms.toFixed(0)} ms`);
        this.queue.after(fault.ms, () => {
          if (inc.paused) {
            this.trace(`resume n${n.id}`);
            inc.resume();
          }
        });
      }
    }
  }

  /** Crashes a node and schedules its restart. */
  crash(n: SimNode, tornP: number, restartAfterMs: number): void {
    if (!n.isUp()) return;
    const torn = n.crash(tornP);
    this.trace(`crash n${n.id}${torn ? ` (${torn})` : ""}`);
    this.restartPending.add(n.id);
    this.queue.after(restartAfterMs, () => this.restart(n));
  }

  private restart(n: SimNode): void {
    if (n.isUp() || !this.restartPending.has(n.id)) return;
    this.restartPending.delete(n.id);
    this.trace(`restart n${n.id}`);
    this.startNode(n);
  }

  private partition(shape: string, leader: number | undefined): void {
    this.network.healLinks();
    const ids = this.nodes.map((n) => n.id);
    const shuffled = [...ids].sort(() => this.rng.float() - 0.5);
    if (shape === "isolate-leader" && leader !== undefined) {
      this.network.separate(
        [leader],
        ids.filter((i) => i !== leader),
      );
    } else if (shape === "one-way") {
      const from = this.rng.pick(ids);
      for (const to of ids) if (to !== from && this.rng.chance(0.6)) this.network.cutLink(from, to);
    } else if (shape === "bridge" && ids.length >= 3) {
      const [bridge, ...rest] = shuffled;
      const half = Math.floor(rest.length / 2);
      this.network.separate(rest.slice(0, half), rest.slice(half));
      void bridge;
    } else {
      const half = 1 + this.rng.int(ids.length - 1);
      this.network.separate(shuffled.slice(0, half), shuffled.slice(half));
    }
    this.trace(
      `partition ${shape}: cut ${ids.flatMap((a) => ids.filter((b) => this.network.isCut(a, b)).map((b) => `${a}>${b}`)).join(" ")}`,
    );
  }

  /** Ends all faults: links healed, conditions healthy, every node up and running. */
  heal(): void {
    this.network.healLinks();
    this.network.dropInFlight();
    this.network.conditions = { ...HEALTHY };
    for (const n of this.nodes) {
      if (!n.isUp()) {
        this.restartPending.add(n.id);
        this.restart(n);
      } else if (n.current?.paused) n.current.resume();
    }
    this.trace("heal everything");
  }

  // ---- liveness and convergence -----------------------------------------------------

  /** The leader a majority of live nodes follows, if any. */
  stableLeader(): number | undefined {
    for (const n of this.nodes) {
      const raft = n.current?.alive ? n.current.node.status() : undefined;
      if (raft?.role !== "leader") continue;
      const followers = this.nodes.filter(
        (m) =>
          m.current?.alive &&
          m.current.node.status().leader === n.id &&
          m.current.node.status().term === raft.term,
      );
      if (followers.length > this.nodes.length / 2) return n.id;
    }
    return undefined;
  }

  private async livenessPhase(): Promise<void> {
    await this.waitFor(
      "a leader after healing",
      LEADER_WITHIN_MS,
      () => this.stableLeader() !== undefined,
    );
    for (const c of this.clients) c.running = false;
    await this.runUntil(this.queue.now + 2100); // in-flight operations finish or time out
    const results: boolean[] = [];
    for (const c of this.clients) void c.runOne().then((ok) => results.push(ok));
    await this.waitFor(
      "every client request completing",
      REQUESTS_WITHIN_MS,
      () => results.length === this.clients.length,
    );
    if (results.includes(false))
      throw new Error("liveness: a request failed on the healed cluster");
    const leader = this.stableLeader();
    const term = this.nodes[(leader ?? 1) - 1]?.current?.node.status().term;
    await this.runUntil(
      this.queue.now + QUIET_TIMEOUTS * SIM_TUNING.electionTicks * SIM_TUNING.tickMs * 2,
    );
    const after = this.stableLeader();
    const termAfter = this.nodes[(after ?? 1) - 1]?.current?.node.status().term;
    if (after !== leader || termAfter !== term) {
      throw new Error(
        `liveness: leadership changed on a healthy cluster (n${leader}@${term} -> n${after}@${termAfter})`,
      );
    }
    await this.waitFor("replicas converging", 5000, () => this.converged());
  }

  /** All nodes applied the same index and hold identical state. */
  converged(): boolean {
    const fsms = this.nodes.map((n) => n.current?.fsm);
    const first = fsms[0];
    if (first === undefined) return false;
    return fsms.every(
      (f) =>
        f !== undefined && f.appliedIndex === first.appliedIndex && f.digest() === first.digest(),
    );
  }

  // ---- tracing ------------------------------------------------------------------------

  /** Records a line of the readable trace. */
  trace(line: string): void {
    const text = `t=${this.queue.now.toFixed(1)} ${line}`;
    if (this.options.verbose) console.log(text);
    this.traceLines.push(text);
    if (this.traceLines.length > TRACE_LINES) this.traceLines.shift();
  }

  private traceRoles(): void {
    for (const n of this.nodes) {
      const raft = n.current?.alive ? n.current.node.status() : undefined;
      const now = raft ? `${raft.role}@${raft.term}` : "down";
      if (this.roles.get(n.id) !== now) {
        this.roles.set(n.id, now);
        if (raft) this.trace(`n${n.id} ${now} commit=${raft.commit} last=${raft.lastIndex}`);
      }
    }
  }

  /** One line per node: the state that explains a liveness failure. */
  describeNodes(): string[] {
    return this.nodes.map((n) => {
      const inc = n.current;
      if (inc == null || !inc.alive) return `n${n.id}: down`;
      const r = inc.node.status();
      const lastTerm = inc.node.termAt(r.lastIndex);
      return `n${n.id}: ${r.role} term=${r.term} vote=${r.vote} leader=${r.leader} last=${r.lastIndex}@${lastTerm} commit=${r.commit} applied=${inc.fsm.appliedIndex}${inc.paused ? " paused" : ""}`;
    });
  }

  private report(error: Error | null): SimReport {
    if (error) for (const line of this.describeNodes()) this.trace(line);
    const maxTerm = Math.max(0, ...this.nodes.map((n) => n.disk.hardState.term));
    return {
      seed: this.options.seed,
      ok: error === null,
      ...(error ? { failure: error.message } : {}),
      trace: [...this.traceLines],
      events: this.events,
      simMs: this.queue.now,
      ops: this.history.length,
      definite: this.history.filter((o) => o.output !== undefined).length,
      faults: this.faults,
      maxTerm,
    };
  }
}
