/** Re-exports of the generated protobuf/gRPC code (regenerate with `npm run codegen`). */
export * from "./dfs.ts";
export { RaftPeerClient, RaftPeerService } from "./raft.ts";
