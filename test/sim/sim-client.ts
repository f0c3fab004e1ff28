/**
 * Simulated clients: each runs one operation at a time (put, get, delete or
 * compare-and-set on a small rotating key set; about a third of the writes go in as
 * chunked file uploads, and reads reassemble files from their chunks, so a reader that
 * ever saw half an upload would break linearizability) against whichever node it believes leads,
 * through the real RaftLoop entry points the gRPC service uses, and records a history for
 * the linearizability checker. Timeouts are recorded as indeterminate. Half the reads go
 * to a random node instead (drawn from a stream of their own, so the other draws stay as
 * they were): a follower serves them through ReadIndex (the leader confirms a read index,
 * the follower waits until it applied that far), and the checker judges them alike.
 */
import { createHash, type Hash } from "node:crypto";
import { DfsError } from "../../src/api/errors.ts";
import { FILE_CHUNK_BYTES } from "../../src/api/index.ts";
import {
  type CommandSession,
  encodeCommand,
  readFileChunks,
  type StateView,
} from "../../src/fsm/index.ts";
import type { KvInput, KvOutput } from "../../src/verify/index.ts";
import type { Rng } from "../support/rng.ts";
import type { EventQueue } from "./event-queue.ts";
import type { Incarnation, SimNode } from "./sim-node.ts";

/** Inputs and outputs are the checker's KV model (src/verify/kv-model.ts). */
export type { KvInput, KvOutput };

/** One recorded operation; `output` undefined and `ret` Infinity when indeterminate. */
export interface HistoryOp {
  id: number;
  client: number;
  key: string;
  call: number;
  ret: number;
  input: KvInput;
  output: KvOutput | undefined;
}

/** Shared by all clients of one simulation. */
export interface ClientContext {
  readonly queue: EventQueue;
  readonly nodes: readonly SimNode[];
  readonly history: HistoryOp[];
  /** Current key set; the simulation rotates it so per-key histories stay short. */
  keys: () => readonly string[];
  /** Per-attempt-chain timeout (simulated ms). */
  readonly timeoutMs: number;
  readonly trace: (line: string) => void;
  /** A client saw what can only be a bug (a file's chunk unreadable): fails the run. */
  readonly onBug?: (error: Error) => void;
}

class Unreachable extends Error {}

/**
 * Share of uploads with filler chunks (1 or 2): enough to cover multi-chunk files and
 * their blobs in every seed, few enough that the megabyte copies do not dominate a run.
 */
const FILLER_SHARE = 0.05;
/** A full chunk of zeros: what a simulated upload puts before its value (one shared buffer). */
const FILLER = Buffer.alloc(FILE_CHUNK_BYTES);
/** SHA-256 states after 0, 1 and 2 fillers (hashing 1 MiB per upload dominated runs). */
const FILLED: Hash[] = [0, 1, 2].map((n) => {
  const h = createHash("sha256");
  for (let i = 0; i < n; i++) h.update(FILLER);
  return h;
});

/** Upload id `n` of client `client`: 32 lowercase hex digits, as a blob's name must be. */
export function simUploadId(client: number, n: number): string {
  return client.toString(16).padStart(8, "0") + n.toString(16).padStart(24, "0");
}

/** The value a simulated upload wrote: its file's bytes after the filler chunks. */
export function fileValue(bytes: Buffer): string {
  return bytes.subarray(Math.floor(bytes.length / FILE_CHUNK_BYTES) * FILE_CHUNK_BYTES).toString();
}

/** One attempt's patience before trying another node (the whole op has ctx.timeoutMs). */
const ATTEMPT_MS = 500;

/** One client. */
export class SimClient {
  private leaderGuess: number;
  private seq = 0;
  private writeSeq = 0;
  private uploads = 0;
  private readonly versions = new Map<string, number>();
  running = true;
  /** Operations completed with a definite answer. */
  completed = 0;
  /** Reads answered by a node that was not leading when it answered. */
  followerReads = 0;

  /**
   * @param readRng when given, picks a random node for half the reads (its own stream, so
   *   the client's other draws are the same with or without it).
   */
  constructor(
    readonly id: number,
    private readonly ctx: ClientContext,
    private readonly rng: Rng,
    private readonly readRng?: Rng,
  ) {
    this.leaderGuess = rng.pick(ctx.nodes).id;
  }

  /** Issues operations until `running` is cleared. */
  async run(): Promise<void> {
    while (this.running) {
      await this.sleep(this.rng.between(0, 20));
      if (this.running) await this.runOne();
    }
  }

