/**
 * Why a node failed to start, typed so the CLI maps each to one clear line on stderr
 * and a documented exit code instead of a stack trace. It lives in api/ because storage,
 * the state machine and the server all raise it while opening a node, and the CLI maps it.
 */

/** What kind of startup failure; each kind has its own exit code (docs/operations.md#exit-codes). */
export type StartupErrorKind =
  | "config"
  | "data_dir"
  | "data_dir_locked"
  | "corrupt"
  | "port_in_use";

/** A node could not start; `message` is one line meant for the operator. */
export class StartupError extends Error {
  constructor(
    readonly kind: StartupErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "StartupError";
  }
}
