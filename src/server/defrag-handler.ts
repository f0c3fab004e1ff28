/**
 * The Defrag RPC (`dfs defrag`, docs/backup.md#giving-disk-space-back): compacts THIS
 * node's state store while it serves (src/fsm/defrag.ts) and answers with the store
 * file's size before and after and the time it took. Each node defragments its own store:
 * the call is never redirected to the leader, and nothing goes through the log.
 */
import { DfsError } from "../api/index.ts";
import {
  DefragAbandoned,
  DefragBusyError,
  LmdbStore,
  type StateMachine,
  StoreBrokenError,
} from "../fsm/index.ts";
import type { DefragRequest, DefragResponse } from "../gen/dfs.ts";

/** The handler over this node's state machine (only the on-disk store can be compacted). */
export function defragHandler(
  fsm: StateMachine,
): (request: DefragRequest) => Promise<DefragResponse> {
  return async () => {
    // Admin only: client-service.ts wraps this handler in adminOnly…(guard, …).
    if (!(fsm instanceof LmdbStore)) {
      throw new DfsError(
        "invalid_argument",
        "this node keeps its state in memory: nothing to defrag",
      );
    }
    try {
      const report = await fsm.defrag();
      return {
        bytesBefore: report.bytesBefore,
        bytesAfter: report.bytesAfter,
        durationMs: Math.round(report.durationMs),
      };
    } catch (error) {
      throw defragError(error);
    }
  };
}

/** A failed defrag as the client sees it; the store in use is whole in every case. */
function defragError(error: unknown): DfsError {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof DefragBusyError || error instanceof DefragAbandoned)
    return new DfsError("resource_exhausted", `${message}; retry later`);
  if (
    (error as NodeJS.ErrnoException | null)?.code === "ENOSPC" ||
    /ENOSPC|MDB_MAP_FULL|No space/i.test(message)
  )
    return new DfsError(
      "resource_exhausted",
      `defrag needs free disk space for a copy of the live data: ${message}; the store is unchanged`,
    );
  if (error instanceof StoreBrokenError)
    return new DfsError("internal", `defrag failed after switching stores: ${message}`);
  return new DfsError("internal", `defrag failed, the store is unchanged: ${message}`);
}
