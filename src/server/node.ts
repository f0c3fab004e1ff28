/**
 * Assembles and starts one dfs node: data dir (lock, metadata, WAL), Raft core, state
 * machine, peer transport and two gRPC servers, one per port (etcd's 2379/2380): the
 * client port serves only the Dfs service and the peer port only RaftPeer, so Raft and
 * snapshot traffic never reaches the client port and client calls never reach the peer
 * port (each answers the other's calls with UNIMPLEMENTED). Returns a handle that stops
 * it cleanly.
 * This is also the library entry point for embedding a node in a Node.js program.
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { hasServerNodeFlags } from "../api/index.ts";
import { LmdbStore } from "../fsm/index.ts";
import { DfsService } from "../gen/dfs.ts";
import { RaftPeerService } from "../gen/raft.ts";
import { RawNode } from "../raft/index.ts";
import { crashPoint } from "../storage/crash-point.ts";
import {
  acquireDataDirLock,
  clusterIdFor,
  type DataDirLock,
  failedForLackOfSpace,
  loadOrInitMeta,
  prepareDataDir,
  snapshotRoom,
  Wal,
} from "../storage/index.ts";
import {
  leaderAdmission,
  PeerAuthenticator,
  PeerDrops,
  PeerTransport,
  peerService,
  SnapshotSender,
} from "../transport/index.ts";
import { type GuardReport, guardService } from "../wire/guarded-service.ts";
import { CLIENT_STREAM_RECEIVE_WINDOW, clientServerOptions } from "./client-server-options.ts";
import { clientService } from "./client-service.ts";
import {
  DEFAULT_SNAPSHOT_TUNING,
  DEFAULT_TUNING,
  type NodeConfig,
  peerListenerOf,
  type RaftTuning,
} from "./config.ts";
import { StartupError } from "./errors.ts";
import { createLogger } from "./logger.ts";
import { SYSTEM_CLOCK } from "./loop-clock.ts";
import { isLoopbackHost, peerServerOptions } from "./peer-server-options.ts";
import { RaftLoop, type SnapshotPolicy } from "./raft-loop.ts";
import { raiseConnectionWindow, raiseStreamWindow } from "./receive-window.ts";
import { recoverLog } from "./recover-log.ts";
import { statusOf } from "./status.ts";
import {
  checkNodeTls,
  clientServerCredentials,
  peerChannelCredentials,
  peerServerCredentials,
} from "./tls-credentials.ts";
import { validateNodeConfig } from "./validate-config.ts";

/** A running node. */
export interface NodeHandle {
  readonly id: number;
  /** The address the node serves clients on (host:port). */
  readonly address: string;
  /** The address of its peer listener (host:port). */
  readonly peerAddress: string;
  /** Resolves if the node stops by itself because it could no longer persist safely. */
  readonly failed: Promise<Error>;
  /**
   * Peer messages refused so far, per reason: at the transport's edge (message-checks.ts,
   * certificate identity, snapshot admission) and by the core itself (a message
   * impossible in its state). Status reports them; `dfs status` prints the non-zero ones.
   */
  droppedPeerMessages(): ReadonlyMap<string, number>;
  /** Stops serving, waits for in-flight disk writes, releases the data dir. */
  stop(): Promise<void>;
}

/** Starts a node; throws StartupError with a one-line reason when it cannot. */
export async function startNode(config: NodeConfig): Promise<NodeHandle> {
  validateNodeConfig(config);
  checkNodeTls(config.tls, config.id);
  const tuning: RaftTuning = { ...DEFAULT_TUNING, ...config.tuning };
  const logger = createLogger(config.id, config.debug ?? false);
  const loosened = await prepareDataDir(config.dataDir);
  if (loosened !== null) {
    logger.warn(
      { dataDir: config.dataDir, was: loosened.toString(8) },
      "data dir was readable by others: tightened to 0700",
    );
  }
  const lock = await acquireDataDirLock(config.dataDir);
  const cleanup: (() => Promise<void> | void)[] = [() => lock.release()];
  try {
    return await assemble(config, tuning, logger, lock, cleanup);
  } catch (error) {
    for (const fn of cleanup.reverse()) await fn();
    throw error;
  }
}

