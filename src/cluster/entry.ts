/**
 * How a node's process runs the dfs CLI: the `node` binary, the Node arguments that load
 * the CLI (a loader and an entry file), and the directory to run in. `dfs server` and its
 * flags come after these.
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SERVER_NODE_FLAGS } from "../api/index.ts";

/** The command that runs the dfs CLI, up to (not including) `server` and its flags. */
export interface ServerEntry {
  readonly command: string;
  readonly args: readonly string[];
  /** Working directory of the child (where a relative `--import tsx` resolves). */
  readonly cwd: string;
}

/** The repository this file is in (src/cluster/ or its compiled copy two levels down). */
export const REPO_ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));

/**
 * The TypeScript sources through the tsx loader: what tests and benchmarks run, so they
 * never run a stale build.
 */
export function sourceEntry(root = REPO_ROOT): ServerEntry {
  return {
    command: process.execPath,
    args: [...SERVER_NODE_FLAGS, "--import", "tsx", join(root, "src", "cli", "main.ts")],
    cwd: root,
  };
}

/**
 * Whatever this process itself runs (`process.execPath`, `process.execArgv`,
 * `process.argv[1]`), plus the server's Node flags it lacks: `dfs dev` from the compiled
 * CLI starts compiled nodes, from the sources through tsx it starts them the same way.
 */
export function parentEntry(): ServerEntry {
  const script = process.argv[1];
  if (script === undefined) throw new Error("cannot tell which script this process runs");
  const missing = SERVER_NODE_FLAGS.filter((flag) => !process.execArgv.includes(flag));
  return {
    command: process.execPath,
    args: [...missing, ...process.execArgv, script],
    cwd: process.cwd(),
  };
}
