/**
 * Dfs.Batch: many independent operations in one call. Each runs exactly as its own
 * unary call would — they all start in the same tick, so the writes land in one Raft
 * batch (one fsync, one round of appends) and the linearizable reads share one ReadIndex
 * round — and each gets its own result or typed error.
 */
import { DfsError } from "../api/errors.ts";
import type {
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

/** The single operations a batch may hold. */
export interface BatchOps {
  put(req: PutRequest): Promise<PutResponse>;
  get(req: GetRequest): Promise<GetResponse>;
  delete(req: DeleteRequest): Promise<DeleteResponse>;
  stat(req: StatRequest): Promise<StatResponse>;
}

/** Most operations in one batch, so a batch stays a bounded amount of work. */
export const MAX_BATCH_OPS = 1024;
/** Value bytes a batch response may carry; gets beyond it are answered "retry". */
export const MAX_BATCH_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Runs every op of `req` concurrently; results in request order. */
export async function runBatch(ops: BatchOps, req: BatchRequest): Promise<BatchResponse> {
  if (req.ops.length > MAX_BATCH_OPS) {
    throw new DfsError("invalid_argument", `a batch holds at most ${MAX_BATCH_OPS} operations`);
  }
  let budget = MAX_BATCH_RESPONSE_BYTES;
  const results = await Promise.all(
    req.ops.map(async (op): Promise<BatchResult> => {
      try {
        if (op.put) return { put: await ops.put(op.put) };
        if (op.delete) return { delete: await ops.delete(op.delete) };
        if (op.stat) return { stat: await ops.stat(op.stat) };
        if (op.get) {
          const get = await ops.get(op.get);
          budget -= get.value.length;
          if (budget < 0) throw new DfsError("unavailable", "batch response full; retry this read");
          return { get };
        }
        throw new DfsError("invalid_argument", "empty batch operation");
      } catch (error) {
        const e = error instanceof DfsError ? error : new DfsError("internal", String(error));
        return { error: { code: e.code, message: e.message, leader: e.leaderHint ?? "" } };
      }
    }),
  );
  return { results };
}
