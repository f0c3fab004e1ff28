/**
 * Readers bound to one node, the way Jepsen binds its clients: each sends linearizable
 * gets to its own node only, one attempt each, with a deadline longer than any pause or
 * partition the harness injects, and keeps sending (open loop: a get every 100 ms,
 * answered or not). The client library moves on to the new leader within 2 s; a bound
 * reader keeps asking the old one, so gets sent to a paused or cut-off old leader AFTER
 * the new leader acknowledged writes are still waiting when it wakes up — exactly the
 * reads a server that skips ReadIndex would answer stale, and the checker can prove it.
 */
import type { DfsError } from "../api/index.ts";
import { ChannelPool, callUnary, type DfsClient, toDfsError } from "../client/index.ts";
import type { KvOutput } from "./kv-model.ts";
import type { HistoryRecorder } from "./workload-record.ts";

/**
 * Long enough to outlast every fault the harness holds on a node (pauses up to 7 s,
 * cuts up to 8 s), so a woken node's answer still reaches the reader.
 */
export const PINNED_TIMEOUT_MS = 10_000;

/** A bound reader sends a get this often, whether or not earlier ones were answered. */
export const PINNED_EVERY_MS = 100;

/** Most gets one bound reader keeps waiting at once (10 s worth): bounds a dead node's cost. */
export const PINNED_MAX_IN_FLIGHT = 100;

/** A bound read's result: an answer, "this node is not the leader", or unknown. */
export type PinnedOutcome =
  | { readonly kind: "definite"; readonly output: KvOutput }
  | { readonly kind: "refused" }
  | { readonly kind: "indeterminate"; readonly unexpected?: string };

/** What the workload needs of a bound reader; {@link PinnedReader} or a test fake. */
export interface NodeReader {
  get(key: string): Promise<PinnedOutcome>;
  close(): void;
}

/** Linearizable gets against exactly one node. */
export class PinnedReader implements NodeReader {
  private readonly pool = new ChannelPool();

  /**
   * @param endpoint the node's `host:port`
   * @param timeoutMs deadline of each get (one attempt, no retries, no redirects)
   * @param client reads through this client's `getAt` instead (it carries the user's
   *   token when auth is on: `dfs verify --user`); its own channel otherwise
   */
  constructor(
    readonly endpoint: string,
    private readonly timeoutMs = PINNED_TIMEOUT_MS,
    private readonly client?: Pick<DfsClient, "getAt">,
  ) {}

  /** Reads `key` from this node; never rejects. */
  async get(key: string): Promise<PinnedOutcome> {
    const stub = this.pool.get(this.endpoint);
    const deadline = new Date(Date.now() + this.timeoutMs);
    try {
      const r =
        this.client !== undefined
          ? await this.client.getAt(this.endpoint, key, deadline)
          : await callUnary(stub.get.bind(stub), { key, serializable: false }, deadline);
      const value = Buffer.from(r.value).toString("utf8");
      return { kind: "definite", output: { found: true, value, version: r.version } };
    } catch (err) {
      return classify(toDfsError(err));
    }
  }

  /** Closes the channel. */
  close(): void {
    this.pool.close();
  }
}

/**
 * `not_found` is an answer; `not_leader` means the node refused (it observed nothing);
 * a timeout or lost connection is unknown — for a read, equally harmless to the checker.
 */
function classify(error: DfsError): PinnedOutcome {
  if (error.code === "not_found") return { kind: "definite", output: { found: false } };
  if (error.code === "not_leader") return { kind: "refused" };
  if (error.code === "unavailable") return { kind: "indeterminate" };
  return { kind: "indeterminate", unexpected: `pinned get: ${error.code}: ${error.message}` };
}

/** What the reader loop needs from its workload. */
export interface PinnedLoop {
  readonly reader: NodeReader;
  /** The history's client id for this reader. */
  readonly client: number;
  readonly recorder: HistoryRecorder;
  running(): boolean;
  pickKey(): string;
  /** A read got no answer (refused, or unknown); it is not recorded. */
  onUnanswered(): void;
  onUnexpected(at: number, message: string): void;
}

/**
 * Runs one bound reader until `running()` is false, then waits for its outstanding gets.
 * Only answered reads are recorded: a refused or unanswered read observed nothing (and
 * the checker drops unknown reads anyway).
 */
export async function runPinnedReader(loop: PinnedLoop): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  try {
    while (loop.running()) {
      if (inFlight.size < PINNED_MAX_IN_FLIGHT) {
        const read: Promise<void> = readOnce(loop).finally(() => inFlight.delete(read));
        inFlight.add(read);
      }
      await new Promise((resolve) => setTimeout(resolve, PINNED_EVERY_MS)); // the send rate
    }
    await Promise.all(inFlight);
  } finally {
    loop.reader.close();
  }
}

async function readOnce(loop: PinnedLoop): Promise<void> {
  const key = loop.pickKey();
  const pending = loop.recorder.begin(loop.client, key, { op: "get" });
  const outcome = await loop.reader.get(key);
  if (outcome.kind === "definite") {
    loop.recorder.end(pending, outcome.output);
    return;
  }
  loop.onUnanswered();
  if (outcome.kind === "indeterminate" && outcome.unexpected !== undefined) {
    loop.onUnexpected(pending.call, outcome.unexpected);
  }
}
