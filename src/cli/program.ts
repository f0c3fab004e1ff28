/**
 * The `dfs` command tree and the one place where a run becomes an exit code. Kept free
 * of side effects so the seed's scripts (and tests) can run the CLI in-process.
 */
import { logVerbosity, setLogVerbosity } from "@grpc/grpc-js";
import { Command } from "commander";
import { addBenchCommand } from "./bench-command.ts";
import { addCertsCommand } from "./certs-command.ts";
import { addDevCommand } from "./dev-cluster.ts";
import { ExitCode } from "./exit-codes.ts";
import { debugRequested, describeFailure } from "./failure.ts";
import { addFileCommands } from "./file-commands.ts";
import { addKvCommands } from "./kv-commands.ts";
import { addServerCommand } from "./server-command.ts";
import { addStatusCommand } from "./status-command.ts";
import { addVerifyCommand, VerifyFailure } from "./verify-command.ts";

/**
 * Builds the program. Commander is told to throw instead of exiting and to print no
 * errors itself, so every failure goes through {@link runCli}'s single reporting path;
 * help text still goes to stdout.
 */
export function buildProgram(): Command {
  const program = new Command("dfs")
    .description("dfs: a fault-tolerant distributed file store on Raft")
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError(true);
  addServerCommand(program);
  addKvCommands(program);
  addFileCommands(program);
  addStatusCommand(program);
  addDevCommand(program);
  addVerifyCommand(program);
  addBenchCommand(program);
  addCertsCommand(program);
  return program;
}

/**
 * Runs `dfs` with `args` (without the node and script paths) and returns the exit code;
 * on failure it has already printed the one line that explains it.
 */
export async function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ExitCode> {
  const debug = debugRequested(args, env);
  quietTransportLogs(debug, env);
  try {
    await buildProgram().parseAsync([...args], { from: "user" });
    return ExitCode.ok;
  } catch (err) {
    const report = err instanceof VerifyFailure ? err.report() : describeFailure(err, debug);
    if (report.text !== null) process.stderr.write(`${report.text}\n`);
    return report.exitCode;
  }
}

/**
 * grpc-js logs its own errors to stderr (e.g. "E No address added out of total 1
 * resolved" next to our "address already in use"), which would break the one-line
 * contract. Silenced unless the user asked for detail (`--debug`, `DFS_DEBUG=1`) or set
 * grpc's own `GRPC_VERBOSITY`.
 */
function quietTransportLogs(debug: boolean, env: NodeJS.ProcessEnv): void {
  if (!debug && env.GRPC_VERBOSITY === undefined) setLogVerbosity(logVerbosity.NONE);
  // grpc-js passes an IP target (127.0.0.1) to TLS as the server name, which makes Node
  // print a DEP0123 warning on every TLS connection; the certificate is still checked
  // against the IP SAN. Keep stderr to the one line the CLI promises.
  if (!debug) process.noDeprecation = true;
}
