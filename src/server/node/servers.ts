/** Assembly steps: the client and peer gRPC servers, then their listeners. */
import * as grpc from "@grpc/grpc-js";
import { StartupError } from "../../api/index.ts";
import type { StatusResponse } from "../../gen/dfs.ts";
import { RaftPeerService } from "../../gen/raft.ts";
import type { RawNode } from "../../raft/index.ts";
import { snapshotRoom } from "../../storage/index.ts";
import {
  leaderAdmission,
  PeerAuthenticator,
  PeerDrops,
  peerService,
} from "../../transport/index.ts";
import { DFS_SERVICE, type GuardReport, guardService } from "../../wire/index.ts";
import { CLIENT_STREAM_RECEIVE_WINDOW, clientServerOptions } from "../client-server-options.ts";
import { clientService } from "../client-service.ts";
import { peerListenerOf } from "../config.ts";
import { writeForwarding } from "../forward/index.ts";
import { type FrontEnds, startFrontEnds } from "../front/front-ends.ts";
import { instrumentService } from "../http/instrument-service.ts";
import { memberAdmin } from "../member-admin.ts";
import type { MemberDirectory } from "../members.ts";
import { isLoopbackHost, peerServerOptions } from "../peer-server-options.ts";
import type { RaftLoop } from "../raft-loop.ts";
import { raiseConnectionWindow, raiseStreamWindow } from "../receive-window.ts";
import { statusOf } from "../status.ts";
import { clientServerCredentials, peerServerCredentials } from "../tls-credentials.ts";
import type { Ctx } from "./context.ts";
import { selfOf } from "./context.ts";
import { healthLine } from "./http.ts";
import type { Storage } from "./storage.ts";

/** The two gRPC servers (client port, peer port), not yet listening. */
export interface Servers {
  readonly client: grpc.Server;
  readonly peer: grpc.Server;
  /** Whether both servers' per-stream receive windows could be raised. */
  readonly streamWindows: boolean;
  readonly droppedPeerMessages: () => ReadonlyMap<string, number>;
  /** The Dfs service's handlers (what `--front-ends` threads hand their calls to). */
  readonly clientImplementation: grpc.UntypedServiceImplementation;
  /** The protocol front ends once listening (`--front-ends`); null: in-process. */
  frontEnds: FrontEnds | null;
  stop(): void;
}

/** Builds the client and peer gRPC servers with their services. */
export function buildServers(
  ctx: Ctx,
  storage: Storage,
  node: RawNode,
  loop: RaftLoop,
  members: MemberDirectory,
  /** Outgoing peer messages refused by a full link so far (PeerTransport.overflowedMessages). */
  linkOverflows: () => number = () => 0,
): Servers {
  const { config, logger, tuning } = ctx;
  const guardReport: GuardReport = (fields, message) =>
    fields.kind === "threw" ? logger.error(fields, message) : logger.debug(fields, message);
  const peerDrops = new PeerDrops((fields, message) => logger.warn(fields, message));
  const droppedPeerMessages = (): ReadonlyMap<string, number> =>
    withLinkDrops(sumDrops(peerDrops.snapshot(), node.droppedMessages()), linkOverflows());
  const client = new grpc.Server(clientServerOptions());
  const status = (): StatusResponse =>
    statusOf(
      config,
      storage.clusterId,
      node,
      storage.fsm,
      droppedPeerMessages(),
      tuning.electionTicks,
      healthLine(loop, ctx.lifecycle.stopping),
    );
  const apiMetrics = ctx.metrics.client;
  const service = clientService({
    loop,
    fsm: storage.fsm,
    status,
    now: Date.now,
    ...(config.limits !== undefined ? { limits: config.limits } : {}),
    ...(config.authTokenTtlS !== undefined ? { authTokenTtlS: config.authTokenTtlS } : {}),
    certUsers: config.tls?.client?.clientCa !== undefined,
    admin: memberAdmin({
      loop,
      clusterId: storage.clusterId,
      electionTicks: tuning.electionTicks,
      tickMs: tuning.tickMs,
    }),
    ...(apiMetrics !== null ? { batchStreamMetrics: apiMetrics.method("BatchStream") } : {}),
  });
  const served = writeForwarding(service, config.tls, loop, members, ctx.cleanup);
  const dfs = guardService(
    DFS_SERVICE,
    apiMetrics === null ? served : instrumentService(DFS_SERVICE, served, apiMetrics),
    guardReport,
  );
  client.addService(dfs.definition, dfs.implementation);
  const clientImplementation = dfs.implementation;
  const peer = new grpc.Server(peerServerOptions());
  const raftPeer = guardService(
    RaftPeerService,
    raftPeerService(ctx, storage, loop, peerDrops, members),
    guardReport,
  );
  peer.addService(raftPeer.definition, raftPeer.implementation);
  const streamWindows =
    raiseStreamWindow(client, CLIENT_STREAM_RECEIVE_WINDOW) && raiseStreamWindow(peer);
  const servers: Servers = {
    client,
    peer,
    streamWindows,
    droppedPeerMessages,
    clientImplementation,
    frontEnds: null,
    stop: () => {
      void servers.frontEnds?.stop();
      client.forceShutdown();
      peer.forceShutdown();
    },
  };
  ctx.cleanup.push(servers.stop);
  return servers;
}

