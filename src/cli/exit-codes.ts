/**
 * The `dfs` command's exit codes: a contract with scripts, so each code has one meaning,
 * codes are never reused, and every typed error of the system maps to exactly one.
 */
import type { DfsErrorCode, StartupErrorKind } from "../api/index.ts";
import type { RefusalClass } from "./member-api.ts";

/** Every exit code `dfs` uses, by meaning. */
export const ExitCode = {
  /** The command did what was asked. */
  ok: 0,
  /** The key does not exist (get, delete). Distinct so scripts can test for presence. */
  notFound: 1,
  /** Bad flags, arguments or configuration, or the server rejected the request as invalid. */
  usage: 2,
  /** No answer in time: no leader, no quorum, timeout, or no node reachable. Retrying may help. */
  unavailable: 3,
  /** A condition the request depended on did not hold (e.g. a compare-and-set lost). */
  preconditionFailed: 4,
  /** The value (or request) exceeds a size limit; retrying the same request never helps. */
  tooLarge: 5,
  /** The data dir is unusable: unwritable, locked by another process, or another node's/cluster's. */
  dataDir: 6,
  /** Data on disk failed its checksums; the node refuses to serve it. Needs an operator. */
  corrupt: 7,
  /** The address or port to listen on is already taken. */
  addressInUse: 8,
  /** `dfs verify`: the history is not linearizable, or the checker could not decide (no pass). */
  notLinearizable: 9,
  /** A bug or an unexpected environment problem; the message says what, `--debug` shows where. */
  internal: 10,
  /**
   * A server-side resource bound was hit (too many uploads at once on a connection or
   * the node, or an upload closed as stalled): back off and retry, or do less at once.
   * Distinct from `tooLarge`, where the same request can never succeed.
   */
  resourceExhausted: 11,
  /**
   * A membership change or leadership transfer the cluster will never accept as given:
   * a duplicate or removed id, a duplicate address, an unknown member, removing the last
   * voter. Change the command; retrying it never helps.
   */
  memberRefused: 12,
  /**
   * A membership change or transfer the cluster cannot take right now because something
   * is in progress: another change not yet committed, a learner still catching up, a
   * transfer under way. The same command may succeed later.
   */
  memberBusy: 13,
  /**
   * `dfs server`: the node stopped because the cluster removed it (`dfs member remove`).
   * Not a fault to restart from: its data dir can never serve that member again. To bring
   * the machine back, wipe the dir and add it as a new member under a new id.
   */
  removed: 14,
  /** Auth is on and the caller lacks the permission the command needs (docs/auth.md). */
  permissionDenied: 15,
  /**
   * Auth is on and the command's credentials were missing or wrong, or its token expired
   * or was revoked: give `--user` (or DFS_USER / DFS_PASSWORD) and try again.
   */
  unauthenticated: 16,
} as const;

/** One of the documented exit codes. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Exit code for each client-visible error. `not_leader` only escapes the client when no
 * leader could be reached in time, which is the `unavailable` situation.
 */
export const EXIT_CODE_BY_DFS_ERROR: Readonly<Record<DfsErrorCode, ExitCode>> = {
  not_found: ExitCode.notFound,
  not_leader: ExitCode.unavailable,
  unavailable: ExitCode.unavailable,
  invalid_argument: ExitCode.usage,
  too_large: ExitCode.tooLarge,
  precondition_failed: ExitCode.preconditionFailed,
  resource_exhausted: ExitCode.resourceExhausted,
  unauthenticated: ExitCode.unauthenticated,
  permission_denied: ExitCode.permissionDenied,
  internal: ExitCode.internal,
};

/** Exit code for each way a server can fail to start. */
export const EXIT_CODE_BY_STARTUP_ERROR: Readonly<Record<StartupErrorKind, ExitCode>> = {
  config: ExitCode.usage,
  data_dir: ExitCode.dataDir,
  data_dir_locked: ExitCode.dataDir,
  corrupt: ExitCode.corrupt,
  port_in_use: ExitCode.addressInUse,
};

/**
 * Exit code of a refused membership change, by the refusal's class: a change whose new
 * configuration cannot reach a quorum is the `unavailable` situation (bring nodes back).
 */
export const EXIT_CODE_BY_REFUSAL: Readonly<Record<RefusalClass, ExitCode>> = {
  never: ExitCode.memberRefused,
  retry: ExitCode.memberBusy,
  quorum: ExitCode.unavailable,
};
