/** Assembly steps: open and reconcile the durable state, then restart the Raft core on it. */
import { join } from "node:path";
import { StartupError } from "../../api/index.ts";
import { LmdbStore } from "../../fsm/index.ts";
import { RawNode } from "../../raft/index.ts";
import { clusterIdFor, loadOrInitMeta, Wal, type WalContents } from "../../storage/index.ts";
import { type RecoveredLog, recoverLog } from "../recover-log.ts";
import type { Ctx } from "./context.ts";

/** The node's durable state, opened and reconciled. */
export interface Storage {
  readonly clusterId: string;
  readonly wal: Wal;
  readonly contents: WalContents;
  readonly fsm: LmdbStore;
  readonly recovered: RecoveredLog;
}

/** Checks the metadata, opens the WAL and the store and reconciles them (recover-log.ts). */
export async function openStorage(ctx: Ctx): Promise<Storage> {
  const { config, logger, cleanup } = ctx;
  const clusterId = clusterIdFor(config.peers);
  await loadOrInitMeta(config.dataDir, { clusterId, nodeId: config.id });
  const { wal, contents } = await Wal.open(join(config.dataDir, "wal"));
  cleanup.push(() => wal.close());
  if (wal.tornTail !== null) {
    logger.warn(
      { ...wal.tornTail },
      "cut off a torn write at the end of the WAL (never acknowledged; term and vote kept from HARDSTATE)",
    );
  }
  const fsm = await openStore(config.dataDir);
  cleanup.push(() => fsm.close());
  const recovered = recoverLog(contents, fsm, config.dataDir);
  if (recovered.resetTo !== null) await wal.reset(recovered.resetTo.index, recovered.resetTo.term);
  return { clusterId, wal, contents, fsm, recovered };
}

/** The Raft core, restarted from what storage recovered. */
export function buildCore({ config, tuning }: Ctx, storage: Storage): RawNode {
  const { contents, recovered } = storage;
  return new RawNode(
    {
      id: config.id,
      voters: config.peers.map((p) => p.id),
      electionTick: tuning.electionTicks,
      heartbeatTick: tuning.heartbeatTicks,
      preVote: true,
      checkQuorum: true,
      maxMsgBytes: tuning.maxAppendBytes,
      maxInflight: tuning.maxInflightAppends,
      random: Math.random,
      // The log-scanning invariant checks (src/raft/invariants.ts), for test and debug runs.
      checkInvariants: process.env.DFS_CHECK_INVARIANTS === "1",
    },
    {
      hardState: contents.hardState,
      log: recovered.log,
      ...(recovered.snapshot !== null ? { snapshot: recovered.snapshot } : {}),
    },
  );
}

/**
 * Opens the state store; a damaged one is a clear startup error, not a stack trace (and,
 * thanks to the check before LMDB maps it, not a SIGBUS). A store we may not read or
 * write (permissions, a read-only mount) is the data dir's problem, not corruption.
 */
async function openStore(dataDir: string): Promise<LmdbStore> {
  try {
    return await LmdbStore.open(dataDir);
  } catch (error) {
    if (error instanceof StartupError) throw error;
    const reason = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ");
    if (isAccessError(error)) {
      throw new StartupError("data_dir", `cannot use the state store in ${dataDir}: ${reason}`);
    }
    throw new StartupError("corrupt", `cannot open the state store in ${dataDir}: ${reason}`);
  }
}

/** EACCES, EPERM or EROFS, whether Node or LMDB (which reports only the message) raised it. */
function isAccessError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return true;
  const message = error instanceof Error ? error.message : String(error);
  return /permission denied|operation not permitted|read-only file system|EACCES|EPERM|EROFS/i.test(
    message,
  );
}
