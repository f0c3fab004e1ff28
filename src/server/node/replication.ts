/** Assembly step: the peer transport and the event loop that sends through it. */
import type { LmdbStore } from "../../fsm/index.ts";
import { type ActiveMembership, InvariantError, type RawNode } from "../../raft/index.ts";
import { crashPoint, failedForLackOfSpace } from "../../storage/index.ts";
import { PeerTransport, RehydrationError, SnapshotSender } from "../../transport/index.ts";
import { DEFAULT_SNAPSHOT_TUNING, type NodeConfig } from "../config.ts";
import type { StoreMetrics } from "../http/metrics.ts";
import type { Logger } from "../logger.ts";
import { BlobLogWriter } from "../loop/blob-log-writer.ts";
import { SYSTEM_CLOCK } from "../loop/clock.ts";
import { SnapshotOutcomes } from "../loop/snapshot-outcomes.ts";
import { type MemberDirectory, MemberRemovedError } from "../members.ts";
import { type LoopStateMachine, RaftLoop, type SnapshotPolicy } from "../raft-loop.ts";
import { peerChannelCredentials } from "../tls-credentials.ts";
import { blobRehydrator } from "./blob-path.ts";
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
  members: MemberDirectory,
  fail: (error: Error) => void,
): Replication {
  const { config, logger } = ctx;
  const dial = (peer: number): string | undefined => members.dialAddress(peer);
  const credentials = peerChannelCredentials(config.tls);
  const outcomes = new SnapshotOutcomes();
  const snapshotMetrics = ctx.metrics.store;
  const refusals = refusalLog(logger, config.id, (error) => fail(error));
  const storageFault = rehydrationLog(logger);
  const snapshotSender = new SnapshotSender({
    selfId: config.id,
    clusterId: storage.clusterId,
    identity: members.identity,
    dial,
    open: () => storage.fsm.openSnapshot(),
    report: (peer, ok) => {
      if (!ok) snapshotMetrics.snapshotSent(false, 0, 0);
      outcomes.report(peer, ok);
    },
    log: (fields, message) => {
      // "snapshot sent" is the one line with both: the transfer succeeded.
      const { bytes, ms } = fields as { bytes?: unknown; ms?: unknown };
      if (typeof bytes === "number" && typeof ms === "number")
        snapshotMetrics.snapshotSent(true, bytes, ms / 1000);
      logger.info(fields, message);
    },
    credentials,
  });
  const transport = new PeerTransport({
    selfId: config.id,
    clusterId: storage.clusterId,
    identity: members.identity,
    dial,
    onError: (peer, error) => {
      if (error instanceof RehydrationError) return storageFault(peer, error);
      if (!refusals(peer, error))
        logger.debug({ peer, err: error.message }, "peer delivery failed");
    },
    snapshots: snapshotSender,
    credentials,
    rehydrator: blobRehydrator(storage.blobs),
  });
  ctx.cleanup.push(() => transport.close());
  const onMembership = membershipChanges(ctx, members, transport, fail);
  const loop = buildLoop(ctx, storage, node, transport, snapshotSender, outcomes, fail, {
    members,
    onMembership,
  });
  return { loop, transport };
}

/** How the node follows configuration changes: links, hints, and its own removal. */
function membershipChanges(
  { config, logger }: Ctx,
  members: MemberDirectory,
  transport: PeerTransport,
  fail: (error: Error) => void,
): (active: ActiveMembership) => void {
  let replacedLogged = false;
  return ({ index, membership }) => {
    members.update(membership, index);
    transport.reconcile();
    logger.info(
      {
        index,
        voters: membership.members.filter((m) => !m.learner).map((m) => m.id),
        learners: membership.members.filter((m) => m.learner).map((m) => m.id),
        removed: membership.removed,
      },
      "configuration changed",
    );
    if (members.selfRemoved()) {
      const error = new MemberRemovedError(config.id, index);
      logger.error({ index }, error.message);
      // A moment later: the answer to the request that removed this node (if it led) and
      // its hand-over (TimeoutNow) go out first.
      setTimeout(() => fail(error), REMOVED_STOP_DELAY_MS).unref();
      return;
    }
    if (members.selfReplaced() && !replacedLogged) {
      replacedLogged = true;
      logger.error({ index }, refusedIdentityLine(config.id));
    }
  };
}

/** The line a node whose data dir is new logs when the cluster refuses its place. */
function refusedIdentityLine(id: number): string {
  return `refused by the cluster: member ${id} belongs to another data dir; this data dir is new: remove ${id} and add this node as a new member`;
}

/** How long a node that saw itself removed keeps running so its last answers go out. */
const REMOVED_STOP_DELAY_MS = 500;

/** Most often a refusal by peers is logged at error level (it repeats with every send). */
const REFUSAL_LOG_MS = 60_000;

