/**
 * Public surface of the pure Raft core: the only module other layers import. The core is
 * driven only through RawNode (inputs, Ready/advance, and queries such as `status()`);
 * the Raft state machine itself is not exported.
 */
export type { RaftConfig } from "./config.ts";
export { ConfigChangeError, type ConfigRefusal, NotLeaderError } from "./errors.ts";
export { InvariantError } from "./invariants.ts";
export { MAX_INDEX, MAX_TERM } from "./limits.ts";
export type { LogInit } from "./log.ts";
export * from "./membership.ts";
export {
  type DropReason,
  isIndex,
  isKnownEntryKind,
  isTerm,
  messageFault,
} from "./message-rules.ts";
export type * from "./messages.ts";
export type { ActiveMembership, ProposalPosition, RaftInit } from "./raft.ts";
export type { Ready, SoftState, Status } from "./raw-node.ts";
export { RawNode } from "./raw-node.ts";
export type { ReadState } from "./read-only.ts";
export type { PeerProgress } from "./replicator.ts";
export * from "./types.ts";
