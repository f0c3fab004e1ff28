/**
 * A real 3-node cluster serving S3 with one dev key pair, in one of two ways:
 *
 * - `"server"`: every node serves S3 itself (`dfs server --s3-port`), the usual setup;
 * - `"gateway"`: one `dfs gateway` process per node (its `--endpoints` list starts with
 *   that node), so a test can SIGKILL the leader node and keep talking S3 to a gateway
 *   that survives.
 *
 * What the CLI tier (server mode) and the multipart test (gateway mode) run against.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { LocalCluster, type ServerEntry, sourceEntry, waitFor } from "../../src/cluster/index.ts";

/** The key pair the gateways accept (the cluster's auth is off). */
export const S3_ACCESS_KEY = "DFSTESTACCESSKEY0001";
/** Its secret. */
export const S3_SECRET_KEY = "dfs-test-secret-key-0000000000000000000000";
/** The region every client signs for. */
export const S3_REGION = "us-east-1";

const S3_ENV = { DFS_S3_ACCESS_KEY: S3_ACCESS_KEY, DFS_S3_SECRET_KEY: S3_SECRET_KEY };

/** A started cluster, its gateways and node 1's gateway URL (`http://127.0.0.1:P`). */
export interface S3Cluster {
  readonly cluster: LocalCluster;
  readonly endpoint: string;
  /** Node id → port of the gateway in front of that node. */
  readonly s3Ports: ReadonlyMap<number, number>;
  /** Stops the gateways and destroys the cluster. */
  destroy(): Promise<void>;
}

/** Starts the cluster serving S3 (`mode`, default "gateway"); resolves once every S3 port answers. */
export async function startS3Cluster(
  options: { entry?: ServerEntry; mode?: "server" | "gateway" } = {},
): Promise<S3Cluster> {
  const entry = options.entry ?? sourceEntry();
  const inServer = (options.mode ?? "gateway") === "server";
  // Every S3 listener binds port 0 and says which port it got: no race for free ports.
  const s3Ports = new Map<number, number>();
  const cluster = await LocalCluster.start({
    entry,
    ...(inServer
      ? {
          nodeArgs: () => ["--s3-port", "0"],
          env: { ...process.env, ...S3_ENV },
          onLine: (node, line) => {
            const port = announcedPort(line);
            if (port !== undefined) s3Ports.set(node.id, port);
          },
        }
      : {}),
  });
  const endpoints = cluster.endpoints();
  const gateways: ChildProcess[] = [];
  let logs = "";
  for (const id of inServer ? [] : cluster.ids()) {
    const mine = endpoints[id - 1] as string;
    const order = [mine, ...endpoints.filter((e) => e !== mine)];
    const child = spawn(
      entry.command,
      [...entry.args, "gateway", "--endpoints", order.join(","), "--s3-port", "0"],
      { cwd: entry.cwd, env: { ...process.env, ...S3_ENV }, stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr?.on("data", (c: Buffer) => {
      const text = c.toString();
      logs = (logs + text).slice(-20_000);
      for (const line of text.split("\n")) {
        const port = announcedPort(line);
        if (port !== undefined) s3Ports.set(id, port);
      }
    });
    gateways.push(child);
  }
  const destroy = async () => {
    for (const g of gateways) g.kill("SIGKILL");
    await cluster.destroy();
  };
  try {
    for (const id of cluster.ids()) {
      const port = await waitFor(`node ${id}'s S3 port`, () => s3Ports.get(id), 60_000);
      await waitFor(`the S3 endpoint on port ${port}`, () => answers(port), 60_000);
    }
  } catch (error) {
    await destroy();
    throw new Error(`${(error as Error).message}\n${logs}\n${cluster.logs(3000)}`);
  }
  return { cluster, endpoint: `http://127.0.0.1:${s3Ports.get(1)}`, s3Ports, destroy };
}

/** The port in a "dfs: S3 gateway on http://host:PORT" line, if it is one. */
function announcedPort(line: string): number | undefined {
  const m = /S3 gateway on http:\/\/[^\s]*:(\d+)/.exec(line);
  return m === null ? undefined : Number(m[1]);
}

/** True once something answers HTTP on `port` (any status), else undefined. */
function answers(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/", method: "GET" }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("error", () => resolve(undefined));
    req.end();
  });
}
