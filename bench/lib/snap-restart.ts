/**
 * Restart mode: how long a node with a long history takes to come back. A fresh cluster
 * takes N puts; then a follower is SIGKILLed and restarted on its data dir, and the time
 * from spawn until its Status answers with appliedIndex ≥ the leader's commitIndex from
 * before the kill is measured (plus the time to the first Status answer at all). Done once
 * with snapshots effectively off (`--snapshot-entries 1000000000`) and once with the
 * defaults (10000/5000), each after a restart of the empty cluster for the fixed cost.
 */
import { performance } from "node:perf_hooks";
import { type LocalCluster, type ServerProcess, waitFor } from "../../src/cluster/index.ts";
import type { LoadResult } from "../../src/loadgen/index.ts";
import { type PutLoad, writePuts } from "./snap-load.ts";
import { eventsNamed, eventsOf, startSnapCluster } from "./snap-nodes.ts";
import { type DirUsage, dirUsage, PeakRss, rssOrNull } from "./snap-probes.ts";

/** One kill -9 + restart of the follower. */
export interface RestartRun {
  /** Leader's commitIndex just before the kill: the target of the restarted node. */
  readonly targetIndex: number;
  /** The follower's data dir at the kill. */
  readonly dirAtKill: DirUsage;
  /** The follower's log window before the kill. */
  readonly firstIndexBefore: number;
  readonly lastIndexBefore: number;
  readonly rssBeforeKill: number | null;
  /** Spawn → first Status answer (process start, WAL read, store open, gRPC bound). */
  readonly firstAnswerMs: number;
  /** Spawn → Status with appliedIndex ≥ targetIndex. */
  readonly caughtUpMs: number;
  /** From the node's "node started" debug line: entries read from the WAL into the log. */
  readonly walEntriesRead: number | null;
  /** ... and the store's applied index at start (entries after it were re-applied). */
  readonly storeAppliedAtStart: number | null;
  readonly peakRssDuringRestart: number | null;
  readonly rssAfter: number | null;
}

/** One configuration (snapshots off or default). */
export interface RestartVariant {
  readonly name: string;
  readonly serverArgs: readonly string[];
  /** Restart of the same node before any write: the fixed cost of starting a node. */
  readonly emptyRestart: RestartRun;
  readonly write: LoadResult;
  readonly runs: RestartRun[];
  readonly medianCaughtUpMs: number;
  readonly medianFirstAnswerMs: number;
  /** firstIndex of every node after the writes: > 1 means the log was compacted. */
  readonly firstIndexAfterWrites: Record<string, number>;
  readonly snapshotsSent: number;
  readonly warnings: string[];
}

export interface RestartResult {
  readonly load: PutLoad;
  readonly runsPerVariant: number;
  readonly variants: RestartVariant[];
  /** median caught-up ms without snapshots / with snapshots. */
  readonly ratio: number;
}

/** Longest a restart may take before the run is declared failed. */
const RESTART_TIMEOUT_MS = 600_000;

/** Both variants, one fresh cluster each. */
export async function runRestart(load: PutLoad, runs: number): Promise<RestartResult> {
  const variants: RestartVariant[] = [];
  const configs = [
    {
      name: "without snapshots (--snapshot-entries 1000000000)",
      args: ["--snapshot-entries", "1000000000"],
    },
    { name: "with snapshots (default 10000/5000)", args: [] },
  ];
  for (const config of configs) {
    console.log(`restart: ${config.name}: starting cluster, writing ${load.ops} puts`);
    variants.push(await runVariant(config.name, config.args, load, runs));
  }
  const [off, on] = variants as [RestartVariant, RestartVariant];
  return {
    load,
    runsPerVariant: runs,
    variants,
    ratio: on.medianCaughtUpMs > 0 ? off.medianCaughtUpMs / on.medianCaughtUpMs : 0,
  };
}

