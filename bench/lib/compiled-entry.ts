/**
 * Nodes run from the compiled CLI (dist/, through bin/dfs.mjs, which refuses a dist/
 * older than src/) instead of the sources through tsx: a node then starts in about half
 * the CPU, which matters when a benchmark restarts one on the same cores the rest of the
 * cluster and the client share.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { SERVER_NODE_FLAGS } from "../../src/api/index.ts";
import { REPO_ROOT, type ServerEntry } from "../../src/cluster/index.ts";

/**
 * Runs `npm run build` (scripts/build.mjs) in `root` (this checkout, or another one: the
 * code before a change, measured by the same harness) and returns its compiled CLI's entry.
 */
export function buildCompiledEntry(root: string = REPO_ROOT): ServerEntry {
  const build = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (build.status !== 0) throw new Error(`build of ${root} failed: cannot run compiled nodes`);
  return {
    command: process.execPath,
    args: [...SERVER_NODE_FLAGS, join(root, "bin", "dfs.mjs")],
    cwd: root,
  };
}
