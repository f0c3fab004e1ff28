/**
 * Configuration of one dfs node, with every default in one place next to its reason.
 */
import { PEER_PORT_OFFSET } from "../api/index.ts";
import type { HttpExtension } from "./http/listener.ts";
import type { LogFormat, LogLevel } from "./logger.ts";
import type { DEFAULT_RESOURCE_LIMITS, ResourceLimits } from "./resource-limits.ts";

/**
 * One cluster member as given by `--peers id@host:port[/peerPort | /peerHost:peerPort]`.
 * `host:port` is the client address (what clients dial and NOT_LEADER hints name, and
 * what the cluster id is derived from); the peer listener is separate, like etcd's
 * 2379/2380, so Raft traffic and client calls never share a port.
 */
export interface PeerAddress {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  /** Host of the peer listener; defaults to `host`. */
  readonly peerHost?: string;
  /** Port of the peer listener; defaults to `port + PEER_PORT_OFFSET`. */
  readonly peerPort?: number;
}

/** Where a member's peer listener is: its explicit peer address or the derived default. */
export function peerListenerOf(peer: PeerAddress): { host: string; port: number } {
  return { host: peer.peerHost ?? peer.host, port: peer.peerPort ?? peer.port + PEER_PORT_OFFSET };
}

/** Timing and sizing of the Raft loop. Ticks are the core's only notion of time. */
export interface RaftTuning {
  /**
   * Wall-clock length of one core tick. 50 ms keeps timer overhead negligible while
   * giving the election timeout a fine enough grain to randomize.
   */
  readonly tickMs: number;
  /** Heartbeat every 2 ticks = 100 ms: cheap, and detects a dead leader fast. */
  readonly heartbeatTicks: number;
  /**
   * Election timeout base in ticks; the core randomizes in [base, 2*base). 10 ticks =
   * [500, 1000) ms: a dead leader is replaced in well under a second (issue #6 asks for
   * failover <= 1 s; the first default was [1000, 2000): docs/architecture.md#timing-defaults).
   * Still 5-10 heartbeats, and far above the event-loop stalls measured under load (the
   * 10-minute steady benchmark saw no election); pre-vote and check-quorum keep a
   * follower that stalls anyway from disturbing a healthy leader.
   */
  readonly electionTicks: number;
  /** Bytes of entries per AppendEntries message; bounds one message's size (1 MiB entries fit). */
  readonly maxAppendBytes: number;
  /** AppendEntries messages in flight per follower before the leader waits for acks (pipelining). */
  readonly maxInflightAppends: number;
  /**
   * Entry bytes in flight per follower before the leader waits for acks (a chunk counts
   * its full 1 MiB). The peer link to a follower drops what does not fit its queue
   * (DEFAULT_LINK_LIMITS, 24 MiB), and the leader then probes and resends those chunks,
   * reading each back from its blob: the window plus one append (4 MiB) stays under it.
   * Chosen by measurement (bench/README.md, session 7), four 256 MiB uploads at once:
   * with the count bound alone the links dropped ~1,200 appends and the leader read 3,200
   * chunks back from disk for 1,030 uploaded; with 8 MiB, no drops but 1,800 read back
   * (entries waiting for acks are persisted, and kept in their stored form, by the time
   * they go); with 16 MiB ~200; with 32 MiB ~10, at no better a rate.
   */
  readonly maxInflightAppendBytes: number;
}

/** The defaults; see each field's doc comment for the reason. */
export const DEFAULT_TUNING: RaftTuning = {
  tickMs: 50,
  heartbeatTicks: 2,
  electionTicks: 10,
  maxAppendBytes: 4 * 1024 * 1024,
  maxInflightAppends: 64,
  maxInflightAppendBytes: 16 * 1024 * 1024,
};

/** When the node snapshots its state machine and compacts its log. */
export interface SnapshotTuning {
  /**
   * Snapshot every this many applied entries (etcd's default, 10,000): a snapshot of the
   * on-disk store is only a flush, so this mostly bounds the WAL and the restart replay.
   */
  readonly everyEntries: number;
  /** ... or every this many bytes of applied entries, so large entries cannot pile up. */
  readonly everyBytes: number;
  /** Entries kept after compaction so briefly lagging followers get appends (etcd: 5,000). */
  readonly keepEntries: number;
  /** ... but at most this many bytes of them: the kept tail lives in memory. */
  readonly keepBytes: number;
}

/** The defaults; see each field's doc comment for the reason. */
export const DEFAULT_SNAPSHOT_TUNING: SnapshotTuning = {
  everyEntries: 10_000,
  everyBytes: 64 * 1024 * 1024,
  keepEntries: 5_000,
  keepBytes: 64 * 1024 * 1024,
};

