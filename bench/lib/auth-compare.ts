/**
 * `npm run bench:auth`: what auth costs, for dfs and for etcd alike. Each round starts four
 * fresh 3-node clusters (dfs, dfs with auth on, etcd, etcd with auth on) and runs put ×64
 * and linearizable get ×64 on all four, interleaved as in the plain comparison. With auth
 * on, both are driven as a user that is not root, holding a read-write grant on the
 * benchmark's key prefix (`bench/`), so every call pays a token check and a permission
 * lookup (root skips the lookup in etcd). The report has one table per system: auth on
 * against auth off.
 */
import { spawnSync } from "node:child_process";
import { DfsClient } from "../../src/client/index.ts";
import { LocalCluster } from "../../src/cluster/index.ts";
import { DfsTarget } from "../../src/loadgen/index.ts";
import { EtcdCluster } from "../etcd/etcd-cluster.ts";
import type { EtcdBinary } from "../etcd/etcd-install.ts";
import { type CompareFlags, roundsTimingOf } from "./compare-flags.ts";
import {
  type Comparison,
  formatClientCpu,
  formatWorkloadTable,
  markdownTable,
} from "./compare-report.ts";
import type { CompareWorkload } from "./compare-workloads.ts";
import { type ClientTimeouts, dfsDriver, etcdDriver } from "./drivers.ts";
import { runRounds } from "./rounds.ts";
import type { SystemCluster, SystemDriver } from "./system.ts";

/** The two pairs of the report: [with auth, without]. */
export const AUTH_PAIRS: readonly (readonly [string, string])[] = [
  ["dfs-auth", "dfs"],
  ["etcd-auth", "etcd"],
];

/** The benchmark's user: not root, read and write on the load generator's keys. */
export const BENCH_USER = { user: "bench", password: "bench-password" };
const ROOT_PASSWORD = "root-password";
/** The load generator's keys are `bench/0` … (src/loadgen). */
const BENCH_PREFIX = "bench/";

/** Runs the auth comparison; returns one {@link Comparison} per pair. */
export async function runAuthComparison(
  flags: CompareFlags,
  workloads: readonly CompareWorkload[],
  etcd: EtcdBinary,
  timeouts: ClientTimeouts,
  meta: Readonly<Record<string, string | number>>,
  log: (line: string) => void,
): Promise<Comparison[]> {
  const drivers = [
    dfsDriver(timeouts),
    dfsAuthDriver(timeouts),
    etcdDriver(etcd, timeouts),
    etcdAuthDriver(etcd, timeouts),
  ];
  const rounds = await runRounds(drivers, workloads, roundsTimingOf(flags), log);
  return AUTH_PAIRS.map((systems) => ({
    systems,
    meta: {
      ...meta,
      auth: `user ${BENCH_USER.user} (not root) with a read-write grant on prefix ${BENCH_PREFIX}; dfs: JWT (HS256) per call, verified tokens cached; etcd: simple tokens`,
    },
    workloads: rounds.workloads,
    failover: {},
    rss: rounds.rss,
  }));
}

/** The Markdown report: shared facts, then per system the auth/plain table. */
export function formatAuthComparison(comparisons: readonly Comparison[]): string {
  const first = comparisons[0];
  if (first === undefined) return "";
  const meta = Object.entries(first.meta)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join("\n");
  return [
    "# Auth on against auth off, dfs and etcd",
    meta,
    ...comparisons.flatMap((c) => [
      `## ${c.systems[0]} vs ${c.systems[1]} (medians over runs)`,
      formatWorkloadTable(c),
    ]),
    "## Memory (MiB)",
    markdownTable(
      ["system", "node", "RSS idle", "RSS after workloads"],
      Object.entries(first.rss).flatMap(([system, nodes]) =>
        nodes.map((r) => [system, r.node, mib(r.idle), mib(r.loaded)]),
      ),
      [false, false, true, true],
    ),
    "## CPU outside the servers (% of one core)",
    ...comparisons.map(formatClientCpu),
  ].join("\n\n");
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(0);
}

