/**
 * `dfs dev` (what `npm start` runs): a whole cluster on this machine, one real
 * `dfs server` process per node, so trying dfs takes one command and behaves exactly like
 * a deployment. Output of every node is shown, prefixed with its name; Ctrl-C stops all.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { DfsError, PEER_PORT_OFFSET } from "../api/index.ts";
import {
  CERT_FILES,
  type ClusterOptions,
  LocalCluster,
  parentEntry,
  type ServerEntry,
} from "../cluster/index.ts";
import { writeClusterCerts } from "./certs-command.ts";
import { DEFAULT_ENDPOINTS, intFlag } from "./options.ts";
import { UsageError } from "./usage-error.ts";

/** Grace period between SIGTERM and SIGKILL: enough for a node to close its files. */
export const STOP_GRACE_MS = 5_000;

/**
 * Each node's HTTP listener (metrics, health, the web console) is its client port + this:
 * 51051 for the seed's 50051, clear of the peer ports at + 10000.
 */
export const DEV_HTTP_PORT_OFFSET = 1000;

interface DevFlags {
  readonly nodes: number;
  readonly basePort: number;
  readonly data: string;
  /** Mutual TLS on both ports with certificates from `dfs certs init` in `<data>/certs`. */
  readonly tls?: boolean;
  /** S3 port of node 1 (0: none; docs/s3.md). */
  readonly s3Port?: number;
}

/** The S3 port `npm start` gives node 1. */
export const DEV_S3_PORT = 9000;
/**
 * The dev cluster's S3 key pair (unless DFS_S3_ACCESS_KEY/DFS_S3_SECRET_KEY are set):
 * fixed so scripts and `aws configure` work across restarts; for this machine only.
 */
export const DEV_S3_ACCESS_KEY = "DFSDEVACCESSKEY00001";
export const DEV_S3_SECRET_KEY = "dfs-dev-secret-key-local-use-only-000001";

/** Where and with which keys the dev cluster serves S3, or null when it does not. */
export interface DevS3 {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
}

/** The dev cluster's S3 settings for `flags` (none with --tls or --s3-port 0). */
export function devS3(flags: DevFlags, env: NodeJS.ProcessEnv = process.env): DevS3 | null {
  const port = flags.s3Port ?? DEV_S3_PORT;
  if (port === 0 || flags.tls === true) return null;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKey: env.DFS_S3_ACCESS_KEY || DEV_S3_ACCESS_KEY,
    secretKey: env.DFS_S3_SECRET_KEY || DEV_S3_SECRET_KEY,
  };
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
    .option(
      "--s3-port <port>",
      "S3 port of node 1 (0: none; not with --tls)",
      intFlag("--s3-port", 0, 65535),
      DEV_S3_PORT,
    )
    .action(runDev);
}

/**
 * The cluster's options: ids 1..N on consecutive ports from the base port, peer ports the
 * default port + 10000, data in `<data>/node<i>`, every node run by `entry` (the
 * command this process runs, so a compiled CLI starts compiled nodes). With `tls`, every
 * node gets its certificate from `<data>/certs` for both ports and requires client
 * certificates.
 */
export function planDevCluster(
  flags: DevFlags,
  entry: ServerEntry = parentEntry(),
): ClusterOptions {
  const last = flags.basePort + flags.nodes - 1;
  if (last + PEER_PORT_OFFSET > 65535)
    throw new UsageError(
      `--base-port ${flags.basePort} leaves no room for ${flags.nodes} nodes and their peer ports (port + ${PEER_PORT_OFFSET})`,
    );
  const s3 = devS3(flags);
  return {
    size: flags.nodes,
    host: "localhost",
    basePort: flags.basePort,
    dataRoot: resolve(flags.data),
    entry,
    // Every node serves HTTP (metrics, health, console); node 1 also serves S3.
    nodeArgs: (node) => [
      "--http-port",
      String(node.port + DEV_HTTP_PORT_OFFSET),
      ...(s3 !== null && node.id === 1
        ? ["--s3-port", String(flags.s3Port ?? DEV_S3_PORT), "--s3-host", "127.0.0.1"]
        : []),
    ],
    ...(flags.tls ? { certsDir: certsDirOf(flags.data) } : {}),
    ...(s3 === null
      ? {}
      : {
          env: {
            ...process.env,
            DFS_S3_ACCESS_KEY: s3.accessKey,
            DFS_S3_SECRET_KEY: s3.secretKey,
          },
        }),
  };
}

