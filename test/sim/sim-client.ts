/**
 * Simulated clients: each runs one operation at a time (put, get, delete or
 * compare-and-set on a small rotating key set; about a third of the writes go in as
 * chunked file uploads, and reads reassemble files from their chunks, so a reader that
 * ever saw half an upload would break linearizability) against whichever node it believes leads,
 * through the real RaftLoop entry points the gRPC service uses, and records a history for
 * the linearizability checker. Timeouts are recorded as indeterminate.
 */
import { createHash } from "node:crypto";
import { DfsError } from "../../src/api/errors.ts";
import { type CommandSession, encodeCommand, readFileChunks } from "../../src/fsm/index.ts";
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
}

class Unreachable extends Error {}

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

  constructor(
    readonly id: number,
    private readonly ctx: ClientContext,
    private readonly rng: Rng,
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
      const node = this.ctx.nodes.find((n) => n.id === this.leaderGuess);
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
        return loop.linearizableRead().then(async () => {
          // Closed after reading, as the server does (the LMDB store's views hold a read
          // transaction and freeze the write-behind's pending generation while open).
          const view = inc.fsm.openView();
          try {
            const v = view.get(key);
            if (v === undefined) return { found: false };
            const parts: Buffer[] = [Buffer.from(v.value)];
            if (v.file !== undefined)
              for await (const chunk of readFileChunks(view, v, 0, v.file.count - 1))
                parts.push(chunk);
            return { found: true, value: Buffer.concat(parts).toString(), version: v.version };
          } finally {
            view.close();
          }
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
   * Writes `value` as a chunked upload: 1-3 chunks proposed one after another under a
   * fresh upload id per attempt, then the commit under the op's session.
   */
  private upload(
    inc: Incarnation,
    key: string,
    value: string,
    ifVersion: number | undefined,
    session: CommandSession,
  ) {
    const bytes = Buffer.from(value);
    const uploadId = `sim-${this.id}-${++this.uploads}`;
    const count = 1 + this.rng.int(3);
    const size = Math.ceil(bytes.length / count);
    const pieces = Array.from({ length: count }, (_, i) =>
      bytes.subarray(i * size, (i + 1) * size),
    );
    let chain: Promise<unknown> = Promise.resolve();
    pieces.forEach((data, seq) => {
      chain = chain
        .then(() => inc.loop.propose(encodeCommand({ op: "upload_chunk", uploadId, seq, data })))
        .then(({ result }) => {
          if (result.kind !== "chunk") throw new Error(`chunk refused: ${JSON.stringify(result)}`);
        });
    });
    const sha256 = createHash("sha256").update(bytes).digest();
    return chain.then(() =>
      inc.loop.propose(
        encodeCommand({
          op: "commit_upload",
          uploadId,
          key,
          size: bytes.length,
          sha256,
          chunks: count,
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
