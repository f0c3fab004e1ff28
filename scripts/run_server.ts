/**
 * The seed's server entry point, kept so existing habits keep working:
 *   npx tsx scripts/run_server.ts --id 1 --port 50051 \
 *     --peers 1@localhost:50051,2@localhost:50052,3@localhost:50053 --data-dir ./node1_data [--debug]
 * is exactly `dfs server` with the same flags (same checks, messages and exit codes),
 * run from the compiled dist/ (`npm run build`; a missing or stale dist/ is one error
 * line and exit code 2).
 */
import { compiled } from "../bin/compiled.mjs";

const { runCli } = (await import(compiled("cli/index.js"))) as typeof import("../src/cli/index.ts");
process.exit(await runCli(["server", ...process.argv.slice(2)]));
