/**
 * The package's public surface (`import { DfsClient, startNode } from "distributed-fs"`):
 * the client library to talk to a cluster, and `startNode` to embed a node (or a whole
 * test cluster) in a Node.js program.
 */
export * from "./client/index.ts";
export {
  DEFAULT_TUNING,
  type NodeConfig,
  type NodeHandle,
  type PeerAddress,
  type RaftTuning,
  StartupError,
  type StartupErrorKind,
  startNode,
} from "./server/index.ts";
