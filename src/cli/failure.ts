/**
 * How a failed command is reported: one line on stderr and a documented exit code,
 * whatever went wrong. Users and scripts read the line and the code; stack traces are
 * for developers and only appear with `--debug` or `DFS_DEBUG=1`.
 */
import { CommanderError } from "commander";
import { DfsError, StartupError } from "../api/index.ts";
import {
  EXIT_CODE_BY_DFS_ERROR,
  EXIT_CODE_BY_REFUSAL,
  EXIT_CODE_BY_STARTUP_ERROR,
  ExitCode,
} from "./exit-codes.ts";
import { REFUSALS, refusalReason } from "./member-api.ts";
import { UsageError } from "./usage-error.ts";

/** What to print (null: nothing, e.g. after `--help`) and which code to exit with. */
export interface FailureReport {
  readonly exitCode: ExitCode;
  readonly text: string | null;
}

/** Turns anything a command threw into its report. */
export function describeFailure(err: unknown, debug: boolean): FailureReport {
  if (err instanceof CommanderError) return commanderReport(err);
  if (err instanceof UsageError) return usage(err.message);
  const refusal = refusalReport(err);
  if (refusal !== undefined) return refusal;
  if (err instanceof DfsError) return dfsReport(err, debug);
  if (err instanceof StartupError) return typed(EXIT_CODE_BY_STARTUP_ERROR[err.kind], err.message);
  return internal(err, debug);
}

/** True when the user asked for developer detail (stack traces). */
export function debugRequested(args: readonly string[], env: NodeJS.ProcessEnv): boolean {
  return args.includes("--debug") || env.DFS_DEBUG === "1";
}

function commanderReport(err: CommanderError): FailureReport {
  // Help and version are "errors" only to commander's control flow; they already printed.
  if (err.exitCode === 0) return { exitCode: ExitCode.ok, text: null };
  // A command group run without its subcommand (`dfs member`): commander printed the
  // group's help to stderr; say what is missing instead of its "(outputHelp)".
  if (err.code === "commander.help") return usage("a command is missing: see the list above");
  return usage(err.message.replace(/^error:\s*/, ""));
}

function usage(message: string): FailureReport {
  return { exitCode: ExitCode.usage, text: `dfs: error: ${oneLine(message)}` };
}

function dfsReport(err: DfsError, debug: boolean): FailureReport {
  if (err.code === "internal") return internal(err, debug);
  return typed(EXIT_CODE_BY_DFS_ERROR[err.code], err.message);
}

/**
 * A refused membership change: the server's message, the reason in brackets (stable, for
 * scripts that grep) and the remedy, on one line; the exit code by the reason's class.
 */
function refusalReport(err: unknown): FailureReport | undefined {
  const reason = refusalReason(err);
  if (reason === undefined) return undefined;
  const { cls, remedy } = REFUSALS[reason];
  const message = (err as Error).message.trim();
  const shown = message.includes(reason) ? message : `${message} (${reason})`;
  return typed(EXIT_CODE_BY_REFUSAL[cls], `${shown}: ${remedy}`);
}

function typed(exitCode: ExitCode, message: string): FailureReport {
  return { exitCode, text: `dfs: error: ${oneLine(message)}` };
}

function internal(err: unknown, debug: boolean): FailureReport {
  const message = err instanceof Error ? err.message : String(err);
  const line = `dfs: internal error: ${oneLine(message)}`;
  const stack = debug && err instanceof Error && err.stack ? `\n${err.stack}` : "";
  return { exitCode: ExitCode.internal, text: line + stack };
}

/** Several lines (commander's suggestions, multi-line server messages) become one. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
