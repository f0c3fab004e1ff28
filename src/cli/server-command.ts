/**
 * `dfs server`: runs one cluster node in the foreground until SIGINT or SIGTERM. All
 * flags are checked against each other before anything touches the disk or the
 * network, because a node started with the wrong membership can never join its cluster.
 */
import type { Command } from "commander";
import { DfsError, PEER_PORT_OFFSET, StartupError } from "../api/index.ts";
import { parseHostPort } from "../client/index.ts";
import type { LogFormat, LogLevel, NodeConfig, NodeTls, PeerAddress } from "../server/index.ts";
import {
  DEFAULT_AUTH_TOKEN_TTL_S,
  DEFAULT_RESOURCE_LIMITS,
  LOG_LEVELS,
  MAX_AUTH_TOKEN_TTL_S,
} from "../server/index.ts";
import { resolveCredentials, USER_ENV } from "./credentials.ts";
import { ExitCode } from "./exit-codes.ts";
import type { FailureReport } from "./failure.ts";
import { intFlag, parsePort } from "./options.ts";
import { ownPeer, parseNodeId, parsePeers } from "./peers.ts";
import { processTerminal } from "./prompt.ts";
import { addS3Options, type RunningGateway, type S3Flags, startS3 } from "./s3-serve.ts";
import { parsePeerVia } from "./server-peer-proxy.ts";
import { readOptionalPem, readPem, requireTogether } from "./tls-files.ts";
import { UsageError } from "./usage-error.ts";

/** The server's flags as commander hands them over (`id` and `port` already parsed). */
export interface ServerFlags {
  readonly id: number;
  readonly port: number;
  readonly peerPort?: number;
  readonly peers?: string;
  /** `--join H:P,...`: client addresses of running members to join (issue 17). */
  readonly join?: string;
  readonly dataDir: string;
  readonly listen?: string;
  readonly peerVia?: string;
  readonly debug?: boolean;
  readonly snapshotEntries?: number;
  readonly snapshotKeep?: number;
  readonly peerCert?: string;
  readonly peerKey?: string;
  readonly peerCa?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly clientCa?: string;
  readonly uploadIdleMs?: number;
  readonly maxUploads?: number;
  readonly maxUploadsPerConnection?: number;
  /** `--auth-token-ttl SECONDS`: lifetime of the tokens this node issues (docs/auth.md). */
  readonly authTokenTtl?: number;
  /** `--force-new-cluster`: restart a surviving member as the only one (issue 19). */
  readonly forceNewCluster?: boolean;
  /** `--http-port P`: serve /metrics, the health probes and the console (docs/observability.md). */
  readonly httpPort?: number;
  /** `--front-ends N`: protocol worker threads on the client port (0: in-process). */
  readonly frontEnds?: number;
  /** `--http-host H`: host the HTTP listener binds (default: the client port's). */
  readonly httpHost?: string;
  /** `--log-level L`: lowest level logged. */
  readonly logLevel?: LogLevel;
  /** `--log-format F`: auto, pretty or json. */
  readonly logFormat?: LogFormat;
}

/** The server's flags with the S3 gateway's (`--s3-port` and friends, docs/s3.md). */
type ServerAndS3Flags = ServerFlags & S3Flags;

