/**
 * A system under test as the comparison sees it: something that starts a fresh 3-node
 * cluster on 127.0.0.1, hands out a load-generator target, names its server processes
 * (for /proc accounting) and can SIGKILL its leader.
 */
import type { KvTarget } from "../../src/loadgen/index.ts";

/** One server process of a running cluster. */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
}

/** A running cluster; always `destroy()` it. */
export interface SystemCluster {
  /** The server processes currently running. */
  processes(): ServerProcess[];
  /** A fresh target (one shared channel/client) aimed at this cluster. */
  target(): Promise<KvTarget>;
  /** SIGKILLs the current leader, waits until its process is gone and returns its name. */
  killLeader(): Promise<string>;
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
