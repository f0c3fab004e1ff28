/**
 * The snapshot benchmark's Markdown report and its automatic checks (growth after
 * warm-up, repeated or failed snapshot transfers, leader changes, node warnings).
 */
import type { CatchupResult } from "./snap-catchup.ts";
import type { OverwriteResult } from "./snap-overwrite.ts";
import { mib } from "./snap-probes.ts";
import type { RestartResult, RestartRun } from "./snap-restart.ts";

/** Everything one invocation produced. */
export interface SnapshotReport {
  readonly facts: Record<string, string>;
  readonly command: string;
  readonly overwrite?: OverwriteResult;
  readonly restart?: RestartResult;
  readonly catchup?: CatchupResult;
  /** Modes that threw, with the message. */
  readonly errors: Record<string, string>;
  readonly checks: string[];
}

/** Second-half max above this × first-half max counts as growth, not a plateau. */
const GROWTH_FACTOR = 1.5;

/** Findings a reader should not miss. */
export function automaticChecks(r: Omit<SnapshotReport, "checks">): string[] {
  const out: string[] = [];
  for (const [mode, message] of Object.entries(r.errors)) out.push(`${mode} FAILED: ${message}`);
  if (r.overwrite) out.push(...overwriteChecks(r.overwrite));
  if (r.restart) {
    for (const v of r.restart.variants) {
      const compacted = Object.entries(v.firstIndexAfterWrites).filter(([, f]) => f > 1);
      if (v.serverArgs.length > 0 && compacted.length > 0) {
        out.push(
          `restart "${v.name}": the log was compacted anyway (firstIndex ${compacted.map(([n, f]) => `${n}=${f}`).join(", ")}) — the byte trigger (everyBytes, 64 MiB of applied entries, no CLI flag) still snapshots`,
        );
      }
      for (const w of v.warnings) out.push(`restart "${v.name}" warning: ${w}`);
    }
  }
  if (r.catchup) {
    const c = r.catchup;
    if (c.snapshotsSent.length === 0)
      out.push("catchup: no 'snapshot sent' line from the leader for the follower");
    if (c.snapshotsSent.length > 1)
      out.push(`catchup: ${c.snapshotsSent.length} snapshots sent to one follower (expected 1)`);
    if (c.snapshotFailures.length > 0)
      out.push(
        `catchup: ${c.snapshotFailures.length} snapshot transfer(s) failed: ${JSON.stringify(c.snapshotFailures)}`,
      );
    if (c.leaderFirstIndexAtRestart <= c.followerLastIndexAtKill + 1) {
      out.push(
        "catchup: the leader still held the follower's next entry, so no snapshot was needed",
      );
    }
    for (const w of c.warnings) out.push(`catchup warning: ${w}`);
  }
  return out;
}

function overwriteChecks(o: OverwriteResult): string[] {
  const out: string[] = [];
  for (const n of o.summary) {
    const [dir1, dir2] = n.totalBytesHalves;
    const [rss1, rss2] = n.rssHalves;
    if (dir2 > dir1 * GROWTH_FACTOR) {
      out.push(
        `overwrite node ${n.id}: data dir grew after warm-up (max ${mib(dir1)} MiB in the first half, ${mib(dir2)} MiB in the second)`,
      );
    }
    if (rss2 > rss1 * GROWTH_FACTOR) {
      out.push(
        `overwrite node ${n.id}: RSS grew after warm-up (max ${mib(rss1)} MiB in the first half, ${mib(rss2)} MiB in the second)`,
      );
    }
  }
  if (o.loadResult.errors > 0)
    out.push(
      `overwrite: ${o.loadResult.errors} puts failed: ${JSON.stringify(o.loadResult.errorKinds)}`,
    );
  if (o.leaderChanges > 0)
    out.push(`overwrite: ${o.leaderChanges} leader change(s) during the run`);
  if (o.snapshotsSent > 0 || o.snapshotFailures > 0) {
    out.push(
      `overwrite: ${o.snapshotsSent} snapshot(s) sent, ${o.snapshotFailures} failed (a follower fell behind the compacted log under load)`,
    );
  }
  for (const w of o.warnings) out.push(`overwrite warning: ${w}`);
  return out;
}

