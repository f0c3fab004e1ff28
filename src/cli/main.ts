/**
 * Entry point of the `dfs` command (`bin/dfs.mjs`, `npm start`, `tsx src/cli/main.ts`).
 * Importing this module runs the CLI on `process.argv` and exits with its code; code
 * that wants the CLI without exiting imports `runCli` from `src/cli/index.ts` instead (the
 * layer's entry, as scripts/ do).
 */
import { runCli } from "./program.ts";

process.exit(await runCli(process.argv.slice(2)));
