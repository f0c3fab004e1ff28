/**
 * The `dfs` command as a function, for the thin entry points (bin/, scripts/): the only
 * module other code imports from cli/.
 */

/** Exit codes, so an entry point can exit with the documented code on a crash. */
export { ExitCode } from "./exit-codes.ts";
/** Runs `dfs` with the given arguments; every entry point is a call to this. */
export { runCli } from "./program.ts";
