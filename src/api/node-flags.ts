/**
 * Node.js flags every dfs server process is started with (by `dfs dev`/`npm start`, the
 * `dfs` launcher, the tests and the benchmarks; by hand: docs/operations.md#nodejs-flags).
 *
 * `--initial-old-space-size=256`: a server's JavaScript heap is small (~14 MB), so V8 sets
 * its old-generation limit near 24 MB, yet every replicated value is a Buffer held in the
 * in-memory log tail until the next snapshot, and those count toward that limit. With
 * values of kilobytes to 1 MiB, a full mark-compact ran every few puts on each node (`perf`:
 * a third of all CPU in V8 marking and sweeping at 1 MiB puts). Starting the limit at
 * 256 MB leaves V8's external-memory pressure (every 64 MB of new buffers) as the trigger.
 * Measured (3 alternating rounds, same code): 1 MiB puts ×16 +50 %, with half the CPU per
 * put; 4 KiB ×16 +20–45 %; 256 B ×64 +20 %. The cost is memory: garbage buffers live up to
 * ~256 MB longer, within the RSS etcd needs for the same load (see bench/README.md).
 * It can only be given on the command line (not NODE_OPTIONS, not at run time).
 *
 * `--max-semi-space-size=4`: V8's young generation (Node 20: two 16 MiB semi-spaces)
 * grows to 32 MiB of anonymous memory on every node while files stream, for objects that
 * are a few MiB at most (a server's whole live heap is ~20 MiB; file bytes live outside
 * it, in Buffers). Capped at 4 MiB per semi-space it holds 8 MiB: 23 MiB less anonymous
 * memory per node, measured on a 2 GiB upload and download (bench/README.md, session 6),
 * with no loss of MiB/s (scavenges of mostly dead Buffer wrappers are cheap).
 */
export const SERVER_NODE_FLAGS: readonly string[] = [
  "--initial-old-space-size=256",
  "--max-semi-space-size=4",
];

/** Whether this process was started with {@link SERVER_NODE_FLAGS} (logged at startup). */
export function hasServerNodeFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return SERVER_NODE_FLAGS.every((flag) => execArgv.includes(flag));
}
