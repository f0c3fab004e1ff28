/**
 * Fakes of the event loop's own interfaces (src/server/loop/ports.ts): a scripted core
 * that hands out the Readys a test wrote, a WAL whose fsyncs the test resolves by hand, a
 * transport and a state machine that record what they were given, and a clock whose
 * deferred calls and timers run only when the test says so. Everything records into one
 * shared event list, so a test asserts the order in which things happened.
 */
import type { ApplyResult } from "../../../src/fsm/index.ts";
import {
  type Entry,
  EntryKind,
  type HardState,
  type Message,
  NotLeaderError,
  type ProposalPosition,
  type ReadState,
  type Ready,
  type Role,
  type SoftState,
  type Status,
  votersOnly,
} from "../../../src/raft/index.ts";
import {
  type LogWriter,
  type LoopClock,
  type LoopCore,
  type LoopStateMachine,
  RaftLoop,
  type RaftLoopDeps,
} from "../../../src/server/raft-loop.ts";

/** One event list shared by every fake. */
export type Events = string[];

/** A core that returns the Readys a test queued, and records what the loop did to it. */
export class ScriptedCore implements LoopCore {
  readonly readys: Ready[] = [];
  role: Role = "follower";
  term = 1;
  /** Where the next proposals land (index of the first one). */
  nextIndex = 1;
  readContexts: number[] = [];

  constructor(private readonly events: Events) {}

  tick(): void {}
  step(): void {}
  reportSnapshot(): void {}
  snapshotTaken(): void {}
  compact(): void {}
  termAt(): number | undefined {
    return this.term;
  }
  entryAt(): Entry | undefined {
    return undefined;
  }
  pendingSnapshot(): null {
    return null;
  }

  propose(commands: readonly Uint8Array[]): ProposalPosition[] {
    if (this.role !== "leader") throw new NotLeaderError(0);
    this.events.push(`propose:${commands.length}`);
    return commands.map(() => ({ index: this.nextIndex++, term: this.term }));
  }

  proposeMembership(): ProposalPosition {
    if (this.role !== "leader") throw new NotLeaderError(0);
    this.events.push("proposeMembership");
    return { index: this.nextIndex++, term: this.term };
  }

  transferLeadership(to = 0): number {
    if (this.role !== "leader") throw new NotLeaderError(0);
    this.events.push(`transfer:${to}`);
    return to === 0 ? 2 : to;
  }

  readIndex(context: number): void {
    if (this.role !== "leader") throw new NotLeaderError(0);
    this.readContexts.push(context);
  }

  softState(): SoftState {
    return { role: this.role, leader: this.role === "leader" ? 1 : 0, term: this.term };
  }

  status(): Status {
    return {
      id: 1,
      term: this.term,
      vote: 0,
      role: this.role,
      leader: 0,
      commit: 0,
      applied: 0,
      firstIndex: 1,
      lastIndex: 0,
      stableIndex: 0,
      compacted: { index: 0, term: 0 },
      progress: new Map(),
      membership: { index: 0, membership: votersOnly([1]) },
      pendingConfig: 0,
      transferee: 0,
    };
  }

  hasReady(): boolean {
    return this.readys.length > 0;
  }

  ready(): Ready {
    return this.readys.shift() as Ready;
  }

  advance(): void {
    this.events.push("advance");
  }
}

/** A WAL whose writes stay in flight until the test settles them. */
export class ManualWal implements LogWriter {
  private pending: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(private readonly events: Events) {}

  save(entries: readonly Entry[], hardState: HardState | null): Promise<void> {
    const what = `${entries.map((e) => e.index).join(",")}${hardState ? ` hs=${hardState.term}/${hardState.vote}` : ""}`;
    this.events.push(`save:${what}`);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  get inFlight(): number {
    return this.pending.length;
  }

  /** The oldest write's fsync returns. */
  sync(): void {
    const w = this.pending.shift();
    if (w === undefined) throw new Error("no write in flight");
    this.events.push("synced");
    w.resolve();
  }

  /** The oldest write fails. */
  fail(error: Error): void {
    const w = this.pending.shift();
    if (w === undefined) throw new Error("no write in flight");
    w.reject(error);
  }
}

/** A state machine that records what it applied. */
export class RecordingFsm implements LoopStateMachine {
  appliedIndex = 0;