/** Registers `server` on `program`. */
export function addServerCommand(program: Command): void {
  const command = program
    .command("server")
    .description("run one cluster node until SIGINT/SIGTERM")
    .requiredOption(
      "--id <n>",
      "this node's id; must appear in --peers, or be the id it was added under (--join)",
      idArgument,
    )
    .requiredOption("--port <port>", "client port; must match this node's --peers entry", parsePort)
    .option(
      "--peer-port <port>",
      "peer port (default: --port + 10000); must match this node's --peers entry",
      intFlag("--peer-port", 1, 65535),
    )
    .option(
      "--peers <list>",
      "bootstrap a new cluster: every member as id@host:port[/peerPort | /peerHost:peerPort],... (the same list on every node)",
    )
    .option(
      "--join <list>",
      "join a running cluster instead (after 'dfs member add'): client host:port of some members; own address from --listen (or --peers with only this node)",
    )
    .requiredOption(
      "--data-dir <dir>",
      "where this node keeps its log and state (created if missing)",
    )
    .option("--listen <host>", "host to bind (default: the host of this node's --peers entry)")
    .option(
      "--peer-via <list>",
      "dial these peers elsewhere (e.g. through a proxy) as id=host:port,...; membership is unchanged",
    )
    .option(
      "--snapshot-entries <n>",
      "snapshot the state and compact the log every n applied entries (default 10000)",
      intFlag("--snapshot-entries", 1, 1e9),
    )
    .option(
      "--snapshot-keep <n>",
      "entries kept after compaction for slow followers (default 5000)",
      intFlag("--snapshot-keep", 0, 1e9),
    )
    .option("--peer-cert <file>", "this node's certificate (PEM) for mutual TLS on the peer port")
    .option("--peer-key <file>", "the private key of --peer-cert (PEM)")
    .option("--peer-ca <file>", "the cluster CA (PEM): peers must present certificates it signed")
    .option("--cert <file>", "serve clients over TLS with this certificate (PEM)")
    .option("--key <file>", "the private key of --cert (PEM)")
    .option("--client-ca <file>", "require client certificates signed by this CA (PEM)")
    .option(
      "--upload-idle-ms <ms>",
      `close an upload that sends under 64 KiB in a window this long (default ${DEFAULT_RESOURCE_LIMITS.uploadIdleMs})`,
      intFlag("--upload-idle-ms", 100, 24 * 3600 * 1000),
    )
    .option(
      "--max-uploads <n>",
      `uploads in progress on this node at once (default ${DEFAULT_RESOURCE_LIMITS.uploadsPerNode})`,
      intFlag("--max-uploads", 1, 1e6),
    )
    .option(
      "--max-uploads-per-connection <n>",
      `uploads in progress on one client connection (default ${DEFAULT_RESOURCE_LIMITS.uploadsPerConnection})`,
      intFlag("--max-uploads-per-connection", 1, 1e6),
    )
    .option(
      "--auth-token-ttl <seconds>",
      `lifetime of the auth tokens this node issues (default ${DEFAULT_AUTH_TOKEN_TTL_S})`,
      intFlag("--auth-token-ttl", 1, MAX_AUTH_TOKEN_TTL_S),
    )
    .option(
      "--force-new-cluster",
      "DANGEROUS, for majority loss only: restart this surviving member as a one-member cluster with its whole log (docs/backup.md)",
    )
    .option(
      "--http-port <port>",
      "serve /metrics, /health, /livez, /readyz (and the web console) over HTTP on this port (default: off)",
      intFlag("--http-port", 0, 65535),
    )
    .option("--http-host <host>", "host the HTTP listener binds (default: the client port's host)")
    .option(
      "--front-ends <n>",
      "worker threads that serve the client port's protocol work off the Raft loop's thread (default 0: in-process; plain text only)",
      intFlag("--front-ends", 0, 64),
    )
    .option(
      "--log-level <level>",
      `lowest level logged: ${LOG_LEVELS.join(", ")} (default info; debug with --debug)`,
      logLevelArgument,
    )
    .option(
      "--log-format <format>",
      "auto (pretty lines on a terminal, else JSON; or DFS_LOG_FORMAT), pretty or json",
      logFormatArgument,
    )
    .option("--debug", "log role changes and RPC errors; print stack traces");
  addS3Options(command).action(runServer);
}

/**
 * The node configuration as the CLI builds it: `join` is the node's field for `--join`
 * (client addresses of running members to learn the cluster from).
 */
export type ServerConfig = NodeConfig & { readonly join?: readonly string[] };