/**
 * Logs (at most once a minute) a peer's refusal of this node's messages that an operator
 * must act on: another data dir's identity, or this node removed. True when `error` was
 * such a refusal. A peer saying this node was removed stops it (`removed`), as etcd's
 * members stop on a peer's "member removed": the leader stops replicating to a removed
 * member, so the peers' refusal may be the only way it learns.
 */
function refusalLog(
  logger: Logger,
  selfId: number,
  removed: (error: Error) => void,
): (peer: number, error: Error) => boolean {
  let loggedAt = Number.NEGATIVE_INFINITY;
  let stopped = false;
  return (peer, error) => {
    const details = (error as { details?: string }).details ?? error.message;
    const identity = /belongs to another data dir/.test(details);
    const notMember = new RegExp(`node ${selfId} is not a member of this cluster`).test(details);
    if (!identity && !notMember) return false;
    if (notMember && !stopped) {
      stopped = true;
      const e = new MemberRemovedError(selfId, 0, peer);
      logger.error({ peer }, e.message);
      removed(e);
      return true;
    }
    const now = Date.now();
    if (now - loggedAt >= REFUSAL_LOG_MS) {
      loggedAt = now;
      logger.error({ peer }, `refused by peer ${peer}: ${details}`);
    }
    return true;
  };
}

/**
 * Logs (at most every 10 s) entries the transport could not send because their bytes in
 * this node's blob store are missing or damaged: this node's disk is at fault, and the
 * follower waiting for them will need a snapshot or another leader.
 */
function rehydrationLog(logger: Logger): (peer: number, error: Error) => void {
  let loggedAt = Number.NEGATIVE_INFINITY;
  return (peer, error) => {
    const now = Date.now();
    if (now - loggedAt < 10_000) return;
    loggedAt = now;
    logger.error({ peer, err: error.message }, "cannot send chunk entries: blob unreadable");
  };
}

/** The event loop over the core, the WAL, the store and the transport. */
function buildLoop(
  { config, tuning, logger, metrics }: Ctx,
  storage: Storage,
  node: RawNode,
  transport: PeerTransport,
  snapshotSender: SnapshotSender,
  snapshotOutcomes: SnapshotOutcomes,
  fail: (error: Error) => void,
  {
    members,
    onMembership,
  }: { members: MemberDirectory; onMembership: (active: ActiveMembership) => void },
): RaftLoop {
  return new RaftLoop(
    {
      node,
      // Chunk bytes go to their blobs (synced) before the WAL gets the stored form.
      wal: new BlobLogWriter({ wal: storage.wal, blobs: storage.blobs, core: node }),
      transport,
      fsm: !metrics.enabled ? storage.fsm : timedApply(storage.fsm, metrics.store),
      tickMs: tuning.tickMs,
      clock: SYSTEM_CLOCK,
      logger,
      ...(metrics.enabled ? { metrics: metrics.loop } : {}),
      snapshots: snapshotPolicy(config, storage, snapshotSender, metrics.store),
      snapshotOutcomes,
      addressOf: (id) => members.clientAddress(id),
      onMembership,
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

/** When to snapshot, how to capture and install one, and what a snapshot in flight pins. */
function snapshotPolicy(
  config: NodeConfig,
  { fsm }: Storage,
  sender: SnapshotSender,
  metrics: StoreMetrics,
): SnapshotPolicy {
  return {
    store: {
      capture: async () => {
        const started = performance.now();
        await fsm.flushed();
        crashPoint("snapshot-flushed");
        metrics.snapshotTaken((performance.now() - started) / 1000);
      },
      install: async (meta) => {
        const started = performance.now();
        await fsm.installReceived(meta);
        crashPoint("snapshot-installed");
        metrics.snapshotInstalled((performance.now() - started) / 1000);
      },
    },
    ...DEFAULT_SNAPSHOT_TUNING,
    ...config.snapshots,
    pinnedIndex: () => sender.pinnedIndex(),
    blobsDue: () => fsm.space.dueIndex(),
    reapBlobs: async (index) => {
      await fsm.reapBlobs(index);
    },
  };
}

/**
 * The store as the loop sees it, with each batch of applies timed for the metrics (only
 * when the node keeps metrics: otherwise the loop gets the store itself).
 */
function timedApply(fsm: LmdbStore, metrics: StoreMetrics): LoopStateMachine {
  return {
    get appliedIndex() {
      return fsm.appliedIndex;
    },
    applyEntries: (entries) => {
      const started = performance.now();
      const results = fsm.applyEntries(entries);
      metrics.applied(entries.length, (performance.now() - started) / 1000);
      return results;
    },
    writeBehindIfDue: () => fsm.writeBehindIfDue(),
  };
}