async function assemble(
  config: NodeConfig,
  tuning: RaftTuning,
  logger: ReturnType<typeof createLogger>,
  _lock: DataDirLock,
  cleanup: (() => Promise<void> | void)[],
): Promise<NodeHandle> {
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
  const self = config.peers.find((p) => p.id === config.id) as (typeof config.peers)[number];
  const addresses = new Map(config.peers.map((p) => [p.id, `${p.host}:${p.port}`]));
  const fsm = await openStore(config.dataDir);
  cleanup.push(() => fsm.close());
  const recovered = recoverLog(contents, fsm, config.dataDir);
  if (recovered.resetTo !== null) await wal.reset(recovered.resetTo.index, recovered.resetTo.term);
  const node = new RawNode(
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
      // The log-scanning invariant checks (invariants.ts), for test and debug runs.
      checkInvariants: process.env.DFS_CHECK_INVARIANTS === "1",
    },
    {
      hardState: contents.hardState,
      log: recovered.log,
      ...(recovered.snapshot !== null ? { snapshot: recovered.snapshot } : {}),
    },
  );
  const peers = new Map(
    config.peers
      .filter((p) => p.id !== config.id)
      .map((p) => {
        const listener = peerListenerOf(p);
        const dial = config.peerDialAddresses?.[p.id] ?? `${listener.host}:${listener.port}`;
        return [p.id, dial] as const;
      }),
  );
  const peerCredentials = peerChannelCredentials(config.tls);
  let loopRef: RaftLoop | null = null;
  const snapshotSender = new SnapshotSender({
    selfId: config.id,
    clusterId,
    peers,
    open: () => fsm.openSnapshot(),
    report: (peer, ok) => loopRef?.reportSnapshot(peer, ok),
    log: (fields, message) => logger.info(fields, message),
    credentials: peerCredentials,
  });
  const transport = new PeerTransport({
    selfId: config.id,
    clusterId,
    peers,
    onError: (peer, error) => logger.debug({ peer, err: error.message }, "peer delivery failed"),
    snapshots: snapshotSender,
    credentials: peerCredentials,
  });
  cleanup.push(() => transport.close());
  let fail: (error: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  const snapshotTuning = { ...DEFAULT_SNAPSHOT_TUNING, ...config.snapshots };
  const snapshots: SnapshotPolicy = {
    store: {
      capture: async () => {
        await fsm.flushed();
        crashPoint("snapshot-flushed");
      },
      install: async (meta) => {
        await fsm.installReceived(meta);
        crashPoint("snapshot-installed");
      },
    },
    ...snapshotTuning,
    pinnedIndex: () => snapshotSender.pinnedIndex(),
  };
  const loop = new RaftLoop(
    {
      node,
      wal,
      transport,
      fsm,
      tickMs: tuning.tickMs,
      clock: SYSTEM_CLOCK,
      logger,
      snapshots,
      addressOf: (id) => addresses.get(id),
      onFatal: (error) => {
        logger.fatal(
          { err: error.message },
          error.name === "InvariantError"
            ? "a Raft invariant check failed (a bug); stopping before that state is persisted"
            : "cannot persist to the WAL; stopping",
        );
        fail(error);
      },
      lackOfSpace: (error) => failedForLackOfSpace(error, config.dataDir),
    },
    contents.hardState,
  );
  loopRef = loop;
  const address = `${self.host}:${self.port}`;
  const ownListener = peerListenerOf(self);
  const peerAddress = `${ownListener.host}:${ownListener.port}`;
  const clientServer = new grpc.Server(clientServerOptions());
  const guardReport: GuardReport = (fields, message) =>
    fields.kind === "threw" ? logger.error(fields, message) : logger.debug(fields, message);
  const client = guardService(
    DfsService,
    clientService({
      loop,
      fsm,
      status: () => statusOf(config, clusterId, node, fsm, droppedPeerMessages()),
      now: Date.now,
      ...(config.limits !== undefined ? { limits: config.limits } : {}),
    }),
    guardReport,
  );
  clientServer.addService(client.definition, client.implementation);
  // Today the configuration is the --peers list; membership changes will replace this.
  const members = new Set(config.peers.map((p) => p.id));
  const peerDrops = new PeerDrops((fields, message) => logger.warn(fields, message));
  const auth = config.tls?.peer === undefined ? undefined : new PeerAuthenticator(peerDrops);
  const droppedPeerMessages = (): ReadonlyMap<string, number> => {
    const total = new Map<string, number>(peerDrops.snapshot());
    for (const [reason, n] of node.droppedMessages()) {
      total.set(reason, (total.get(reason) ?? 0) + n);
    }
    return total;
  };
  const peer = guardService(
    RaftPeerService,
    peerService({
      selfId: config.id,
      clusterId,
      isMember: (id) => id !== config.id && members.has(id),
      deliver: (msgs) => loop.deliver(msgs),
      drops: peerDrops,
      snapshots: {
        begin: (meta) => fsm.receiveSnapshot(meta),
        complete: (incoming, m) => fsm.completeReceived(incoming, () => loop.deliverSnapshot(m)),
        admit: leaderAdmission(() => loop.softState()),
        room: () => snapshotRoom(config.dataDir),
      },
      ...(auth !== undefined ? { authorize: auth.authorize } : {}),
    }),
    guardReport,
  );
  const peerServer = new grpc.Server(peerServerOptions());
  peerServer.addService(peer.definition, peer.implementation);
  const windows =
    raiseStreamWindow(clientServer, CLIENT_STREAM_RECEIVE_WINDOW) && raiseStreamWindow(peerServer);
  const stopServers = (): void => {
    clientServer.forceShutdown();
    peerServer.forceShutdown();
  };
  cleanup.push(stopServers);
  const peerListenHost = config.listenHost ?? ownListener.host;
  await bind(
    peerServer,
    `${peerListenHost}:${ownListener.port}`,
    peerServerCredentials(config.tls),
  );
  if (config.tls?.peer === undefined && !isLoopbackHost(peerListenHost)) {
    logger.warn(
      { peerAddress: `${peerListenHost}:${ownListener.port}` },
      "the peer port listens in plain text beyond loopback: anyone who reaches it can speak for a member (use --peer-cert/--peer-key/--peer-ca)",
    );
  }
  await bind(
    clientServer,
    `${config.listenHost ?? self.host}:${self.port}`,
    clientServerCredentials(config.tls),
  );
  if (!(windows && [clientServer, peerServer].every((server) => raiseConnectionWindow(server)))) {
    logger.warn(
      {},
      "cannot raise gRPC receive windows (grpc-js changed?): large values are slower",
    );
  }
  loop.start();
  logger.debug(
    {
      address,
      peerAddress,
      tls: config.tls !== undefined,
      clusterId,
      applied: fsm.appliedIndex,
      replay: contents.entries.length,
      serverNodeFlags: hasServerNodeFlags(),
    },
    "node started",
  );
  let stopping: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    stopServers();
    await loop.stop();
    transport.close();
    await wal.close();
    await fsm.close();
    await _lock.release();
  };
  return {
    id: config.id,
    address,
    peerAddress,
    failed,
    droppedPeerMessages,
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
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

function bind(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials,
): Promise<void> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error) => {
      if (error === null) return resolve();
      const inUse = /EADDRINUSE|address already in use/i.test(error.message);
      reject(
        inUse
          ? new StartupError("port_in_use", `cannot listen on ${address}: address already in use`)
          : new StartupError("config", `cannot listen on ${address}: ${error.message}`),
      );
    });
  });
}
