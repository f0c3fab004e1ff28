/**
 * The node's structured logger (pino) on stderr: JSON lines for machines (grep, log
 * shippers) and, on a terminal, pino-pretty's coloured one-line form for people
 * (docs/observability.md#logs). `--log-level` sets the threshold; `--debug` lowers the
 * default to `debug` to show every role change and peer error.
 */
import pino from "pino";
import pretty from "pino-pretty";

/** The logger type used across the server. */
export type Logger = pino.Logger;

/** Levels `--log-level` accepts, most verbose first; `silent` logs nothing. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `auto`: pretty when stderr is a terminal (or `DFS_LOG_FORMAT` says so), else JSON. */
export type LogFormat = "auto" | "pretty" | "json";

/** How a node logs. */
export interface LoggerOptions {
  readonly debug?: boolean;
  readonly level?: LogLevel;
  readonly format?: LogFormat;
}

/**
 * Creates the logger of node `id`. Synchronous writes in both forms: a crash must not
 * lose the last lines. `dfs dev` pipes its nodes' stderr, so it sets `DFS_LOG_FORMAT`
 * for them from its own terminal.
 */
export function createLogger(id: number, options: LoggerOptions = {}): Logger {
  const level = options.level ?? (options.debug === true ? "debug" : "info");
  const settings = { level, base: { node: id } };
  if (!wantsPretty(options.format ?? "auto")) {
    return pino(settings, pino.destination({ dest: 2, sync: true }));
  }
  const stream = pretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    singleLine: true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname",
  });
  return pino(settings, stream);
}

/** Whether `format` means pretty lines here. */
export function wantsPretty(format: LogFormat, env = process.env): boolean {
  if (format !== "auto") return format === "pretty";
  const fromEnv = env.DFS_LOG_FORMAT;
  if (fromEnv === "pretty" || fromEnv === "json") return fromEnv === "pretty";
  return process.stderr.isTTY === true;
}
