/**
 * `dfs dev` (what `npm start` runs): a whole cluster on this machine, one real
 * `dfs server` process per node, so trying dfs takes one command and behaves exactly like
 * a deployment. Output of every node is shown, prefixed with its name; Ctrl-C stops all.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { DfsError } from "../api/errors.ts";
import { SERVER_NODE_FLAGS } from "../server/node-flags.ts";
import { DEFAULT_ENDPOINTS, intFlag } from "./options.ts";
import { UsageError } from "./usage-error.ts";

/** The CLI entry children run; absolute so it works from any cwd. */
const MAIN_PATH = fileURLToPath(new URL("./main.ts", import.meta.url));

/** The package root: children run there so `--import tsx` resolves from our node_modules. */
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Grace period between SIGTERM and SIGKILL: enough for a node to close its files. */
export const STOP_GRACE_MS = 5_000;

interface DevFlags {
  readonly nodes: number;
  readonly basePort: number;
  readonly data: string;
}

/** One node of the dev cluster: who it is and how to start it. */
export interface DevNode {
  readonly id: number;
  readonly port: number;
  readonly dataDir: string;
  readonly args: readonly string[];
}

/** Registers `dev` on `program`. */
export function addDevCommand(program: Command): void {
  program
    .command("dev")
    .description("run a local cluster (one server process per node) until Ctrl-C")
    .option("--nodes <n>", "number of nodes", intFlag("--nodes", 1, 9), 3)
    .option(
      "--base-port <port>",
      "port of node 1; node i gets base + i - 1",
      intFlag("--base-port", 1, 65535),
      50051,
    )
    .option("--data <dir>", "parent of the nodes' data dirs (<dir>/node<i>)", "./data")
    .action(runDev);
}

/** Plans the cluster: ids 1..N on consecutive ports, every node given the same --peers. */
export function planDevCluster(flags: DevFlags): DevNode[] {
  const last = flags.basePort + flags.nodes - 1;
  if (last > 65535)
    throw new UsageError(`--base-port ${flags.basePort} leaves no room for ${flags.nodes} nodes`);
  const ids = Array.from({ length: flags.nodes }, (_, i) => i + 1);
  const peers = ids.map((id) => `${id}@localhost:${flags.basePort + id - 1}`).join(",");
  return ids.map((id) => {
    const port = flags.basePort + id - 1;
    const dataDir = resolve(flags.data, `node${id}`);
    const args = [
      "server",
      "--id",
      `${id}`,
      "--port",
      `${port}`,
      "--peers",
      peers,
      "--data-dir",
      dataDir,
    ];
    return { id, port, dataDir, args };
  });
}

async function runDev(flags: DevFlags): Promise<void> {
  const plan = planDevCluster(flags);
  await mkdir(resolve(flags.data), { recursive: true, mode: 0o700 }); // node dirs inside are 0700 too
  const cluster = new DevCluster(plan);
  process.on("SIGINT", () => cluster.stop());
  process.on("SIGTERM", () => cluster.stop());
  cluster.start();
  process.stdout.write(banner(plan, resolve(flags.data)));
  const allFailed = await cluster.finished();
  if (allFailed) throw new DfsError("unavailable", "every node exited; see their messages above");
}

/** The running children and their lifecycle. */
class DevCluster {
  private readonly children = new Map<number, ChildProcess>();
  private stopping = false;
  private settle: (allFailed: boolean) => void = () => undefined;
  private readonly done = new Promise<boolean>((resolve) => {
    this.settle = resolve;
  });

  constructor(private readonly plan: readonly DevNode[]) {}

  /** Spawns every node. */
  start(): void {
    for (const node of this.plan) this.children.set(node.id, this.spawnNode(node));
  }

  /** Resolves when every child is gone: true if they all died on their own. */
  finished(): Promise<boolean> {
    return this.done;
  }

  /** SIGTERM to every child, SIGKILL to those still alive after the grace period. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    process.stderr.write("dfs dev: stopping all nodes\n");
    for (const child of this.children.values()) child.kill("SIGTERM");
    setTimeout(() => {
      for (const child of this.children.values()) child.kill("SIGKILL");
    }, STOP_GRACE_MS).unref();
    this.settleIfEmpty();
  }

  private spawnNode(node: DevNode): ChildProcess {
    const child = spawn(
      process.execPath,
      [...SERVER_NODE_FLAGS, "--import", "tsx", MAIN_PATH, ...node.args],
      {
        cwd: PACKAGE_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    prefixLines(child.stdout, `[node ${node.id}] `);
    prefixLines(child.stderr, `[node ${node.id}] `);
    child.on("error", (err) => process.stderr.write(`dfs dev: node ${node.id}: ${err.message}\n`));
    child.on("exit", (code, signal) => this.onExit(node.id, code, signal));
    return child;
  }

  private onExit(id: number, code: number | null, signal: NodeJS.Signals | null): void {
    this.children.delete(id);
    if (!this.stopping) {
      const how = signal !== null ? `signal ${signal}` : `exit code ${code}`;
      process.stderr.write(
        `dfs dev: node ${id} exited unexpectedly (${how}); others keep running\n`,
      );
    }
    this.settleIfEmpty();
  }

  private settleIfEmpty(): void {
    if (this.children.size === 0) this.settle(!this.stopping);
  }
}

/** Copies a child's output to our stderr line by line, each line tagged with its node. */
function prefixLines(stream: Readable | null, prefix: string): void {
  if (stream === null) return;
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
    process.stderr.write(`${prefix}${line}\n`);
  });
}

function banner(plan: readonly DevNode[], dataRoot: string): string {
  const endpoints = plan.map((node) => `localhost:${node.port}`).join(",");
  const env = endpoints === DEFAULT_ENDPOINTS ? "" : `  export DFS_ENDPOINTS=${endpoints}\n`;
  return [
    `dfs dev: ${plan.length} node(s) on ${endpoints}, data in ${dataRoot}`,
    "Try, in another terminal:",
    `${env}  npx dfs put greeting hello`,
    "  npx dfs get greeting",
    "  npx dfs status",
    "Ctrl-C stops the cluster.",
    "",
  ].join("\n");
}
