/**
 * `dfs server`: runs one cluster node in the foreground until SIGINT or SIGTERM. All
 * flags are checked against each other before anything touches the disk or the
 * network, because a node started with the wrong membership can never join its cluster.
 */
import type { Command } from "commander";
import { parseHostPort } from "../client/endpoints.ts";
import type { NodeConfig } from "../server/config.ts";
import { StartupError } from "../server/errors.ts";
import { intFlag, parsePort } from "./options.ts";
import { ownPeer, parseNodeId, parsePeers } from "./peers.ts";
import { parsePeerVia } from "./server-peer-proxy.ts";
import { UsageError } from "./usage-error.ts";

/** The server's flags as commander hands them over (`id` and `port` already parsed). */
export interface ServerFlags {
  readonly id: number;
  readonly port: number;
  readonly peers: string;
  readonly dataDir: string;
  readonly listen?: string;
  readonly peerVia?: string;
  readonly debug?: boolean;
  readonly snapshotEntries?: number;
  readonly snapshotKeep?: number;
}

/** Registers `server` on `program`. */
export function addServerCommand(program: Command): void {
  program
    .command("server")
    .description("run one cluster node until SIGINT/SIGTERM")
    .requiredOption("--id <n>", "this node's id; must appear in --peers", idArgument)
    .requiredOption(
      "--port <port>",
      "client and peer port; must match this node's --peers entry",
      parsePort,
    )
    .requiredOption(
      "--peers <list>",
      "every member as id@host:port,... (the same list on every node)",
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
    .option("--debug", "log role changes and RPC errors; print stack traces")
    .action(runServer);
}

/** Builds the node configuration from flags; throws {@link UsageError} on any inconsistency. */
export function serverConfig(flags: ServerFlags): NodeConfig {
  const peers = parsePeers(flags.peers);
  ownPeer(peers, flags.id, flags.port);
  if (flags.dataDir.trim() === "") throw new UsageError("--data-dir is empty");
  if (flags.listen !== undefined) checkListenHost(flags.listen);
  const peerVia =
    flags.peerVia === undefined ? undefined : parsePeerVia(flags.peerVia, peers, flags.id);
  return {
    id: flags.id,
    peers,
    dataDir: flags.dataDir,
    ...(flags.listen !== undefined ? { listenHost: flags.listen } : {}),
    ...(peerVia !== undefined ? { peerDialAddresses: peerVia } : {}),
    debug: flags.debug === true,
    snapshots: {
      ...(flags.snapshotEntries !== undefined ? { everyEntries: flags.snapshotEntries } : {}),
      ...(flags.snapshotKeep !== undefined ? { keepEntries: flags.snapshotKeep } : {}),
    },
  };
}

async function runServer(flags: ServerFlags): Promise<void> {
  const config = serverConfig(flags);
  const stopRequested = stopSignal(); // listen before starting: an early Ctrl-C still stops cleanly
  // Loaded only here so that client commands never pay for (or depend on) the server code.
  const { startNode } = await import("../server/node.ts");
  const node = await startNode(config);
  process.stderr.write(
    `dfs: node ${node.id} serving on ${node.address} (data dir ${config.dataDir})\n`,
  );
  const outcome = await Promise.race([
    stopRequested.then((signal) => ({ signal })),
    node.failed.then((error) => ({ error })),
  ]);
  if ("error" in outcome) {
    // The log could not be made durable (disk full, I/O error), or the state store turned
    // out to be damaged (a record failed its checksum while replaying or applying):
    // nothing more may be acknowledged, so stop and say why; what was acknowledged is on disk.
    await node.stop();
    if (isStoreCorruption(outcome.error)) {
      throw new StartupError(
        "corrupt",
        `node ${node.id} stopped: its state store in ${config.dataDir} is corrupt: ${outcome.error.message}`,
      );
    }
    throw new StartupError(
      "data_dir",
      `node ${node.id} stopped: cannot write its log in ${config.dataDir}: ${outcome.error.message}`,
    );
  }
  process.stderr.write(`dfs: node ${node.id} stopping (${outcome.signal})\n`);
  await node.stop();
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

function idArgument(text: string): number {
  const id = parseNodeId(text);
  if (id === null) throw new UsageError(`--id '${text}' is not a positive integer`);
  return id;
}

function checkListenHost(host: string): void {
  const parsed = parseHostPort(`${host}:1`);
  if (!parsed.ok) throw new UsageError(`--listen '${host}' is not a host name or address`);
}