  constructor(private readonly events: Events) {}

  applyEntries(entries: readonly Entry[]): ApplyResult[] {
    this.events.push(`apply:${entries.map((e) => e.index).join(",")}`);
    this.appliedIndex = entries[entries.length - 1]?.index ?? this.appliedIndex;
    return entries.map((e) => ({ kind: "put", version: 1, index: e.index }));
  }
}

/** A clock whose deferred calls and timers run only when the test asks. */
export class ManualClock implements LoopClock {
  time = 0;
  private deferred: (() => void)[] = [];
  private timers = new Set<{ ms: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  every(ms: number, fn: () => void): () => void {
    const timer = { ms, fn };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  /** Fires every timer of period `ms` once. */
  fire(ms: number): void {
    for (const t of [...this.timers]) if (t.ms === ms) t.fn();
  }

  /** Runs deferred calls and lets promise continuations run until nothing is left. */
  async settle(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const fns = this.deferred;
      this.deferred = [];
      for (const fn of fns) fn();
      if (fns.length === 0) return;
    }
  }
}

/** Everything a loop test needs, wired to a real RaftLoop. */
export interface Harness {
  readonly events: Events;
  readonly core: ScriptedCore;
  readonly wal: ManualWal;
  readonly fsm: RecordingFsm;
  readonly clock: ManualClock;
  readonly loop: RaftLoop;
  readonly fatal: Error[];
  /** Any input that makes the loop drain again (so it picks up newly queued Readys). */
  wake(): void;
}

/** Tick period of the harness's loop. */
export const TICK_MS = 100;

/** A started loop over fakes; `recovered` is the hard state on disk at start. */
export function harness(
  recovered: HardState = { term: 1, vote: 1, commit: 0 },
  extra: Partial<RaftLoopDeps> = {},
): Harness {
  const events: Events = [];
  const core = new ScriptedCore(events);
  const wal = new ManualWal(events);
  const fsm = new RecordingFsm(events);
  const clock = new ManualClock();
  const fatal: Error[] = [];
  const loop = new RaftLoop(
    {
      node: core,
      wal,
      transport: {
        send: (ms) => {
          if (ms.length > 0) events.push(`send:${ms.map(describe).join(",")}`);
        },
      },
      fsm,
      tickMs: TICK_MS,
      clock,
      logger: { info: () => {} },
      addressOf: () => undefined,
      onFatal: (error) => fatal.push(error),
      ...extra,
    },
    recovered,
  );
  loop.start();
  return { events, core, wal, fsm, clock, loop, fatal, wake: () => loop.deliver([]) };
}

/** A message as the event list shows it: type, and entry count for appends. */
function describe(m: Message): string {
  return m.type === "append" ? `append(${m.entries.length})` : m.type;
}

/** A Ready with only the given parts (softState from `role`, term 1 unless given). */
export function readyOf(
  role: Role,
  parts: Partial<Omit<Ready, "softState">> & { term?: number } = {},
): Ready {
  const { term, ...rest } = parts;
  return {
    softState: { role, leader: role === "leader" ? 1 : 0, term: term ?? 1 },
    membership: null,
    snapshot: null,
    hardState: null,
    entries: [],
    messages: [],
    committedEntries: [],
    readStates: [] as ReadState[],
    ...rest,
  };
}

/** Entry `index` of term `term`. */
export function entry(index: number, term = 1): Entry {
  return { index, term, kind: EntryKind.Normal, data: new Uint8Array([index]) };
}

/** Message builders (from node 1 unless said). */
export const msg = {
  append: (entries: Entry[], from = 1, to = 2): Message => ({
    type: "append",
    from,
    to,
    term: 1,
    prevIndex: 0,
    prevTerm: 0,
    entries,
    commit: 0,
  }),
  heartbeat: (from = 1, to = 2): Message => ({
    type: "heartbeat",
    from,
    to,
    term: 1,
    commit: 0,
    context: 0,
  }),
  appendResp: (index: number, from = 2, to = 1): Message => ({
    type: "appendResp",
    from,
    to,
    term: 1,
    reject: false,
    index,
    rejectHint: 0,
    hintTerm: 0,
  }),
  voteResp: (term: number, from = 2, to = 1): Message => ({
    type: "voteResp",
    from,
    to,
    term,
    reject: false,
  }),
};