  /** Runs one operation to completion or timeout; returns true if it got a definite answer. */
  async runOne(): Promise<boolean> {
    const key = this.rng.pick(this.ctx.keys());
    const input = this.nextInput(key);
    const op: HistoryOp = {
      id: this.ctx.history.length,
      client: this.id,
      key,
      call: this.ctx.queue.now,
      ret: Number.POSITIVE_INFINITY,
      input,
      output: undefined,
    };
    this.ctx.history.push(op);
    const deadline = this.ctx.queue.now + this.ctx.timeoutMs;
    // Every attempt of a write carries the same session sequence: retrying is exactly-once.
    const session = {
      clientId: `client-${this.id}`,
      sequence: ++this.writeSeq,
      firstIncomplete: this.writeSeq,
    };
    while (this.ctx.queue.now < deadline) {
      const target =
        input.op === "get" && this.readRng?.chance(0.5) === true
          ? this.readRng.pick(this.ctx.nodes).id
          : this.leaderGuess;
      const node = this.ctx.nodes.find((n) => n.id === target);
      try {
        const remaining = deadline - this.ctx.queue.now;
        const output = await this.withTimeout(
          this.attempt(node, key, input, session),
          Math.min(ATTEMPT_MS, remaining),
        );
        if (output === "timeout") {
          this.leaderGuess = this.rng.pick(this.ctx.nodes).id;
          continue;
        }
        op.output = output;
        op.ret = this.ctx.queue.now;
        this.learn(key, output);
        this.completed++;
        return true;
      } catch (error) {
        if (!this.retryable(error)) break;
        await this.sleep(this.rng.between(1, 10));
      }
    }
    return false;
  }

  /**
   * One get of `key` at node `target`, a single attempt: a client that just learned of a
   * new leader and reads from it at once. Recorded in the history like any operation (a
   * timeout or an error leaves it indeterminate). Use a client of its own per call, so
   * each client's operations stay sequential.
   */
  async readOnce(key: string, target: number): Promise<void> {
    const input: KvInput = { op: "get" };
    const op: HistoryOp = {
      id: this.ctx.history.length,
      client: this.id,
      key,
      call: this.ctx.queue.now,
      ret: Number.POSITIVE_INFINITY,
      input,
      output: undefined,
    };
    this.ctx.history.push(op);
    const node = this.ctx.nodes.find((n) => n.id === target);
    const session = { clientId: `client-${this.id}`, sequence: 1, firstIncomplete: 1 };
    try {
      const output = await this.withTimeout(this.attempt(node, key, input, session), ATTEMPT_MS);
      if (output === "timeout") return;
      op.output = output;
      op.ret = this.ctx.queue.now;
      this.completed++;
    } catch {
      // Not served (not the leader any more, unreachable): it had no effect.
    }
  }

  private nextInput(key: string): KvInput {
    const value = `c${this.id}-${++this.seq}`;
    const r = this.rng.float();
    if (r < 0.35) return { op: "put", value };
    if (r < 0.7) return { op: "get" };
    if (r < 0.8) return { op: "delete" };
    return { op: "cas", expectedVersion: this.versions.get(key) ?? 0, value };
  }

  private learn(key: string, output: KvOutput): void {
    if ("version" in output) this.versions.set(key, output.version);
    else if ("found" in output || "existed" in output) this.versions.set(key, 0);
  }

  /** Decides whether an error proves the operation did not happen (so retrying is safe). */
  private retryable(error: unknown): boolean {
    if (error instanceof Unreachable) {
      this.leaderGuess = this.rng.pick(this.ctx.nodes).id;
      return true;
    }
    if (error instanceof DfsError && error.code === "unavailable") {
      this.leaderGuess = this.rng.pick(this.ctx.nodes).id;
      return true; // outcome unknown, but the retry reuses the session: applied at most once
    }
    if (error instanceof DfsError && error.code === "not_leader") {
      const hint = error.leaderHint ? Number(error.leaderHint.slice(1)) : 0;
      this.leaderGuess =
        hint > 0 && hint !== this.leaderGuess ? hint : this.rng.pick(this.ctx.nodes).id;
      return true;
    }
    return false;
  }

