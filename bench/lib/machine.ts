/**
 * Facts about the machine and the code under test, recorded with every result so
 * numbers from different boxes or commits are never compared by accident.
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";

/** CPU, kernel, Node, etcd and dfs commit. */
export function machineFacts(etcdVersion: string): Record<string, string> {
  const cpu = cpus();
  return {
    cpu: `${cpu.length} × ${cpu[0]?.model ?? "unknown"}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: release(),
    node: process.version,
    etcd: etcdVersion,
    "dfs commit": gitDescription(),
    "data dirs": tmpdir(),
    "load average at start (1/5/15 min)": loadavg()
      .map((l) => l.toFixed(2))
      .join(" / "),
  };
}

function gitDescription(): string {
  try {
    const run = (args: string[]): string =>
      execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const head = run(["rev-parse", "--short", "HEAD"]);
    return run(["status", "--porcelain"]) === "" ? head : `${head} + uncommitted changes`;
  } catch {
    return "unknown";
  }
}
