/**
 * A checked workload against a live cluster, shared by the fault harness (test/chaos)
 * and `dfs verify`: concurrent workers, each with its own client, put / get / delete /
 * compare-and-set on a small rotating set of keys, plus one reader bound to each node
 * (workload-pinned.ts), all recording one history; afterwards every written key is read
 * back and the history goes through the linearizability checker (workload-check.ts).
 *
 * Short per-operation deadlines turn faults into indeterminate operations instead of
 * stalls; fresh keys every few seconds keep each key's history short enough to check.
 */
import { DfsClient } from "../client/index.ts";
import type { KvInput, KvOutput } from "./kv-model.ts";
import { executeOp, type WorkloadClient } from "./workload-ops.ts";
import {
  type NodeReader,
  PINNED_TIMEOUT_MS,
  PinnedReader,
  runPinnedReader,
} from "./workload-pinned.ts";
import { HistoryRecorder } from "./workload-record.ts";

/** Defaults, each chosen for the reason in its comment. */
export const WORKLOAD_DEFAULTS = {
  /** ≤ ~10 clients per key keep the search fast (docs/testing.md#linearizability-checker). */
  workers: 8,
  /** A paused or cut-off leader costs 2 s, then the op is indeterminate and the worker moves on. */
  opTimeoutMs: 2000,
  /** Enough keys that workers rarely queue on one, few enough that ops contend. */
  keysPerEpoch: 20,
  /** Fresh keys every 3 s: a few hundred ops per key at most, so each key checks fast. */
  epochMs: 3000,
  /** Keys live under this prefix plus a run id, so runs never touch user data or each other. */
  keyPrefix: "dfs-verify",
} as const;

/** Everything a workload needs; only `endpoints` is required. */
export interface WorkloadOptions {
  readonly endpoints: readonly string[];
  readonly workers?: number;
  readonly opTimeoutMs?: number;
  readonly keysPerEpoch?: number;
  readonly epochMs?: number;
  /** Include compare-and-set operations (needs a server that honours `ifVersion`). */
  readonly cas?: boolean;
  readonly keyPrefix?: string;
  /** Names this run's keys; random when absent. */
  readonly runId?: string;
  /** Source of randomness in [0, 1); a seeded one makes the op mix replayable. */
  readonly random?: () => number;
  /**
   * Also run one reader bound to each endpoint (see workload-pinned.ts): the only way a
   * stale read from a paused or cut-off old leader can reach the history.
   */
  readonly pinnedReaders?: boolean;
  /** Deadline of each bound read; longer than any fault holds a node. */
  readonly pinnedTimeoutMs?: number;
  /** Builds each worker's client; defaults to a {@link DfsClient}. */
  readonly clientFactory?: (endpoints: readonly string[], timeoutMs: number) => WorkloadClient;
  /** Builds each bound reader; defaults to a {@link PinnedReader}. */
  readonly readerFactory?: (endpoint: string, timeoutMs: number) => NodeReader;
}

/** An operation that returned an error nothing explains, kept for the report. */
export interface UnexpectedError {
  readonly at: number;
  readonly message: string;
}

/** Result of reading back every written key after the run. */
export interface ReadBackResult {
  readonly keys: number;
  /** Keys that got no definite answer before the deadline. */
  readonly unread: readonly string[];
}

/**
 * The workload. `start()` launches the workers; `stop()` lets every in-flight operation
 * finish (each has a deadline) and waits for the workers; then `finalWrite()` and
 * `readBack()` add their own recorded operations; `recorder.history()` is what to check.
 */
export class Workload {
  /** Every operation, with call/return times and per-second throughput. */
  readonly recorder = new HistoryRecorder();
  /** Names every key of this run: `<prefix>/<runId>/e<epoch>/k<i>`. */
  readonly runId: string;
  readonly unexpected: UnexpectedError[] = [];
  /** Bound reads refused (their node did not lead) or unanswered; not recorded. */
  unansweredPinned = 0;
  private readonly options: Required<Omit<WorkloadOptions, "runId">>;
  private readonly written = new Set<string>();
  private running = false;
  private workers: Promise<void>[] = [];
  private clientIds = 0;

  constructor(options: WorkloadOptions) {
    this.runId = options.runId ?? randomRunId();
    this.options = {
      endpoints: options.endpoints,
      workers: options.workers ?? WORKLOAD_DEFAULTS.workers,
      opTimeoutMs: options.opTimeoutMs ?? WORKLOAD_DEFAULTS.opTimeoutMs,
      keysPerEpoch: options.keysPerEpoch ?? WORKLOAD_DEFAULTS.keysPerEpoch,
      epochMs: options.epochMs ?? WORKLOAD_DEFAULTS.epochMs,
      cas: options.cas ?? true,
      keyPrefix: options.keyPrefix ?? WORKLOAD_DEFAULTS.keyPrefix,
      random: options.random ?? Math.random,
      pinnedReaders: options.pinnedReaders ?? true,
      pinnedTimeoutMs: options.pinnedTimeoutMs ?? PINNED_TIMEOUT_MS,
      clientFactory: options.clientFactory ?? defaultClient,
      readerFactory: options.readerFactory ?? ((e, t) => new PinnedReader(e, t)),
    };
  }

