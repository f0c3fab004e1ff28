/**
 * A real 3-node cluster whose node 1 serves the S3 endpoint (`dfs server --s3-port`),
 * with one dev key pair: what the CLI tier and the multipart test run against.
 */
import { freePorts, LocalCluster } from "../../src/cluster/index.ts";

/** The key pair the gateway accepts when the cluster's auth is off. */
export const S3_ACCESS_KEY = "DFSTESTACCESSKEY0001";
/** Its secret. */
export const S3_SECRET_KEY = "dfs-test-secret-key-0000000000000000000000";
/** The region every client signs for. */
export const S3_REGION = "us-east-1";

/** A started cluster and its S3 endpoint URL (`http://127.0.0.1:P`). */
export interface S3Cluster {
  readonly cluster: LocalCluster;
  readonly endpoint: string;
  /** Node ids serving S3 (each node gets its own port; see `endpointOf`). */
  readonly s3Ports: ReadonlyMap<number, number>;
}

/**
 * Starts 3 nodes, each with `--s3-port` (so a test can keep talking S3 to a survivor when
 * it kills one), the dev keys in the environment; `endpoint` is node 1's.
 */
export async function startS3Cluster(): Promise<S3Cluster> {
  const ports = await freePorts(3);
  const s3Ports = new Map(ports.map((p, i) => [i + 1, p]));
  const cluster = await LocalCluster.start({
    nodeArgs: (node) => ["--s3-port", String(s3Ports.get(node.id))],
    env: { ...process.env, DFS_S3_ACCESS_KEY: S3_ACCESS_KEY, DFS_S3_SECRET_KEY: S3_SECRET_KEY },
  });
  return { cluster, endpoint: `http://127.0.0.1:${s3Ports.get(1)}`, s3Ports };
}