  private attempt(
    node: SimNode | undefined,
    key: string,
    input: KvInput,
    session: CommandSession,
  ): Promise<KvOutput> {
    const inc = node?.current;
    if (node === undefined || inc == null || !inc.alive) return Promise.reject(new Unreachable());
    return new Promise((resolve, reject) => {
      inc.run(() => {
        try {
          this.start(inc, key, input, session).then(resolve, reject);
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  private start(
    inc: Incarnation,
    key: string,
    input: KvInput,
    session: CommandSession,
  ): Promise<KvOutput> {
    const loop = inc.loop;
    switch (input.op) {
      case "get":
        return loop.linearizableRead().then(() => {
          if (loop.softState().role !== "leader") this.followerReads++;
          return this.read(inc, key);
        });
      case "put":
        if (this.rng.chance(0.3))
          return this.upload(inc, key, input.value, undefined, session).then(({ result }) => {
            if (result.kind !== "put") throw new Error(`unexpected ${result.kind}`);
            return { ok: true, version: result.version };
          });
        return loop
          .propose(encodeCommand({ op: "put", key, value: Buffer.from(input.value), session }))
          .then(({ result }) => {
            if (result.kind !== "put") throw new Error(`unexpected ${result.kind}`);
            return { ok: true, version: result.version };
          });
      case "delete":
        return loop.propose(encodeCommand({ op: "delete", key, session })).then(({ result }) => {
          if (result.kind !== "delete") throw new Error(`unexpected ${result.kind}`);
          return { existed: result.existed };
        });
      case "cas":
        if (this.rng.chance(0.3))
          return this.upload(inc, key, input.value, input.expectedVersion, session).then(
            ({ result }) =>
              result.kind === "put" ? { ok: true, version: result.version } : { ok: false },
          );
        return loop
          .propose(
            encodeCommand({
              op: "put",
              key,
              value: Buffer.from(input.value),
              ifVersion: input.expectedVersion,
              session,
            }),
          )
          .then(({ result }) =>
            result.kind === "put" ? { ok: true, version: result.version } : { ok: false },
          );
    }
  }

  /**
   * Reads `key` from the node's state machine as the server does: a file's chunks
   * stream from its blob (blob-reader.ts, each chunk CRC-checked), the view kept open
   * (the blob pinned) until the last chunk is read. The chunk records are taken when the
   * value is (the memory store's view reads live maps, and an overwrite during the read
   * drops them); the blob stays, pinned. A chunk that cannot be read whole is a bug.
   */
  private async read(inc: Incarnation, key: string): Promise<KvOutput> {
    const view = inc.fsm.openView();
    try {
      const v = view.get(key);
      if (v === undefined) return { found: false };
      const head = Buffer.from(v.value).toString();
      const file = v.file;
      if (file === undefined || file.count === 0)
        return { found: true, value: head, version: v.version };
      const facts = Array.from({ length: file.count }, (_, seq) => view.chunk(file.uploadId, seq));
      const frozen: StateView = {
        ...view,
        chunk: (_id, seq) => facts[seq] as ReturnType<StateView["chunk"]>,
      };
      const parts: Buffer[] = [];
      try {
        for await (const c of readFileChunks(frozen, v, 0, file.count - 1)) parts.push(c);
      } catch (error) {
        const bug = new Error(
          `read of ${key} on n${inc.node.status().id}: ${(error as Error).message}`,
        );
        this.ctx.onBug?.(bug);
        throw bug;
      }
      return { found: true, value: head + fileValue(Buffer.concat(parts)), version: v.version };
    } finally {
      view.close();
    }
  }

  /**
   * Writes `value` as a chunked upload under a fresh upload id per attempt (32 hex
   * digits, a blob's name): 0-2 filler chunks of FILE_CHUNK_BYTES zeros (in 5% of uploads:
   * at 30% the megabyte copies made the swarm several times slower) and then the value
   * as the last chunk, so every chunk but the last is full, as the blob layout requires
   * (chunk `seq` at `seq` × 1 MiB); chunks proposed one after another, then the commit
   * under the op's session. A read strips the filler ({@link fileValue}).
   */
  private upload(
    inc: Incarnation,
    key: string,
    value: string,
    ifVersion: number | undefined,
    session: CommandSession,
  ) {
    const uploadId = simUploadId(this.id, ++this.uploads);
    const fillers = this.rng.chance(FILLER_SHARE) ? 1 + this.rng.int(2) : 0;
    const pieces = [...Array.from({ length: fillers }, () => FILLER), Buffer.from(value)];
    let chain: Promise<unknown> = Promise.resolve();
    pieces.forEach((data, seq) => {
      chain = chain
        .then(() => inc.loop.propose(encodeCommand({ op: "upload_chunk", uploadId, seq, data })))
        .then(({ result }) => {
          if (result.kind !== "chunk") throw new Error(`chunk refused: ${JSON.stringify(result)}`);
        });
    });
    const sha256 = (FILLED[fillers] as Hash).copy().update(pieces[fillers] as Buffer);
    const size = pieces.reduce((sum, p) => sum + p.length, 0);
    return chain.then(() =>
      inc.loop.propose(
        encodeCommand({
          op: "commit_upload",
          uploadId,
          key,
          size,
          sha256: sha256.digest(),
          chunks: pieces.length,
          ...(ifVersion === undefined ? {} : { ifVersion }),
          session,
        }),
      ),
    );
  }

  private withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
    return new Promise((resolve, reject) => {
      let settled = false;
      this.ctx.queue.after(ms, () => {
        if (!settled) {
          settled = true;
          resolve("timeout");
        }
      });
      p.then(
        (v) => {
          if (!settled) {
            settled = true;
            resolve(v);
          }
        },
        (e: unknown) => {
          if (!settled) {
            settled = true;
            reject(e);
          }
        },
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.ctx.queue.after(ms, resolve));
  }
}
