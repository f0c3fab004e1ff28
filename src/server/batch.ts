/**
 * Dfs.Batch: many independent operations in one call. Each runs exactly as its own
 * unary call would — they all start in the same tick, so the writes land in one Raft
 * batch (one fsync, one round of appends) and the linearizable reads share one ReadIndex
 * round — and each gets its own result or typed error.
 */
import { BATCH_RETRY_ALONE, DfsError, MAX_BATCH_GET_BYTES, MAX_BATCH_OPS } from "../api/index.ts";
import type {
  BatchRequest,
  BatchResponse,
  BatchResult,
  DeleteRequest,
  DeleteResponse,
  GetRequest,
  GetResponse,
  OpError,
  PutRequest,
  PutResponse,
  StatRequest,
  StatResponse,
} from "../gen/dfs.ts";
import type { Caller } from "./auth/index.ts";

/**
 * Value bytes a response may still take. A get reserves its value's size in the same
 * synchronous step that reads it, so gets past the budget are never held, however many
 * run at once (400 gets of a 1 MiB value in one batch keep 1 MiB, not 400).
 */
export interface GetBudget {
  left: number;
}

/** Thrown by a get whose value does not fit its {@link GetBudget}. */
export class OverBudget extends Error {}

/**
 * The single operations a batch may hold, each for the batch's caller (null while auth is
 * off; docs/auth.md): the caller is resolved once per batch, its permission checked per op.
 */
export interface BatchOps {
  put(req: PutRequest, caller: Caller | null): Promise<PutResponse>;
  /** With a budget: throws {@link OverBudget} (holding nothing) if the value does not fit. */
  get(req: GetRequest, caller: Caller | null, budget?: GetBudget): Promise<GetResponse>;
  delete(req: DeleteRequest, caller: Caller | null): Promise<DeleteResponse>;
  stat(req: StatRequest, caller: Caller | null): Promise<StatResponse>;
}

/**
 * Runs every op of `req` concurrently; results in request order. Gets whose values would
 * take the response past `getBudget` bytes are answered {@link BATCH_RETRY_ALONE}.
 */
export async function runBatch(
  ops: BatchOps,
  req: BatchRequest,
  caller: Caller | null,
  getBudget: number = MAX_BATCH_GET_BYTES,
): Promise<BatchResponse> {
  if (req.ops.length > MAX_BATCH_OPS) {
    throw new DfsError("invalid_argument", `a batch holds at most ${MAX_BATCH_OPS} operations`);
  }
  const budget: GetBudget = { left: getBudget };
  const results = await Promise.all(
    req.ops.map(async (op): Promise<BatchResult> => {
      try {
        if (op.put) return { put: await ops.put(op.put, caller) };
        if (op.delete) return { delete: await ops.delete(op.delete, caller) };
        if (op.stat) return { stat: await ops.stat(op.stat, caller) };
        if (op.get) return { get: await ops.get(op.get, caller, budget) };
        throw new DfsError("invalid_argument", "empty batch operation");
      } catch (error) {
        if (error instanceof OverBudget) return retryAlone();
        return { error: toOpError(error) };
      }
    }),
  );
  return { results };
}

/** A failure as the typed error a batch result (or a refused stream request) carries. */
export function toOpError(error: unknown): OpError {
  const e = error instanceof DfsError ? error : new DfsError("internal", String(error));
  return { code: e.code, message: e.message, leader: e.leaderHint ?? "" };
}

/** A get whose value did not fit this response: the client resends it as its own call. */
function retryAlone(): BatchResult {
  const message = "batch response full; send this read alone";
  return { error: { code: BATCH_RETRY_ALONE, message, leader: "" } };
}
