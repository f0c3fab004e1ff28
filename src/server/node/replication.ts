/** Assembly step: the peer transport and the event loop that sends through it. */
import type { LmdbStore } from "../../fsm/index.ts";
import { InvariantError, type RawNode } from "../../raft/index.ts";
import { crashPoint, failedForLackOfSpace } from "../../storage/index.ts";
import { PeerTransport, SnapshotSender } from "../../transport/index.ts";
import { DEFAULT_SNAPSHOT_TUNING, type NodeConfig, peerListenerOf } from "../config.ts";
import { SYSTEM_CLOCK } from "../loop/clock.ts";
import { SnapshotOutcomes } from "../loop/snapshot-outcomes.ts";
import { RaftLoop, type SnapshotPolicy } from "../raft-loop.ts";
import { peerChannelCredentials } from "../tls-credentials.ts";
import type { Ctx } from "./context.ts";
import type { Storage } from "./storage.ts";

/** The loop and the peer transport it sends through. */
export interface Replication {
  readonly loop: RaftLoop;
  readonly transport: PeerTransport;
}

/**
 * The peer transport and the event loop, in dependency order: the loop sends through the
 * transport, and the transport's snapshot sender reports each transfer's outcome into a
 * mailbox built first, which the loop listens to from its constructor.
 */
export function buildReplication(
  ctx: Ctx,
  storage: Storage,
  node: RawNode,
  fail: (error: Error) => void,
): Replication {
  const { config, logger } = ctx;
  const peers = peerDialAddresses(config);
  const credentials = peerChannelCredentials(config.tls);
  const outcomes = new SnapshotOutcomes();
  const snapshotSender = new SnapshotSender({
    selfId: config.id,
    clusterId: storage.clusterId,
    peers,
    open: () => storage.fsm.openSnapshot(),
    report: outcomes.report,
    log: (fields, message) => logger.info(fields, message),
    credentials,
  });
  const transport = new PeerTransport({
    selfId: config.id,
    clusterId: storage.clusterId,
    peers,
    onError: (peer, error) => logger.debug({ peer, err: error.message }, "peer delivery failed"),
    snapshots: snapshotSender,
    credentials,
  });
  ctx.cleanup.push(() => transport.close());
  const loop = buildLoop(ctx, storage, node, transport, snapshotSender, outcomes, fail);
  return { loop, transport };
}

/** The event loop over the core, the WAL, the store and the transport. */
function buildLoop(
  { config, tuning, logger }: Ctx,
  storage: Storage,
  node: RawNode,
  transport: PeerTransport,
  snapshotSender: SnapshotSender,
  snapshotOutcomes: SnapshotOutcomes,
  fail: (error: Error) => void,
): RaftLoop {
  return new RaftLoop(
    {
      node,
      wal: storage.wal,
      transport,
      fsm: storage.fsm,
      tickMs: tuning.tickMs,
      clock: SYSTEM_CLOCK,
      logger,
      snapshots: snapshotPolicy(config, storage.fsm, snapshotSender),
      snapshotOutcomes,
      addressOf: clientAddressOf(config),
      onFatal: (error) => {
        logger.fatal(
          { err: error.message },
          error instanceof InvariantError
            ? "a Raft invariant check failed (a bug); stopping before that state is persisted"
            : "cannot persist to the WAL; stopping",
        );
        fail(error);
      },
      lackOfSpace: (error) => failedForLackOfSpace(error, config.dataDir),
    },
    storage.contents.hardState,
  );
}

/** Where this node dials each peer (its peer listener, unless overridden). */
function peerDialAddresses(config: NodeConfig): Map<number, string> {
  return new Map(
    config.peers
      .filter((p) => p.id !== config.id)
      .map((p) => {
        const listener = peerListenerOf(p);
        const dial = config.peerDialAddresses?.[p.id] ?? `${listener.host}:${listener.port}`;
        return [p.id, dial] as const;
      }),
  );
}

/** A node id's client address, for NOT_LEADER hints. */
function clientAddressOf(config: NodeConfig): (id: number) => string | undefined {
  const addresses = new Map(config.peers.map((p) => [p.id, `${p.host}:${p.port}`]));
  return (id) => addresses.get(id);
}

/** When to snapshot, how to capture and install one, and what a snapshot in flight pins. */
function snapshotPolicy(
  config: NodeConfig,
  fsm: LmdbStore,
  sender: SnapshotSender,
): SnapshotPolicy {
  return {
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
    ...DEFAULT_SNAPSHOT_TUNING,
    ...config.snapshots,
    pinnedIndex: () => sender.pinnedIndex(),
  };
}