/** Builds the node configuration from flags; throws {@link UsageError} on any inconsistency. */
export function serverConfig(flags: ServerFlags): ServerConfig {
  const { peers, join } = membershipFlags(flags);
  if (flags.dataDir.trim() === "") throw new UsageError("--data-dir is empty");
  if (flags.listen !== undefined) checkListenHost(flags.listen);
  const peerVia = flags.peerVia === undefined ? undefined : parsePeerVia(flags.peerVia, flags.id);
  const tls = serverTls(flags);
  if (flags.forceNewCluster === true && join !== undefined) {
    throw new UsageError(
      "--force-new-cluster cannot be combined with --join: it restarts a surviving member on its own data dir",
    );
  }
  return {
    id: flags.id,
    peers,
    ...(join !== undefined ? { join } : {}),
    ...(flags.forceNewCluster === true ? { forceNewCluster: true } : {}),
    dataDir: flags.dataDir,
    ...(flags.listen !== undefined ? { listenHost: flags.listen } : {}),
    ...(peerVia !== undefined ? { peerDialAddresses: peerVia } : {}),
    ...(tls !== undefined ? { tls } : {}),
    debug: flags.debug === true,
    ...(flags.authTokenTtl !== undefined ? { authTokenTtlS: flags.authTokenTtl } : {}),
    ...httpSettings(flags),
    ...(flags.frontEnds !== undefined && flags.frontEnds > 0 ? { frontEnds: flags.frontEnds } : {}),
    ...(flags.logLevel !== undefined ? { logLevel: flags.logLevel } : {}),
    ...(flags.logFormat !== undefined ? { logFormat: flags.logFormat } : {}),
    limits: {
      ...(flags.uploadIdleMs !== undefined ? { uploadIdleMs: flags.uploadIdleMs } : {}),
      ...(flags.maxUploads !== undefined ? { uploadsPerNode: flags.maxUploads } : {}),
      ...(flags.maxUploadsPerConnection !== undefined
        ? { uploadsPerConnection: flags.maxUploadsPerConnection }
        : {}),
    },
    snapshots: {
      ...(flags.snapshotEntries !== undefined ? { everyEntries: flags.snapshotEntries } : {}),
      ...(flags.snapshotKeep !== undefined ? { keepEntries: flags.snapshotKeep } : {}),
    },
  };
}

/** `--http-port` and `--http-host` as the node's `http` setting (absent: no listener). */
function httpSettings(flags: ServerFlags): Pick<NodeConfig, "http"> {
  if (flags.httpPort === undefined) {
    if (flags.httpHost !== undefined) throw new UsageError("--http-host needs --http-port");
    return {};
  }
  if (flags.httpHost !== undefined) checkHost("--http-host", flags.httpHost);
  const peerPort = flags.peerPort ?? flags.port + PEER_PORT_OFFSET;
  if (flags.httpPort !== 0 && (flags.httpPort === flags.port || flags.httpPort === peerPort))
    throw new UsageError(`--http-port ${flags.httpPort} is also the client or peer port`);
  return {
    http: {
      port: flags.httpPort,
      ...(flags.httpHost !== undefined ? { host: flags.httpHost } : {}),
    },
  };
}

/**
 * `--peers` bootstraps a new cluster; `--join` joins a running one. A joining node has no
 * member list yet, only its own entry: either `--peers` naming just this node (as
 * LocalCluster starts joiners), or `--listen` with `--port` and `--peer-port` (the
 * addresses `dfs member add` announced). It learns the rest from the cluster.
 */
function membershipFlags(flags: ServerFlags): {
  peers: PeerAddress[];
  join: string[] | undefined;
} {
  if (flags.join === undefined) {
    if (flags.peers === undefined) {
      throw new UsageError(
        "give --peers to bootstrap a new cluster, or --join to join a running one",
      );
    }
    const peers = parsePeers(flags.peers);
    ownPeer(peers, flags.id, flags.port, flags.peerPort);
    return { peers, join: undefined };
  }
  const join = parseJoin(flags.join);
  if (flags.peers !== undefined) {
    const peers = parsePeers(flags.peers);
    const own = ownPeer(peers, flags.id, flags.port, flags.peerPort);
    if (peers.length > 1) {
      throw new UsageError(
        "with --join, --peers names only this node (the cluster's members come from the cluster)",
      );
    }
    return { peers: [own], join };
  }
  if (flags.listen === undefined) {
    throw new UsageError(
      "--join needs --listen HOST (or --peers with this node's own entry): the host of the addresses given to 'dfs member add'",
    );
  }
  const peerPort = flags.peerPort ?? flags.port + PEER_PORT_OFFSET;
  if (peerPort > 65535) {
    throw new UsageError(
      `the default peer port ${flags.port}+${PEER_PORT_OFFSET} is above 65535; give --peer-port`,
    );
  }
  if (peerPort === flags.port) throw new UsageError(`--peer-port ${peerPort} equals --port`);
  const own = { id: flags.id, host: flags.listen, port: flags.port, peerPort };
  return { peers: [own], join };
}

