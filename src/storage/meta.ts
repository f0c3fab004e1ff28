/**
 * The node's identity file, `meta.json`: which cluster and which node a data dir belongs
 * to. Checked on every start so that a data dir copied to, or mistyped for, another node
 * is refused before its log can be replayed into the wrong member (an etcd lesson: a
 * node that starts on another's data votes and acknowledges with a history it never had).
 */
import { createHash, randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { StartupError } from "../api/index.ts";
import { writeFileAtomic } from "./fsync.ts";

/** Name of the metadata file inside the data dir. */
export const META_FILE = "meta.json";

/** The format version this build writes and understands. */
export const META_VERSION = 1;

/** The content of `meta.json`. */
export interface NodeMeta {
  /** Format version; bumped only by an incompatible change of the data dir layout. */
  readonly version: number;
  /** The cluster the data belongs to (see {@link clusterIdFor}). */
  readonly clusterId: string;
  /** This node's id within that cluster. */
  readonly nodeId: number;
  /**
   * This data dir's member identity: 32 random hex digits drawn when the dir is created
   * (and added to an older dir's file on its first start with this build). The
   * configuration binds each member to one; a node whose data dir is new presents
   * another, so it can never take the place (or the vote) of the member it replaces.
   */
  readonly memberId: string;
  /** True when the node joined a running cluster (`--join`) rather than bootstrapping it. */
  readonly joined?: boolean;
  /**
   * SHA-256 (hex) of the backup this data dir was restored from (`dfs snapshot
   * restore`): the restored cluster's id is derived from it and `--peers` (see
   * {@link clusterIdFor}), so it can never be mistaken for the cluster the backup came from.
   */
  readonly restoredFrom?: string;
}

/** What a data dir is expected to belong to; `joined` is recorded when it is created. */
export interface ExpectedMeta {
  readonly clusterId: string;
  readonly nodeId: number;
  readonly joined?: boolean;
  readonly restoredFrom?: string;
}

/** A member identity: 16 random bytes as hex. */
export function newMemberId(): string {
  return randomBytes(16).toString("hex");
}

/** A well-formed member identity. */
export function isMemberId(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{32}$/.test(value);
}

/** Reads `meta.json` if the data dir has one (null for a new data dir); does not check it. */
export async function readNodeMeta(dataDir: string): Promise<NodeMeta | null> {
  const path = join(dataDir, META_FILE);
  const text = await readMetaText(path);
  return text === null ? null : parseMeta(text, path);
}

/** A cluster member as used to derive the cluster id. */
export interface ClusterMember {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/**
 * A cluster id every member derives from the same peer list with no coordination, like
 * etcd's initial-cluster token: the first 16 hex digits of SHA-256 over the sorted
 * `id@host:port` strings, so the order peers are listed in does not matter. A cluster
 * restored from a backup adds the backup's SHA-256 (`restoredFrom`): every member
 * restored from the same file with the same peers derives the same id, and it differs
 * from the id of the cluster the backup came from (and from any other restore).
 */
export function clusterIdFor(peers: readonly ClusterMember[], restoredFrom?: string): string {
  const members = peers.map((p) => `${p.id}@${p.host}:${p.port}`).sort();
  if (restoredFrom !== undefined) members.push(`restored-from ${restoredFrom}`);
  return createHash("sha256").update(members.join("\n")).digest("hex").slice(0, 16);
}

/**
 * Creates `meta.json` on the first start; on later starts checks it names `expected`.
 * Call before opening the WAL: a data dir with a WAL but no meta.json is refused, since
 * its owner can no longer be checked.
 * Errors: `data_dir` for another node's or cluster's dir, `corrupt` for an unreadable file.
 */
export async function loadOrInitMeta(dataDir: string, expected: ExpectedMeta): Promise<NodeMeta> {
  const path = join(dataDir, META_FILE);
  const text = await readMetaText(path);
  if (text === null) return await initMeta(dataDir, path, expected);
  const meta = parseMeta(text, path);
  checkMeta(meta, dataDir, expected);
  if (meta.memberId !== "") return meta;
  // A data dir from before member identities: it keeps its place, with an identity now.
  const upgraded = { ...meta, memberId: newMemberId() };
  await writeMeta(path, upgraded);
  return upgraded;
}

/**
 * Writes meta.json of a data dir that `dfs snapshot restore` has just filled (its WAL and
 * store already in place, which {@link loadOrInitMeta} would refuse as a WAL without an
 * owner): the last step of a restore, so an interrupted one is never taken for a node.
 */
export async function writeRestoredMeta(
  dataDir: string,
  expected: ExpectedMeta & { readonly restoredFrom: string },
): Promise<NodeMeta> {
  const meta: NodeMeta = {
    version: META_VERSION,
    clusterId: expected.clusterId,
    nodeId: expected.nodeId,
    memberId: newMemberId(),
    restoredFrom: expected.restoredFrom,
  };
  await writeMeta(join(dataDir, META_FILE), meta);
  return meta;
}

async function readMetaText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new StartupError("data_dir", `cannot read ${path}: ${(err as Error).message}`);
  }
}