  /** Starts the workers; they run until {@link stop}. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (let w = 0; w < this.options.workers; w++) this.workers.push(this.runWorker());
    if (!this.options.pinnedReaders) return;
    for (const endpoint of this.options.endpoints) this.workers.push(this.runPinned(endpoint));
  }

  /** Stops issuing operations and resolves when every worker's last one has returned. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
  }

  /** Every key any write of this run was sent to (read back at the end). */
  writtenKeys(): string[] {
    return [...this.written].sort();
  }

  /**
   * Puts one fresh value under `<prefix>/<runId>/final` until a definite success or
   * `deadlineMs` passes; every attempt is recorded. Resolves to the milliseconds it took,
   * or undefined if no attempt succeeded.
   */
  async finalWrite(deadlineMs: number): Promise<number | undefined> {
    const key = `${this.keyRoot()}/final`;
    const started = this.recorder.now();
    return this.withClient(this.options.opTimeoutMs, async (client, id) => {
      for (let attempt = 1; this.recorder.now() - started < deadlineMs; attempt++) {
        const input: KvInput = { op: "put", value: `${this.runId}:final:${attempt}` };
        const output = await this.record(client, id, key, input);
        if (output !== undefined) return this.recorder.now() - started;
      }
      return undefined;
    });
  }

  /**
   * Reads every written key (linearizably, recorded), retrying each until a definite
   * answer or the deadline. Only a definite read counts: the checker then proves that
   * no acknowledged write was lost and no unacknowledged one appeared from nowhere.
   */
  async readBack(deadlineMs: number, parallel = this.options.workers): Promise<ReadBackResult> {
    const keys = this.writtenKeys();
    const queue = [...keys];
    const unread: string[] = [];
    const started = this.recorder.now();
    const reader = () =>
      this.withClient(this.options.opTimeoutMs, async (client, id) => {
        for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
          let done = false;
          while (!done && this.recorder.now() - started < deadlineMs) {
            done = (await this.record(client, id, key, { op: "get" })) !== undefined;
          }
          if (!done) unread.push(key);
        }
      });
    await Promise.all(Array.from({ length: Math.max(1, parallel) }, reader));
    return { keys: keys.length, unread: unread.sort() };
  }

  private async runWorker(): Promise<void> {
    await this.withClient(this.options.opTimeoutMs, async (client, id) => {
      const versions = new Map<string, number>();
      for (let seq = 1; this.running; seq++) {
        const key = this.pickKey();
        const input = this.nextInput(`${this.runId}:${id}:${seq}`, versions.get(key) ?? 0);
        const output = await this.record(client, id, key, input);
        if (output !== undefined) versions.set(key, learnedVersion(output, versions.get(key)));
      }
    });
  }

  private runPinned(endpoint: string): Promise<void> {
    return runPinnedReader({
      reader: this.options.readerFactory(endpoint, this.options.pinnedTimeoutMs),
      client: ++this.clientIds,
      recorder: this.recorder,
      running: () => this.running,
      pickKey: () => this.pickKey(),
      onUnanswered: () => {
        this.unansweredPinned++;
      },
      onUnexpected: (at, message) => this.unexpected.push({ at, message }),
    });
  }

  /** Runs one operation and records it; returns its output (undefined = indeterminate). */
  private async record(
    client: WorkloadClient,
    id: number,
    key: string,
    input: KvInput,
  ): Promise<KvOutput | undefined> {
    if (input.op !== "get") this.written.add(key);
    const pending = this.recorder.begin(id, key, input);
    const outcome = await executeOp(client, key, input);
    const output = outcome.kind === "definite" ? outcome.output : undefined;
    this.recorder.end(pending, output);
    if (outcome.kind === "indeterminate" && outcome.unexpected !== undefined) {
      this.unexpected.push({ at: pending.call, message: outcome.unexpected });
    }
    return output;
  }

  private async withClient<T>(
    timeoutMs: number,
    body: (client: WorkloadClient, id: number) => Promise<T>,
  ): Promise<T> {
    const id = ++this.clientIds;
    const client = this.options.clientFactory(this.options.endpoints, timeoutMs);
    try {
      return await body(client, id);
    } finally {
      client.close();
    }
  }

  private keyRoot(): string {
    return `${this.options.keyPrefix}/${this.runId}`;
  }

  private pickKey(): string {
    const epoch = Math.floor(this.recorder.now() / this.options.epochMs);
    const k = Math.floor(this.options.random() * this.options.keysPerEpoch);
    return `${this.keyRoot()}/e${epoch}/k${k}`;
  }

  /** 40% get, 10% delete, and the rest split between put and compare-and-set. */
  private nextInput(value: string, knownVersion: number): KvInput {
    const r = this.options.random();
    if (r < 0.4) return { op: "get" };
    if (r < 0.5) return { op: "delete" };
    if (this.options.cas && r < 0.75) {
      // Mostly the last version seen (may succeed), sometimes "must be absent".
      const expectedVersion = this.options.random() < 0.8 ? knownVersion : 0;
      return { op: "cas", expectedVersion, value };
    }
    return { op: "put", value };
  }
}

/** The version a key has after an answered operation, as far as this worker knows. */
function learnedVersion(output: KvOutput, previous = 0): number {
  if ("version" in output) return output.version;
  if ("found" in output || "existed" in output) return 0;
  return previous; // a failed compare-and-set: the version is something else, unknown
}

function defaultClient(endpoints: readonly string[], timeoutMs: number): WorkloadClient {
  return new DfsClient({ endpoints, timeoutMs });
}

/** A short random id, e.g. `r1x9k2q`, distinct across runs in practice. */
export function randomRunId(): string {
  return `r${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 6)}`;
}
