/**
 * Public surface of the server layer: start a node in-process, and the settings the
 * `dfs server` command and the dev cluster build a node from. The only module other
 * layers import from server/.
 */

/** Kept for the package surface (src/index.ts): startNode throws it. It lives in api/. */
export { StartupError, type StartupErrorKind } from "../api/index.ts";
/** A node's configuration, as the CLI builds it from flags and embedders pass it. */
export {
  DEFAULT_AUTH_TOKEN_TTL_S,
  DEFAULT_TUNING,
  type HttpSettings,
  MAX_AUTH_TOKEN_TTL_S,
  type NodeConfig,
  type NodeTls,
  type PeerAddress,
  type RaftTuning,
} from "./config.ts";
/**
 * A handler the node's HTTP listener asks for every path it does not serve itself (the
 * web console mounts through it): true when it answered the request.
 */
export type { HttpExtension } from "./http/listener.ts";
/** The levels `--log-level` takes and the log formats, for the CLI's flags. */
export { LOG_LEVELS, type LogFormat, type LogLevel } from "./logger.ts";
/**
 * What `NodeHandle.failed` resolves with when a committed configuration (or a peer)
 * says this node was removed: `dfs server` exits with its own code (name
 * "MemberRemovedError").
 */
export { MemberRemovedError } from "./members.ts";
/** Start a node; `dfs server` and embedders (tests, the package) call it. */
export { type NodeHandle, type StopOptions, startNode } from "./node.ts";
/** Defaults of the per-node resource bounds, which `dfs server` flags override. */
export { DEFAULT_RESOURCE_LIMITS, type ResourceLimits } from "./resource-limits.ts";