/** The whole report as Markdown. */
export function formatMarkdown(r: SnapshotReport): string {
  const lines = ["# dfs snapshots: bounded disk and memory, restart, catch-up", ""];
  for (const [k, v] of Object.entries(r.facts)) lines.push(`- ${k}: ${v}`);
  lines.push(`- command: \`${r.command}\``, "");
  if (r.overwrite) lines.push(...overwriteSection(r.overwrite));
  if (r.restart) lines.push(...restartSection(r.restart));
  if (r.catchup) lines.push(...catchupSection(r.catchup));
  lines.push("## Automatic checks", "");
  if (r.checks.length === 0) lines.push("- nothing flagged");
  for (const c of r.checks) lines.push(`- ${c}`);
  lines.push("");
  return lines.join("\n");
}

function table(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
}

const mf = (v: { max: number; final: number }): string => `${mib(v.max)} / ${mib(v.final)}`;

function overwriteSection(o: OverwriteResult): string[] {
  const l = o.load;
  const res = o.loadResult;
  const out = [
    "## Overwrite: data dir and RSS under a long overwrite workload",
    "",
    `${l.ops} puts of ${l.valueSize} B over ${l.keys} keys, ${l.concurrency} in flight, default snapshots (every 10000 entries, keep 5000); sampled every ${o.sampleSeconds} s.`,
    `Acknowledged ${res.ops} in ${res.seconds.toFixed(0)} s = ${res.opsPerSec.toFixed(0)} ops/s, p50/p99 ${res.latency.p50.toFixed(1)}/${res.latency.p99.toFixed(1)} ms, ${res.errors} errors.`,
    `CPU over the run (% of one core; the machine has 2): servers ${o.cpu.serversPct}%, this benchmark (load generator) ${o.cpu.benchPct}%, everything else ${o.cpu.othersPct}%. Leader changes ${o.leaderChanges}, snapshots sent ${o.snapshotsSent} (failed ${o.snapshotFailures}).`,
    "",
    "Per node, max / final (MiB); halves = max over the first half of the samples → max over the second half:",
    "",
    ...table(
      [
        "node",
        "data dir",
        "wal/",
        "state/",
        "WAL segments",
        "RSS",
        "data dir halves",
        "RSS halves",
        "max log entries held",
        "final firstIndex",
      ],
      o.summary.map((n) => [
        n.id,
        mf(n.totalBytes),
        mf(n.walBytes),
        mf(n.stateBytes),
        `${n.walSegments.max} / ${n.walSegments.final}`,
        mf(n.rssBytes),
        `${mib(n.totalBytesHalves[0])} → ${mib(n.totalBytesHalves[1])}`,
        `${mib(n.rssHalves[0])} → ${mib(n.rssHalves[1])}`,
        n.maxLogEntries,
        n.finalFirstIndex ?? "?",
      ]),
    ),
    "",
    "Time series (data dir MiB as total (wal+state), RSS MiB with its RssAnon part — heap and native — in parentheses):",
    "",
    ...table(
      [
        "t s",
        "ops",
        "ops/s so far",
        "ops/s interval",
        "load1",
        ...o.summary.flatMap((n) => [`n${n.id} dir (wal+state)`, `n${n.id} segs`, `n${n.id} RSS`]),
      ],
      o.samples.map((s) => [
        s.seconds.toFixed(0),
        s.opsDone,
        s.opsPerSecSoFar.toFixed(0),
        s.opsPerSecInterval.toFixed(0),
        s.loadavg1.toFixed(2),
        ...s.nodes.flatMap((n) => [
          `${mib(n.totalBytes)} (${mib(n.walBytes)}+${mib(n.stateBytes)})`,
          n.walSegments,
          n.rssBytes === null
            ? "-"
            : `${mib(n.rssBytes)}${n.rssAnonBytes === undefined || n.rssAnonBytes === null ? "" : ` (${mib(n.rssAnonBytes)})`}`,
        ]),
      ]),
    ),
    "",
  ];
  return out;
}

