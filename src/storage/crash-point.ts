/**
 * Test hook for crash tests on real processes: with `DFS_CRASH_AT=<name>` in its
 * environment, a node kills itself with SIGKILL when it reaches the named point, so a
 * test can stop it exactly between two steps of a compaction or a snapshot install and
 * check that it restarts with everything acknowledged. Unset in production: a no-op.
 */
const target = process.env.DFS_CRASH_AT;

/** Dies here if this point was chosen. */
export function crashPoint(name: string): void {
  if (target === name) process.kill(process.pid, "SIGKILL");
}
