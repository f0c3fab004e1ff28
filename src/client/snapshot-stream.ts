/**
 * The client side of Dfs.SnapshotSave: opens the stream and waits for its first message
 * (the header), so that a refusal before any data (not the leader, unavailable) surfaces
 * as an error the client's retry loop can follow; the rest is handed over as it arrives,
 * one message at a time (gRPC flow control holds the node back while the caller writes).
 */
import type { SnapshotSaveRequest, SnapshotSaveResponse } from "../gen/dfs.ts";
import { toDfsError } from "./grpc-errors.ts";
import type { DfsStub } from "./unary-call.ts";

/** Opens a SnapshotSave call; resolves once the header arrived. */
export async function openSnapshotSave(
  stub: DfsStub,
  request: SnapshotSaveRequest,
): Promise<AsyncIterable<SnapshotSaveResponse>> {
  const call = stub.snapshotSave(request);
  const iterator = (call as AsyncIterable<SnapshotSaveResponse>)[Symbol.asyncIterator]();
  let first: IteratorResult<SnapshotSaveResponse>;
  try {
    first = await iterator.next();
  } catch (error) {
    throw toDfsError(error);
  }
  return rest(first, iterator, () => call.cancel());
}

async function* rest(
  first: IteratorResult<SnapshotSaveResponse>,
  iterator: AsyncIterator<SnapshotSaveResponse>,
  cancel: () => void,
): AsyncGenerator<SnapshotSaveResponse> {
  let done = false;
  try {
    if (first.done) return;
    yield first.value;
    for (;;) {
      let next: IteratorResult<SnapshotSaveResponse>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw toDfsError(error);
      }
      if (next.done) break;
      yield next.value;
    }
    done = true;
  } finally {
    if (!done) cancel();
  }
}
