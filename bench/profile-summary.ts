/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): where the time went, by function and
 * by area (our code per directory, grpc-js, protobuf, LMDB, Node internals, GC, idle), so
 * a before/after comparison of a change fits in a few lines of a report.
 *
 *   npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 25]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Which area a frame belongs to, for the per-area table. */
export function areaOf(url: string, functionName: string): string {
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(program)") return "native/other";
  const inProject = /\/src\/([^/]+)\//.exec(url);
  if (inProject !== null && !url.includes("node_modules")) return `dfs ${inProject[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1] as string;
  if (url.startsWith("node:")) return "node internals";
  return url === "" ? "native/other" : url;
}

/** Name of a profile node as the tables print it. */
function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where =
    url === "" ? "" : ` ${url.replace(/^.*\/(src|node_modules)\//, "$1/")}:${lineNumber + 1}`;
  return `${functionName || "(anonymous)"}${where}`;
}

/** Time spent in each function including what it called (counted once per call path). */
function inclusiveTimes(profile: CpuProfile, selfUs: Map<number, number>): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node === undefined) break;
      const name = frameName(node);
      if (name.startsWith("(idle)") || name.startsWith("(root)") || seen.has(name)) continue;
      seen.add(name);
      totals.set(name, (totals.get(name) ?? 0) + us);
    }
  }
  return totals;
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith("--"));
  const topIndex = args.indexOf("--top");
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
  if (file === undefined) {
    process.stderr.write("usage: profile-summary.ts FILE.cpuprofile [--top N]\n");
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  let busy = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url } = node.callFrame;
    const area = areaOf(url, functionName);
    const name = frameName(node);
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    total += us;
    if (area !== "idle") busy += us;
  }
  const ms = (us: number): string => (us / 1000).toFixed(0).padStart(7);
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  process.stdout.write(
    `profile ${file}\nwall ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s ` +
      `(${((100 * busy) / total).toFixed(0)}% of wall); shares below are of busy time\n\nby area:\n`,
  );
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  for (const [area, us] of sorted(byArea)) {
    if (area !== "idle") process.stdout.write(`${ms(us)} ms ${pct(us)}  ${area}\n`);
  }
  const inclusive = inclusiveTimes(profile, selfUs);
  process.stdout.write(`\ntop ${top} functions by total time (self + callees):\n`);
  for (const [name, us] of sorted(inclusive).slice(0, top)) {
    process.stdout.write(`${ms(us)} ms ${pct(us)}  ${name}\n`);
  }
  process.stdout.write(`\ntop ${top} functions by self time:\n`);
  for (const [name, us] of sorted(byFunction).slice(0, top)) {
    if (name.startsWith("(idle)")) continue;
    process.stdout.write(`${ms(us)} ms ${pct(us)}  ${name}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
