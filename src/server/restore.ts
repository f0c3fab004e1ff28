/**
 * `dfs snapshot restore`: prepares the data dir of one member of a NEW cluster from a
 * backup, so that `dfs server` with the same `--id` and `--peers` starts from it like a
 * node that has just installed a snapshot:
 *
 * - `state/`: the backup's records (values, files, sessions, the store's applied index
 *   and term), with the configuration replaced by `--peers` (every member a voter, no
 *   data dir bound yet);
 * - `wal/`: an empty log starting after the backup's index, whose hard state carries
 *   the backup's term (no vote) and commits that index;
 * - `meta.json`: this node's id, a fresh member identity, and the new cluster's id,
 *   derived from `--peers` and the backup's SHA-256 (`restoredFrom`), so every member
 *   restored from one file with one peer list agrees on it without coordination, and it
 *   differs from the cluster the backup came from: the new cluster can never exchange
 *   messages with the old one.
 *
 * The file is verified whole before the data dir is touched; a damaged backup (exit 7), a
 * data dir that is not empty (exit 6), or an id missing from `--peers` (the CLI's usage
 * error) are refused. docs/backup.md#restoring-into-a-new-cluster.
 */
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { StartupError } from "../api/index.ts";
import { type BackupSummary, buildStoreFromBackup, verifyBackup } from "../fsm/index.ts";
import {
  acquireDataDirLock,
  clusterIdFor,
  prepareDataDir,
  Wal,
  writeRestoredMeta,
} from "../storage/index.ts";
import type { PeerAddress } from "./config.ts";
import { bootstrapMembership } from "./members.ts";

/** What to restore, and where. */
export interface RestoreOptions {
  /** The backup file. */
  readonly backup: string;
  /** The new member's data dir: absent or empty. */
  readonly dataDir: string;
  /** The new member's id; must be one of `peers`. */
  readonly id: number;
  /** The new cluster's members, as `dfs server --peers` will be given them. */
  readonly peers: readonly PeerAddress[];
  /** Progress: `phase` "verify" then "restore", bytes of the file read so far. */
  readonly onProgress?: (phase: "verify" | "restore", bytes: number, total: number) => void;
}

/** What a restore made. */
export interface RestoreResult {
  readonly backup: BackupSummary;
  /** The new cluster's id. */
  readonly clusterId: string;
  /** This member's data dir identity (meta.json). */
  readonly memberId: string;
}

/**
 * Prepares `dataDir` as described in the module comment. Throws StartupError
 * "corrupt" (damaged backup), "data_dir" (data dir not empty or unusable), or "config"
 * (id not among the peers, backup unreadable).
 */
export async function restoreDataDir(o: RestoreOptions): Promise<RestoreResult> {
  if (!o.peers.some((p) => p.id === o.id))
    throw new StartupError("config", `--id ${o.id} is not one of the --peers ids`);
  const total = (await stat(o.backup).catch(() => null))?.size ?? 0;
  const summary = await verifyBackup(o.backup, (b) => o.onProgress?.("verify", b, total));
  await refuseNonEmpty(o.dataDir);
  await prepareDataDir(o.dataDir);
  const lock = await acquireDataDirLock(o.dataDir);
  try {
    return await build(o, summary);
  } catch (error) {
    await emptyDir(o.dataDir);
    throw error;
  } finally {
    await lock.release();
  }
}

/**
 * The WAL first and meta.json last: a restore interrupted anywhere in between leaves a
 * data dir with a WAL but no meta.json, which `dfs server` refuses to start from
 * (exit 7) rather than mistaking a half-built store for a node.
 */
async function build(o: RestoreOptions, verified: BackupSummary): Promise<RestoreResult> {
  const { index, term } = verified.header;
  const { wal } = await Wal.open(join(o.dataDir, "wal"));
  try {
    await wal.reset(index, term);
    await wal.save([], { term, vote: 0, commit: index });
  } finally {
    await wal.close();
  }
  const membership = bootstrapMembership({ id: o.id, dataDir: o.dataDir, peers: o.peers });
  const total = verified.fileBytes;
  const summary = await buildStoreFromBackup(o.backup, join(o.dataDir, "state"), membership, (b) =>
    o.onProgress?.("restore", b, total),
  );
  if (summary.sha256 !== verified.sha256)
    throw new StartupError("corrupt", `backup ${o.backup} changed while it was being restored`);
  const clusterId = clusterIdFor(o.peers, summary.sha256);
  const meta = await writeRestoredMeta(o.dataDir, {
    clusterId,
    nodeId: o.id,
    restoredFrom: summary.sha256,
  });
  return { backup: summary, clusterId, memberId: meta.memberId };
}

async function refuseNonEmpty(dataDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new StartupError("data_dir", `cannot use data dir ${dataDir}: ${(err as Error).message}`);
  }
  if (names.length > 0)
    throw new StartupError(
      "data_dir",
      `data dir ${dataDir} is not empty (${names.length} entries): restore only into a new, empty data dir`,
    );
}

/** Undoes a failed restore: the dir was empty before, so everything in it is ours. */
async function emptyDir(dataDir: string): Promise<void> {
  for (const name of await readdir(dataDir).catch(() => [] as string[]))
    await rm(join(dataDir, name), { recursive: true, force: true });
}
