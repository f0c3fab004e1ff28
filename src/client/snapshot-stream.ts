/**
 * The client side of Dfs.SnapshotSave: opens the stream and waits for its first message
 * (the header), so that a refusal before any data (not the leader, unavailable) surfaces
 * as an error the client's retry loop can follow; the rest is handed over as it arrives,
 * one message at a time (gRPC flow control holds the node back while the caller writes).
 */
import { DfsError } from "../api/index.ts";
import type { SnapshotSaveRequest, SnapshotSaveResponse } from "../gen/dfs.ts";
import { TRANSFER_STALL_MS } from "./file-transfer.ts";
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
  return rest(
    first,
    watched(iterator, () => call.cancel()),
    () => call.cancel(),
  );
}

/**
 * `iterator` whose every wait for the node is bounded: a node that sends nothing for
 * {@link TRANSFER_STALL_MS} (hung, or its disk stuck) fails the save as unavailable
 * instead of holding the command forever. Time spent by the caller between messages
 * (writing its file) does not count.
 */
function watched(
  iterator: AsyncIterator<SnapshotSaveResponse>,
  cancel: () => void,
): AsyncIterator<SnapshotSaveResponse> {
  return {
    next: async () => {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          cancel();
          reject(
            new DfsError(
              "unavailable",
              `the node sent nothing for ${TRANSFER_STALL_MS / 1000} s; backup abandoned`,
            ),
          );
        }, TRANSFER_STALL_MS);
      });
      try {
        return await Promise.race([iterator.next(), stalled]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
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