async function runVariant(
  name: string,
  serverArgs: readonly string[],
  load: PutLoad,
  runs: number,
): Promise<RestartVariant> {
  const cluster = await startSnapCluster(serverArgs);
  try {
    const leader = cluster.node(await cluster.waitForLeader());
    const follower = cluster.nodes.find((n) => n.id !== leader.id) as ServerProcess;
    const emptyRestart = await restartOnce(cluster, follower);
    console.log(
      `  empty restart: first answer ${emptyRestart.firstAnswerMs} ms, caught up ${emptyRestart.caughtUpMs} ms`,
    );
    const write = await writePuts(cluster.endpoints(), load);
    console.log(
      `  wrote ${write.ops} puts in ${write.seconds.toFixed(1)} s (${write.opsPerSec.toFixed(0)}/s, ${write.errors} errors)`,
    );
    const firstIndexAfterWrites: Record<string, number> = {};
    await waitConverged(cluster);
    for (const n of cluster.nodes) {
      firstIndexAfterWrites[`node${n.id}`] = (await cluster.status(n, 3000))?.firstIndex ?? -1;
    }
    const results: RestartRun[] = [];
    for (let i = 0; i < runs; i++) {
      const run = await restartOnce(cluster, follower);
      console.log(
        `  restart ${i + 1}/${runs}: wal ${(run.dirAtKill.walBytes / 2 ** 20).toFixed(1)} MiB, read ${run.walEntriesRead ?? "?"} WAL entries (store at ${run.storeAppliedAtStart ?? "?"} of ${run.targetIndex}), first answer ${run.firstAnswerMs} ms, caught up ${run.caughtUpMs} ms`,
      );
      results.push(run);
    }
    const events = cluster.nodes.flatMap((n) => eventsOf(n).map((e) => ({ node: n.id, ...e })));
    return {
      name,
      serverArgs,
      emptyRestart,
      write,
      runs: results,
      medianCaughtUpMs: median(results.map((r) => r.caughtUpMs)),
      medianFirstAnswerMs: median(results.map((r) => r.firstAnswerMs)),
      firstIndexAfterWrites,
      snapshotsSent: events.filter((e) => e.msg === "snapshot sent").length,
      warnings: events
        .filter((e) => e.level >= 40)
        .slice(0, 20)
        .map((e) => `node ${e.node}: ${e.msg} ${JSON.stringify(e.fields)}`),
    };
  } finally {
    await cluster.destroy();
  }
}

/** Waits until every node has applied the leader's commit index (a quiet, converged cluster). */
async function waitConverged(cluster: LocalCluster): Promise<void> {
  await waitFor(
    "every node to apply the leader's commit index",
    async () => {
      cluster.assertAlive();
      const leader = cluster.node(await cluster.waitForLeader());
      const commit = (await cluster.status(leader, 3000))?.commitIndex;
      if (commit === undefined) return undefined;
      const applied = await Promise.all(cluster.nodes.map((n) => cluster.status(n, 3000)));
      return applied.every((s) => s !== undefined && s.appliedIndex >= commit) ? true : undefined;
    },
    120_000,
    200,
  );
}

/** SIGKILLs `node`, restarts it with `--debug` and times it until it has caught up. */
async function restartOnce(cluster: LocalCluster, node: ServerProcess): Promise<RestartRun> {
  await waitConverged(cluster);
  const leader = cluster.node(await cluster.waitForLeader());
  if (leader.id === node.id)
    throw new Error(`node ${node.id} became leader; restart measures a follower`);
  const before = await cluster.status(node, 3000);
  const targetIndex = (await cluster.status(leader, 3000))?.commitIndex;
  if (before === undefined || targetIndex === undefined)
    throw new Error("no status before the kill");
  const rssBeforeKill = rssOrNull(node.pid);
  await node.kill("SIGKILL");
  const dirAtKill = dirUsage(node.dataDir);
  const t0 = performance.now();
  cluster.spawn(node, ["--debug"]);
  const spawnedAt = node.spawnedAt;
  const peak = new PeakRss(() => new Map([["node", node.proc?.pid ?? null]]), 100);
  let firstAnswerMs: number | null = null;
  let caughtUpMs: number;
  let peaks: Record<string, number> = {};
  try {
    caughtUpMs = await waitFor(
      `node ${node.id} to apply index ${targetIndex} after restart`,
      async () => {
        cluster.assertAlive();
        const st = await cluster.status(node, 1000);
        if (st === undefined) return undefined;
        const ms = Math.round(performance.now() - t0);
        firstAnswerMs ??= ms;
        return st.appliedIndex >= targetIndex ? ms : undefined;
      },
      RESTART_TIMEOUT_MS,
      20,
    );
  } finally {
    peaks = peak.stop();
  }
  const started = eventsNamed(node, "node started", spawnedAt).at(-1)?.fields;
  return {
    targetIndex,
    dirAtKill,
    firstIndexBefore: before.firstIndex,
    lastIndexBefore: before.lastIndex,
    rssBeforeKill,
    firstAnswerMs: firstAnswerMs ?? caughtUpMs,
    caughtUpMs,
    walEntriesRead: typeof started?.replay === "number" ? started.replay : null,
    storeAppliedAtStart: typeof started?.applied === "number" ? started.applied : null,
    peakRssDuringRestart: peaks.node ?? null,
    rssAfter: rssOrNull(node.pid),
  };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
