/**
 * The seed's client entry point, kept so existing habits keep working:
 *   npx tsx scripts/run_client.ts HOST:PORT put KEY VALUE|-
 *   npx tsx scripts/run_client.ts HOST:PORT get KEY
 *   npx tsx scripts/run_client.ts HOST:PORT delete KEY
 * is `dfs <command> ... --endpoints HOST:PORT`; the client follows NOT_LEADER redirects
 * from that node, so any node of the cluster will do. Runs the compiled dist/ (`npm run
 * build`; a missing or stale dist/ is one error line and exit code 2).
 */
import { compiled } from "../bin/compiled.mjs";

const COMMANDS = new Set(["put", "get", "delete", "status"]);
const USAGE = "usage: run_client.ts HOST:PORT put KEY VALUE|- | get KEY | delete KEY";
const EXIT_USAGE = 2; // ExitCode.usage (src/cli/exit-codes.ts)

const [endpoint, command, ...rest] = process.argv.slice(2);
if (endpoint === undefined || command === undefined || !COMMANDS.has(command)) {
  process.stderr.write(`dfs: error: ${USAGE}\n`);
  process.exit(EXIT_USAGE);
}
const { runCli } = (await import(compiled("cli/index.js"))) as typeof import("../src/cli/index.ts");
process.exit(await runCli([command, ...rest, "--endpoints", endpoint]));