/** Parses `--join host:port,...`; throws {@link UsageError} naming the bad entry. */
export function parseJoin(list: string): string[] {
  const entries = list.split(",").map((entry) => entry.trim());
  for (const entry of entries) {
    const parsed = parseHostPort(entry);
    if (!parsed.ok) {
      throw new UsageError(`--join entry '${entry}' is not host:port: ${parsed.problem}`);
    }
  }
  return entries;
}

/**
 * Reads the TLS flags: the three peer flags go together (mutual TLS needs all of them),
 * `--cert` and `--key` go together, `--client-ca` needs them. Undefined: plain text.
 */
export function serverTls(flags: ServerFlags): NodeTls | undefined {
  const peer = requireTogether({
    "--peer-cert": flags.peerCert,
    "--peer-key": flags.peerKey,
    "--peer-ca": flags.peerCa,
  });
  const client = requireTogether({ "--cert": flags.cert, "--key": flags.key });
  if (flags.clientCa !== undefined && !client) {
    throw new UsageError("--client-ca also needs --cert and --key (client TLS)");
  }
  if (!peer && !client) return undefined;
  const clientCa = readOptionalPem("--client-ca", flags.clientCa);
  return {
    ...(peer
      ? {
          peer: {
            cert: readPem("--peer-cert", flags.peerCert as string),
            key: readPem("--peer-key", flags.peerKey as string),
            ca: readPem("--peer-ca", flags.peerCa as string),
          },
        }
      : {}),
    ...(client
      ? {
          client: {
            cert: readPem("--cert", flags.cert as string),
            key: readPem("--key", flags.key as string),
            ...(clientCa !== undefined ? { clientCa } : {}),
          },
        }
      : {}),
  };
}

async function runServer(flags: ServerAndS3Flags): Promise<void> {
  const config = serverConfig(flags);
  if (flags.s3Port !== undefined && config.tls?.client !== undefined)
    throw new UsageError(
      "--s3-port with TLS on the client port is not supported in the server process; run 'dfs gateway' with --cacert/--cert/--key",
    );
  const stopRequested = stopSignal(); // listen before starting: an early Ctrl-C still stops cleanly
  // Loaded only here so that client commands never pay for (or depend on) the server code.
  const { startNode } = await import("../server/index.ts");
  // The web console (docs/console.md) rides on the HTTP listener, a client of the cluster.
  const web = config.http && (await import("./web-console.ts")).nodeConsole(config);
  const withWeb = web ? { ...config, httpExtensions: [web.extension] } : config;
  const node = await startNode(withWeb).catch(async (e: unknown) => {
    await web?.close();
    throw e;
  });
  const http = node.httpAddress === null ? "" : `, HTTP on ${node.httpAddress}`;
  process.stderr.write(
    `dfs: node ${node.id} serving clients on ${node.address}, peers on ${node.peerAddress}${http}${tlsNote(config)} (data dir ${config.dataDir})\n`,
  );
  let s3: RunningGateway | null = null;
  try {
    if (flags.s3Port !== undefined) s3 = await serveS3(flags, config, node.address);
  } catch (error) {
    await node.stop(); // a node whose S3 port was asked for but cannot serve it stops whole
    throw error;
  }
  const outcome = await Promise.race([
    stopRequested.then((signal) => ({ signal })),
    node.failed.then((error) => ({ error })),
  ]);
  if ("error" in outcome) {
    // The log could not be made durable (disk full, I/O error), the state store turned
    // out to be damaged (a record failed its checksum while replaying or applying), or the
    // Raft core caught itself breaking an invariant (a bug): nothing more may be
    // acknowledged, so stop and say why; what was acknowledged is on disk.
    await s3?.close();
    await node.stop();
    await web?.close();
    throw stoppedWhileRunning(node.id, config.dataDir, outcome.error);
  }
  process.stderr.write(`dfs: node ${node.id} stopping (${outcome.signal})\n`);
  await s3?.close();
  await node.stop();
  await web?.close();
}

/**
 * The S3 gateway in this node's process, over a client of every member's client address
 * (this node first), acting as DFS_USER when the cluster's auth is on.
 */
