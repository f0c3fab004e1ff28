/** Public surface of the server layer: start a node in-process. */
export { DEFAULT_TUNING, type NodeConfig, type PeerAddress, type RaftTuning } from "./config.ts";
export { StartupError, type StartupErrorKind } from "./errors.ts";
export { type NodeHandle, startNode } from "./node.ts";
