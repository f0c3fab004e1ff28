/**
 * One deterministic simulation run: N real Raft nodes (core + production event loop +
 * state machine) on a simulated clock, disk and network, clients recording a history,
 * and a nemesis injecting faults; then a liveness phase on a healed cluster, a
 * convergence check and a linearizability check of the whole history. Everything
 * derives from one seed.
 */
import type { WriteBehindLimits } from "../../src/fsm/index.ts";
import { type Entry, type Message, type SnapshotRequest, voterIds } from "../../src/raft/index.ts";
import { Rng } from "../support/rng.ts";
import { BlobChecker } from "./blob-invariants.ts";
import { ClientLulls, drawLulls } from "./client-lulls.ts";
import { ClientHold, type DivergentAim, drawDivergentAim } from "./divergent-install.ts";
import { EventQueue } from "./event-queue.ts";
import { InvariantChecker } from "./invariants.ts";
import {
  aimedWeights,
  type Fault,
  type FaultProfile,
  MEMBERSHIP_KIND,
  type MembershipMode,
  membershipWeight,
  type NemesisVersion,
  nextFault,
  nextSwarmFault,
  randomProfile,
  type ScheduledFault,
  type SwarmFault,
  type SwarmKind,
  type SwarmProfile,
  swarmProfile,
} from "./nemesis.ts";
import { RealIo } from "./real-io.ts";
import { imageChunks } from "./sim-blobs.ts";
import { type ClientContext, type HistoryOp, SimClient } from "./sim-client.ts";
import { checkHistory } from "./sim-linearizability.ts";
import { SimLmdb, type StoreStep } from "./sim-lmdb.ts";
import { MembershipNemesis } from "./sim-membership.ts";
import { HEALTHY, SimNetwork } from "./sim-network.ts";
import { SIM_TUNING, SimNode, type SimNodeOptions } from "./sim-node.ts";
import { SteadyLeaderJudge } from "./steady-leader.ts";
import { drawVoteRaceAim, planRace, type VoteRaceAim } from "./vote-race.ts";

