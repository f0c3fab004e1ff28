/** What every step of assembling a node reads, and the node's configured addresses. */
import type { DataDirLock } from "../../storage/index.ts";
import { type NodeConfig, type PeerAddress, peerListenerOf, type RaftTuning } from "../config.ts";
import type { MetricSinks } from "../http/metrics.ts";
import type { Logger } from "../logger.ts";

/** What every assembly step reads; `cleanup` undoes the steps taken so far, newest last. */
export interface Ctx {
  readonly config: NodeConfig;
  readonly tuning: RaftTuning;
  readonly logger: Logger;
  readonly lock: DataDirLock;
  /** Where the hot path reports (no-ops without `--http-port`). */
  readonly metrics: MetricSinks;
  /** Set once the node was asked to stop (it may still be handing leadership over). */
  readonly lifecycle: { stopping: boolean };
  readonly cleanup: (() => Promise<void> | void)[];
}

/** This node's own entry in `--peers` (validate-config.ts made sure there is one). */
export function selfOf(config: NodeConfig): PeerAddress {
  return config.peers.find((p) => p.id === config.id) as PeerAddress;
}

/** This node's client and peer addresses as configured (host:port). */
export function addressesOf(config: NodeConfig): { client: string; peer: string } {
  const self = selfOf(config);
  const listener = peerListenerOf(self);
  return { client: `${self.host}:${self.port}`, peer: `${listener.host}:${listener.port}` };
}
