/**
 * Assembles and starts one dfs node: data dir (lock, metadata, WAL), Raft core, state
 * machine, peer transport and two gRPC servers, one per port (etcd's 2379/2380): the
 * client port serves only the Dfs service and the peer port only RaftPeer, so Raft and
 * snapshot traffic never reaches the client port and client calls never reach the peer
 * port (each answers the other's calls with UNIMPLEMENTED). Returns a handle that stops
 * it cleanly. The steps, in dependency order, live in node/: storage.ts (open and
 * reconcile the data dir, restart the core), replication.ts (transport and event loop),
 * servers.ts (gRPC services and listeners).
 * This is also the library entry point for embedding a node in a Node.js program.
 */

import { hasServerNodeFlags } from "../api/index.ts";
import { acquireDataDirLock, prepareDataDir } from "../storage/index.ts";
import { DEFAULT_TUNING, type NodeConfig, type RaftTuning } from "./config.ts";
import { startIdentityBinder } from "./identity-binder.ts";
import { createLogger, type Logger } from "./logger.ts";
import { MemberDirectory } from "./members.ts";
import type { Ctx } from "./node/context.ts";
import { addressesOf } from "./node/context.ts";
import { metricsFor, startHttp } from "./node/http.ts";
import { buildReplication } from "./node/replication.ts";
import { buildServers, type Servers, startListeners } from "./node/servers.ts";
import { buildCore, openStorage, type Storage } from "./node/storage.ts";
import type { RaftLoop } from "./raft-loop.ts";
import { checkNodeTls } from "./tls-credentials.ts";
import { validateNodeConfig } from "./validate-config.ts";
/** A running node. */
export interface NodeHandle {
  readonly id: number;
  /** The address the node serves clients on (host:port). */
  readonly address: string;
  /** The address of its peer listener (host:port). */
  readonly peerAddress: string;
  /** The address of its HTTP listener (host:port; `--http-port`), null without one. */
  readonly httpAddress: string | null;
  /**
   * Resolves if the node stops by itself: it could no longer persist safely, or it was
   * removed from the cluster (a MemberRemovedError, see members.ts).
   */
  readonly failed: Promise<Error>;
  /**
   * Peer messages refused so far, per reason: at the transport's edge (message-checks.ts,
   * certificate identity, snapshot admission) and by the core itself (a message
   * impossible in its state). Status reports them; `dfs status` prints the non-zero ones.
   */
  droppedPeerMessages(): ReadonlyMap<string, number>;
  /**
   * Stops serving, waits for in-flight disk writes, releases the data dir. A leader first
   * hands its leadership over (bounded by two election timeouts) unless
   * `{ transfer: false }`.
   */
  stop(options?: StopOptions): Promise<void>;
}

/** How a node stops. */
export interface StopOptions {
  /** A leader transfers leadership first (default true). */
  readonly transfer?: boolean;
}

/** Starts a node; throws StartupError with a one-line reason when it cannot. */
export async function startNode(config: NodeConfig): Promise<NodeHandle> {
  validateNodeConfig(config);
  checkNodeTls(config.tls, config.id);
  const tuning: RaftTuning = { ...DEFAULT_TUNING, ...config.tuning };
  const logger = createLogger(config.id, {
    ...(config.debug !== undefined ? { debug: config.debug } : {}),
    ...(config.logLevel !== undefined ? { level: config.logLevel } : {}),
    ...(config.logFormat !== undefined ? { format: config.logFormat } : {}),
  });
  const loosened = await prepareDataDir(config.dataDir);
  if (loosened !== null) {
    logger.warn(
      { dataDir: config.dataDir, was: loosened.toString(8) },
      "data dir was readable by others: tightened to 0700",
    );
  }
  const lock = await acquireDataDirLock(config.dataDir);
  const ctx: Ctx = {
    config,
    tuning,
    logger,
    lock,
    metrics: metricsFor({ config }),
    lifecycle: { stopping: false },
    cleanup: [() => lock.release()],
  };
  try {
    return await assemble(ctx);
  } catch (error) {
    for (const fn of ctx.cleanup.reverse()) await fn();
    throw error;
  }
}

