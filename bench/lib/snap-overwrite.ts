/**
 * Overwrite mode: a long overwrite workload (N puts over a small key space) against a
 * fresh cluster with default snapshot settings, sampling every node's data dir (WAL vs
 * state), WAL segments, RSS, log window (firstIndex..lastIndex) and the ops/s so far.
 * With snapshots + compaction working, all of these level off after warm-up instead of
 * growing with the number of writes.
 */
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import type { LocalCluster, ServerProcess } from "../../src/cluster/index.ts";
import type { LoadResult } from "../../src/loadgen/index.ts";
import { cpuMsOf, machineBusyMs } from "./proc-stat.ts";
import { type PutLoad, startPuts } from "./snap-load.ts";
import { eventsOf, startSnapCluster } from "./snap-nodes.ts";
import { type DirUsage, dirUsage, memOrNull, mib } from "./snap-probes.ts";

/** One node at one sample. */
export interface NodeSample extends DirUsage {
  readonly id: number;
  readonly rssBytes: number | null;
  /** RssAnon (heap, native) and RssFile (code, LMDB map) parts of it. */
  readonly rssAnonBytes: number | null;
  readonly rssFileBytes: number | null;
  readonly role: string | null;
  readonly firstIndex: number | null;
  readonly lastIndex: number | null;
  readonly appliedIndex: number | null;
  readonly commitIndex: number | null;
}

/** Every node at one moment of the run. */
export interface Sample {
  readonly seconds: number;
  readonly opsDone: number;
  readonly opsFailed: number;
  /** Acknowledged puts per second since the start. */
  readonly opsPerSecSoFar: number;
  /** ... over the last interval only. */
  readonly opsPerSecInterval: number;
  readonly loadavg1: number;
  readonly nodes: NodeSample[];
}

/** Max and final value of one metric of one node. */
export interface MaxFinal {
  readonly max: number;
  readonly final: number;
}

/** One node's summary over the whole run. */
export interface NodeSummary {
  readonly id: number;
  readonly totalBytes: MaxFinal;
  readonly walBytes: MaxFinal;
  readonly stateBytes: MaxFinal;
  readonly walSegments: MaxFinal;
  readonly rssBytes: MaxFinal;
  /** Max of each metric over the first half of the samples vs the second half. */
  readonly totalBytesHalves: readonly [number, number];
  readonly rssHalves: readonly [number, number];
  /** Longest log held (lastIndex - firstIndex + 1) at any sample. */
  readonly maxLogEntries: number;
  readonly finalFirstIndex: number | null;
}

export interface OverwriteResult {
  readonly load: PutLoad;
  readonly sampleSeconds: number;
  readonly samples: Sample[];
  readonly summary: NodeSummary[];
  readonly loadResult: LoadResult;
  /** CPU of the three servers and of everything else on the machine over the run, in % of one core. */
  readonly cpu: {
    readonly serversPct: number;
    readonly othersPct: number;
    readonly benchPct: number;
  };
  readonly leaderChanges: number;
  readonly snapshotsSent: number;
  readonly snapshotFailures: number;
  readonly warnings: string[];
}

/** Runs the overwrite mode on a fresh cluster. */
export async function runOverwrite(load: PutLoad, sampleSeconds: number): Promise<OverwriteResult> {
  const cluster = await startSnapCluster([]);
  try {
    return await measure(cluster, load, sampleSeconds);
  } finally {
    await cluster.destroy();
  }
}

async function measure(
  cluster: LocalCluster,
  load: PutLoad,
  sampleSeconds: number,
): Promise<OverwriteResult> {
  const pids = cluster.nodes.map((n) => n.pid);
  const cpu0 = { servers: cpuMsOf(pids), machine: machineBusyMs(), self: process.cpuUsage() };
  const started = performance.now();
  const running = startPuts(cluster.endpoints(), load);
  const samples: Sample[] = [];
  let last = { t: 0, ops: 0 };
  const takeSample = async (): Promise<void> => {
    const s = await sample(cluster, started, running.counter, last);
    last = { t: s.seconds, ops: s.opsDone };
    samples.push(s);
    console.log(formatSampleLine(s));
  };
  await takeSample();
  let sampling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(takeSample).catch((e) => console.error(`sample failed: ${e}`));
  }, sampleSeconds * 1000);
  let loadResult: LoadResult;
  try {
    loadResult = await Promise.race([running.result, watchAlive(cluster)]);
  } finally {
    clearInterval(timer);
    await sampling;
  }
  const wallMs = performance.now() - started;
  const cpu = cpuShare(cpu0, cpuMsOf(pids), wallMs);
  await takeSample();
  return {
    load,
    sampleSeconds,
    samples,
    summary: cluster.nodes.map((n) => summarize(n.id, samples)),
    loadResult,
    cpu,
    ...eventCounts(cluster.nodes),
  };
}

/** Rejects as soon as a node dies by itself, so a broken run stops instead of hanging. */
function watchAlive(cluster: LocalCluster): Promise<never> {
  return new Promise((_, reject) => {
    const t = setInterval(() => {
      try {
        cluster.assertAlive();
      } catch (error) {
        clearInterval(t);
        reject(error);
      }
    }, 500);
    t.unref();
  });
}

