/**
 * The two systems of the comparison: dfs (real `dfs server` processes through the test
 * suite's {@link LocalCluster}, driven through the client library) and etcd (Debian's
 * etcd-server, driven through grpc-js).
 */

import { type ClusterOptions, LocalCluster, type ServerEntry } from "../../src/cluster/index.ts";
import { DfsTarget, type KvTarget } from "../../src/loadgen/index.ts";
import { EtcdCluster } from "../etcd/etcd-cluster.ts";
import type { EtcdBinary } from "../etcd/etcd-install.ts";
import type { SystemCluster, SystemDriver } from "./system.ts";

/** A node stopped with SIGTERM gets this long to finish before SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** Timing given to every benchmark client: generous, so overload shows as latency, not errors. */
export interface ClientTimeouts {
  /** Whole-operation deadline, retries included. */
  readonly timeoutMs: number;
  /** etcd only: one attempt at one member (the dfs client has its own, 2 s). */
  readonly attemptTimeoutMs: number;
}

/** A variant of the dfs system: its name, extra node flags, and what runs beside it. */
export interface DfsVariant {
  readonly name: string;
  readonly description: string;
  readonly nodeArgs?: ClusterOptions["nodeArgs"];
  /** Starts something beside the running cluster (a scraper); returns how to stop it. */
  readonly attach?: (cluster: LocalCluster) => () => void;
  /**
   * The load generator's target instead of a {@link DfsTarget} (the unary client of
   * bench/lib/dfs-unary-target.ts): `endpoints` lists the leader first; `spread` asks for
   * reads round-robin over every node.
   */
  readonly target?: (endpoints: readonly string[], spread: boolean) => KvTarget;
}

/**
 * dfs: 3 `dfs server` processes (every WAL batch synced before acknowledging). With
 * `certsDir` (from `dfs certs init`), "dfs-tls": mutual TLS on the peer and client ports,
 * the client presenting client.crt. `entry`: how nodes run (default: the sources through
 * tsx). `variant`: another name, node flags and a companion (bench/lib/metrics-compare.ts).
 */
export function dfsDriver(
  timeouts: ClientTimeouts,
  certsDir?: string,
  entry?: ServerEntry,
  variant?: DfsVariant,
): SystemDriver {
  const tls = certsDir !== undefined;
  return {
    name: variant?.name ?? (tls ? "dfs-tls" : "dfs"),
    description:
      variant?.description ??
      `dfs 3 nodes (\`dfs server\`, WAL synced per batch: one O_DSYNC write), DfsClient${tls ? ", mutual TLS on both ports" : ""}`,
    async start(): Promise<SystemCluster> {
      const cluster = await LocalCluster.start({
        checkInvariants: false,
        ...(certsDir === undefined ? {} : { certsDir }),
        ...(entry === undefined ? {} : { entry }),
        ...(variant?.nodeArgs === undefined ? {} : { nodeArgs: variant.nodeArgs }),
      });
      const detach = variant?.attach?.(cluster);
      return {
        processes: () =>
          cluster.nodes.flatMap((n) =>
            n.proc?.pid === undefined ? [] : [{ name: `dfs${n.id}`, pid: n.proc.pid }],
          ),
        target: async () => {
          const leader = await cluster.waitForLeader();
          if (variant?.target !== undefined)
            return variant.target(leaderFirst(cluster, leader), false);
          return new DfsTarget(cluster.endpoints(), timeouts.timeoutMs, cluster.clientTls);
        },
        ...(variant?.target === undefined
          ? {}
          : {
              spreadTarget: async () => {
                const leader = await cluster.waitForLeader();
                return variant.target?.(leaderFirst(cluster, leader), true) as KvTarget;
              },
            }),
        stopLeader: async (signal) => {
          const id = await cluster.waitForLeader();
          const node = cluster.node(id);
          await (signal === "SIGKILL" ? node.kill(signal) : node.stop(STOP_GRACE_MS));
          const start = async (): Promise<void> => {
            await cluster.restart(id);
            await cluster.waitForLeader();
          };
          return { name: `dfs${id}`, start };
        },
        destroy: () => {
          detach?.();
          return cluster.destroy();
        },
      };
    },
  };
}

/** The cluster's client addresses, node `leader`'s first. */
function leaderFirst(cluster: LocalCluster, leader: number): string[] {
  const first = cluster.node(leader).address;
  return [first, ...cluster.endpoints().filter((e) => e !== first)];
}

/**
 * etcd: 3 members of `binary` with default durability (WAL fsync before acknowledging).
 * With `certsDir`, "etcd-tls": https client and peer URLs, client certificates required
 * on both, from the same generator as dfs's.
 */
export function etcdDriver(
  binary: EtcdBinary,
  timeouts: ClientTimeouts,
  certsDir?: string,
): SystemDriver {
  const tls = certsDir !== undefined;
  return {
    name: tls ? "etcd-tls" : "etcd",
    description: `${binary.version} 3 members (default WAL fsync), grpc-js KV API${tls ? ", mutual TLS on client and peer URLs" : ""}`,
    async start(): Promise<SystemCluster> {
      const cluster = await EtcdCluster.start(binary.path, 3, certsDir);
      return {
        processes: () => cluster.processes(),
        target: () => cluster.target(timeouts),
        spreadTarget: () => cluster.target(timeouts, undefined, true),
        stopLeader: async (signal) => {
          const leader = await cluster.waitForLeader();
          await cluster.kill(leader, signal);
          return { name: cluster.nameOf(leader), start: () => cluster.restart(leader) };
        },
        destroy: () => cluster.destroy(),
      };
    },
  };
}
