/**
 * The seed's client entry point, kept so existing habits keep working:
 *   npx tsx scripts/run_client.ts HOST:PORT put KEY VALUE|-
 *   npx tsx scripts/run_client.ts HOST:PORT get KEY
 *   npx tsx scripts/run_client.ts HOST:PORT delete KEY
 * is `dfs <command> ... --endpoints HOST:PORT`; the client follows NOT_LEADER redirects
 * from that node, so any node of the cluster will do.
 */
import { ExitCode, runCli } from "../src/cli/index.ts";

const COMMANDS = new Set(["put", "get", "delete", "status"]);
const USAGE = "usage: run_client.ts HOST:PORT put KEY VALUE|- | get KEY | delete KEY";

const [endpoint, command, ...rest] = process.argv.slice(2);
if (endpoint === undefined || command === undefined || !COMMANDS.has(command)) {
  process.stderr.write(`dfs: error: ${USAGE}\n`);
  process.exit(ExitCode.usage);
}
process.exit(await runCli([command, ...rest, "--endpoints", endpoint]));
