/**
 * `dfs dev` (what `npm start` runs): a whole cluster on this machine, one real
 * `dfs server` process per node, so trying dfs takes one command and behaves exactly like
 * a deployment. Output of every node is shown, prefixed with its name; Ctrl-C stops all.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { DfsError } from "../api/errors.ts";
import { PEER_PORT_OFFSET } from "../server/config.ts";
import { SERVER_NODE_FLAGS } from "../server/node-flags.ts";
import { CERT_FILES, writeClusterCerts } from "./certs-command.ts";
import { DEFAULT_ENDPOINTS, intFlag } from "./options.ts";
import { UsageError } from "./usage-error.ts";

/** The package root: children run there, so a relative `--import tsx` still resolves. */
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Grace period between SIGTERM and SIGKILL: enough for a node to close its files. */
export const STOP_GRACE_MS = 5_000;

interface DevFlags {
  readonly nodes: number;
  readonly basePort: number;
  readonly data: string;
  /** Mutual TLS on both ports with certificates from `dfs certs init` in `<data>/certs`. */
  readonly tls?: boolean;
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
    .option(
      "--tls",
      "mutual TLS on the client and peer ports, certificates in <data>/certs (made if missing)",
    )
    .action(runDev);
}

/**
 * Plans the cluster: ids 1..N on consecutive ports, every node given the same --peers;
 * peer ports are the default port + 10000. With `tls`, every node gets its certificate
 * from `<data>/certs` for both ports and requires client certificates.
 */
export function planDevCluster(flags: DevFlags): DevNode[] {
  const last = flags.basePort + flags.nodes - 1;
  if (last + PEER_PORT_OFFSET > 65535)
    throw new UsageError(
      `--base-port ${flags.basePort} leaves no room for ${flags.nodes} nodes and their peer ports (port + ${PEER_PORT_OFFSET})`,
    );
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
      ...(flags.tls ? nodeTlsArgs(certsDirOf(flags.data), id) : []),
    ];
    return { id, port, dataDir, args };
  });
}

/** Where `dfs dev --tls` keeps its certificates. */
function certsDirOf(data: string): string {
  return resolve(data, "certs");
}

function nodeTlsArgs(dir: string, id: number): string[] {
  const node = join(dir, CERT_FILES.nodeCert(id));
  const key = join(dir, CERT_FILES.nodeKey(id));
  const ca = join(dir, CERT_FILES.caCert);
  return [
    ...["--peer-cert", node, "--peer-key", key, "--peer-ca", ca],
    ...["--cert", node, "--key", key, "--client-ca", ca],
  ];
}

/** Makes the dev certificates unless they are there (a new CA would orphan the old ones). */
async function ensureDevCerts(dir: string, nodes: number): Promise<void> {
  const present = (name: string) => existsSync(join(dir, name));
  if (!present(CERT_FILES.caCert)) {
    await writeClusterCerts(dir, nodes);
    return;
  }
  for (let id = 1; id <= nodes; id++) {
    if (!present(CERT_FILES.nodeCert(id))) {
      throw new UsageError(
        `${dir} has certificates for fewer than ${nodes} nodes; remove it to make new ones`,
      );
    }
  }
}

async function runDev(flags: DevFlags): Promise<void> {
  const plan = planDevCluster(flags);
  await mkdir(resolve(flags.data), { recursive: true, mode: 0o700 }); // node dirs inside are 0700 too
  if (flags.tls) await ensureDevCerts(certsDirOf(flags.data), flags.nodes);
  const cluster = new DevCluster(plan);
  process.on("SIGINT", () => cluster.stop());
  process.on("SIGTERM", () => cluster.stop());
  cluster.start();
  process.stdout.write(
    banner(plan, resolve(flags.data), flags.tls ? certsDirOf(flags.data) : null),
  );
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
      [...SERVER_NODE_FLAGS, ...sameEntryAsThisProcess(), ...node.args],
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

/**
 * Node flags and script of this very process, so children run what the parent runs:
 * the compiled CLI under bin/dfs.mjs, or src/ through tsx in the dev loop and tests.
 */
function sameEntryAsThisProcess(): string[] {
  const flags = process.execArgv.filter((flag) => !SERVER_NODE_FLAGS.includes(flag));
  return [...flags, resolve(process.argv[1] ?? "")];
}

/** Copies a child's output to our stderr line by line, each line tagged with its node. */
function prefixLines(stream: Readable | null, prefix: string): void {
  if (stream === null) return;
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
    process.stderr.write(`${prefix}${line}\n`);
  });
}

/** What the dev cluster prints on start: where it is and how to reach it with the CLI. */
export function banner(
  plan: readonly DevNode[],
  dataRoot: string,
  certsDir: string | null,
): string {
  const endpoints = plan.map((node) => `localhost:${node.port}`).join(",");
  const peers = plan.map((node) => `localhost:${node.port + PEER_PORT_OFFSET}`).join(",");
  const env = endpoints === DEFAULT_ENDPOINTS ? "" : `  export DFS_ENDPOINTS=${endpoints}\n`;
  const tls =
    certsDir === null
      ? ""
      : ` --cacert ${join(certsDir, CERT_FILES.caCert)} --cert ${join(certsDir, CERT_FILES.clientCert)} --key ${join(certsDir, CERT_FILES.clientKey)}`;
  return [
    `dfs dev: ${plan.length} node(s) on ${endpoints} (peers on ${peers}), data in ${dataRoot}`,
    ...(certsDir === null
      ? []
      : [`mutual TLS on both ports; certificates in ${certsDir} (client: client.crt/.key)`]),
    "Try, in another terminal:",
    `${env}  npx dfs put greeting hello${tls}`,
    `  npx dfs get greeting${tls}`,
    `  npx dfs status${tls}`,
    "Ctrl-C stops the cluster.",
    "",
  ].join("\n");
}
