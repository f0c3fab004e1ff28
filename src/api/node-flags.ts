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

/**
 * Environment every dfs server process is started with (the `dfs` launcher's shebang,
 * `dfs dev`, the tests and benchmarks through `LocalCluster`). glibc reads it once, at
 * start, so it cannot be set from inside the process.
 *
 * `MALLOC_MMAP_THRESHOLD_=131072`: glibc's own initial threshold (128 KiB), pinned. By
 * default glibc raises the threshold to the size of each mmapped block it frees (up to 32
 * MiB), so after the first 1 MiB chunk or 8 MiB peer batch is freed, every later one is
 * carved from the malloc heap, and the heap, fragmented by small allocations that outlive
 * them, keeps the freed megabytes: the leader's anonymous memory held 80-130 MiB more
 * than its live Buffers and V8 heap during a 2 GiB upload. Pinned, every block of 128 KiB
 * or more is its own mapping, returned to the kernel when freed.
 */
export const SERVER_NODE_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: "131072",
};

/** Whether this process was started with {@link SERVER_NODE_ENV} (logged at startup). */
export function hasServerNodeEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return Object.entries(SERVER_NODE_ENV).every(([name, value]) => env[name] === value);
}

/** Whether this process was started with {@link SERVER_NODE_FLAGS} (logged at startup). */
export function hasServerNodeFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return SERVER_NODE_FLAGS.every((flag) => execArgv.includes(flag));
}
