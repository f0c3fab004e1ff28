/**
 * Coalesces concurrent operations to one node into batches. A grpc-js call costs far
 * more CPU than the Raft work behind a small put (a bare echo server does ~5k calls/s on
 * our machines), so operations issued in the same tick travel together: one message, one
 * Raft batch, one ReadIndex round. Batches (a lone operation too) go as messages on the
 * node's BatchStream; a batch holding one large value goes as its own plain call. A node
 * that does not know BatchStream gets Batch calls, and one that does not know Batch
 * either gets plain calls, from then on.
 */
import { status } from "@grpc/grpc-js";
import { BATCH_RETRY_ALONE, DfsError, type DfsErrorCode } from "../api/index.ts";
import type {
  BatchOp,
  BatchRequest,
  BatchResponse,
  BatchResult,
  DeleteRequest,
  DeleteResponse,
  GetRequest,
  GetResponse,
  PutRequest,
  PutResponse,
  StatRequest,
  StatResponse,
} from "../gen/dfs.ts";
import { BatchStreamLink } from "./batch-stream-link.ts";
import { callUnary, type DfsStub } from "./unary-call.ts";

/** Operations per Batch call: enough to amortize a call, small enough to pipeline. */
export const BATCH_MAX_OPS = 256;
/**
 * Request bytes per batch (keys, values and a little framing per operation, see
 * {@link requestBytes}); a put larger than this travels alone. With {@link
 * BATCH_MAX_OPS} it keeps every batch well under the server's MAX_GRPC_MESSAGE_BYTES.
 */
export const BATCH_MAX_BYTES = 512 * 1024;

/** Framing of one operation in a batch message (field tags, lengths, session), generously. */
export const BATCH_OP_OVERHEAD_BYTES = 96;

/** What one operation adds to a batch message, at most. */
export function requestBytes(kind: string, request: { key: string; value?: Uint8Array }): number {
  const value = kind === "put" ? (request.value?.length ?? 0) : 0;
  return Buffer.byteLength(request.key) + value + BATCH_OP_OVERHEAD_BYTES;
}

/** What each kind of operation sends and gets back. */
interface Kinds {
  put: [PutRequest, PutResponse];
  get: [GetRequest, GetResponse];
  delete: [DeleteRequest, DeleteResponse];
  stat: [StatRequest, StatResponse];
}
type Kind = keyof Kinds;

interface Pending {
  readonly kind: Kind;
  readonly request: Kinds[Kind][0];
  readonly deadline: Date;
  readonly bytes: number;
  resolve(response: unknown): void;
  reject(error: unknown): void;
}

/** Batches the operations sent to one node's stub. */
export class Batcher {
  private queue: Pending[] = [];
  private scheduled = false;
  private unsupported = false;
  private streamUnsupported = false;
  private readonly link: BatchStreamLink;
  /**
   * Batches of several operations sent and the operations they carried, and the batches
   * (of any size) that went over the stream (observability, tests).
   */
  readonly stats = { batchCalls: 0, batchedOps: 0, streamed: 0 };

  /** `tokenEpoch`: see {@link BatchStreamLink}; absent when calls carry no token. */
  constructor(
    private readonly stub: DfsStub,
    tokenEpoch?: () => number,
  ) {
    this.link = new BatchStreamLink(stub, tokenEpoch);
  }

  /** Ends the node's stream (the channel itself is closed by its pool). */
  close(): void {
    this.link.close();
  }

  /** Sends one operation, alone or with others issued in the same tick. */
  call<K extends Kind>(kind: K, request: Kinds[K][0], deadline: Date): Promise<Kinds[K][1]> {
    return new Promise((resolve, reject) => {
      const bytes = requestBytes(kind, request);
      this.queue.push({ kind, request, deadline, bytes, resolve, reject } as Pending);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    let group: Pending[] = [];
    let bytes = 0;
    for (const op of queue) {
      if (
        group.length > 0 &&
        (group.length >= BATCH_MAX_OPS || bytes + op.bytes > BATCH_MAX_BYTES)
      ) {
        this.send(group);
        group = [];
        bytes = 0;
      }
      group.push(op);
      bytes += op.bytes;
    }
    if (group.length > 0) this.send(group);
  }

  private send(group: Pending[]): void {
    if (group.length > 1) {
      this.stats.batchCalls++;
      this.stats.batchedOps += group.length;
    }
    const bytes = group.reduce((sum, op) => sum + op.bytes, 0);
    if (!this.streamUnsupported && bytes <= BATCH_MAX_BYTES) this.stream(group);
    else this.sendAsCalls(group);
  }

  private stream(group: Pending[]): void {
    this.stats.streamed++;
    this.link.send(batchOf(group), earliestDeadline(group)).then(
      (response) => this.distribute(group, response),
      (error: { code?: number }) => {
        if (error.code === status.UNIMPLEMENTED) {
          this.streamUnsupported = true;
          this.sendAsCalls(group);
        } else for (const op of group) op.reject(error);
      },
    );
  }

  private sendAsCalls(group: Pending[]): void {
    if (group.length === 1 || this.unsupported) {
      for (const op of group) this.single(op);
      return;
    }
    callUnary(this.stub.batch.bind(this.stub), batchOf(group), earliestDeadline(group)).then(
      (response) => this.distribute(group, response),
      (error: { code?: number }) => {
        if (error.code === status.UNIMPLEMENTED) {
          this.unsupported = true;
          for (const op of group) this.single(op);
        } else for (const op of group) op.reject(error);
      },
    );
  }

  /** Settles each operation with its result; those answered "retry alone" go as calls. */
  private distribute(group: Pending[], response: BatchResponse): void {
    group.forEach((op, i) => {
      const result = response.results[i];
      if (result?.error?.code === BATCH_RETRY_ALONE) this.single(op);
      else settle(op, result);
    });
  }

  private single(op: Pending): void {
    const method = this.stub[op.kind].bind(this.stub) as Parameters<typeof callUnary>[0];
    callUnary(method, op.request, op.deadline).then(op.resolve, op.reject);
  }
}

function batchOf(group: readonly Pending[]): BatchRequest {
  return { ops: group.map((op) => ({ [op.kind]: op.request }) as BatchOp) };
}

function earliestDeadline(group: readonly Pending[]): Date {
  return new Date(Math.min(...group.map((op) => op.deadline.getTime())));
}

function settle(op: Pending, result: BatchResult | undefined): void {
  if (result?.error !== undefined) {
    const { code, message, leader } = result.error;
    op.reject(new DfsError(code as DfsErrorCode, message, leader === "" ? undefined : leader));
    return;
  }
  const response = result?.[op.kind];
  if (response === undefined) op.reject(new DfsError("internal", `batch answered no ${op.kind}`));
  else op.resolve(response);
}