/** Builds the node in dependency order, starts it and returns its handle. */
async function assemble(ctx: Ctx): Promise<NodeHandle> {
  const storage = await openStorage(ctx);
  const node = buildCore(ctx, storage);
  const members = new MemberDirectory(
    ctx.config.id,
    storage.meta.memberId,
    storage.membership,
    ctx.config.peerDialAddresses,
    storage.joinHints,
  );
  // The core replayed committed configuration entries after the store's applied index
  // (a forced new cluster's among them): the edges start from the one in force.
  const active = node.status().membership;
  if (active.membership !== storage.membership) members.update(active.membership, active.index);
  const failure = failureSignal();
  const replication = buildReplication(ctx, storage, node, members, failure.fail);
  const servers = buildServers(ctx, storage, node, replication.loop, members, () =>
    replication.transport.overflowedMessages(),
  );
  // Bound before the gRPC ports and before the loop starts, so a taken HTTP port fails
  // the start while nothing runs yet (ctx.cleanup undoes the rest).
  const http = await startHttp(ctx, {
    storage,
    loop: replication.loop,
    droppedPeerMessages: servers.droppedPeerMessages,
  });
  await startListeners(ctx, servers);
  replication.loop.start();
  const stopBinder = startIdentityBinder(replication.loop, members, ctx.logger);
  ctx.cleanup.push(stopBinder);
  const stopPings = startPings(replication.loop, replication.transport, members);
  ctx.cleanup.push(stopPings);
  logStarted(ctx, storage, http?.address ?? null);
  return handleOf(ctx, servers, http?.address ?? null, failure.failed, async (options) => {
    ctx.lifecycle.stopping = true;
    stopBinder();
    stopPings();
    if (options.transfer !== false) await handOff(ctx, replication.loop, ctx.logger);
    await http?.close();
    servers.stop();
    await replication.loop.stop();
    replication.transport.close();
    await storage.wal.close();
    await storage.fsm.close();
  });
}

/** How often a node that does not lead pings the other members (see startPings). */
const PING_EVERY_MS = 3000;

/**
 * A node that does not lead sends every other member an empty batch now and then. A
 * removed learner would otherwise never learn it was removed (it sends nothing, and the
 * leader stops replicating to it): the peers' refusal tells it, and it stops.
 */
function startPings(
  loop: RaftLoop,
  transport: { ping(peers: readonly number[]): void },
  members: MemberDirectory,
): () => void {
  const timer = setInterval(() => {
    if (loop.isStopped || loop.softState().role === "leader") return;
    const peers = members.membership.members.map((m) => m.id).filter((id) => id !== members.selfId);
    transport.ping(peers);
  }, PING_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * A leader that is asked to stop first hands its leadership to the most caught-up voter
 * and waits (at most two election timeouts) until another leader holds office, so a
 * planned restart costs no election timeout; meanwhile clients are told where to go.
 */
async function handOff({ config, tuning }: Ctx, loop: RaftLoop, logger: Logger): Promise<void> {
  if (loop.isStopped || loop.softState().role !== "leader") return;
  let target: number;
  try {
    target = loop.transferLeadership(0);
  } catch (error) {
    logger.info({ err: (error as Error).message }, "stopping without a leadership transfer");
    return;
  }
  const started = Date.now();
  const deadline = started + 2 * tuning.electionTicks * tuning.tickMs;
  while (Date.now() < deadline) {
    const { leader } = loop.softState();
    if (leader !== 0 && leader !== config.id) {
      logger.info({ to: leader, ms: Date.now() - started }, "handed leadership over; stopping");
      // One tick for the writes held during the transfer to be told where the leader is.
      await new Promise((resolve) => setTimeout(resolve, tuning.tickMs));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, tuning.tickMs / 5));
  }
  logger.warn({ to: target }, "leadership transfer did not finish in time; stopping anyway");
}

/** A promise the node settles if it stops by itself, and the function that settles it. */
function failureSignal(): { failed: Promise<Error>; fail: (error: Error) => void } {
  let fail: (error: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  return { failed, fail };
}

function logStarted({ config, logger }: Ctx, storage: Storage, httpAddress: string | null): void {
  const { client, peer } = addressesOf(config);
  logger.debug(
    {
      address: client,
      peerAddress: peer,
      httpAddress,
      tls: config.tls !== undefined,
      clusterId: storage.clusterId,
      applied: storage.fsm.appliedIndex,
      replay: storage.contents.entries.length,
      serverNodeFlags: hasServerNodeFlags(),
    },
    "node started",
  );
}

/** The running node's handle; `stopParts` stops what assemble started, then the lock goes. */
function handleOf(
  ctx: Ctx,
  servers: Servers,
  httpAddress: string | null,
  failed: Promise<Error>,
  stopParts: (options: StopOptions) => Promise<void>,
): NodeHandle {
  const { client, peer } = addressesOf(ctx.config);
  let stopping: Promise<void> | null = null;
  return {
    id: ctx.config.id,
    address: client,
    peerAddress: peer,
    httpAddress,
    failed,
    droppedPeerMessages: servers.droppedPeerMessages,
    stop: (options = {}) => {
      stopping ??= stopParts(options).then(() => ctx.lock.release());
      return stopping;
    },
  };
}