/**
 * Lifetime of an auth token when `--auth-token-ttl` is not given: 5 minutes, etcd's
 * simple-token TTL. A revoked user is locked out at once anyway (every node checks the
 * token's generation against the replicated state), so the TTL only bounds how long a
 * stolen token stays useful; clients log in again before it runs out (docs/auth.md).
 */
export const DEFAULT_AUTH_TOKEN_TTL_S = 300;
/** Longest token lifetime accepted: a week; a longer-lived bearer secret is a password. */
export const MAX_AUTH_TOKEN_TTL_S = 7 * 24 * 3600;

/** Everything `startNode` needs. */
export interface NodeConfig {
  /** This node's id; must appear in `peers`. */
  readonly id: number;
  /** Every member including this node, each with the address clients and peers use. */
  readonly peers: readonly PeerAddress[];
  /** Holds the WAL, metadata and lock; created if missing. */
  readonly dataDir: string;
  /** Host to bind both listeners; defaults to the hosts of this node's own entry in `peers`. */
  readonly listenHost?: string;
  /**
   * Worker threads serving the client port's protocol work (`--front-ends`, see
   * server/front/front-ends.ts); absent or 0: the client port is served in-process.
   */
  readonly frontEnds?: number;
  /**
   * TLS material; absent means plain text on both ports (the default on loopback).
   * See docs/security.md, "Peer port and TLS".
   */
  readonly tls?: NodeTls;
  /** Log every role change and RPC error to stderr. */
  readonly debug?: boolean;
  /** Resource bounds that differ from {@link DEFAULT_RESOURCE_LIMITS} (flags, tests). */
  readonly limits?: Partial<ResourceLimits>;
  /**
   * Where to dial each peer, when it differs from its address in `peers` (a proxy, NAT).
   * The cluster id is still derived from `peers`, so every node agrees on it.
   */
  readonly peerDialAddresses?: Readonly<Record<number, string>>;
  /**
   * Client addresses (host:port) of running members of the cluster this node joins
   * (`dfs server --join`). For a new data dir: the cluster id comes from one of them, and
   * the node starts with no configuration, waiting for the leader to replicate to it once
   * it was added (`dfs member add`). `peers` then needs only this node's own entry.
   */
  readonly join?: readonly string[];
  /**
   * `dfs server --force-new-cluster`: a surviving member of a cluster that lost its
   * majority for good restarts as the only member, keeping its whole log
   * (force-new-cluster.ts, docs/backup.md#majority-loss). Dangerous: see there.
   */
  readonly forceNewCluster?: boolean;
  /** Overrides of {@link DEFAULT_TUNING}, mainly for tests. */
  readonly tuning?: Partial<RaftTuning>;
  /** Overrides of {@link DEFAULT_SNAPSHOT_TUNING} (`--snapshot-entries`, `--snapshot-keep`). */
  readonly snapshots?: Partial<SnapshotTuning>;
  /** Lifetime of the tokens this node issues, in seconds (`--auth-token-ttl`; {@link DEFAULT_AUTH_TOKEN_TTL_S}). */
  readonly authTokenTtlS?: number;
  /**
   * The HTTP listener (`--http-port`, `--http-host`): `/metrics`, `/health`, `/livez`,
   * `/readyz` and the extensions. Absent: no listener, and the hot path keeps no metrics
   * (docs/observability.md). Port 0 lets the OS pick (tests).
   */
  readonly http?: HttpSettings;
  /** Handlers for every other HTTP path, asked in order (the web console); needs `http`. */
  readonly httpExtensions?: readonly HttpExtension[];
  /** Lowest level logged (`--log-level`); default `info`, `debug` with `debug`. */
  readonly logLevel?: LogLevel;
  /** `pretty` lines for people, `json` for machines; `auto` (default): pretty on a terminal. */
  readonly logFormat?: LogFormat;
}

/** Where the node's HTTP listener listens. */
export interface HttpSettings {
  readonly port: number;
  /** Host to bind; defaults to the host the client port binds. */
  readonly host?: string;
}

/** PEM bytes of one TLS identity (certificate chain and its private key). */
export interface TlsKeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * A node's TLS settings. The peer listener uses mutual TLS (`peer`): it requires a
 * client certificate signed by `peer.ca`, and outgoing peer connections present the same
 * node certificate and verify the peer's against `peer.ca`. The client listener uses
 * `client` (server TLS), requiring client certificates only when `clientCa` is given.
 */
export interface NodeTls {
  readonly peer?: TlsKeyPair & { readonly ca: Buffer };
  readonly client?: TlsKeyPair & { readonly clientCa?: Buffer };
}
