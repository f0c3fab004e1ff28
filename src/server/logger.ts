/**
 * The node's structured logger (pino, JSON lines on stderr), so operators can grep and
 * ship logs; `--debug` lowers the level to show every role change and peer error.
 */
import pino from "pino";

/** The logger type used across the server. */
export type Logger = pino.Logger;

/** Creates the logger of node `id`. Synchronous writes: a crash must not lose the last lines. */
export function createLogger(id: number, debug: boolean): Logger {
  return pino(
    { level: debug ? "debug" : "info", base: { node: id } },
    pino.destination({ dest: 2, sync: true }),
  );
}