async function initMeta(dataDir: string, path: string, expected: ExpectedMeta): Promise<NodeMeta> {
  if (await exists(join(dataDir, "wal"))) {
    throw new StartupError(
      "corrupt",
      `data dir ${dataDir} has a WAL but no ${META_FILE}: cannot tell which node it belongs to`,
    );
  }
  const meta: NodeMeta = {
    version: META_VERSION,
    clusterId: expected.clusterId,
    nodeId: expected.nodeId,
    memberId: newMemberId(),
    ...(expected.joined === true ? { joined: true } : {}),
    ...(expected.restoredFrom !== undefined ? { restoredFrom: expected.restoredFrom } : {}),
  };
  await writeMeta(path, meta);
  return meta;
}

async function writeMeta(path: string, meta: NodeMeta): Promise<void> {
  const data = new TextEncoder().encode(`${JSON.stringify(meta, null, 2)}\n`);
  try {
    await writeFileAtomic(path, data);
  } catch (err) {
    throw new StartupError("data_dir", `cannot write ${path}: ${(err as Error).message}`);
  }
}

function parseMeta(text: string, path: string): NodeMeta {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StartupError("corrupt", `${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null) {
    throw new StartupError("corrupt", `${path} is not a JSON object`);
  }
  const { version, clusterId, nodeId, memberId, joined, restoredFrom } = value as Record<
    string,
    unknown
  >;
  if (
    typeof version !== "number" ||
    typeof clusterId !== "string" ||
    !Number.isSafeInteger(nodeId)
  ) {
    throw new StartupError("corrupt", `${path} lacks version, clusterId or nodeId`);
  }
  if (memberId !== undefined && !isMemberId(memberId)) {
    throw new StartupError("corrupt", `${path} has a malformed memberId (expected 32 hex digits)`);
  }
  if (joined !== undefined && typeof joined !== "boolean") {
    throw new StartupError("corrupt", `${path} has a malformed joined flag`);
  }
  if (
    restoredFrom !== undefined &&
    !(typeof restoredFrom === "string" && /^[0-9a-f]{64}$/.test(restoredFrom))
  ) {
    throw new StartupError(
      "corrupt",
      `${path} has a malformed restoredFrom (expected 64 hex digits)`,
    );
  }
  return {
    version,
    clusterId,
    nodeId: nodeId as number,
    memberId: memberId ?? "",
    ...(joined === true ? { joined: true } : {}),
    ...(typeof restoredFrom === "string" ? { restoredFrom } : {}),
  };
}

function checkMeta(meta: NodeMeta, dataDir: string, expected: ExpectedMeta): void {
  if (meta.version !== META_VERSION) {
    throw new StartupError(
      "data_dir",
      `data dir ${dataDir} has format version ${meta.version}; this build reads version ${META_VERSION}`,
    );
  }
  if (meta.nodeId !== expected.nodeId) {
    throw new StartupError(
      "data_dir",
      `data dir ${dataDir} belongs to node ${meta.nodeId}, not node ${expected.nodeId}`,
    );
  }
  if (meta.clusterId !== expected.clusterId) {
    throw new StartupError(
      "data_dir",
      `data dir ${dataDir} belongs to cluster ${meta.clusterId}, not cluster ` +
        `${expected.clusterId} (was the peer list changed?)`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
