/**
 * The `dfs` command tree and the one place where a run becomes an exit code. Kept free
 * of side effects so the seed's scripts (and tests) can run the CLI in-process.
 *
 * Each command's module is imported only when that command runs: `dfs get` loads the
 * client and nothing of the server (lmdb, pino, x509...), which keeps its cold start
 * short. `--version` loads none; help and unknown commands load every module, so help
 * lists all commands and a typo still gets a suggestion.
 */
import type { Command } from "commander";
import { dfsVersion } from "../api/index.ts";
import { ExitCode } from "./exit-codes.ts";
import type { FailureReport } from "./failure.ts";

/** Registers one module's commands on the program. */
type Registrar = (program: Command) => void;

/** Loads the module that defines a group of commands and returns its registrar. */
type CommandModule = () => Promise<Registrar>;

const kv: CommandModule = async () => (await import("./kv-commands.ts")).addKvCommands;
const files: CommandModule = async () => (await import("./file-commands.ts")).addFileCommands;

/**
 * Which module defines each top-level command, in help order. A unit test checks this
 * table against what the modules actually register.
 */
export const COMMAND_MODULES: ReadonlyMap<string, CommandModule> = new Map([
  ["server", async () => (await import("./server-command.ts")).addServerCommand],
  ["put", kv],
  ["get", kv],
  ["stat", kv],
  ["delete", kv],
  ["ls", files],
  ["rm", files],
  ["status", async () => (await import("./status-command.ts")).addStatusCommand],
  ["member", async () => (await import("./member-commands.ts")).addMemberCommands],
  ["leader", async () => (await import("./member-commands.ts")).addLeaderCommands],
  ["dev", async () => (await import("./dev-cluster.ts")).addDevCommand],
  ["verify", async () => (await import("./verify-command.ts")).addVerifyCommand],
  ["bench", async () => (await import("./bench-command.ts")).addBenchCommand],
  ["certs", async () => (await import("./certs-command.ts")).addCertsCommand],
  ["auth", async () => (await import("./auth-commands.ts")).addAuthCommands],
  ["user", async () => (await import("./user-commands.ts")).addUserCommands],
  ["role", async () => (await import("./role-commands.ts")).addRoleCommands],
  ["snapshot", async () => (await import("./snapshot-commands.ts")).addSnapshotCommands],
  ["defrag", async () => (await import("./defrag-command.ts")).addDefragCommand],
  ["gateway", async () => (await import("./gateway-command.ts")).addGatewayCommand],
]);

/**
 * Builds the program with the commands `args` need: only the named command's module when
 * the first argument is a known command, none for `--version`, every module otherwise
 * (help, typos). Commander is told to throw instead of exiting and to print no errors itself,
 * so every failure goes through {@link runCli}'s single reporting path; help text still
 * goes to stdout.
 */
export async function buildProgram(args: readonly string[] = []): Promise<Command> {
  const { Command } = await import("commander");
  const program = new Command("dfs")
    .description("dfs: a fault-tolerant distributed file store on Raft")
    .version(dfsVersion(), "-V, --version", "print the dfs version")
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError(true);
  const loaders = modulesFor(args[0]);
  const registrars = await Promise.all(loaders.map((load) => load()));
  for (const register of new Set(registrars)) register(program);
  return program;
}

/** The command modules a run whose first argument is `first` needs. */
function modulesFor(first: string | undefined): CommandModule[] {
  if (first === "-V" || first === "--version") return [];
  const only = first === undefined ? undefined : COMMAND_MODULES.get(first);
  return only !== undefined ? [only] : [...new Set(COMMAND_MODULES.values())];
}

/**
 * Runs `dfs` with `args` (without the node and script paths) and returns the exit code;
 * on failure it has already printed the one line that explains it.
 */
export async function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ExitCode> {
  const { debugRequested, describeFailure } = await import("./failure.ts");
  const debug = debugRequested(args, env);
  if (modulesFor(args[0]).length > 0) await quietTransportLogs(debug, env); // not for --version
  try {
    await (await buildProgram(args)).parseAsync([...args], { from: "user" });
    return ExitCode.ok;
  } catch (err) {
    const report = hasOwnReport(err) ? err.report() : describeFailure(err, debug);
    if (report.text !== null) process.stderr.write(`${report.text}\n`);
    return report.exitCode;
  }
}

/** Errors that know how they are reported (e.g. `verify`'s VerifyFailure, exit code 9). */
function hasOwnReport(err: unknown): err is Error & { report(): FailureReport } {
  return err instanceof Error && typeof (err as { report?: unknown }).report === "function";
}

/**
 * grpc-js logs its own errors to stderr (e.g. "E No address added out of total 1
 * resolved" next to our "address already in use"), which would break the one-line
 * contract. Silenced unless the user asked for detail (`--debug`, `DFS_DEBUG=1`) or set
 * grpc's own `GRPC_VERBOSITY`.
 */
async function quietTransportLogs(debug: boolean, env: NodeJS.ProcessEnv): Promise<void> {
  if (!debug && env.GRPC_VERBOSITY === undefined) {
    const { logVerbosity, setLogVerbosity } = await import("@grpc/grpc-js");
    setLogVerbosity(logVerbosity.NONE);
  }
  // grpc-js passes an IP target (127.0.0.1) to TLS as the server name, which makes Node
  // print a DEP0123 warning on every TLS connection; the certificate is still checked
  // against the IP SAN. Keep stderr to the one line the CLI promises.
  if (!debug) process.noDeprecation = true;
}