async function sample(
  cluster: LocalCluster,
  started: number,
  counter: { done: number; failed: number },
  last: { t: number; ops: number },
): Promise<Sample> {
  const seconds = (performance.now() - started) / 1000;
  const opsDone = counter.done;
  const nodes = await Promise.all(cluster.nodes.map((n) => nodeSample(cluster, n)));
  return {
    seconds,
    opsDone,
    opsFailed: counter.failed,
    opsPerSecSoFar: seconds > 0 ? opsDone / seconds : 0,
    opsPerSecInterval: seconds > last.t ? (opsDone - last.ops) / (seconds - last.t) : 0,
    loadavg1: loadavg()[0] ?? 0,
    nodes,
  };
}

async function nodeSample(cluster: LocalCluster, node: ServerProcess): Promise<NodeSample> {
  const pid = node.proc?.pid;
  const mem = pid === undefined ? null : memOrNull(pid);
  const st = await cluster.status(node, 3000);
  return {
    id: node.id,
    ...dirUsage(node.dataDir),
    rssBytes: mem?.rss ?? null,
    rssAnonBytes: mem?.anon ?? null,
    rssFileBytes: mem?.file ?? null,
    role: st?.role ?? null,
    firstIndex: st?.firstIndex ?? null,
    lastIndex: st?.lastIndex ?? null,
    appliedIndex: st?.appliedIndex ?? null,
    commitIndex: st?.commitIndex ?? null,
  };
}

function cpuShare(
  before: { servers: number; machine: number; self: NodeJS.CpuUsage },
  serversAfter: number,
  wallMs: number,
): OverwriteResult["cpu"] {
  const servers = serversAfter - before.servers;
  const self = process.cpuUsage(before.self);
  const bench = (self.user + self.system) / 1000;
  const others = Math.max(0, machineBusyMs() - before.machine - servers - bench);
  const pct = (ms: number): number => Math.round((ms / wallMs) * 1000) / 10;
  return { serversPct: pct(servers), othersPct: pct(others), benchPct: pct(bench) };
}

function summarize(id: number, samples: readonly Sample[]): NodeSummary {
  const mine = samples.map((s) => s.nodes.find((n) => n.id === id) as NodeSample);
  const maxFinal = (f: (n: NodeSample) => number | null): MaxFinal => {
    const values = mine.map(f).filter((v): v is number => v !== null);
    return { max: Math.max(0, ...values), final: values.at(-1) ?? 0 };
  };
  const halves = (f: (n: NodeSample) => number | null): readonly [number, number] => {
    const mid = Math.ceil(mine.length / 2);
    const max = (xs: NodeSample[]): number =>
      Math.max(0, ...xs.map(f).filter((v): v is number => v !== null));
    return [max(mine.slice(0, mid)), max(mine.slice(mid))];
  };
  const logLengths = mine
    .filter((n) => n.firstIndex !== null && n.lastIndex !== null)
    .map((n) => (n.lastIndex as number) - (n.firstIndex as number) + 1);
  return {
    id,
    totalBytes: maxFinal((n) => n.totalBytes),
    walBytes: maxFinal((n) => n.walBytes),
    stateBytes: maxFinal((n) => n.stateBytes),
    walSegments: maxFinal((n) => n.walSegments),
    rssBytes: maxFinal((n) => n.rssBytes),
    totalBytesHalves: halves((n) => n.totalBytes),
    rssHalves: halves((n) => n.rssBytes),
    maxLogEntries: Math.max(0, ...logLengths),
    finalFirstIndex: mine.at(-1)?.firstIndex ?? null,
  };
}

function eventCounts(
  nodes: readonly ServerProcess[],
): Pick<OverwriteResult, "leaderChanges" | "snapshotsSent" | "snapshotFailures" | "warnings"> {
  const all = nodes.flatMap((n) => eventsOf(n).map((e) => ({ node: n.id, ...e })));
  return {
    // The first election is not a change.
    leaderChanges: Math.max(0, all.filter((e) => /-> leader$/.test(e.msg)).length - 1),
    snapshotsSent: all.filter((e) => e.msg === "snapshot sent").length,
    snapshotFailures: all.filter((e) => e.msg === "snapshot failed").length,
    warnings: all
      .filter((e) => e.level >= 40)
      .slice(0, 20)
      .map((e) => `node ${e.node}: ${e.msg} ${JSON.stringify(e.fields)}`),
  };
}

/** One console line per sample. */
export function formatSampleLine(s: Sample): string {
  const nodes = s.nodes
    .map(
      (n) =>
        `n${n.id}[dir ${mib(n.totalBytes)} (wal ${mib(n.walBytes)}/${n.walSegments}seg, state ${mib(n.stateBytes)}) MiB, rss ${n.rssBytes === null ? "-" : mib(n.rssBytes)} (anon ${n.rssAnonBytes === null ? "-" : mib(n.rssAnonBytes)}) MiB, log ${n.firstIndex ?? "?"}..${n.lastIndex ?? "?"}]`,
    )
    .join(" ");
  return `t=${s.seconds.toFixed(0)}s ops=${s.opsDone} (${s.opsPerSecSoFar.toFixed(0)}/s so far, ${s.opsPerSecInterval.toFixed(0)}/s last) load=${s.loadavg1.toFixed(2)} ${nodes}`;
}
