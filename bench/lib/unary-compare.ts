/**
 * `npm run bench -- --unary`: dfs and etcd as any plain gRPC program drives them (issue
 * 24): one unary call per operation, one HTTP/2 connection per endpoint, writes to the
 * leader, reads to the leader or spread round-robin over all nodes. dfs through the
 * generated grpc-js stub (bench/lib/dfs-unary-target.ts), etcd through its v3 KV API
 * exactly as the batching comparison already drives it (bench/etcd/etcd-target.ts). The
 * interleaved rounds, CPU accounting and report are the batching comparison's.
 *
 * With `--baseline-root DIR`, the baseline is not etcd but dfs run from the sources in DIR
 * (a checkout of an earlier commit: before and after in one run; or this tree, with
 * `--front-ends N` on the subject only: what front ends change), driven the same way.
 */
import { sourceEntry } from "../../src/cluster/index.ts";
import type { EtcdBinary } from "../etcd/etcd-install.ts";
import type { CompareFlags } from "./compare-flags.ts";
import { roundsTimingOf } from "./compare-flags.ts";
import type { Comparison } from "./compare-report.ts";
import type { CompareWorkload } from "./compare-workloads.ts";
import { DfsUnaryTarget } from "./dfs-unary-target.ts";
import { type ClientTimeouts, dfsDriver, etcdDriver } from "./drivers.ts";
import { runRounds } from "./rounds.ts";

/** Runs the unary comparison; one {@link Comparison} of ["dfs-unary", "etcd"]. */
export async function runUnaryComparison(
  flags: CompareFlags,
  workloads: readonly CompareWorkload[],
  etcd: EtcdBinary,
  timeouts: ClientTimeouts,
  meta: Readonly<Record<string, string | number>>,
  log: (line: string) => void,
): Promise<Comparison> {
  const unaryDfs = (name: string, args: readonly string[], root?: string) =>
    dfsDriver(timeouts, undefined, root === undefined ? undefined : sourceEntry(root), {
      name,
      description:
        "dfs 3 nodes (`dfs server`, WAL synced per batch), plain grpc-js unary Put/Get (generated stub), no sessions" +
        (args.length > 0 ? `, ${args.join(" ")}` : "") +
        (root === undefined ? "" : `, sources of ${root}`),
      nodeArgs: () => args,
      target: (endpoints, spread) =>
        new DfsUnaryTarget(endpoints, { timeoutMs: timeouts.timeoutMs, spreadReads: spread }),
    });
  const frontEnds = flags.frontEnds;
  const subject = unaryDfs(
    "dfs-unary",
    frontEnds === undefined ? [] : ["--front-ends", String(frontEnds)],
  );
  // Against another dfs (a checkout of an earlier commit, or this tree in-process) or etcd.
  const root = flags.baselineRoot;
  const baseline = root === undefined ? etcdDriver(etcd, timeouts) : unaryDfs("dfs-base", [], root);
  const rounds = await runRounds([subject, baseline], workloads, roundsTimingOf(flags), log);
  return {
    systems: ["dfs-unary", baseline.name],
    meta: {
      ...meta,
      method:
        "closed loop, N workers, one unary call per operation, one grpc-js channel per endpoint " +
        "(writes and leader reads to the leader; spread reads round-robin over the 3 nodes); " +
        "CPU = utime+stime of the 3 server processes over the window / ops; medians over rounds",
    },
    workloads: rounds.workloads,
    failover: {},
    rss: rounds.rss,
  };
}