/** dfs with auth on: users and the grant made while auth is off, then `auth enable`. */
function dfsAuthDriver(timeouts: ClientTimeouts): SystemDriver {
  return {
    name: "dfs-auth",
    description: "dfs 3 nodes, auth on, driven as a non-root user (DfsClient with user, password)",
    async start(): Promise<SystemCluster> {
      const cluster = await LocalCluster.start({ checkInvariants: false });
      try {
        await setUpDfsAuth(cluster);
      } catch (err) {
        await cluster.destroy();
        throw err;
      }
      return {
        processes: () =>
          cluster.nodes.flatMap((n) =>
            n.proc?.pid === undefined ? [] : [{ name: `dfs${n.id}`, pid: n.proc.pid }],
          ),
        target: async () => {
          await cluster.waitForLeader();
          return new DfsTarget(cluster.endpoints(), timeouts.timeoutMs, undefined, BENCH_USER);
        },
        stopLeader: () => Promise.reject(new Error("the auth comparison stops no leader")),
        destroy: () => cluster.destroy(),
      };
    },
  };
}

async function setUpDfsAuth(cluster: LocalCluster): Promise<void> {
  await cluster.waitForLeader();
  const c = new DfsClient({ endpoints: cluster.endpoints(), timeoutMs: 30_000 });
  try {
    await c.authChange({ op: "user_add", name: "root", password: ROOT_PASSWORD });
    await c.authChange({ op: "user_add", name: BENCH_USER.user, password: BENCH_USER.password });
    await c.authChange({ op: "role_add", name: "bench-rw" });
    await c.authChange({
      op: "role_grant",
      role: "bench-rw",
      permission: { key: BENCH_PREFIX, prefix: true, read: true, write: true, list: true },
    });
    await c.authChange({ op: "user_grant_role", name: BENCH_USER.user, role: "bench-rw" });
    await c.authChange({ op: "enable" });
  } finally {
    c.close();
  }
}

/** etcd with auth on, set up with etcdctl as an operator would. */
function etcdAuthDriver(binary: EtcdBinary, timeouts: ClientTimeouts): SystemDriver {
  return {
    name: "etcd-auth",
    description: `${binary.version} 3 members, auth on (simple tokens), driven as a non-root user`,
    async start(): Promise<SystemCluster> {
      const cluster = await EtcdCluster.start(binary.path, 3);
      try {
        setUpEtcdAuth(cluster.endpoints());
      } catch (err) {
        await cluster.destroy();
        throw err;
      }
      return {
        processes: () => cluster.processes(),
        target: () => cluster.target(timeouts, BENCH_USER),
        stopLeader: () => Promise.reject(new Error("the auth comparison stops no leader")),
        destroy: () => cluster.destroy(),
      };
    },
  };
}

/** `etcdctl` commands that create root, the bench user and its grant, then enable auth. */
export function etcdAuthCommands(): string[][] {
  const { user, password } = BENCH_USER;
  return [
    ["user", "add", `root:${ROOT_PASSWORD}`],
    ["role", "add", "root"],
    ["user", "grant-role", "root", "root"],
    ["role", "add", "bench-rw"],
    ["role", "grant-permission", "bench-rw", "readwrite", BENCH_PREFIX, "--prefix=true"],
    ["user", "add", `${user}:${password}`],
    ["user", "grant-role", user, "bench-rw"],
    ["auth", "enable"],
  ];
}

function setUpEtcdAuth(endpoints: readonly string[]): void {
  const etcdctl = process.env.ETCDCTL_BIN ?? "etcdctl";
  for (const args of etcdAuthCommands()) {
    const run = spawnSync(etcdctl, [`--endpoints=${endpoints.join(",")}`, ...args], {
      encoding: "utf8",
      env: { ...process.env, ETCDCTL_API: "3" },
    });
    if (run.status !== 0) {
      throw new Error(
        `etcdctl ${args.join(" ")} failed: ${(run.stderr || run.error?.message) ?? ""}`,
      );
    }
  }
}