/** Where `dfs dev --tls` keeps its certificates. */
function certsDirOf(data: string): string {
  return resolve(data, "certs");
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
  let stopping = false;
  let running = flags.nodes;
  let settle: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const cluster = await LocalCluster.create({
    checkInvariants: false,
    ...plan,
    keepStderr: 0,
    // Nodes log pretty lines when this terminal shows them, JSON when piped (docs/observability.md).
    // On top of the plan's own environment (the S3 dev keys), not instead of it.
    env: { DFS_LOG_FORMAT: process.stderr.isTTY ? "pretty" : "json", ...(plan.env ?? process.env) },
    // Every node's output, line by line, tagged with its node.
    onLine: (node, line) => process.stderr.write(`[node ${node.id}] ${line}\n`),
    onExit: (node, how) => {
      if (!stopping)
        process.stderr.write(
          `dfs dev: node ${node.id} exited unexpectedly (${how}); others keep running\n`,
        );
      if (--running === 0) settle();
    },
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write("dfs dev: stopping all nodes\n");
    void cluster.stop(STOP_GRACE_MS);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  await cluster.spawnAll();
  process.stdout.write(
    banner(cluster, resolve(flags.data), flags.tls ? certsDirOf(flags.data) : null, devS3(flags)),
  );
  await finished;
  if (!stopping) throw new DfsError("unavailable", "every node exited; see their messages above");
}

/** What the dev cluster prints on start: where it is and how to reach it with the CLI. */
export function banner(
  cluster: LocalCluster,
  dataRoot: string,
  certsDir: string | null,
  s3: DevS3 | null = null,
): string {
  const endpoints = cluster.endpoints().join(",");
  const peers = cluster.nodes.map((node) => node.peerAddress).join(",");
  const env = endpoints === DEFAULT_ENDPOINTS ? "" : `  export DFS_ENDPOINTS=${endpoints}\n`;
  const tls =
    certsDir === null
      ? ""
      : ` --cacert ${join(certsDir, CERT_FILES.caCert)} --cert ${join(certsDir, CERT_FILES.clientCert)} --key ${join(certsDir, CERT_FILES.clientKey)}`;
  const consoles = cluster.nodes
    .map((node) => `http://${node.host}:${node.port + DEV_HTTP_PORT_OFFSET}/`)
    .join(" ");
  return [
    `dfs dev: ${cluster.nodes.length} node(s) on ${endpoints} (peers on ${peers}), data in ${dataRoot}`,
    `Web console (docs/console.md), metrics and health on each node: ${consoles}`,
    ...(certsDir === null
      ? []
      : [`mutual TLS on both ports; certificates in ${certsDir} (client: client.crt/.key)`]),
    "Try, in another terminal:",
    `${env}  npx dfs put greeting hello${tls}`,
    `  npx dfs get greeting${tls}`,
    `  npx dfs status${tls}`,
    ...(s3 === null
      ? []
      : [
          `S3 on ${s3.endpoint} (node 1; docs/s3.md), dev keys:`,
          `  export AWS_ACCESS_KEY_ID=${s3.accessKey} AWS_SECRET_ACCESS_KEY=${s3.secretKey} AWS_REGION=us-east-1`,
          `  aws --endpoint-url ${s3.endpoint} s3 mb s3://demo && aws --endpoint-url ${s3.endpoint} s3 ls`,
        ]),
    "Ctrl-C stops the cluster.",
    "",
  ].join("\n");
}