/** Knobs of one run. */
export interface SimOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Length of the fault phase in simulated ms. */
  readonly faultMs: number;
  readonly clients: number;
  /** Fault scheduler (default `swarm`; `v1` replays seeds recorded before it). */
  readonly nemesis?: NemesisVersion;
  /**
   * The swarm's fault schedule to play instead of drawing one (a shrunk failing schedule,
   * a regression seed); SimReport.schedule gives a run's. Ignored under `v1`.
   */
  readonly schedule?: readonly ScheduledFault[];
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
  /** The nodes' state machine: the MemoryStore (default) or the real LMDB store (sim-lmdb.ts). */
  readonly store?: "memory" | "lmdb";
  /** LMDB mode: write-behind limits; drawn from the seed when absent. */
  readonly writeBehind?: WriteBehindLimits;
  /** LMDB mode: chance to crash a node at each step of its store's batch; drawn when absent. */
  readonly storeCrashP?: number;
  /**
   * The membership nemesis (sim-membership.ts): `swarm` (default) lets each swarm seed
   * decide, `on`/`off` force it. Never under `v1`, a fixed profile, or the LMDB store.
   */
  readonly membership?: MembershipMode;
  /**
   * The aimed kinds (nemesis.ts AIMED_KINDS): each swarm seed decides (default), or false
   * keeps them off (seeds picked for other nemeses before the kinds existed).
   */
  readonly aimed?: boolean;
  /**
   * Judge liveness during the fault phase too (steady-leader.ts): a leader a majority keeps
   * in contact with is never deposed. Default: on for the swarm with pre-vote and
   * check-quorum; it draws nothing, so a seed replays the same with it on or off.
   */
  readonly steadyLeader?: boolean;
  /**
   * Lulls in the client workload (client-lulls.ts): by default some swarm seeds draw them
   * (from a stream of their own); false turns them off.
   */
  readonly lulls?: boolean;
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
  /** Definite reads a follower served (ReadIndex through the leader). */
  readonly followerReads: number;
  readonly faults: number;
  readonly maxTerm: number;
  /** LMDB mode: what the stores went through. */
  readonly lmdb?: string;
  /** The swarm faults injected, in order (empty under `v1`). */
  readonly schedule: readonly ScheduledFault[];
  /** Membership changes and transfers proposed, refused and done (absent: nemesis off). */
  readonly membership?: string;
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
  /** The blob store's invariants (issue 22). */
  readonly blobChecker = new BlobChecker();
  /** Unlinks over all nodes' blobs when the blob invariants last ran after one. */
  private seenUnlinks = 0;
  readonly history: HistoryOp[] = [];
  readonly clients: SimClient[] = [];
  /** Real I/O (the LMDB store's), run between events so runs stay deterministic. */
  readonly io = new RealIo();
  /** LMDB mode's stores (null: the MemoryStore). */
  readonly lmdb: SimLmdb | null = null;
  /** LMDB mode: chance of a crash at each store step while faults are on. */
  private storeCrashP = 0;
  private storeFaultsOn = false;
  /** LMDB mode: crashes at each store step. */
  private readonly storeCrashes = new Map<StoreStep, number>();
  /** LMDB mode: chance of a crash right after a snapshot installed over a divergent log. */
  private divergentInstallCrashP = 0;
  private readonly divergentInstallRng: Rng;
  /** LMDB mode: snapshots installed over a divergent log (see overDivergentLog). */
  private divergentInstalls = 0;
  /** LMDB mode: crashes right after such an install (before the WAL reset). */
  private divergentCrashes = 0;
  private tornP = 0;
  private lmdbTrace = "";
  private readonly traceLines: string[] = [];
  private fatal: Error | null = null;
  private events = 0;
  private faults = 0;
  private readonly roles = new Map<number, string>();
  private readonly restartPending = new Set<number>();
  private readonly flowTrace: string;
  /** What every node is started with (nodes added by the membership nemesis too). */
  private readonly nodeOptions: SimNodeOptions;
  /** Nodes removed from the cluster and stopped for good. */
  readonly gone = new Set<number>();
  /** The membership nemesis, when this run uses it. */
  membership: MembershipNemesis | null = null;
  /** The fault phase's liveness judge, while it is on (steady-leader.ts). */
  private steady: SteadyLeaderJudge | null = null;
  /** What the judge saw: windows opened and the longest (null: it was off). */
  steadyStats: { readonly windows: number; readonly longestMs: number } | null = null;
  /** Each client's running loop (the lulls restart them). */
  private readonly clientRuns: Promise<void>[] = [];
  private lulls: ClientLulls | null = null;
  /** LMDB mode: the aim at installs over a divergent log (divergent-install.ts; null: off). */
  private readonly divergentAim: DivergentAim | null;
  /** The aim's hold on the clients (null without the aim or before startClients). */
  private hold: ClientHold | null = null;
  /** The aim at a vote forgotten in a crash (vote-race.ts; null: off). */
  private readonly voteRaceAim: VoteRaceAim | null;
  /** Until when the vote race in force holds off every other fault (ms). */
  private voteRaceUntil = 0;
  /** Vote races set up, and voters crashed in them while saving a vote. */
  private readonly voteRaces = { races: 0, crashes: 0 };

  constructor(readonly options: SimOptions) {
    this.rng = new Rng(options.seed);
    this.divergentInstallRng = new Rng(options.seed ^ 0x64697667);
    this.probeRng = new Rng(options.seed ^ 0x70726f62);
    this.faultRng = this.rng;
    this.voteRaceAim =
      options.nemesis === "v1" || options.profile !== undefined || options.aimed === false
        ? null
        : drawVoteRaceAim(options.seed);
    const voters = Array.from({ length: options.nodes }, (_, i) => i + 1);
    this.network = new SimNetwork(
      this.queue,
      this.rng.fork(),
      (m) => this.deliver(m),
      (m) => this.snapshotFailed(m),
    );
    this.checker = new InvariantChecker(this.nodes, voters);
    const flow = this.rng.fork();
    const maxMsgBytes = options.maxMsgBytes ?? flow.pick([1, 64, 1024, 1024 * 1024]);
    const maxInflight = options.maxInflight ?? flow.pick([1, 4, 64]);
    const drawnEvery = options.snapshotEvery ?? flow.pick([0, 10, 50, 300]);
    const drawnKeep = options.snapshotKeep ?? flow.pick([0, 5, 100]);
    const staleTailOn = this.aimedWeights()["stale-tail-snapshot"] !== undefined;
    this.divergentAim =
      options.store === "lmdb" && options.snapshotEvery === undefined
        ? drawDivergentAim(options.seed, staleTailOn)
        : null;
    const snapshotEvery = this.divergentAim?.snapshotEvery ?? drawnEvery;
    const snapshotKeep = this.divergentAim !== null ? 0 : drawnKeep;
    this.flowTrace = `maxMsgBytes=${maxMsgBytes} maxInflight=${maxInflight} snapshotEvery=${snapshotEvery} keep=${snapshotKeep}${this.divergentAim !== null ? " (divergent-install aim)" : ""}`;
    if (options.store === "lmdb") this.lmdb = this.openLmdb();
    this.nodeOptions = {
      preVote: options.preVote ?? true,
      checkQuorum: options.checkQuorum ?? true,
      maxMsgBytes,
      maxInflight,
      snapshotEvery,
      snapshotKeep,
      onFatal: (e) => {
        this.fatal ??= e;
      },
      ...(this.lmdb !== null ? { lmdb: this.lmdb } : {}),
    };
    for (const id of voters) this.nodes.push(this.newNode(id, voters, this.rng.fork()));
  }

  private newNode(id: number, voters: readonly number[], rng: Rng): SimNode {
    return new SimNode(
      id,
      voters,
      this.queue,
      rng,
      (_from, msgs) => this.network.send(msgs),
      (n, i, w, e) => this.onApply(n, i, w, e),
      this.nodeOptions,
    );
  }

  /**
   * The membership nemesis' weight for this run (0: off), from a stream of the seed's own
   * so that runs without it draw exactly what they drew before it existed.
   */
  private membershipWeight(): number {
    const o = this.options;
    if (o.nemesis === "v1" || o.profile !== undefined || o.store === "lmdb") return 0;
    return membershipWeight(new Rng(o.seed ^ 0x6d656d62), o.membership ?? "swarm");
  }

  /**
   * The aimed kinds' weights for this run (nemesis.ts AIMED_KINDS), from a stream of the
   * seed's own: runs that leave them off draw exactly what they drew before they existed.
   */
  private aimedWeights(): Partial<Record<SwarmKind, number>> {
    const o = this.options;
    if (o.nemesis === "v1" || o.profile !== undefined || o.aimed === false) return {};
    return aimedWeights(new Rng(o.seed ^ 0x61696d64));
  }

  /** Starts the membership nemesis (scenarios may call it to drive changes themselves). */
  enableMembership(): MembershipNemesis {
    this.membership ??= new MembershipNemesis({
      queue: this.queue,
      nodes: this.nodes,
      checker: this.checker,
      currentLeader: () => this.currentLeader(),
      addNode: () => {
        const id = this.nodes.length + 1;
        const node = this.newNode(id, [], new Rng(this.options.seed * 31 + id));
        this.nodes.push(node);
        this.trace(`n${id} starts on an empty disk, with no configuration`);
        this.startNode(node);
        return node;
      },
      retire: (id) => this.retire(id),
      isolate: (group, ms) => {
        this.network.healLinks();
        this.partitionGeneration++;
        this.network.separate(
          group,
          this.nodes.map((n) => n.id).filter((i) => !group.includes(i)),
        );
        this.trace(`isolate [${group.join(",")}] for ${ms.toFixed(0)} ms`);
        this.healLinksAfter(ms);
      },
      crash: (id) => {
        const profile = this.swarmProfileInUse;
        this.crash(this.node(id), profile?.tornP ?? 0, profile ? this.restartDelay(profile) : 1000);
      },
      later: (ms, fn) => this.later(ms, fn),
      runUntil: (until) => this.runUntil(until),
      trace: (line) => {
        this.steady?.membershipActivity();
        this.trace(line);
      },
    });
    return this.membership;
  }

  /** A node removed from the cluster stops for good (kill -9, never restarted). */
  retire(id: number): void {
    if (this.gone.has(id)) return;
    this.gone.add(id);
    this.restartPending.delete(id);
    const n = this.node(id);
    n.crash(0);
    this.trace(`n${id} stopped for good (removed)`);
  }

  /** Ids of the members (voters and learners) of the newest committed configuration. */
  memberIds(): number[] {
    return this.checker
      .latestConfig()
      .membership.members.map((m) => m.id)
      .filter((id) => !this.gone.has(id));
  }

  /** Runs the whole schedule and judges it. */
  async run(): Promise<SimReport> {
    try {
      await this.ready();
      this.startAll();
      let profile: FaultProfile =
        this.options.profile ??
        (this.options.nemesis === "v1"
          ? randomProfile(this.rng.fork())
          : swarmProfile(this.rng.fork()));
      const memberWeight = this.membershipWeight();
      if (memberWeight > 0 && "weights" in profile) {
        const swarm = profile as SwarmProfile;
        const weights = { ...swarm.weights, [MEMBERSHIP_KIND]: memberWeight };
        const withMembership: SwarmProfile = { ...swarm, weights };
        profile = withMembership;
        this.enableMembership();
      }
      const aimed = this.aimedWeights();
      if (Object.keys(aimed).length > 0 && "weights" in profile) {
        const swarm = profile as SwarmProfile;
        const withAimed: SwarmProfile = { ...swarm, weights: { ...swarm.weights, ...aimed } };
        profile = withAimed;
      }
      if ("weights" in profile) this.swarmProfileInUse = profile as SwarmProfile;
      this.trace(`profile ${JSON.stringify(profile)} nodes=${this.nodes.length} ${this.flowTrace}`);
      if (this.lmdb !== null) this.trace(this.lmdbTrace);
      this.startClients();
      await this.faultPhase(profile);
      await this.finish();
      return this.report(null);
    } catch (error) {
      return this.report(error instanceof Error ? error : new Error(String(error)));
    } finally {
      await this.dispose();
    }
  }

  /** Finishes the real I/O asked for so far (LMDB mode: the stores' first open). */
  async ready(): Promise<void> {
    await this.io.settle();
  }

  /** LMDB mode: closes the stores and deletes their directories (no-op otherwise). */
  async dispose(): Promise<void> {
    await this.io.settle();
    await this.lmdb?.dispose();
  }

  /**
   * Ends a run: heals every fault, checks liveness and convergence, the costly
   * invariants, and the linearizability of the whole client history. Throws on failure.
   */
  async finish(): Promise<void> {
    this.heal();
    await this.livenessPhase();
    this.checker.checkExpensive();
    this.checkBlobs("end of run");
    this.checkTwin();
    const verdict = checkHistory(this.history);
    if (verdict !== null) throw new Error(verdict);
  }

  /**
   * LMDB mode: every node's store, after all its crashes and replays, holds exactly what a
   * MemoryStore holds that applied the same entries once each, in order, without a crash.
   */
  private checkTwin(): void {
    if (this.lmdb === null) return;
    const applied = this.nodes[0]?.current?.fsm.appliedIndex ?? 0;
    const twin = this.lmdb.twinDigest(applied);
    for (const n of this.nodes) {
      const fsm = n.current?.fsm;
      if (fsm?.digest() !== twin)
        throw new Error(
          `lmdb twin: n${n.id}'s store at ${fsm?.appliedIndex} differs from a memory store that applied the same ${applied} entries`,
        );
    }
  }

  /** The run's outcome so far (for scenarios that drive the simulation themselves). */
  summary(error: Error | null = null): SimReport {
    return this.report(error);
  }

  // ---- driving ----------------------------------------------------------------------

  /** Runs events until simulated time `until`, checking invariants after each. */
  async runUntil(until: number): Promise<void> {
    if (this.io.busy) await this.io.settle(); // real I/O asked for between two runs
    while (this.queue.peekTime() <= until) {
      const fn = this.queue.next() as () => void;
      fn();
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.io.busy) await this.io.settle();
      this.events++;
      if (this.fatal) throw this.fatal;
      this.checker.afterEvent();
      this.checkBlobsAfterUnlinks();
      this.membership?.afterEvent();
      this.steady?.afterEvent();
      this.traceRoles();
      if (this.trap !== null) this.springTrap(this.trap);
      if (this.probe !== null) this.springProbe(this.probe);
      if (this.staleTail !== null) this.healOverStaleTail(this.staleTail);
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
    this.steady?.onDeliver(m, !inc.paused);
    if (m.type === "snapshot" && this.lmdb !== null) {
      this.lmdbTransfer(m);
      return;
    }
    if (m.type === "snapshot") {
      // The transport streams the image beside the message; it must still exist at the sender.
      const stored = this.nodes[m.from - 1]?.disk.snapshot;
      if (stored == null || stored.meta.index !== m.snapshot.index) {
        this.snapshotFailed(m);
        return;
      }
      // The blobs stream beside the image (each chunk CRC-checked by the real source):
      // a chunk the sender's blob lacks fails the transfer.
      const source = this.nodes[m.from - 1] as SimNode;
      const { blobs, missing } = source.blobs.shipped(imageChunks(stored.image));
      if (missing.length > 0) {
        this.trace(`n${m.from} -> n${m.to} snapshot: blob chunks missing ${missing.join(" ")}`);
        this.snapshotFailed(m);
        return;
      }
      this.trace(`n${m.from} -> n${m.to} snapshot ${m.snapshot.index}@${m.snapshot.term}`);
      inc.run(() => {
        target.incoming.set(m.snapshot.index, stored.image);
        target.incomingBlobs.set(m.snapshot.index, blobs);
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

  /**
   * LMDB mode: the snapshot streams from the sender's store to the receiver's (sim-lmdb.ts),
   * and the sender learns how the transfer ended.
   */
  private lmdbTransfer(m: SnapshotRequest): void {
    const lmdb = this.lmdb as SimLmdb;
    const from = this.node(m.from);
    const to = this.node(m.to);
    const sender = from.current;
    const target = to.current;
    if (from.lmdb === null || to.lmdb === null || sender == null || target == null) return;
    this.trace(
      `n${m.from} -> n${m.to} snapshot (store image) for ${m.snapshot.index}@${m.snapshot.term}`,
    );
    void lmdb
      .transfer(
        m,
        { slot: from.lmdb, alive: () => sender.alive },
        {
          slot: to.lmdb,
          alive: () => target.alive && !target.paused,
          deliver: (request) => target.loop.deliverSnapshot(request),
        },
      )
      .then((ok) => {
        if (sender.alive) sender.run(() => sender.loop.reportSnapshot(m.to, ok));
      });
  }

  /** LMDB mode: the stores and the per-seed draws of the store's knobs. */
  private openLmdb(): SimLmdb {
    // Its own stream (not a fork of the main one), so memory-mode runs are unchanged.
    const rng = new Rng(this.options.seed ^ 0x1d3b5);
    const writeBehind = this.options.writeBehind ?? {
      entries: rng.pick([1, 16, 10_000]),
      bytes: rng.pick([4096, 1024 * 1024]),
      ms: rng.pick([5, 100, 1000]),
    };
    this.storeCrashP = this.options.storeCrashP ?? rng.pick([0, 0.001, 0.003, 0.01]);
    // Installs over a divergent log are rare and the crash right after one is the only way
    // to the restart's hardest reconciliation: crash there often (an own stream, so the
    // other draws stay as they were).
    this.divergentInstallCrashP = this.divergentInstallRng.pick([0.25, 0.5, 1]);
    // The divergent-install aim goes there on purpose: crash at every such install.
    if (this.divergentAim !== null) this.divergentInstallCrashP = 1;
    this.lmdbTrace = `lmdb writeBehind=${JSON.stringify(writeBehind)} storeCrashP=${this.storeCrashP}`;
    const lmdb = new SimLmdb(this.options.seed, this.io, this.queue, rng, writeBehind);
    lmdb.onStep = (id, step) => this.onStoreStep(id, step);
    return lmdb;
  }

  /**
   * LMDB mode, during the fault phase: at each step of a store's batch, the node may crash
   * right there (and restart later). Directed tests replace this through `lmdb.onStep`.
   */
  private onStoreStep(id: number, step: StoreStep): void {
    const lmdb = this.lmdb as SimLmdb;
    const n = this.node(id);
    if (step === "snapshot-installed" && this.overDivergentLog(n)) {
      this.divergentInstalls++;
      const rng = this.divergentInstallRng;
      if (this.storeFaultsOn && n.isUp() && rng.chance(this.divergentInstallCrashP)) {
        this.storeCrashes.set(step, (this.storeCrashes.get(step) ?? 0) + 1);
        this.divergentCrashes++;
        this.trace(`store step ${step} on n${id}, over a divergent log: crash here`);
        this.crash(n, this.tornP, rng.between(50, 2000));
        return;
      }
    }
    if (!this.storeFaultsOn || !lmdb.rng.chance(this.storeCrashP)) return;
    if (!n.isUp()) return;
    this.storeCrashes.set(step, (this.storeCrashes.get(step) ?? 0) + 1);
    this.trace(`store step ${step} on n${id}: crash here`);
    this.crash(n, this.tornP, lmdb.rng.between(50, 2000));
  }

  /**
   * True when the snapshot `n`'s store just installed ends at an index where `n`'s WAL
   * holds an entry of another term: the WAL's history there was superseded, and only the
   * reset that follows the install (or, after a crash, the restart's reconciliation of
   * store and WAL) may drop it.
   */
  private overDivergentLog(n: SimNode): boolean {
    const meta = n.disk.snapshot?.meta;
    if (meta === undefined) return false;
    const entry = n.disk.entryAt(meta.index);
    return entry !== undefined && entry.term !== meta.term;
  }

  /** Vote races so far (vote-race.ts), and voters crashed in them while saving a vote. */
  voteRaceStats(): { readonly races: number; readonly crashes: number } {
    return { ...this.voteRaces };
  }

  /** LMDB mode: snapshots installed over a divergent log so far, and crashes right after one. */
  divergentInstallStats(): { readonly installs: number; readonly crashes: number } {
    return { installs: this.divergentInstalls, crashes: this.divergentCrashes };
  }

  /** A snapshot stream failed: the sender's transport tells its core (which retries later). */
  private snapshotFailed(m: Message): void {
    const inc = this.nodes[m.from - 1]?.current;
    if (inc == null || !inc.alive) return;
    inc.run(() => inc.loop.reportSnapshot(m.to, false));
  }

  private onApply(node: number, index: number, what: string, entry: Entry): void {
    try {
      this.checker.onApply(node, index, what);
      this.blobChecker.onApply(entry);
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
    this.checkBlobs(`n${n.id} restarted`);
  }

  /**
   * The blob store's invariants (blob-invariants.ts) on every live node. Run after a
   * crash, a start, an unlink anywhere and at the end: the only events that can take
   * bytes a retained entry or a value names away from a blob.
   */
  checkBlobs(why: string): void {
    // LMDB mode keeps blobs in memory, durable at once (sim-lmdb.ts): nothing to check.
    if (this.lmdb !== null) return;
    this.blobChecker.check(
      this.nodes.map((n) => ({ id: n.id, blobs: n.blobs, node: n })),
      why,
    );
  }

  /** Checks the blob invariants if some blob was unlinked since the last event. */
  private checkBlobsAfterUnlinks(): void {
    const unlinks = this.nodes.reduce((sum, n) => sum + n.blobs.stats.unlinks, 0);
    if (unlinks === this.seenUnlinks) return;
    this.seenUnlinks = unlinks;
    this.checkBlobs("after an unlink");
  }

  /** Starts the randomized clients (8 by default) that record the history. */
  startClients(): void {
    const ctx: ClientContext = {
      queue: this.queue,
      nodes: this.nodes,
      history: this.history,
      keys: () => {
        const epoch = Math.floor(this.queue.now / 5000);
        return Array.from({ length: 20 }, (_, i) => `k${epoch}-${i}`);
      },
      timeoutMs: 2000,
      trace: (line: string) => this.trace(line),
      onBug: (error: Error) => {
        this.fatal ??= error;
      },
    };
    this.clientContext = ctx;
    for (let c = 1; c <= this.options.clients; c++) {
      const readRng = new Rng((this.options.seed * 7919 + c * 104_729) ^ 0x72656164);
      const client = new SimClient(c, ctx, this.rng.fork(), readRng);
      this.clients.push(client);
      this.clientRuns.push(client.run());
    }
    if (this.divergentAim !== null) {
      this.hold = new ClientHold({
        clients: this.clients,
        runs: this.clientRuns,
        quietElsewhere: () => this.lulls?.quiet ?? false,
        trace: (line) => this.trace(line),
      });
    }
  }

  // ---- faults -----------------------------------------------------------------------

  private async faultPhase(profile: FaultProfile): Promise<void> {
    this.network.conditions = { ...profile.conditions };
    this.tornP = profile.tornP;
    this.storeFaultsOn = true;
    this.startSteadyJudge(profile);
    this.startLulls(profile);
    const start = this.queue.now;
    const end = start + this.options.faultMs;
    const swarm = "weights" in profile ? (profile as SwarmProfile) : null;
    if (swarm?.weights["crash-on-vote"] !== undefined && this.voteRaceAim !== null)
      this.nextVoteRace(this.voteRaceAim, end);
    if (swarm !== null && this.options.schedule !== undefined) {
      for (const step of this.options.schedule) {
        await this.runUntil(Math.min(end, start + step.at));
        if (this.queue.now >= end) break;
        await this.injectScheduled(step, swarm, end);
      }
      await this.runUntil(end);
      return;
    }
    while (this.queue.now < end) {
      await this.runUntil(
        Math.min(end, this.queue.now + this.rng.between(0.2, 1.8) * profile.faultEveryMs),
      );
      if (this.queue.now >= end) break;
      if (swarm === null) this.inject(nextFault(this.rng, profile), profile);
      else {
        const step = {
          at: this.queue.now - start,
          fault: nextSwarmFault(this.rng, swarm),
          choices: this.rng.int(0x7fffffff),
        };
        await this.injectScheduled(step, swarm, end);
      }
    }
  }

  /**
   * Injects one step of a swarm schedule and records it. The step's own generator makes
   * every choice the fault needs (which node, how long), so a schedule with some steps
   * removed still replays the others the same way (shrinking, regression seeds).
   */
  private async injectScheduled(step: ScheduledFault, swarm: SwarmProfile, end: number) {
    this.injected.push(step);
    if (this.divergentAim !== null && this.staleTail !== null) {
      // The aim lets a stale-tail cut play out: no other fault heals or reshapes it.
      this.trace(`${step.fault.kind} skipped: a stale-tail cut is in force`);
      return;
    }
    if (this.queue.now < this.voteRaceUntil) {
      // A vote race plays out undisturbed: no other fault heals or reshapes it.
      this.trace(`${step.fault.kind} skipped: a vote race is in force`);
      return;
    }
    this.faultRng = new Rng(step.choices);
    try {
      await this.injectSwarm(step.fault, swarm, end);
    } finally {
      this.faultRng = this.rng;
    }
  }

  // ---- the swarm's faults (nemesis.ts#the-swarm) --------------------------------------

  /** Makes the choices of the fault being injected (the run's generator under v1). */
  private faultRng: Rng;
  /** The swarm faults injected so far (SimReport.schedule). */
  private readonly injected: ScheduledFault[] = [];
  /** Bumped by heal(): faults scheduled before it (auto-heals, armed crashes) lapse. */
  private faultEpoch = 0;
  /** Bumped by every partition, so an auto-heal only undoes its own partition. */
  private partitionGeneration = 0;
  /** Nodes whose disk failpoints the swarm armed (disarmed by heal()). */
  private readonly armed = new Set<SimNode>();

  /** The swarm profile of this run (null under v1). */
  private swarmProfileInUse: SwarmProfile | null = null;

  /** The node that currently leads (the highest term among live leaders), if any. */
  currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.nodes) {
      const s = n.current?.alive ? n.current.node.status() : undefined;
      if (s?.role === "leader" && s.term > bestTerm) {
        best = n;
        bestTerm = s.term;
      }
    }
    return best;
  }

  /** Runs `fn` after `ms` unless heal() ran meanwhile. */
  private later(ms: number, fn: () => void): void {
    const epoch = this.faultEpoch;
    this.queue.after(ms, () => {
      if (epoch === this.faultEpoch) fn();
    });
  }

  /** Heals the links after `ms` if no other partition replaced this one meanwhile. */
  private healLinksAfter(ms: number): void {
    const generation = this.partitionGeneration;
    this.later(ms, () => {
      if (generation !== this.partitionGeneration) return;
      this.network.healLinks();
      this.trace("partition healed");
    });
  }

  private restartDelay(profile: SwarmProfile, rng: Rng = this.faultRng): number {
    return rng.between(profile.restartMs[0], profile.restartMs[1]);
  }

  /** Applies one swarm fault; some play out over time (until the fault phase's `end`). */
  async injectSwarm(fault: SwarmFault, profile: SwarmProfile, end: number): Promise<void> {
    switch (fault.kind) {
      case "heal":
      case "pause":
        this.inject(fault, profile);
        return;
      case "crash": {
        this.faults++;
        const up = this.nodes.filter((n) => n.isUp());
        const leader = this.currentLeader();
        const targets =
          fault.target === "all"
            ? up
            : [fault.target === "leader" && leader ? leader : this.faultRng.pick(this.nodes)];
        for (const n of targets) this.crash(n, profile.tornP, this.restartDelay(profile));
        return;
      }
      case "partition":
        this.inject(fault, profile);
        if (fault.healAfterMs !== undefined) this.healLinksAfter(fault.healAfterMs);
        return;
      case "minority-leader":
        this.minorityLeader(fault, profile);
        return;
      case "leader-churn":
        await this.leaderChurn(fault, end);
        return;
      case "partition-after-burst":
        await this.partitionAfterBurst(fault, end);
        return;
      case "leader-trap":
        this.setTrap(fault, profile);
        return;
      case "crash-after-sync":
        this.crashAfterSync(fault.target, profile);
        return;
      case "crash-on-vote":
        this.crashOnVote(profile);
        return;
      case "membership":
        this.faults++;
        await this.enableMembership().inject(fault, this.faultRng, end);
        return;
      case "cut-after-commit":
        await this.cutAfterCommit(fault, end);
        return;
      case "stale-tail-snapshot":
        this.staleTailSnapshot(fault);
        return;
      case "weather":
        this.faults++;
        this.network.conditions = { ...fault.conditions };
        this.trace(`weather ${JSON.stringify(fault.conditions)}`);
        return;
    }
  }

  /**
   * The leader keeps a minority (itself, plus followers short of a majority) and goes on
   * taking writes it cannot commit; after a while it crashes or just stays cut off while
   * the majority elects a new leader. Its uncommitted tail sits on some disks while the
   * term moves on: the Figure 8 setup.
   */
  private minorityLeader(
    fault: Extract<SwarmFault, { kind: "minority-leader" }>,
    profile: SwarmProfile,
  ): void {
    const leader = this.currentLeader();
    if (leader === undefined) return;
    this.faults++;
    const ids = this.nodes.map((n) => n.id);
    const others = ids.filter((i) => i !== leader.id).sort(() => this.faultRng.float() - 0.5);
    // Followers kept with it: at most majority - 2, so the group stays a minority.
    const keep = this.faultRng.int(Math.floor(this.nodes.length / 2));
    const minority = [leader.id, ...others.slice(0, keep)];
    this.network.healLinks();
    this.partitionGeneration++;
    this.network.separate(
      minority,
      ids.filter((i) => !minority.includes(i)),
    );
    this.trace(`minority leader n${leader.id} with [${minority.join(",")}], then ${fault.outcome}`);
    const rng = this.faultRng;
    this.later(fault.afterMs, () => {
      if (fault.outcome === "crash") {
        for (const id of minority) {
          if (id === leader.id || rng.chance(0.5))
            this.crash(this.node(id), profile.tornP, this.restartDelay(profile, rng));
        }
      }
    });
    this.healLinksAfter(fault.afterMs + fault.healAfterMs);
  }

  /** A stale-tail-snapshot in force: the cut leader and its partition, until it heals. */
  private staleTail: {
    readonly old: SimNode;
    readonly generation: number;
    readonly until: number;
  } | null = null;

  /** Cuts the leader off alone (see SwarmFault "stale-tail-snapshot"). */
  private staleTailSnapshot(fault: Extract<SwarmFault, { kind: "stale-tail-snapshot" }>): void {
    const leader = this.currentLeader();
    if (leader === undefined) return;
    this.faults++;
    this.network.healLinks();
    this.partitionGeneration++;
    this.network.separate(
      [leader.id],
      this.nodes.map((n) => n.id).filter((i) => i !== leader.id),
    );
    this.trace(`stale tail: cut leader n${leader.id} for up to ${fault.isolateMs.toFixed(0)} ms`);
    this.staleTail = {
      old: leader,
      generation: this.partitionGeneration,
      until: this.queue.now + fault.isolateMs,
    };
    this.healLinksAfter(fault.isolateMs);
  }

  /**
   * Heals a stale-tail cut early, the moment a newer leader's log is compacted past an
   * entry the cut node holds in another term (so it must be sent a snapshot) while the
   * newer leader's applied index, where that snapshot will end, falls on the cut node's
   * divergent tail.
   */
  private healOverStaleTail(cut: NonNullable<typeof this.staleTail>): void {
    if (this.queue.now > cut.until || this.partitionGeneration !== cut.generation) {
      this.staleTail = null;
      this.hold?.release();
      return;
    }
    const leader = this.currentLeader();
    const core = leader?.current?.node;
    if (leader === undefined || leader === cut.old || core === undefined) return;
    this.hold?.hold(`n${leader.id} leads over n${cut.old.id}'s stale tail`);
    const s = core.status();
    const disk = cut.old.disk;
    const at = (index: number) => disk.entryAt(index)?.term;
    const mustSnapshot = s.compacted.index > 0 && at(s.compacted.index) !== s.compacted.term;
    // Where the snapshot will end: LMDB mode streams the store as it is (its applied
    // index); the memory store sends the newest one captured.
    const end = this.lmdb !== null ? s.applied : (leader.disk.snapshot?.meta.index ?? 0);
    const tailTerm = at(end);
    if (!mustSnapshot || tailTerm === undefined || tailTerm === core.termAt(end)) return;
    this.staleTail = null;
    this.partitionGeneration++;
    this.network.healLinks();
    const aim = this.divergentAim;
    if (aim !== null) {
      // Resume once the snapshot is on its way (unless another stale-tail cut holds them).
      this.later(aim.rng.between(...aim.resumeMs), () => {
        if (this.staleTail === null) this.hold?.release();
      });
    }
    this.trace(
      `stale tail: heal; n${leader.id} (compacted ${s.compacted.index}, snapshot to end at ${end}) must snapshot over n${cut.old.id}'s tail (last ${disk.lastIndex()})`,
    );
  }

  /** After a cut-after-commit, the cut leader and its term, until the cut heals. */
  private probe: { readonly old: SimNode; readonly term: number; readonly until: number } | null =
    null;
  /** Clients made for reads at a new leader so far (their ids start at 1001). */
  private probeClients = 0;
  /** The probe clients' generator (own stream: other draws stay as they were). */
  private readonly probeRng: Rng;
  /** What the clients share (null before startClients). */
  private clientContext: ClientContext | null = null;

  /** The leader trap in force, if any (see SwarmFault "leader-trap"). */
  private trap: {
    readonly fault: Extract<SwarmFault, { kind: "leader-trap" }>;
    readonly profile: SwarmProfile;
    readonly rng: Rng;
    readonly until: number;
    /** Leaders already caught, as "id@term". */
    readonly caught: Set<string>;
  } | null = null;

  private setTrap(fault: Extract<SwarmFault, { kind: "leader-trap" }>, profile: SwarmProfile) {
    this.faults++;
    const caught = new Set<string>();
    // The leader of the moment is not the trap's: it catches the ones elected from now on.
    for (const n of this.nodes) {
      const s = n.current?.alive ? n.current.node.status() : undefined;
      if (s?.role === "leader") caught.add(`${n.id}@${s.term}`);
    }
    this.trap = {
      fault,
      profile,
      rng: this.faultRng,
      until: this.queue.now + fault.windowMs,
      caught,
    };
    this.trace(
      `leader trap for ${fault.windowMs.toFixed(0)} ms: ${fault.action} each new leader after ${fault.delayMs.toFixed(1)} ms`,
    );
  }

  /** Catches a newly elected leader while a trap is in force. */
  private springTrap(trap: NonNullable<typeof this.trap>): void {
    if (this.queue.now > trap.until) {
      this.trap = null;
      return;
    }
    for (const n of this.nodes) {
      const s = n.current?.alive ? n.current.node.status() : undefined;
      if (s?.role !== "leader") continue;
      const key = `${n.id}@${s.term}`;
      if (trap.caught.has(key)) continue;
      trap.caught.add(key);
      const { fault, profile, rng } = trap;
      this.later(fault.delayMs, () => {
        const now = n.current?.alive ? n.current.node.status() : undefined;
        if (now?.role !== "leader" || now.term !== s.term) return;
        this.trace(`trap: ${fault.action} new leader n${n.id}@${s.term}`);
        if (fault.action === "crash") {
          this.crash(n, profile.tornP, this.restartDelay(profile, rng));
          return;
        }
        this.network.healLinks();
        this.partitionGeneration++;
        this.network.separate(
          [n.id],
          this.nodes.map((m) => m.id).filter((i) => i !== n.id),
        );
        this.healLinksAfter(fault.isolateMs);
      });
    }
  }

  /** Isolates whoever leads, round after round: terms advance over old uncommitted tails. */
  private async leaderChurn(
    fault: Extract<SwarmFault, { kind: "leader-churn" }>,
    end: number,
  ): Promise<void> {
    this.faults++;
    for (let round = 0; round < fault.rounds && this.queue.now < end; round++) {
      const leader = this.currentLeader();
      if (leader !== undefined) {
        this.network.healLinks();
        this.partitionGeneration++;
        this.network.separate(
          [leader.id],
          this.nodes.map((n) => n.id).filter((i) => i !== leader.id),
        );
        this.trace(`churn ${round + 1}/${fault.rounds}: isolate leader n${leader.id}`);
      }
      await this.runUntil(Math.min(end, this.queue.now + fault.isolateMs));
      this.network.healLinks();
      await this.runUntil(Math.min(end, this.queue.now + fault.gapMs));
    }
  }

  /** Waits (up to 1 s) for the leader to hold uncommitted entries, then partitions at once. */
  private async partitionAfterBurst(
    fault: Extract<SwarmFault, { kind: "partition-after-burst" }>,
    end: number,
  ): Promise<void> {
    const deadline = Math.min(end, this.queue.now + 1000);
    for (;;) {
      const leader = this.currentLeader();
      const s = leader?.current?.node.status();
      if (leader !== undefined && s !== undefined && s.lastIndex > s.commit) {
        this.faults++;
        this.partition(fault.shape, leader.id);
        this.healLinksAfter(fault.healAfterMs);
        return;
      }
      if (this.queue.now >= deadline) return;
      await this.runUntil(this.queue.now + 0.5);
    }
  }

  /**
   * Waits (up to 1 s) until the leader has applied entries that no other live node knows
   * are committed (its clients were answered, its commit notices are still on the wire),
   * then cuts it off at once: the notices in flight are lost, and the others elect a
   * leader whose commit index lags acknowledged writes.
   */
  private async cutAfterCommit(
    fault: Extract<SwarmFault, { kind: "cut-after-commit" }>,
    end: number,
  ): Promise<void> {
    const deadline = Math.min(end, this.queue.now + 1000);
    for (;;) {
      const leader = this.currentLeader();
      const s = leader?.current?.node.status();
      if (leader !== undefined && s !== undefined) {
        let known = 0;
        for (const n of this.nodes) {
          if (n === leader || !n.isUp()) continue;
          known = Math.max(known, n.current?.node.status().commit ?? 0);
        }
        if (s.applied > known) {
          this.faults++;
          this.network.healLinks();
          this.partitionGeneration++;
          this.network.separate(
            [leader.id],
            this.nodes.map((n) => n.id).filter((i) => i !== leader.id),
          );
          this.trace(
            `cut leader n${leader.id} (applied ${s.applied}, others know commit ${known}) for ${fault.isolateMs.toFixed(0)} ms`,
          );
          this.healLinksAfter(fault.isolateMs);
          this.probe = { old: leader, term: s.term, until: this.queue.now + fault.isolateMs };
          return;
        }
      }
      if (this.queue.now >= deadline) return;
      await this.runUntil(this.queue.now + 0.5);
    }
  }

  /**
   * After a cut-after-commit: the first leader elected past the cut leader's term gets a
   * read of every current key, from clients of their own, the moment it wins (clients
   * that failed over and read at once). Its commit index lags writes already answered, so
   * only the wait for its first commit in its term keeps these reads from missing them.
   */
  private springProbe(probe: NonNullable<typeof this.probe>): void {
    if (this.queue.now > probe.until) {
      this.probe = null;
      return;
    }
    const leader = this.currentLeader();
    const s = leader?.current?.node.status();
    const ctx = this.clientContext;
    if (leader === undefined || leader === probe.old || s === undefined || s.term <= probe.term)
      return;
    this.probe = null;
    if (ctx === null) return;
    const keys = ctx.keys();
    this.trace(`n${leader.id} leads in term ${s.term}: ${keys.length} reads at it at once`);
    for (const key of keys) {
      const id = 1000 + ++this.probeClients;
      void new SimClient(id, ctx, this.probeRng).readOnce(key, leader.id);
    }
  }

  /** Arms a crash of a node for the moment its next write is durable, before it acts on it. */
  private crashAfterSync(target: "leader" | "random" | "follower", profile: SwarmProfile): void {
    const leader = this.currentLeader();
    const up = this.nodes.filter((n) => n.isUp());
    const followers = up.filter((n) => n !== leader);
    const n =
      target === "leader" && leader
        ? leader
        : target === "follower" && followers.length > 0
          ? this.faultRng.pick(followers)
          : this.faultRng.pick(this.nodes);
    this.faults++;
    this.armed.add(n);
    const epoch = this.faultEpoch;
    const rng = this.faultRng;
    if (rng.chance(0.5)) {
      // The blob store's fsync instead: crash while the node's next blob sync is in
      // flight (its chunk writes still in the page cache, the WAL not yet written).
      n.blobs.onSyncStart = () => {
        n.blobs.onSyncStart = null;
        // Outside the node's own call stack, before the sync can complete.
        this.queue.after(0, () => {
          if (epoch !== this.faultEpoch) return;
          this.trace(`n${n.id}: crash during a blob sync`);
          this.crash(n, profile.tornP, this.restartDelay(profile, rng));
        });
      };
      this.trace(`armed: crash n${n.id} during its next blob sync`);
      return;
    }
    n.disk.onDurable = () => {
      n.disk.onDurable = null;
      if (epoch !== this.faultEpoch) return;
      this.trace(`n${n.id}: crash right after a sync`);
      this.crash(n, profile.tornP, this.restartDelay(profile, rng));
    };
    this.trace(`armed: crash n${n.id} after its next sync`);
  }

  /** Arms a crash of a node for the moment it starts saving a new term or vote. */
  private crashOnVote(profile: SwarmProfile): void {
    const n = this.faultRng.pick(this.nodes);
    this.faults++;
    this.armed.add(n);
    const epoch = this.faultEpoch;
    const rng = this.faultRng;
    n.disk.onVoteInFlight = () => {
      n.disk.onVoteInFlight = null;
      if (epoch !== this.faultEpoch) return;
      this.trace(`n${n.id}: crash while saving a new term or vote`);
      this.crash(n, profile.tornP, this.restartDelay(profile, rng));
    };
    this.trace(`armed: crash n${n.id} on its next term or vote change`);
  }

  /** Schedules the aim's next vote race, if it starts before the fault phase ends. */
  private nextVoteRace(aim: VoteRaceAim, end: number): void {
    const at = this.queue.now + aim.rng.between(...aim.gapMs);
    if (at >= end) return;
    const rng = aim.rng.fork();
    this.later(at - this.queue.now, () => {
      const ms = this.voteRace(aim, rng);
      this.later(ms ?? 0, () => this.nextVoteRace(aim, end));
    });
  }

  /**
   * Sets up a vote race (vote-race.ts): a blackout, then a voter bridging two sides that
   * cannot reach each other, crashed as it starts saving a vote and cut off from the
   * side it voted for. Returns how long it lasts (null: the running members cannot make
   * that shape).
   */
  private voteRace(aim: VoteRaceAim, rng: Rng): number | null {
    const members = this.nodes.filter((n) => !this.gone.has(n.id));
    const up = members
      .filter((n) => n.isUp() && n.current?.paused !== true)
      .map((n) => {
        const lastIndex = n.disk.lastIndex();
        return { id: n.id, lastIndex, lastTerm: n.disk.entryAt(lastIndex)?.term ?? 0 };
      });
    const plan = planRace(up, members.length, rng);
    if (plan === null) return null;
    this.faults++;
    this.voteRaces.races++;
    const ids = members.map((n) => n.id);
    const [left, right] = plan.sides;
    const blackoutMs = rng.between(...aim.blackoutMs);
    const bridgeMs = rng.between(...aim.bridgeMs);
    this.voteRaceUntil = this.queue.now + blackoutMs + bridgeMs;
    this.network.healLinks();
    this.partitionGeneration++;
    const generation = this.partitionGeneration;
    this.network.onlyLinks(ids, []);
    this.trace(
      `vote race: blackout ${blackoutMs.toFixed(0)} ms, then n${plan.voter} bridges [${left.join(",")}] and [${right.join(",")}]`,
    );
    this.later(blackoutMs, () => {
      if (generation !== this.partitionGeneration) return;
      this.network.onlyLinks(
        ids,
        [...ids.filter((i) => i !== plan.voter)].map((i) => [plan.voter, i] as const),
      );
      this.network.muteCampaigns(plan.voter);
      const voter = this.node(plan.voter);
      this.armed.add(voter);
      const epoch = this.faultEpoch;
      voter.disk.onVoteInFlight = (saving) => {
        const side = left.includes(saving.vote) ? left : right.includes(saving.vote) ? right : null;
        if (side === null || epoch !== this.faultEpoch) return;
        voter.disk.onVoteInFlight = null;
        this.voteRaces.crashes++;
        this.trace(
          `vote race: n${plan.voter} crashes saving its vote for n${saving.vote} (term ${saving.term})`,
        );
        // No torn write: the race is about the vote's own sync (which may still land).
        this.crash(voter, 0, rng.between(...aim.restartMs));
        // One way: the answer it sent must still arrive; the side's news of the new term not.
        if (generation === this.partitionGeneration)
          for (const id of side) this.network.cutLink(id, plan.voter);
      };
      this.later(bridgeMs, () => {
        voter.disk.onVoteInFlight = null;
        if (generation !== this.partitionGeneration) return;
        this.network.healLinks();
        this.trace("vote race over: every link healed");
      });
    });
    return blackoutMs + bridgeMs;
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
            : [fault.target === "leader" && leader ? leader : this.faultRng.pick(this.nodes)];
        for (const n of targets) this.crash(n, profile.tornP, this.faultRng.between(100, 5000));
        return;
      }
      case "pause": {
        const n = fault.target === "leader" && leader ? leader : this.faultRng.pick(this.nodes);
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
    this.checkBlobs(`n${n.id} crashed`);
    // A crash is where a committed entry that was never durable on a majority is lost
    // (v1 replays old seeds with the checks they were recorded under).
    if (this.options.nemesis !== "v1") this.checker.checkCommittedSurvive();
    this.restartPending.add(n.id);
    this.queue.after(restartAfterMs, () => this.restart(n));
  }

  private restart(n: SimNode): void {
    if (n.isUp() || !this.restartPending.has(n.id) || this.gone.has(n.id)) return;
    this.restartPending.delete(n.id);
    this.trace(`restart n${n.id}`);
    this.startNode(n);
  }

  private partition(shape: string, leader: number | undefined): void {
    this.network.healLinks();
    this.partitionGeneration++;
    const ids = this.nodes.map((n) => n.id);
    const shuffled = [...ids].sort(() => this.faultRng.float() - 0.5);
    if (shape === "isolate-leader" && leader !== undefined) {
      this.network.separate(
        [leader],
        ids.filter((i) => i !== leader),
      );
    } else if (shape === "one-way") {
      const from = this.faultRng.pick(ids);
      for (const to of ids)
        if (to !== from && this.faultRng.chance(0.6)) this.network.cutLink(from, to);
    } else if (shape === "bridge" && ids.length >= 3) {
      const [bridge, ...rest] = shuffled;
      const half = Math.floor(rest.length / 2);
      this.network.separate(rest.slice(0, half), rest.slice(half));
      void bridge;
    } else {
      const half = 1 + this.faultRng.int(ids.length - 1);
      this.network.separate(shuffled.slice(0, half), shuffled.slice(half));
    }
    this.trace(
      `partition ${shape}: cut ${ids.flatMap((a) => ids.filter((b) => this.network.isCut(a, b)).map((b) => `${a}>${b}`)).join(" ")}`,
    );
  }

  /** Ends all faults: links healed, conditions healthy, every node up and running. */
  heal(): void {
    this.lulls?.stop();
    this.lulls = null;
    this.hold?.stop();
    if (this.steady !== null) {
      this.steady.close();
      this.steadyStats = { windows: this.steady.windows, longestMs: this.steady.longestMs };
      this.trace(
        `steady-leader judge: ${this.steady.windows} windows, longest ${this.steady.longestMs.toFixed(0)} ms`,
      );
      this.steady = null;
    }
    this.storeFaultsOn = false;
    this.faultEpoch++;
    this.trap = null;
    for (const n of this.armed) {
      n.blobs.onSyncStart = null;
      n.disk.onDurable = null;
      n.disk.onVoteInFlight = null;
    }
    this.armed.clear();
    this.network.healLinks();
    this.network.dropInFlight();
    this.network.conditions = { ...HEALTHY };
    for (const n of this.nodes) {
      if (this.gone.has(n.id)) continue;
      if (!n.isUp()) {
        this.restartPending.add(n.id);
        this.restart(n);
      } else if (n.current?.paused) n.current.resume();
    }
    this.trace("heal everything");
  }

  // ---- liveness and convergence -----------------------------------------------------

  /** Starts the seed's client lulls, if it draws them (swarm only). */
  private startLulls(profile: FaultProfile): void {
    if (this.options.lulls === false || !("weights" in profile) || this.options.profile) return;
    const shape = drawLulls(this.options.seed);
    if (shape === null) return;
    this.lulls = new ClientLulls(
      this.options.seed,
      {
        queue: this.queue,
        clients: this.clients,
        runs: this.clientRuns,
        trace: (line) => this.trace(line),
        heldElsewhere: () => this.hold?.held ?? false,
        cutFromLeader: (choice, ms) => {
          const leader = this.currentLeader();
          if (leader === undefined) return;
          const others = this.nodes.filter((n) => n !== leader && n.isUp());
          const follower = new Rng(choice).pick(others.length > 0 ? others : this.nodes);
          if (follower === leader) return;
          this.network.healLinks();
          this.partitionGeneration++;
          this.network.cutLink(leader.id, follower.id);
          this.network.cutLink(follower.id, leader.id);
          this.trace(`lull: cut leader n${leader.id} from n${follower.id} for ${ms.toFixed(0)} ms`);
          this.healLinksAfter(ms);
        },
      },
      shape,
    );
    this.lulls.start();
  }

  /** Turns the fault phase's liveness judge on (swarm runs with pre-vote and check-quorum). */
  private startSteadyJudge(profile: FaultProfile): void {
    const o = this.options;
    const on =
      o.steadyLeader ?? ("weights" in profile && o.preVote !== false && o.checkQuorum !== false);
    if (on) this.judgeSteadyLeader();
  }

  /**
   * Starts the fault-phase liveness judge now (scenarios drive it by hand; the swarm starts
   * it with the fault phase); after every event it throws on a violation. Returns it.
   */
  judgeSteadyLeader(): SteadyLeaderJudge {
    this.steady = new SteadyLeaderJudge({
      now: () => this.queue.now,
      nodes: this.nodes,
      gone: this.gone,
      voters: () => {
        const c = this.checker.latestConfig();
        return { ids: new Set(voterIds(c.membership)), key: String(c.index) };
      },
      isCut: (from, to) => this.network.isCut(from, to),
      conditions: () => this.network.conditions,
    });
    return this.steady;
  }

  /** The leader a majority of the voters (of the newest committed configuration) follows, if any. */
  stableLeader(): number | undefined {
    const voters = new Set(voterIds(this.checker.latestConfig().membership));
    for (const n of this.nodes) {
      const raft = n.current?.alive ? n.current.node.status() : undefined;
      if (raft?.role !== "leader") continue;
      const followers = this.nodes.filter(
        (m) =>
          voters.has(m.id) &&
          m.current?.alive &&
          m.current.node.status().leader === n.id &&
          m.current.node.status().term === raft.term,
      );
      if (followers.length > voters.size / 2) return n.id;
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
    try {
      await this.waitFor("replicas converging", 5000, () => this.converged());
    } catch (error) {
      throw this.lmdb === null
        ? error
        : new Error(`${(error as Error).message}; ${this.twinReport()}`);
    }
  }

  /** LMDB mode: which stores differ from the memory twin at their own applied index. */
  private twinReport(): string {
    const lmdb = this.lmdb as SimLmdb;
    const lines = this.nodes.map((n) => {
      const fsm = n.current?.fsm;
      if (fsm === undefined) return `n${n.id} down`;
      const same = fsm.digest() === lmdb.twinDigest(fsm.appliedIndex);
      return `n${n.id} at ${fsm.appliedIndex} ${same ? "equals" : "DIFFERS from"} its memory twin`;
    });
    return lines.join(", ");
  }

  /** All members applied the same index and hold identical state. */
  converged(): boolean {
    const members = new Set(this.memberIds());
    const fsms = this.nodes.filter((n) => members.has(n.id)).map((n) => n.current?.fsm);
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
      followerReads: this.clients.reduce((n, c) => n + c.followerReads, 0),
      faults: this.faults,
      maxTerm,
      ...(this.lmdb !== null ? { lmdb: this.lmdbSummary() } : {}),
      schedule: [...this.injected],
      ...(this.membership !== null ? { membership: this.membership.summary() } : {}),
    };
  }

  /** LMDB mode: steps reached, crashes at them, what crashes kept, entries replayed. */
  private lmdbSummary(): string {
    const l = this.lmdb as SimLmdb;
    const steps = Object.entries(l.stepCounts)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    const crashes = [...this.storeCrashes].map(([k, v]) => `${k}=${v}`).join(" ") || "none";
    return `steps reached: ${steps} | crashes at steps: ${crashes} | crashes kept floor=${l.kept.floor} latest=${l.kept.latest} reapplied=${l.reapplied} divergent installs=${this.divergentInstalls} io=${this.io.done}`;
  }
}
