/**
 * `--front-ends N`: N worker threads accept the node's client connections and do the
 * protocol work (HTTP/2, gRPC framing, protobuf) off the Raft loop's thread. The first
 * front end listens on the client port; the others accept on the same listening socket
 * (its file descriptor, which every thread of the process shares; the kernel hands each
 * connection to one of them). Unary calls arrive here decoded, in batches, and run on the
 * service implementation exactly as the in-process server runs them; their answers go
 * back in batches. Streaming calls are relayed by the front ends to this thread's own
 * gRPC server, which then listens on loopback only. See docs/architecture.md#front-ends.
 */
import { EventEmitter } from "node:events";
import { Worker } from "node:worker_threads";
import * as grpc from "@grpc/grpc-js";
import { StartupError } from "../../api/index.ts";
import { fromWire, toWire } from "./metadata.ts";
import {
  compactBuffers,
  type FrontEndData,
  type FrontEndReady,
  reviveBuffers,
  type WireAnswer,
  type WireCall,
} from "./wire.ts";

/** Running front ends; `stop()` ends their threads. */
export interface FrontEnds {
  readonly count: number;
  stop(): Promise<void>;
}

/** Where the front ends listen and what they serve. */
export interface FrontEndOptions {
  readonly count: number;
  readonly host: string;
  readonly port: number;
  /** host:port of this thread's gRPC server on loopback (streaming calls go there). */
  readonly internal: string;
  /** The Dfs service's handlers, as given to the in-process server. */
  readonly implementation: grpc.UntypedServiceImplementation;
  /** A front end failed or exited after it started listening (its connections are gone). */
  readonly onFailure: (index: number, error: Error) => void;
}

/**
 * A front end's thread: the compiled .js under dist/; run from the sources (tsx), a
 * thread that first registers tsx's loader (Node 20 does not hand a thread the loader
 * hooks of the process that starts it).
 */
function newWorker(data: FrontEndData): Worker {
  if (!import.meta.url.endsWith(".ts")) {
    return new Worker(new URL("./front-end-worker.js", import.meta.url), { workerData: data });
  }
  const source = new URL("./front-end-worker.ts", import.meta.url).href;
  const boot = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(boot, { eval: true, workerData: data });
}

/** Starts `count` front ends; resolves once all listen. */
export async function startFrontEnds(options: FrontEndOptions): Promise<FrontEnds> {
  const workers: Worker[] = [];
  let stopping = false;
  const start = (data: FrontEndData): Promise<number> => {
    const worker = newWorker(data);
    workers.push(worker);
    const bridge = new LoopBridge(worker, options.implementation);
    return new Promise((resolve, reject) => {
      let listening = false;
      worker.on("message", (m: { kind: string; ready?: FrontEndReady; calls?: WireCall[] }) => {
        if (m.kind === "calls") bridge.run(m.calls ?? []);
        else if (m.kind === "ready" && m.ready !== undefined) {
          const r = m.ready;
          if (r.kind === "listening") {
            listening = true;
            resolve(r.fd);
          } else {
            const where = `${options.host}:${options.port}`;
            reject(
              new StartupError(
                r.inUse ? "port_in_use" : "config",
                `cannot listen on ${where}: ${r.inUse ? "address already in use" : r.message}`,
              ),
            );
          }
        }
      });
      worker.on("error", (error) => {
        if (listening) options.onFailure(data.index, error);
        else reject(error);
      });
      worker.on("exit", (code) => {
        if (!listening) reject(new Error(`front end exited (${code}) before it listened`));
        else if (!stopping) options.onFailure(data.index, new Error(`exited (${code})`));
      });
    });
  };
  try {
    const fd = await start({
      listen: { host: options.host, port: options.port },
      internal: options.internal,
      index: 0,
    });
    if (options.count > 1 && fd < 0)
      throw new Error("front ends: no listening descriptor to share");
    for (let i = 1; i < options.count; i++) {
      await start({ fd, internal: options.internal, index: i });
    }
  } catch (error) {
    stopping = true;
    await Promise.all(workers.map((w) => w.terminate()));
    throw error;
  }
  return {
    count: options.count,
    stop: async () => {
      stopping = true;
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

type Callback = (error: Partial<grpc.StatusObject> | null, value?: unknown) => void;

/** Runs one front end's unary calls on this thread and batches their answers back. */
class LoopBridge {
  private outbox: WireAnswer[] = [];
  /** Buffers of the outbox's answers that move to the front end (wire.ts). */
  private transfers: ArrayBuffer[] = [];

  constructor(
    private readonly worker: Worker,
    private readonly implementation: grpc.UntypedServiceImplementation,
  ) {}

  run(calls: readonly WireCall[]): void {
    for (const c of calls) this.runOne(c);
  }

  private runOne(c: WireCall): void {
    const handler = this.implementation[c.method] as grpc.handleUnaryCall<unknown, unknown>;
    // What the handlers (and the guard and metrics wrappers around them) use of a call.
    const call = Object.assign(new EventEmitter(), {
      request: reviveBuffers(c.request),
      metadata: fromWire(c.metadata),
      cancelled: false,
      getPeer: () => c.peer,
      getDeadline: () => c.deadline,
      getPath: () => c.method,
    });
    const callback: Callback = (error, response) => {
      if (error === null)
        this.answer({ id: c.id, ok: true, response: compactBuffers(response, this.transfers) });
      else
        this.answer({
          id: c.id,
          ok: false,
          code: error.code ?? grpc.status.UNKNOWN,
          details: error.details ?? (error as { message?: string }).message ?? "",
          metadata: toWire(error.metadata),
        });
    };
    try {
      handler(call as unknown as grpc.ServerUnaryCall<unknown, unknown>, callback);
    } catch (error) {
      callback({ code: grpc.status.INTERNAL, details: String(error) });
    }
  }

  private answer(a: WireAnswer): void {
    if (this.outbox.length === 0) setImmediate(() => this.flush());
    this.outbox.push(a);
  }

  private flush(): void {
    const answers = this.outbox;
    this.outbox = [];
    const transfer = this.transfers;
    this.transfers = [];
    this.worker.postMessage({ kind: "answers", answers }, transfer);
  }
}
