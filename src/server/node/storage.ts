/** Assembly steps: open and reconcile the durable state, then restart the Raft core on it. */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { StartupError } from "../../api/index.ts";
import { entryLogicalBytes, LmdbStore } from "../../fsm/index.ts";
import { type Membership, NO_MEMBERSHIP, RawNode } from "../../raft/index.ts";
import {
  type BlobIo,
  clusterIdFor,
  loadOrInitMeta,
  type NodeMeta,
  readNodeMeta,
  Wal,
  type WalContents,
} from "../../storage/index.ts";
import type { NodeConfig } from "../config.ts";
import { checkForceNewCluster, forceNewCluster } from "../force-new-cluster.ts";
import { fetchClusterId, type MemberAddresses } from "../join.ts";
import { bootstrapMembership } from "../members.ts";
import { type RecoveredLog, recoverLog } from "../recover-log.ts";
import { storeRecoveredChunks } from "./blob-path.ts";
import { checkBlobsAtStart } from "./blob-start.ts";
import type { Ctx } from "./context.ts";

/** The node's durable state, opened and reconciled. */
export interface Storage {
  readonly clusterId: string;
  /** This data dir's member identity and how it came to be (meta.json). */
  readonly meta: NodeMeta;
  /**
   * The configuration in force at the store's applied index: the store's record, else
   * (no configuration entry applied yet) the bootstrap one from `--peers`, or none for a
   * node that joined.
   */
  readonly membership: Membership;
  /** Members' addresses a running member reported (`--join`); empty otherwise. */
  readonly joinHints: ReadonlyMap<number, MemberAddresses>;
  readonly wal: Wal;
  readonly contents: WalContents;
  readonly fsm: LmdbStore;
  readonly recovered: RecoveredLog;
  /** Upload chunk bytes, one file per upload (`<data-dir>/blobs/`, the store's; issue 22). */
  readonly blobs: BlobIo;
}

/** Checks the metadata, opens the WAL and the store and reconciles them (recover-log.ts). */
export async function openStorage(ctx: Ctx): Promise<Storage> {
  const { config, logger, cleanup } = ctx;
  await checkForceNewCluster(config);
  const { meta, joinHints } = await openMeta(ctx);
  const clusterId = meta.clusterId;
  const { wal, contents } = await Wal.open(
    join(config.dataDir, "wal"),
    ctx.metrics.enabled ? { observer: ctx.metrics.wal } : {},
  );
  cleanup.push(() => wal.close());
  if (wal.tornTail !== null) {
    logger.warn(
      { ...wal.tornTail },
      "cut off a torn write at the end of the WAL (never acknowledged; term and vote kept from HARDSTATE)",
    );
  }
  const fsm = await openStore(config.dataDir);
  cleanup.push(() => fsm.close());
  let recovered = recoverLog(contents, fsm, config.dataDir);
  if (recovered.resetTo !== null) await wal.reset(recovered.resetTo.index, recovered.resetTo.term);
  const membership =
    fsm.membership ?? (meta.joined === true ? NO_MEMBERSHIP : bootstrapMembership(config));
  if (config.forceNewCluster === true) {
    const input = { config, wal, contents, recovered, storeMembership: membership, logger };
    recovered = await forceNewCluster(input);
  }
  // One blob store per node, the state machine's (`<data-dir>/blobs/`, beside state/ so
  // no swap of state/ moves it): the write path and the transport use the same one.
  const blobs = fsm.blobs;
  recovered = { ...recovered, log: await storeRecoveredChunks(recovered.log, blobs) };
  await checkBlobsAtStart(ctx, fsm, recovered.log.entries);
  return { clusterId, meta, membership, joinHints, wal, contents, fsm, recovered, blobs };
}

/**
 * Checks (or, for a new data dir, creates) meta.json. A bootstrapping node's cluster id
 * is derived from `--peers`; a joining node's comes from a running member (`--join`) and
 * is kept in meta.json, so later starts need neither. A data dir of another cluster is
 * refused (StartupError "data_dir").
 */
async function openMeta({
  config,
  logger,
}: Ctx): Promise<{ meta: NodeMeta; joinHints: ReadonlyMap<number, MemberAddresses> }> {
  const existing = await readNodeMeta(config.dataDir);
  const join = config.join ?? [];
  if (join.length === 0) {
    const clusterId =
      existing?.joined === true
        ? existing.clusterId
        : clusterIdFor(config.peers, existing?.restoredFrom);
    const meta = await loadOrInitMeta(config.dataDir, { clusterId, nodeId: config.id });
    return { meta, joinHints: new Map() };
  }
  let clusterId: string;
  let joinHints: ReadonlyMap<number, MemberAddresses> = new Map();
  try {
    const info = await fetchClusterId(join, joinCredentials(config));
    clusterId = info.clusterId;
    joinHints = info.members;
    logger.info({ clusterId, from: info.from }, "joining: cluster id from a running member");
  } catch (error) {
    // A node that joined before restarts even when the members it named are gone.
    if (existing === null) throw error;
    logger.warn({ err: (error as Error).message }, "--join: no member answered; using meta.json");
    clusterId = existing.clusterId;
  }
  if (existing !== null && existing.clusterId !== clusterId) {
    throw new StartupError(
      "data_dir",
      `data dir ${config.dataDir} belongs to cluster ${existing.clusterId}, but the members at --join are in cluster ${clusterId}: ` +
        "give this node a new data dir to join that cluster",
    );
  }
  const meta = await loadOrInitMeta(config.dataDir, {
    clusterId,
    nodeId: config.id,
    joined: true,
  });
  return { meta, joinHints };
}

/**
 * How a joining node calls members' client ports: plain text, or (when this node serves
 * clients over TLS) TLS trusting the client CA, else the peer CA, presenting its own
 * certificate (members that require client certificates take the cluster's).
 */
function joinCredentials(config: NodeConfig): grpc.ChannelCredentials {
  const tls = config.tls?.client;
  if (tls === undefined) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(
    tls.clientCa ?? config.tls?.peer?.ca ?? null,
    tls.key,
    tls.cert,
  );
}

/** The Raft core, restarted from what storage recovered. */
export function buildCore({ config, tuning }: Ctx, storage: Storage): RawNode {
  const { contents, recovered } = storage;
  return new RawNode(
    {
      id: config.id,
      // Only checked (the core requires its own id there); the configuration itself is
      // `membership` below, which may not even hold this node yet (a joining node).
      voters: [config.id],
      electionTick: tuning.electionTicks,
      heartbeatTick: tuning.heartbeatTicks,
      preVote: true,
      checkQuorum: true,
      maxMsgBytes: tuning.maxAppendBytes,
      maxInflight: tuning.maxInflightAppends,
      maxInflightBytes: tuning.maxInflightAppendBytes,
      // A chunk kept in stored form is sent (rehydrated) at its full size.
      entryBytes: entryLogicalBytes,
      random: Math.random,
      // The log-scanning invariant checks (src/raft/invariants.ts), for test and debug runs.
      checkInvariants: process.env.DFS_CHECK_INVARIANTS === "1",
    },
    {
      hardState: contents.hardState,
      log: recovered.log,
      ...(recovered.snapshot !== null
        ? { snapshot: { ...recovered.snapshot, membership: storage.membership } }
        : {}),
      membership: storage.membership,
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
