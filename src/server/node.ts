/**
 * Assembles and starts one dfs node: data dir (lock, metadata, WAL), Raft core, state
 * machine, peer transport and the gRPC server; returns a handle that stops it cleanly.
 * This is also the library entry point for embedding a node in a Node.js program.
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { MAX_GRPC_MESSAGE_BYTES } from "../api/limits.ts";
import { MemoryStore } from "../fsm/index.ts";
import { DfsService } from "../gen/dfs.ts";
import { RaftPeerService } from "../gen/raft.ts";
import { RawNode } from "../raft/index.ts";
import {
  acquireDataDirLock,
  clusterIdFor,
  type DataDirLock,
  loadOrInitMeta,
  prepareDataDir,
  Wal,
} from "../storage/index.ts";
import { PeerTransport, peerService } from "../transport/index.ts";
import { clientService } from "./client-service.ts";
import { DEFAULT_TUNING, type NodeConfig, type RaftTuning } from "./config.ts";
import { StartupError } from "./errors.ts";
import { createLogger } from "./logger.ts";
import { SYSTEM_CLOCK } from "./loop-clock.ts";
import { RaftLoop } from "./raft-loop.ts";
import { statusOf } from "./status.ts";
import { validateNodeConfig } from "./validate-config.ts";

/** A running node. */
export interface NodeHandle {
  readonly id: number;
  /** The address the node serves on (host:port). */
  readonly address: string;
  /** Resolves if the node stops by itself because it could no longer persist safely. */
  readonly failed: Promise<Error>;
  /** Stops serving, waits for in-flight disk writes, releases the data dir. */
  stop(): Promise<void>;
}

/** Starts a node; throws StartupError with a one-line reason when it cannot. */
export async function startNode(config: NodeConfig): Promise<NodeHandle> {
  validateNodeConfig(config);
  const tuning: RaftTuning = { ...DEFAULT_TUNING, ...config.tuning };
  const logger = createLogger(config.id, config.debug ?? false);
  await prepareDataDir(config.dataDir);
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
  const self = config.peers.find((p) => p.id === config.id) as (typeof config.peers)[number];
  const addresses = new Map(config.peers.map((p) => [p.id, `${p.host}:${p.port}`]));
  const fsm = new MemoryStore();
  const firstIndex = contents.entries[0]?.index ?? 1;
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
    },
    {
      hardState: contents.hardState,
      log: {
        entries: contents.entries,
        offset: firstIndex - 1,
        offsetTerm: 0,
        committed: contents.hardState.commit,
        applied: 0,
      },
    },
  );
  if (firstIndex !== 1)
    throw new StartupError(
      "corrupt",
      `WAL in ${config.dataDir} starts at index ${firstIndex}, expected 1`,
    );
  const peers = new Map(
    [...addresses]
      .filter(([id]) => id !== config.id)
      .map(([id, address]) => [id, config.peerDialAddresses?.[id] ?? address] as const),
  );
  const transport = new PeerTransport({
    selfId: config.id,
    clusterId,
    peers,
    onError: (peer, error) => logger.debug({ peer, err: error.message }, "peer delivery failed"),
  });
  cleanup.push(() => transport.close());
  let fail: (error: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  const loop = new RaftLoop(
    {
      node,
      wal,
      transport,
      fsm,
      tickMs: tuning.tickMs,
      clock: SYSTEM_CLOCK,
      logger,
      addressOf: (id) => addresses.get(id),
      onFatal: (error) => {
        logger.fatal({ err: error.message }, "cannot persist to the WAL; stopping");
        fail(error);
      },
    },
    contents.hardState,
  );
  const address = `${self.host}:${self.port}`;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": Math.max(MAX_GRPC_MESSAGE_BYTES, 64 * 1024 * 1024),
    "grpc.max_send_message_length": Math.max(MAX_GRPC_MESSAGE_BYTES, 64 * 1024 * 1024),
  });
  server.addService(
    DfsService,
    clientService({
      loop,
      fsm,
      status: () => statusOf(config, clusterId, node, fsm),
      now: Date.now,
    }),
  );
  server.addService(
    RaftPeerService,
    peerService(config.id, clusterId, (msgs) => loop.deliver(msgs)),
  );
  await bind(server, `${config.listenHost ?? self.host}:${self.port}`);
  cleanup.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  loop.start();
  logger.debug({ address, clusterId, entries: contents.entries.length }, "node started");
  let stopping: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    server.forceShutdown();
    await loop.stop();
    transport.close();
    await wal.close();
    await _lock.release();
  };
  return {
    id: config.id,
    address,
    failed,
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}

function bind(server: grpc.Server, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => {
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
