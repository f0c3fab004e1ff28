/**
 * The closed-loop load generator behind `dfs bench`, shipped with the command; the
 * benchmarks in bench/ drive dfs and etcd with this very loop. The only module other
 * code imports from loadgen/.
 */

/** dfs as a target, through the client library exactly as an application uses it. */
export { DfsTarget } from "./dfs-target.ts";
/** Run a measured load (and fill the key space first); `dfs bench` and bench/ call these. */
export {
  type LoadResult,
  type LoadSpec,
  prefill,
  runLoad,
  type StopRule,
  type WindowHooks,
  type Workload,
} from "./loadgen.ts";
/** How a run is shown: `dfs bench` prints these, bench/ reuses `fixed` in its tables. */
export { describeSpec, fixed, formatRunJson, formatRunReport } from "./run-report.ts";
/** Sizes as written on a command line (`4KiB`), for `--size` flags here and in bench/. */
export { formatSize, parseSize } from "./size.ts";
/** Percentiles and medians: the window's latency summary, and medians over bench rounds. */
export { type LatencySummary, median, percentile, SampleBuffer, summarize } from "./stats.ts";
/** What the loop drives; bench/ implements it for etcd too. */
export { benchKey, type KvTarget } from "./target.ts";
