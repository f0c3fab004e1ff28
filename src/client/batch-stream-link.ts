/**
 * The client side of Dfs.BatchStream: one long-lived stream per node over which batches
 * of operations travel as messages instead of calls (see server/batch-stream.ts for why).
 * Each batch waits for the response with its id, or for its deadline. The stream is
 * opened on first use, reopened after it breaks, and ended after a short idle spell so a
 * program that never closes its client can still exit (an open stream holds the
 * connection, and with it the process, alive). A stream's metadata (the auth token) is
 * fixed when it opens, so after the client obtained a new token the next batch goes on a
 * new stream, while the old one is half-closed and still answers what was sent on it.
 */
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { DfsError, type DfsErrorCode } from "../api/index.ts";
import type { BatchRequest, BatchResponse, BatchStreamResponse, DfsClient } from "../gen/dfs.ts";

/** How long a stream with nothing in flight stays open for the next batch. */
export const STREAM_IDLE_MS = 250;

type Stream = ReturnType<DfsClient["batchStream"]>;

interface InFlight {
  readonly stream: Stream;
  readonly sentAt: number;
  readonly timer: NodeJS.Timeout;
  resolve(response: BatchResponse): void;
  reject(error: Error): void;
}

/** Sends batches to one node over its BatchStream. */
export class BatchStreamLink {
  private stream: Stream | null = null;
  /** The token epoch the current stream was opened under. */
  private streamEpoch = 0;
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 1;
  /** When the current stream last delivered a response (performance.now()). */
  private lastAnswerAt = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Streams opened so far (observability, tests). */
  streamsOpened = 0;

  /** `tokenEpoch` changes whenever the client's token does (see the file comment). */
  constructor(
    private readonly stub: DfsClient,
    private readonly tokenEpoch: () => number = () => 0,
  ) {}

  /**
   * Sends one batch; resolves with its response. Rejects with the stream's gRPC error if
   * the stream breaks first (UNIMPLEMENTED from a node without BatchStream), with a
   * DEADLINE_EXCEEDED error at `deadline`, or with the typed error of a refused batch.
   */
  send(batch: BatchRequest, deadline: Date): Promise<BatchResponse> {
    return new Promise((resolve, reject) => {
      clearTimeout(this.idleTimer);
      const stream = this.open();
      const id = this.nextId++;
      const sentAt = performance.now();
      const timer = setTimeout(() => this.expire(id), Math.max(0, deadline.getTime() - Date.now()));
      this.inFlight.set(id, { stream, sentAt, timer, resolve, reject });
      stream.write({ id, batch });
    });
  }

  /** Ends the stream; batches still in flight fail as CANCELLED. */
  close(): void {
    clearTimeout(this.idleTimer);
    const stream = this.stream;
    this.stream = null;
    stream?.cancel();
  }

  private open(): Stream {
    const epoch = this.tokenEpoch();
    if (this.stream !== null && this.streamEpoch === epoch) return this.stream;
    if (this.stream !== null) {
      const old = this.stream;
      this.stream = null;
      old.end(); // the node answers what is in flight on it, then ends it
    }
    this.streamEpoch = epoch;
    const stream = this.stub.batchStream();
    this.streamsOpened++;
    this.lastAnswerAt = performance.now();
    stream.on("data", (response: BatchStreamResponse) => this.answer(stream, response));
    stream.on("error", (error: Error) => this.fail(stream, error));
    stream.on("end", () => this.fail(stream, brokenStream("the node ended the stream")));
    this.stream = stream;
    return stream;
  }

  private answer(stream: Stream, response: BatchStreamResponse): void {
    if (stream === this.stream) this.lastAnswerAt = performance.now();
    const pending = this.inFlight.get(response.id);
    if (pending === undefined || pending.stream !== stream) return; // expired meanwhile
    this.settle(response.id, pending);
    const refused = response.error;
    if (refused !== undefined) {
      const hint = refused.leader === "" ? undefined : refused.leader;
      pending.reject(new DfsError(refused.code as DfsErrorCode, refused.message, hint));
    } else pending.resolve(response.batch ?? { results: [] });
  }

  /** The stream broke or ended: everything sent on it fails (its outcome is unknown). */
  private fail(stream: Stream, error: Error): void {
    if (this.stream === stream) this.stream = null;
    for (const [id, pending] of this.inFlight) {
      if (pending.stream !== stream) continue;
      this.settle(id, pending);
      pending.reject(error);
    }
  }

  /**
   * A batch's deadline passed. If the stream has answered nothing since the batch was
   * sent, it may be dead without knowing it (a silently dropped connection): drop it, so
   * the next batch opens a fresh one instead of waiting out its own deadline too.
   */
  private expire(id: number): void {
    const pending = this.inFlight.get(id);
    if (pending === undefined) return;
    this.settle(id, pending);
    pending.reject(deadlineExceeded());
    if (pending.stream === this.stream && this.lastAnswerAt < pending.sentAt) {
      this.stream = null;
      pending.stream.cancel();
    }
  }

  private settle(id: number, pending: InFlight): void {
    clearTimeout(pending.timer);
    this.inFlight.delete(id);
    if (this.inFlight.size === 0 && this.stream !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.endIdle(), STREAM_IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private endIdle(): void {
    if (this.inFlight.size > 0 || this.stream === null) return;
    const stream = this.stream;
    this.stream = null;
    stream.end();
  }
}

/** A gRPC-shaped error, classified like the same failure of a unary call. */
function grpcError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });
}

function deadlineExceeded(): ServiceError {
  return grpcError(status.DEADLINE_EXCEEDED, "deadline exceeded waiting for the batch");
}

function brokenStream(details: string): ServiceError {
  return grpcError(status.UNAVAILABLE, details);
}