function restartRow(name: string, n: number, r: RestartRun): (string | number)[] {
  return [
    name,
    n,
    `${mib(r.dirAtKill.walBytes)} / ${r.dirAtKill.walSegments}`,
    mib(r.dirAtKill.stateBytes),
    `${r.firstIndexBefore}..${r.lastIndexBefore}`,
    r.walEntriesRead ?? "?",
    r.storeAppliedAtStart === null ? "?" : Math.max(0, r.targetIndex - r.storeAppliedAtStart),
    r.firstAnswerMs,
    r.caughtUpMs,
    r.peakRssDuringRestart === null ? "?" : mib(r.peakRssDuringRestart),
  ];
}

function restartSection(r: RestartResult): string[] {
  const header = [
    "variant",
    "N puts",
    "WAL MiB / segments",
    "state MiB",
    "log before kill",
    "WAL entries read",
    "entries re-applied",
    "first answer ms",
    "caught up ms",
    "peak RSS MiB",
  ];
  const rows: (string | number)[][] = [];
  for (const v of r.variants) {
    rows.push(restartRow(`${v.name}: empty node`, 0, v.emptyRestart));
    for (const [i, run] of v.runs.entries()) {
      rows.push(restartRow(`${v.name}: run ${i + 1}`, r.load.ops, run));
    }
  }
  const summary = r.variants.map((v) => [
    v.name,
    r.load.ops,
    v.emptyRestart.caughtUpMs,
    v.medianFirstAnswerMs,
    v.medianCaughtUpMs,
    `${v.write.opsPerSec.toFixed(0)} ops/s`,
    Object.entries(v.firstIndexAfterWrites)
      .map(([n, f]) => `${n}=${f}`)
      .join(" "),
  ]);
  return [
    "## Restart: SIGKILL of a follower with a long history, spawn → appliedIndex ≥ leader's commitIndex",
    "",
    `${r.load.ops} puts of ${r.load.valueSize} B over ${r.load.keys} keys (${r.load.concurrency} in flight) before the kills; ${r.runsPerVariant} kill/restart runs per variant, medians; the restarted node runs with --debug to log how many WAL entries it read.`,
    "",
    ...table(
      [
        "variant",
        "N",
        "empty-node restart ms",
        "median first answer ms",
        "median caught up ms",
        "write rate",
        "firstIndex after writes",
      ],
      summary,
    ),
    "",
    `**Ratio** (median caught-up ms without / with snapshots): ${r.ratio.toFixed(2)}×`,
    "",
    ...table(header, rows),
    "",
  ];
}

function catchupSection(c: CatchupResult): string[] {
  const sent = c.snapshotsSent;
  return [
    "## Catch-up: a follower behind the compacted log gets InstallSnapshot",
    "",
    `Follower ${c.followerId} SIGKILLed at index ${c.followerLastIndexAtKill}; ${c.load.ops} puts of ${c.load.valueSize} B over ${c.load.keys} keys (${c.write.opsPerSec.toFixed(0)} ops/s); leader ${c.leaderId}'s log then started at ${c.leaderFirstIndexAtRestart}, commit ${c.targetIndex}. RSS sampled every 100 ms (${c.rssSamples} samples).`,
    "",
    ...table(
      [
        "first answer ms",
        "caught up ms",
        "snapshots sent",
        "snapshot bytes",
        "transfer ms (leader)",
        "failed transfers",
        "peak RSS leader MiB",
        "peak RSS follower MiB",
        "RSS before kill leader / follower MiB",
        "follower data dir after MiB",
      ],
      [
        [
          c.firstAnswerMs,
          c.caughtUpMs,
          sent.length,
          sent.map((s) => s.bytes).join(", ") || "-",
          sent.map((s) => s.ms).join(", ") || "-",
          c.snapshotFailures.length,
          c.peakRss.leader === null ? "?" : mib(c.peakRss.leader),
          c.peakRss.follower === null ? "?" : mib(c.peakRss.follower),
          `${c.rssBeforeKill.leader === null ? "?" : mib(c.rssBeforeKill.leader)} / ${c.rssBeforeKill.follower === null ? "?" : mib(c.rssBeforeKill.follower)}`,
          `${mib(c.followerDirAfter.totalBytes)} (wal ${mib(c.followerDirAfter.walBytes)}, state ${mib(c.followerDirAfter.stateBytes)})`,
        ],
      ],
    ),
    "",
  ];
}
