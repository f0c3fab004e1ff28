/**
 * Catch-up mode: a follower is SIGKILLed, the two others take M puts (so the leader
 * snapshots and compacts past everything the follower has), the follower is restarted
 * and timed until its appliedIndex reaches the leader's commitIndex. The leader's
 * "snapshot sent" / "snapshot failed" log lines give the bytes streamed and show whether
 * a transfer had to be retried; /proc is sampled every 100 ms for the peak RSS of both.
 */
import { performance } from "node:perf_hooks";
import { type LocalCluster, type ServerProcess, waitFor } from "../../src/cluster/index.ts";
import type { LoadResult } from "../../src/loadgen/index.ts";
import { type PutLoad, writePuts } from "./snap-load.ts";
import { eventsNamed, eventsOf, type NodeEvent, startSnapCluster } from "./snap-nodes.ts";
import { type DirUsage, dirUsage, PeakRss, rssOrNull } from "./snap-probes.ts";

export interface CatchupResult {
  readonly load: PutLoad;
  readonly leaderId: number;
  readonly followerId: number;
  readonly write: LoadResult;
  /** Follower's last log index when killed; leader's log window and commit at restart. */
  readonly followerLastIndexAtKill: number;
  readonly leaderFirstIndexAtRestart: number;
  readonly targetIndex: number;
  /** Spawn → first Status answer. */
  readonly firstAnswerMs: number;
  /** Spawn → follower appliedIndex ≥ leader commitIndex. */
  readonly caughtUpMs: number;
  /** The leader's "snapshot sent" lines for this follower after the restart. */
  readonly snapshotsSent: SnapshotSent[];
  /** ... and "snapshot failed" lines (a transfer that had to start over). */
  readonly snapshotFailures: { readonly index: unknown; readonly err: unknown }[];
  readonly rssBeforeKill: { readonly leader: number | null; readonly follower: number | null };
  readonly peakRss: { readonly leader: number | null; readonly follower: number | null };
  readonly rssSamples: number;
  readonly followerDirAfter: DirUsage;
  readonly leaderDirAfter: DirUsage;
  readonly warnings: string[];
}

export interface SnapshotSent {
  readonly index: number;
  readonly bytes: number;
  readonly ms: number;
  /** When the leader logged it, ms after the follower was spawned. */
  readonly atMs: number;
}

const CATCHUP_TIMEOUT_MS = 600_000;

/** Runs the catch-up mode on a fresh cluster with default snapshot settings. */
export async function runCatchup(load: PutLoad): Promise<CatchupResult> {
  const cluster = await startSnapCluster([]);
  try {
    return await measure(cluster, load);
  } finally {
    await cluster.destroy();
  }
}

async function measure(cluster: LocalCluster, load: PutLoad): Promise<CatchupResult> {
  const leader = cluster.node(await cluster.waitForLeader());
  const follower = cluster.nodes.find((n) => n.id !== leader.id) as ServerProcess;
  // A little history first, so the follower holds state and a log of its own when killed.
  await writePuts(cluster.endpoints(), { ...load, ops: Math.min(2000, load.ops) });
  await waitFor(
    "the follower to catch up before the kill",
    async () => {
      const [f, l] = [await cluster.status(follower), await cluster.status(leader)];
      return f !== undefined && l !== undefined && f.appliedIndex >= l.commitIndex ? f : undefined;
    },
    60_000,
  );
  const before = await cluster.status(follower, 3000);
  const rssBeforeKill = { leader: rssOrNull(leader.pid), follower: rssOrNull(follower.pid) };
  await follower.kill("SIGKILL");
  console.log(
    `catchup: killed follower ${follower.id} at index ${before?.lastIndex}; writing ${load.ops} puts`,
  );
  const write = await writePuts(cluster.endpoints(), load);
  console.log(
    `  wrote ${write.ops} puts in ${write.seconds.toFixed(1)} s (${write.opsPerSec.toFixed(0)}/s, ${write.errors} errors)`,
  );
  cluster.assertAlive();
  const current = cluster.node(await cluster.waitForLeader());
  if (current.id !== leader.id) console.log(`  note: leadership moved to node ${current.id}`);
  const leaderStatus = await cluster.status(current, 3000);
  if (leaderStatus === undefined) throw new Error("the leader does not answer Status");
  const targetIndex = leaderStatus.commitIndex;
  const t0 = performance.now();
  cluster.spawn(follower);
  const spawnedAt = follower.spawnedAt;
  const peak = new PeakRss(
    () =>
      new Map([
        ["leader", current.proc?.pid ?? null],
        ["follower", follower.proc?.pid ?? null],
      ]),
    100,
  );
  let firstAnswerMs: number | null = null;
  let peaks: Record<string, number> = {};
  let caughtUpMs: number;
  try {
    caughtUpMs = await waitFor(
      `follower ${follower.id} to apply index ${targetIndex}`,
      async () => {
        cluster.assertAlive();
        const st = await cluster.status(follower, 1000);
        if (st === undefined) return undefined;
        const ms = Math.round(performance.now() - t0);
        firstAnswerMs ??= ms;
        return st.appliedIndex >= targetIndex ? ms : undefined;
      },
      CATCHUP_TIMEOUT_MS,
      50,
    );
  } finally {
    peaks = peak.stop();
  }
  // The "snapshot sent" line may come a moment after the follower applied: wait briefly.
  await waitFor(
    "the leader's snapshot log line",
    () => sentEvents(current, follower.id, spawnedAt).length > 0 || undefined,
    5000,
    100,
  ).catch(() => undefined);
  const toSent = (e: NodeEvent): SnapshotSent => ({
    index: Number(e.fields.index),
    bytes: Number(e.fields.bytes),
    ms: Number(e.fields.ms),
    atMs: e.time - spawnedAt,
  });
  const events = cluster.nodes.flatMap((n) => eventsOf(n).map((e) => ({ node: n.id, ...e })));
  return {
    load,
    leaderId: current.id,
    followerId: follower.id,
    write,
    followerLastIndexAtKill: before?.lastIndex ?? -1,
    leaderFirstIndexAtRestart: leaderStatus.firstIndex,
    targetIndex,
    firstAnswerMs: firstAnswerMs ?? caughtUpMs,
    caughtUpMs,
    snapshotsSent: sentEvents(current, follower.id, spawnedAt).map(toSent),
    snapshotFailures: eventsNamed(current, "snapshot failed", spawnedAt)
      .filter((e) => e.fields.peer === follower.id)
      .map((e) => ({ index: e.fields.index, err: e.fields.err })),
    rssBeforeKill,
    peakRss: { leader: peaks.leader ?? null, follower: peaks.follower ?? null },
    rssSamples: peak.samples,
    followerDirAfter: dirUsage(follower.dataDir),
    leaderDirAfter: dirUsage(current.dataDir),
    warnings: events
      .filter((e) => e.level >= 40)
      .slice(0, 20)
      .map((e) => `node ${e.node}: ${e.msg} ${JSON.stringify(e.fields)}`),
  };
}

function sentEvents(leader: ServerProcess, peer: number, since: number): NodeEvent[] {
  return eventsNamed(leader, "snapshot sent", since).filter((e) => e.fields.peer === peer);
}
