/**
 * Request validation and result mapping shared by the client service's unary and
 * streaming handlers, so every path refuses the same bad input with the same error. Key
 * and value checks are api/checks.ts, shared with the client library.
 */
import { DfsError } from "../api/index.ts";
import type { ApplyResult, CommandSession } from "../fsm/index.ts";
import type { Session } from "../gen/dfs.ts";

/** Checks a client session (exactly-once); absent is allowed (at-least-once). */
export function validateSession(session: Session | undefined): CommandSession | undefined {
  if (session === undefined) return undefined;
  if (session.clientId.length === 0 || session.clientId.length > 64 || session.sequence < 1) {
    throw new DfsError(
      "invalid_argument",
      "invalid session: needs a client id (1-64 chars) and a sequence >= 1",
    );
  }
  return session;
}

/** Turns a write's apply result into its answer, or the typed error it stands for. */
export function writeOutcome(result: ApplyResult, key: string): { index: number; version: number } {
  switch (result.kind) {
    case "put":
      return { index: result.index, version: result.version };
    case "delete":
      if (!result.existed) throw new DfsError("not_found", `key not found: ${key}`);
      return { index: result.index, version: 0 };
    case "precondition_failed":
      throw new DfsError(
        "precondition_failed",
        `precondition failed: ${key} is at version ${result.currentVersion}`,
      );
    case "invalid":
      throw new DfsError("internal", `the state machine refused the write: ${result.reason}`);
    case "unauthenticated":
    case "permission_denied":
      throw authRefusal(result);
    case "session_expired":
      throw new DfsError(
        "unavailable",
        "the cluster no longer remembers this write of the client's session (expired, or more than 1024 of its writes unacknowledged); its outcome is unknown",
      );
    default:
      throw new DfsError("internal", `unexpected apply result ${result.kind}`);
  }
}

/**
 * The state machine's own auth refusal (docs/auth.md: writes are checked again at apply,
 * against the auth state at their index) as the typed error it stands for.
 */
export function authRefusal(
  result: Extract<ApplyResult, { kind: "unauthenticated" | "permission_denied" }>,
): DfsError {
  return new DfsError(result.kind, result.reason);
}