/** `drops` plus, when any, the outgoing messages a full peer link refused ("link_full"). */
function withLinkDrops(
  drops: ReadonlyMap<string, number>,
  overflowed: number,
): ReadonlyMap<string, number> {
  if (overflowed === 0) return drops;
  return new Map([...drops, ["link_full", overflowed]]);
}

/** Refused peer messages per reason: the transport's edge plus the core's own. */
function sumDrops(
  edge: Iterable<readonly [string, number]>,
  core: ReadonlyMap<string, number>,
): ReadonlyMap<string, number> {
  const total = new Map<string, number>(edge);
  for (const [reason, n] of core) total.set(reason, (total.get(reason) ?? 0) + n);
  return total;
}

/** The RaftPeer service: peer messages and snapshots in, to the loop. */
function raftPeerService(
  { config, metrics }: Ctx,
  storage: Storage,
  loop: RaftLoop,
  drops: PeerDrops,
  members: MemberDirectory,
): ReturnType<typeof peerService> {
  const auth = config.tls?.peer === undefined ? undefined : new PeerAuthenticator(drops);
  const { fsm } = storage;
  const received = (bytes: number): void => metrics.store.snapshotReceived(bytes);
  return peerService({
    selfId: config.id,
    clusterId: storage.clusterId,
    // Anyone not removed: a member added by a configuration this node has not learned
    // yet must reach it (the core accepts unknown ids too); a removed id never does.
    isMember: (id) => members.accepts(id),
    identityFault: (id, identity) => members.identityFault(id, identity),
    deliver: (msgs) => loop.deliver(msgs),
    drops,
    snapshots: {
      begin: (meta) => fsm.receiveSnapshot(meta),
      complete: (incoming, m) => {
        const { bytes } = incoming as { bytes?: unknown };
        if (typeof bytes === "number") received(bytes);
        return fsm.completeReceived(incoming, () => loop.deliverSnapshot(m));
      },
      admit: leaderAdmission(() => loop.softState()),
      room: () => snapshotRoom(config.dataDir),
    },
    ...(auth !== undefined ? { authorize: auth.authorize } : {}),
  });
}

/** Binds the peer port, then the client port. */
export async function startListeners({ config, logger }: Ctx, servers: Servers): Promise<void> {
  const self = selfOf(config);
  const ownListener = peerListenerOf(self);
  const peerListenHost = config.listenHost ?? ownListener.host;
  await bind(
    servers.peer,
    `${peerListenHost}:${ownListener.port}`,
    peerServerCredentials(config.tls),
  );
  if (config.tls?.peer === undefined && !isLoopbackHost(peerListenHost)) {
    logger.warn(
      { peerAddress: `${peerListenHost}:${ownListener.port}` },
      "the peer port listens in plain text beyond loopback: anyone who reaches it can speak for a member (use --peer-cert/--peer-key/--peer-ca)",
    );
  }
  const clientHost = config.listenHost ?? self.host;
  if ((config.frontEnds ?? 0) > 0) {
    // The front ends own the client port; this server takes their streaming calls on loopback.
    const internalPort = await bind(
      servers.client,
      "127.0.0.1:0",
      clientServerCredentials(undefined),
    );
    servers.frontEnds = await startFrontEnds({
      count: config.frontEnds ?? 0,
      host: clientHost,
      port: self.port,
      internal: `127.0.0.1:${internalPort}`,
      implementation: servers.clientImplementation,
      onFailure: (index, error) =>
        logger.error({ frontEnd: index, err: error.message }, "a client front end failed"),
    });
  } else {
    await bind(servers.client, `${clientHost}:${self.port}`, clientServerCredentials(config.tls));
  }
  const connectionWindows = [servers.client, servers.peer].every((server) =>
    raiseConnectionWindow(server),
  );
  if (!(servers.streamWindows && connectionWindows)) {
    logger.warn(
      {},
      "cannot raise gRPC receive windows (grpc-js changed?): large values are slower",
    );
  }
}

function bind(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error === null) return resolve(port);
      const inUse = /EADDRINUSE|address already in use/i.test(error.message);
      reject(
        inUse
          ? new StartupError("port_in_use", `cannot listen on ${address}: address already in use`)
          : new StartupError("config", `cannot listen on ${address}: ${error.message}`),
      );
    });
  });
}