async function serveS3(
  flags: ServerAndS3Flags,
  config: ServerConfig,
  own: string,
): Promise<RunningGateway> {
  const others = config.peers.map((p) => `${p.host}:${p.port}`).filter((a) => a !== own);
  // A server runs unattended: the admin's password comes from DFS_USER=name:pw or
  // DFS_PASSWORD, never from a prompt.
  const login = await resolveCredentials(process.env[USER_ENV], process.env, processTerminal());
  const gateway = await startS3(
    flags,
    { endpoints: [own, ...others], ...(login !== undefined ? login : {}) },
    own,
    (line) => process.stderr.write(`dfs: s3: ${line}\n`),
  );
  process.stderr.write(
    `dfs: S3 gateway on http://${flags.s3Host ?? "0.0.0.0"}:${gateway.port} (${gateway.mode})\n`,
  );
  return gateway;
}

/**
 * What `dfs server` reports when its node stopped by itself while serving: a state store
 * found damaged is `corrupt` (exit 7), a Raft invariant check that failed is a bug, so an
 * internal error (exit 10), a member the cluster removed has its own code (exit 14: not
 * a fault, but this data dir can never serve that member again, so a supervisor should
 * not restart it), and anything else is a log it could not write (exit 6).
 */
export function stoppedWhileRunning(id: number, dataDir: string, error: Error): Error {
  if (error.name === "InvariantError") {
    // Matched by name like isStoreCorruption, so client commands never load the core.
    return new DfsError(
      "internal",
      `node ${id} stopped: ${error.message}; nothing of that state was persisted or acknowledged (a bug: please report it with the node's log)`,
    );
  }
  if (error.name === "MemberRemovedError") return new RemovedFromCluster(error.message);
  if (isStoreCorruption(error)) {
    return new StartupError(
      "corrupt",
      `node ${id} stopped: its state store in ${dataDir} is corrupt: ${error.message}`,
    );
  }
  return new StartupError(
    "data_dir",
    `node ${id} stopped: cannot write its log in ${dataDir}: ${error.message}`,
  );
}

/**
 * The node stopped because a committed configuration removed it (or a peer refused it as
 * removed). Reported with its own exit code, 14; the message says how to bring the
 * machine back (a new data dir, a new member id).
 */
export class RemovedFromCluster extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RemovedFromCluster";
  }

  report(): FailureReport {
    return { exitCode: ExitCode.removed, text: `dfs: error: ${this.message}` };
  }
}

/**
 * True when `error` (or an error it was caused by) says the state store is damaged: one
 * of our records failed its checks, or LMDB found a broken page. Matched by name and
 * message: importing the store's classes would load LMDB for every client command.
 */
function isStoreCorruption(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e.name === "RecordCorruptionError") return true;
    if (/MDB_CORRUPTED|MDB_PAGE_NOTFOUND|MDB_INVALID/.test(e.message)) return true;
  }
  return false;
}

/**
 * Resolves on the first SIGINT or SIGTERM. The handlers stay installed, so further
 * signals (a terminal's Ctrl-C reaches `dfs dev` and its children alike) are ignored
 * instead of killing the node halfway through its shutdown.
 */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.on("SIGINT", resolve);
    process.on("SIGTERM", resolve);
  });
}

function tlsNote(config: NodeConfig): string {
  const parts = [
    config.tls?.peer !== undefined ? "peer mTLS" : null,
    config.tls?.client !== undefined
      ? config.tls.client.clientCa !== undefined
        ? "client mTLS"
        : "client TLS"
      : null,
  ].filter((part) => part !== null);
  return parts.length === 0 ? "" : ` with ${parts.join(", ")}`;
}

function idArgument(text: string): number {
  const id = parseNodeId(text);
  if (id === null) throw new UsageError(`--id '${text}' is not a positive integer`);
  return id;
}

function checkListenHost(host: string): void {
  checkHost("--listen", host);
}

function checkHost(flag: string, host: string): void {
  const parsed = parseHostPort(`${host}:1`);
  if (!parsed.ok) throw new UsageError(`${flag} '${host}' is not a host name or address`);
}

function logLevelArgument(text: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === text);
  if (level === undefined) {
    throw new UsageError(`--log-level '${text}' is not one of ${LOG_LEVELS.join(", ")}`);
  }
  return level;
}

function logFormatArgument(text: string): LogFormat {
  if (text === "auto" || text === "pretty" || text === "json") return text;
  throw new UsageError(`--log-format '${text}' is not one of auto, pretty, json`);
}
