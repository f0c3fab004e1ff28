/**
 * A system under test as the comparison sees it: something that starts a fresh 3-node
 * cluster on 127.0.0.1, hands out a load-generator target, names its server processes
 * (for /proc accounting) and can stop its leader (SIGKILL, or SIGTERM for a graceful stop)
 * and start it again.
 */
import type { KvTarget } from "../../src/loadgen/index.ts";

/** One server process of a running cluster. */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
}

/** A node the harness stopped; it can be started again on its data dir. */
export interface StoppedNode {
  readonly name: string;
  /** Starts it again and waits until the cluster, it included, agrees on a leader. */
  start(): Promise<void>;
}

/** A running cluster; always `destroy()` it. */
export interface SystemCluster {
  /** The server processes currently running. */
  processes(): ServerProcess[];
  /** A fresh target (one shared channel/client) aimed at this cluster. */
  target(): Promise<KvTarget>;
  /**
   * A fresh target whose reads go round-robin over every node (the "spread" workloads);
   * absent: the system has none, and spread workloads use {@link target}.
   */
  spreadTarget?(): Promise<KvTarget>;
  /**
   * Sends `signal` to the current leader and waits until its process is gone (after
   * SIGTERM, SIGKILL if it lingers past a grace period).
   */
  stopLeader(signal: "SIGKILL" | "SIGTERM"): Promise<StoppedNode>;
  /** Kills every process and removes the data. */
  destroy(): Promise<void>;
}

/** How to start one kind of cluster. */
export interface SystemDriver {
  /** "dfs" or "etcd". */
  readonly name: string;
  /** Human description for the report (version, durability). */
  readonly description: string;
  start(): Promise<SystemCluster>;
}
