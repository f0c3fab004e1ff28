/**
 * The TypeScript client of a dfs cluster. It hides that a cluster has several nodes:
 * callers give a few addresses and get typed results or typed {@link DfsError}s, while
 * the client finds the leader, follows redirects and rides out elections and restarts
 * within one deadline.
 */
import {
  checkKey,
  checkMetadata,
  checkValueSize,
  DfsError,
  MemberChangeError,
  type Metadata,
} from "../api/index.ts";
import type {
  DefragResponse,
  Member,
  MemberListResponse,
  Session,
  SnapshotSaveResponse,
  StatusResponse,
} from "../gen/dfs.ts";
import { Attempts } from "./attempts.ts";
import {
  type AuthChange,
  type AuthInfo,
  authChangeRequest,
  type S3AccessKey,
  type S3Credentials,
  type S3CredentialsQuery,
} from "./auth-admin.ts";
import { bearerInterceptor, noForwardInterceptor } from "./auth-interceptor.ts";
import { type IssuedToken, type Login, loginFrom, TokenHolder } from "./auth-token.ts";
import { ChannelPool, type ClientTls, clientCredentials } from "./channel-pool.ts";
import { EndpointSet, parseHostPort } from "./endpoints.ts";
import {
  isReplayable,
  notRetryable,
  openSource,
  type UploadSource,
  writeFileAtomically,
} from "./file-sources.ts";
import {
  type FileInfo,
  type OpenDownload,
  openDownload,
  toFileInfo,
  uploadOnce,
} from "./file-transfer.ts";
import { type AttemptFailure, classifyFailure, toDfsError } from "./grpc-errors.ts";
import { DEFAULT_TIMEOUT_MS } from "./retry.ts";
import { ClientSession } from "./session.ts";
import { openSnapshotSave } from "./snapshot-stream.ts";
import { callUnary, type DfsStub } from "./unary-call.ts";

/** How to reach a cluster. */
export interface DfsClientOptions {
  /** `host:port` of one or more nodes; any node will do, the leader is found from there. */
  readonly endpoints: readonly string[];
  /** Deadline of a whole operation, retries included (default {@link DEFAULT_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  /** TLS to the client port (every channel); plain text when absent. */
  readonly tls?: ClientTls;
  /**
   * User to log in as when the cluster has auth on (docs/auth.md). The client logs in
   * lazily on the first call that needs it, sends its token on every call and stream, and
   * renews it before it expires. Give `password` with it.
   */
  readonly user?: string;
  /** The password of `user`. */
  readonly password?: string;
  /**
   * A token obtained elsewhere (`authenticate()` of another client), sent as is until a
   * node refuses it; without `user` and `password` it is never renewed.
   */
  readonly token?: string;
  /**
   * Where tokens come from instead of logging in with `user` and `password`: called on the
   * first call that needs one, again before the token expires (as a login would be), and
   * once more after a node answers `token expired`. For a service acting for someone
   * else, e.g. the S3 gateway with the token `s3Credentials` returned for an access key's
   * user. A token of "" means none is needed (auth off). Not with `user`/`password`.
   */
  readonly tokenSource?: () => Promise<IssuedToken>;
  /**
   * Sends reads (get, stat, list, download) round-robin over every endpoint instead of to
   * the leader: a follower serves a linearizable read after asking the leader for a read
   * index, so reads use every node's CPU. Writes still go to the leader. Default: off —
   * measured on 2 cores, a follower read cost 2.4x the CPU of a leader read (its own
   * READ_INDEX round); it pays only where nodes have cores to spare.
   */
  readonly spreadReads?: boolean;
}

/** Result of a put: the key's new version and the log index that made it durable. */
export interface PutResult {
  readonly version: number;
  readonly index: number;
}

/** Result of a get: the exact stored bytes and which write produced them. */
export interface GetResult {
  /** The value, or the bytes of the range asked for. */
  readonly value: Uint8Array;
  readonly version: number;
  readonly modIndex: number;
  /** What the writer attached (`{}` when nothing). */
  readonly metadata: Metadata;
  /** The whole content's size in bytes (a ranged get's value may be a part of it). */
  readonly size: number;
}

/** Options of a put. */
export interface PutOptions {
  /**
   * Compare-and-set: store only if the key is currently at this version (0 = only if the
   * key does not exist); otherwise fail with `precondition_failed` and change nothing.
   */
  readonly ifVersion?: number;
  /**
   * Kept with the value and returned by get, stat, list and download (a content type, S3
   * user metadata...): at most 64 entries and 8 KiB in all, names printable ASCII.
   */
  readonly metadata?: Metadata;
}

/**
 * A byte range of a read: `length` bytes (absent: to the end) from `offset` (default 0).
 * An offset equal to the size reads nothing; past the size is `invalid_argument`; a
 * length past the end is cut there. The node reads only the chunks the range needs.
 */
export interface RangeOptions {
  readonly offset?: number;
  readonly length?: number;
}

/** Options of a download: a range, and a version the key must still be at. */
export interface DownloadOptions extends GetOptions, RangeOptions {
  /** Only if the key is at this version, else `precondition_failed` (a read after a stat). */
  readonly ifVersion?: number;
}

/** Result of a stat: a key's metadata without its value. */
export type StatResult = FileInfo;

/** Options of an upload. */
export interface UploadOptions extends PutOptions {
  /** Called with the number of bytes sent so far. */
  readonly onProgress?: (bytes: number) => void;
  /**
   * Metadata known only once the source ended (an S3 ETag = the MD5 of the content):
   * called after the last byte was read, sent with the final message and merged over
   * `metadata` by the leader before the commit (same limits).
   */
  readonly finalMetadata?: () => Metadata;
}

/** Result of an upload: the write's version and index, and what was stored. */
export interface UploadResult extends PutResult {
  readonly size: number;
  /** Hex SHA-256 of the content, as computed by this client and checked by the leader. */
  readonly sha256: string;
}

/** One entry of a listing: a key with its metadata, or a directory (name ends in '/'). */
export interface ListEntry {
  readonly name: string;
  readonly isDir: boolean;
  readonly info?: FileInfo;
}

/** Options of a listing. */
export interface ListOptions extends GetOptions {
  /** Every key under the prefix instead of one level. */
  readonly recursive?: boolean;
  /** Entries fetched per call (default: the server's, 1000). */
  readonly pageSize?: number;
  /** Start after this name (a key, or a directory ending in '/': after its subtree). */
  readonly startAfter?: string;
}

/** Result of a delete: the log index at which the key disappeared. */
/** One member of the cluster as the leader sees it (`memberList` and the member changes). */
export interface MemberStatus {
  readonly id: number;
  /** A learner receives the log but does not vote or count toward a quorum. */
  readonly learner: boolean;
  /** host:port of its peer listener. */
  readonly peerAddr: string;
  /** host:port of its client listener. */
  readonly clientAddr: string;
  /** The member id of the data dir bound to it ("" until the leader heard from it). */
  readonly identity: string;
  /** True for the leader. */
  readonly leader: boolean;
  /** Highest log index known replicated on it. */
  readonly match: number;
  /** The leader's last index minus `match`. */
  readonly lag: number;
  /** Answered the leader within an election timeout. */
  readonly reachable: boolean;
}

/** A member to add: `learner` (default false) adds it without a vote, to promote later. */
export interface NewMember {
  readonly id: number;
  readonly peerAddr: string;
  readonly clientAddr: string;
  readonly learner?: boolean;
}

export interface DeleteResult {
  readonly index: number;
}

/** Read options; linearizable unless the caller explicitly accepts staleness. */
export interface GetOptions {
  /** Let any node answer from its applied state; faster, but may miss recent writes. */
  readonly serializable?: boolean;
}

/** One leader-only call, given the stub of the node to try and the attempt's deadline. */
type LeaderCall<T> = (stub: DfsStub, deadline: Date) => Promise<T>;

/**
 * A connection to a dfs cluster. Create one per process and reuse it: channels are
 * opened lazily, one per node, and kept until {@link DfsClient.close}.
 *
 * Retry semantics. An operation is sent to the last known leader (else to the
 * endpoints in turn). `not_leader` with a hint goes straight to the hinted node; a
 * refused connection, an unavailable node, `not_leader` without a hint or an attempt
 * that outlives its own deadline moves on to the next node after a short jittered
 * backoff. Everything else is a definite answer and is thrown at once. When the overall
 * deadline passes, the operation fails with `unavailable` listing what was tried.
 *
 * Writes are exactly-once. Each write carries this client's id and a sequence number
 * that every retry reuses; the cluster's state machine remembers each client's recent
 * results, so a write that timed out and is sent again is applied at most once and the
 * retry gets the original answer (Raft thesis §6.3). Only when the whole deadline passes
 * is the outcome unknown (`unavailable`): the write may or may not have been applied.
 */
export class DfsClient {
  private readonly endpoints: EndpointSet;
  private readonly pool: ChannelPool;
  private readonly timeoutMs: number;
  private readonly session = new ClientSession();
  private readonly auth: TokenHolder;
  /** Reads go round-robin over all endpoints (see {@link DfsClientOptions.spreadReads}). */
  private readonly spread: boolean;
  private closed = false;

  /**
   * @throws DfsError `invalid_argument` for an empty or malformed endpoint list or timeout,
   * or a password without user (or a user without password)
   */
  constructor(options: DfsClientOptions) {
    this.endpoints = new EndpointSet(validEndpoints(options.endpoints));
    this.spread = options.spreadReads ?? false;
    this.timeoutMs = validTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const login = loginFrom(options.user, options.password);
    const source = options.tokenSource;
    if (source !== undefined && login !== undefined)
      throw new DfsError("invalid_argument", "give either user and password or tokenSource");
    this.auth =
      source === undefined
        ? new TokenHolder(login, (l) => this.login(l), options.token)
        : new TokenHolder(TOKEN_SOURCE_LOGIN, () => source(), options.token);
    this.pool = new ChannelPool(tlsCredentials(options.tls), {
      // This client follows leader hints itself: a follower relaying its writes would
      // only add a hop to every one of them (the client would take it for the leader).
      interceptors: [bearerInterceptor(() => this.auth.current()), noForwardInterceptor()],
      tokenEpoch: () => this.auth.epoch(),
    });
  }

  /** Stores `value` under `key`; resolves once committed on a majority. */
  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    checkValueSize(value.byteLength);
    const metadata = { ...options.metadata };
    checkMetadata(metadata);
    const base = {
      key,
      value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      ifVersion: options.ifVersion,
      metadata,
    };
    return this.write(
      "put",
      (session) => ({ ...base, session }),
      (stub, request, deadline) => this.pool.batcher(stub).call("put", request, deadline),
    );
  }

  /**
   * Reads `key`; linearizable unless `serializable` is set. With `offset` or `length` it
   * reads that byte range of a value or of a file of any size (streamed by Download, the
   * node reading only the chunks it needs, and held here whole: keep ranges modest, or
   * use {@link download}). Without, a file larger than 1 MiB is `too_large`.
   */
  async get(key: string, options: GetOptions & RangeOptions = {}): Promise<GetResult> {
    checkKey(key);
    if (options.offset !== undefined || options.length !== undefined)
      return this.rangedGet(key, options);
    const request = { key, serializable: options.serializable ?? false };
    const response = await this.onAny("get", (stub, deadline) =>
      this.pool.batcher(stub).call("get", request, deadline),
    );
    return {
      value: response.value,
      version: response.version,
      modIndex: response.modIndex,
      metadata: { ...response.metadata },
      size: response.value.byteLength,
    };
  }

  /** A get of a byte range, through one download. */
  private async rangedGet(key: string, options: GetOptions & RangeOptions): Promise<GetResult> {
    const { info, range, chunks } = await this.download(key, options);
    const value = Buffer.allocUnsafe(range.end - range.start);
    let at = 0;
    for await (const chunk of chunks) {
      chunk.copy(value, at);
      at += chunk.length;
    }
    return {
      value,
      version: info.version,
      modIndex: info.modIndex,
      metadata: info.metadata,
      size: info.size,
    };
  }

  /** Removes `key`; resolves once committed. A missing key is `not_found`. */
  async delete(key: string): Promise<DeleteResult> {
    checkKey(key);
    const { index } = await this.write(
      "delete",
      (session) => ({ key, session }),
      (stub, request, deadline) => this.pool.batcher(stub).call("delete", request, deadline),
    );
    return { index };
  }

  /** A key's version, size and last write, without its value; linearizable unless `serializable`. */
  async stat(key: string, options: GetOptions = {}): Promise<StatResult> {
    checkKey(key);
    const request = { key, serializable: options.serializable ?? false };
    const r = await this.onAny("stat", (stub, deadline) =>
      this.pool.batcher(stub).call("stat", request, deadline),
    );
    return toFileInfo(r);
  }

  /**
   * Stores `source` under `key` as a file of any size, streamed: never held in memory
   * here or on any node. The file becomes visible atomically when its last entry commits.
   * Exactly-once like every write; retried on a new leader from the start if `source`
   * can be read again (bytes or a function), else failed with the reason.
   */
  async upload(
    key: string,
    source: UploadSource,
    options: UploadOptions = {},
  ): Promise<UploadResult> {
    checkKey(key);
    const metadata = { ...options.metadata };
    checkMetadata(metadata);
    const sequence = this.session.begin();
    try {
      let attempts = new Attempts("upload", this.timeoutMs);
      let renewed = false;
      for (;;) {
        this.assertOpen();
        await this.auth.ensure();
        const sent = this.auth.current();
        const endpoint = this.endpoints.next();
        let started = false;
        const header = {
          key,
          ifVersion: options.ifVersion,
          session: this.session.header(sequence),
          metadata,
          ...(options.finalMetadata ? { finalMetadata: options.finalMetadata } : {}),
        };
        try {
          const out = await uploadOnce(
            this.pool.get(endpoint),
            header,
            openSource(source),
            () => (started = true),
            options.onProgress ?? (() => {}),
          );
          this.endpoints.succeeded(endpoint);
          return {
            version: out.response.version,
            index: out.response.index,
            size: out.size,
            sha256: out.sha256,
          };
        } catch (err) {
          if (started && !isReplayable(source)) throw notRetryable(err);
          if (started) attempts = new Attempts("upload", this.timeoutMs);
          if (!renewed && this.auth.shouldRenew(toDfsError(err), sent)) {
            renewed = true;
            continue;
          }
          await this.recover(endpoint, err, attempts);
        }
      }
    } finally {
      this.session.end(sequence);
    }
  }

  /**
   * Streams a value or file: resolves with its FileInfo once the transfer starts; the
   * chunks then arrive as they are read, and throw if the data does not match its
   * SHA-256. Linearizable unless `serializable`. With `offset`/`length` only that range
   * comes (`range` says which bytes; `info` still describes the whole), the node reading
   * only the chunks that hold it; `ifVersion` refuses a key that changed since a stat.
   */
  async download(key: string, options: DownloadOptions = {}): Promise<OpenDownload> {
    checkKey(key);
    const request = {
      key,
      serializable: options.serializable ?? false,
      ...(options.offset === undefined ? {} : { offset: options.offset }),
      ...(options.length === undefined ? {} : { length: options.length }),
      ...(options.ifVersion === undefined ? {} : { ifVersion: options.ifVersion }),
    };
    return this.onAny("download", (stub) => openDownload(stub, request));
  }

  /**
   * Streams a backup of the whole store (`dfs snapshot save`): header, image chunks,
   * trailer (proto/dfs.proto SnapshotSave). From the leader after a ReadIndex round, or
   * with `serializable` from the node that answers first, as it is (maybe behind).
   */
  async snapshotSave(
    options: { serializable?: boolean } = {},
  ): Promise<AsyncIterable<SnapshotSaveResponse>> {
    const request = { serializable: options.serializable === true };
    return this.onLeader("snapshot save", (stub) => openSnapshotSave(stub, request));
  }

  /**
   * Downloads `key` into the file `path` atomically: written to a temporary file beside
   * it, synced and verified, then renamed into place. On any failure `path` is untouched.
   */
  async downloadToFile(
    key: string,
    path: string,
    options: DownloadOptions & { onProgress?: (bytes: number, total: number) => void } = {},
  ): Promise<FileInfo> {
    const { info, range, chunks } = await this.download(key, options);
    const total = range.end - range.start;
    await writeFileAtomically(path, chunks, (bytes) => options.onProgress?.(bytes, total));
    return info;
  }

  /** Lists keys under `prefix` ("" = everything), one level or recursively, page by page. */
  async *list(prefix: string, options: ListOptions = {}): AsyncGenerator<ListEntry> {
    if (prefix !== "") checkKey(prefix);
    let startAfter = options.startAfter ?? "";
    do {
      const request = {
        prefix,
        recursive: options.recursive ?? false,
        startAfter,
        limit: options.pageSize ?? 0,
        serializable: options.serializable ?? false,
      };
      const page = await this.onAny("list", (stub, deadline) =>
        callUnary(stub.list.bind(stub), request, deadline),
      );
      for (const e of page.entries)
        yield { name: e.name, isDir: e.isDir, ...(e.info ? { info: toFileInfo(e.info) } : {}) };
      startAfter = page.nextStartAfter;
    } while (startAfter !== "");
  }

  /** Deletes `prefix` and every key under `prefix/` in one atomic step; returns how many. */
  async deletePrefix(prefix: string): Promise<{ deleted: number; index: number }> {
    checkKey(prefix);
    const r = await this.write(
      "delete-prefix",
      (session) => ({ prefix, session }),
      (stub, request, deadline) => callUnary(stub.deletePrefix.bind(stub), request, deadline),
    );
    return { deleted: r.deleted, index: r.index };
  }

  /**
   * Runs a membership change on the leader; a refusal that only says "not now" (another
   * change, or the new leader's first entry, is not committed yet: `pending`; a transfer
   * runs: `transferring`) is retried until the deadline, since nothing was proposed.
   */
  private async memberChange<T>(op: string, call: LeaderCall<T>): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    for (let pause = 50; ; pause = Math.min(2 * pause, 500)) {
      try {
        return await this.onLeader(op, call);
      } catch (error) {
        const transient =
          error instanceof MemberChangeError &&
          (error.reason === "pending" || error.reason === "transferring");
        if (!transient || Date.now() + pause >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /** Every member of the configuration in force, as the leader sees it. */
  async memberList(): Promise<MemberStatus[]> {
    const r = await this.onLeader("member-list", (stub, deadline) =>
      callUnary(stub.memberList.bind(stub), {}, deadline),
    );
    return memberStatuses(r);
  }

  /**
   * Adds a member; resolves with the new member list once the change committed. A refused
   * change throws MemberChangeError (`reason`: duplicate_id, duplicate_address,
   * removed_id, pending, no_quorum, ...; see api/errors.ts).
   */
  async memberAdd(m: NewMember): Promise<MemberStatus[]> {
    const request = {
      id: m.id,
      peerAddress: m.peerAddr,
      clientAddress: m.clientAddr,
      learner: m.learner === true,
    };
    const r = await this.memberChange("member-add", (stub, deadline) =>
      callUnary(stub.memberAdd.bind(stub), request, deadline),
    );
    return memberStatuses(r);
  }

  /** Makes learner `id` a voter (refused with `learner_lagging` until it caught up). */
  async memberPromote(id: number): Promise<MemberStatus[]> {
    const r = await this.memberChange("member-promote", (stub, deadline) =>
      callUnary(stub.memberPromote.bind(stub), { id }, deadline),
    );
    return memberStatuses(r);
  }

  /** Removes member `id` for good (its id is never reused; `last_voter` is refused). */
  async memberRemove(id: number): Promise<MemberStatus[]> {
    const r = await this.memberChange("member-remove", (stub, deadline) =>
      callUnary(stub.memberRemove.bind(stub), { id }, deadline),
    );
    return memberStatuses(r);
  }

  /**
   * Hands leadership to voter `to` (0 or absent: the most caught-up one); resolves once
   * the new leader holds office.
   */
  async leaderTransfer(to = 0): Promise<{ from: number; to: number }> {
    const r = await this.memberChange("leader-transfer", (stub, deadline) =>
      callUnary(stub.leaderTransfer.bind(stub), { to }, deadline),
    );
    return { from: r.from, to: r.to };
  }

  /**
   * Logs in now (normally done lazily) and returns the token held; `token` is "" when the
   * cluster issued none (auth off). Throws `unauthenticated` for a wrong user or password,
   * `invalid_argument` when the client has no user.
   */
  async authenticate(): Promise<IssuedToken> {
    if (!this.auth.hasLogin) {
      throw new DfsError("invalid_argument", "this client has no user to log in as");
    }
    this.auth.invalidate();
    await this.auth.ensure();
    return this.auth.issuedToken();
  }

  /**
   * Changes users, roles or whether auth is on (admin only once auth is on); resolves with
   * the log index at which the change applied. Not exactly-once: a change retried after a
   * timeout that had in fact applied is refused as a duplicate (user or role exists).
   * Changing this client's own password makes it log in with the new one from then on.
   */
  async authChange(change: AuthChange): Promise<{ index: number; s3Key?: S3AccessKey }> {
    const request = authChangeRequest(change);
    const r = await this.onLeader("auth-change", (stub, deadline) =>
      callUnary(stub.authChange.bind(stub), request, deadline),
    );
    if (change.op === "user_passwd") this.auth.passwordChanged(change.name, change.password);
    const s3Key =
      r.s3Key === undefined
        ? {}
        : { s3Key: { accessKey: r.s3Key.accessKey, secret: r.s3Key.secret } };
    return { index: r.index, ...s3Key };
  }

  /**
   * For an S3 gateway (admin only): the user an access key belongs to, the SigV4 signing
   * key of its secret for one date, region and service, and a token to act as that user
   * (give it to a client through `tokenSource`). `not_found` for an unknown access key.
   * Linearizable: a key deleted a moment ago is not found.
   */
  async s3Credentials(query: S3CredentialsQuery): Promise<S3Credentials> {
    const r = await this.onLeader("s3-credentials", (stub, deadline) =>
      callUnary(stub.s3Credentials.bind(stub), query, deadline),
    );
    return {
      user: r.user,
      signingKey: r.signingKey,
      token: r.token,
      tokenExpiresMs: r.tokenExpiresMs,
    };
  }

  /** Users, roles and whether auth is on, linearizable (admin only once auth is on). */
  async authRead(): Promise<AuthInfo> {
    return this.onLeader("auth-read", (stub, deadline) =>
      callUnary(stub.authRead.bind(stub), {}, deadline),
    );
  }

  /**
   * Asks exactly one node how it sees the cluster: one attempt, no redirect, because
   * the caller wants that node's view (and to learn whether it is reachable at all).
   */
  async status(endpoint: string): Promise<StatusResponse> {
    this.assertOpen();
    const stub = this.pool.get(validEndpoints([endpoint])[0] as string);
    try {
      return await callUnary(stub.status.bind(stub), {}, new Date(Date.now() + this.timeoutMs));
    } catch (err) {
      throw toDfsError(err);
    }
  }

  /**
   * One linearizable get at exactly `endpoint`: one attempt, no redirect, no retry, as a
   * reader bound to one node needs (verify's bound readers, which catch a stale old
   * leader). Logs in first when the client has a user. Rejects with the node's answer as
   * a DfsError (`not_leader` from a follower).
   */
  async getAt(endpoint: string, key: string, deadline: Date): Promise<GetResult> {
    this.assertOpen();
    checkKey(key);
    await this.auth.ensure();
    const stub = this.pool.get(validEndpoints([endpoint])[0] as string);
    try {
      const r = await callUnary(stub.get.bind(stub), { key, serializable: false }, deadline);
      return {
        value: r.value,
        version: r.version,
        modIndex: r.modIndex,
        metadata: { ...r.metadata },
        size: r.value.byteLength,
      };
    } catch (err) {
      throw toDfsError(err);
    }
  }

  /**
   * Compacts the state store of exactly `endpoint` (`dfs defrag`): one attempt, no
   * redirect, since each node defrags its own store. Logs in first when the client has a
   * user (admin only once auth is on).
   */
  async defragAt(endpoint: string, deadline: Date): Promise<DefragResponse> {
    this.assertOpen();
    await this.auth.ensure();
    const stub = this.pool.get(validEndpoints([endpoint])[0] as string);
    try {
      return await callUnary(stub.defrag.bind(stub), {}, deadline);
    } catch (err) {
      throw toDfsError(err);
    }
  }

  /**
   * How many batches of several operations this client sent and how many operations they
   * carried (concurrent operations to one node travel together, see batcher.ts), and how
   * many batches went as messages on a BatchStream rather than as calls.
   */
  batchStats(): { batchCalls: number; batchedOps: number; streamed: number } {
    return this.pool.batchStats();
  }

  /** Closes every channel. Operations still running fail; the client cannot be reused. */
  close(): void {
    this.closed = true;
    this.pool.close();
  }

  /** Runs a write under one session sequence number shared by all its attempts. */
  private async write<Req, T>(
    op: string,
    build: (session: Session) => Req,
    send: (stub: DfsStub, request: Req, deadline: Date) => Promise<T>,
  ): Promise<T> {
    const sequence = this.session.begin();
    try {
      return await this.onLeader(op, (stub, deadline) =>
        send(stub, build(this.session.header(sequence)), deadline),
      );
    } finally {
      this.session.end(sequence);
    }
  }

  /**
   * Runs `call` on the leader, finding it and retrying as the class comment describes.
   * With a login, it first makes sure a fresh token is held, and a call refused because
   * its token expired (or carried none) is retried once after logging in again, never
   * more: a second refusal is the answer. `login: false` is for Authenticate itself.
   */
  private async onLeader<T>(
    op: string,
    call: LeaderCall<T>,
    login = true,
    spread = false,
  ): Promise<T> {
    const attempts = new Attempts(op, this.timeoutMs);
    let renewed = false;
    let first = true;
    for (;;) {
      this.assertOpen();
      if (login) await this.auth.ensure();
      const sent = this.auth.current();
      // A spread read's first attempt goes to the next node in turn; retries go where a
      // write would (a node that could not answer may know no leader, or be down).
      const endpoint = spread && first ? this.endpoints.spread() : this.endpoints.next();
      first = false;
      try {
        const result = await call(this.pool.get(endpoint), attempts.attemptDeadline());
        if (!spread) this.endpoints.succeeded(endpoint); // a follower may answer a read
        return result;
      } catch (err) {
        if (login && !renewed && this.auth.shouldRenew(toDfsError(err), sent)) {
          renewed = true;
          continue;
        }
        await this.recover(endpoint, err, attempts);
      }
    }
  }

  /** A read: on any node in turn when reads are spread, else on the leader. */
  private onAny<T>(op: string, call: LeaderCall<T>): Promise<T> {
    return this.onLeader(op, call, true, this.spread);
  }

  /** Asks the leader for a token for `login` (the token holder calls this). */
  private login(login: Login): Promise<IssuedToken> {
    const request = { user: login.user, password: login.password };
    return this.onLeader(
      "authenticate",
      (stub, deadline) => callUnary(stub.authenticate.bind(stub), request, deadline),
      false,
    );
  }

  /** Throws if a failed attempt is final; otherwise picks the next node and waits for it. */
  private async recover(endpoint: string, err: unknown, attempts: Attempts): Promise<void> {
    this.assertOpen();
    const failure = classifyFailure(err);
    if (failure.action === "fail") throw failure.error;
    const redirected = this.follow(endpoint, failure);
    await attempts.pause(endpoint, failure.error, redirected);
  }

  /** Updates the endpoint memory; true when the next attempt goes to a hinted leader. */
  private follow(endpoint: string, failure: AttemptFailure): boolean {
    const hint = failure.error.leaderHint;
    if (failure.action === "redirect" && hint !== undefined && hint !== endpoint) {
      this.endpoints.redirect(hint);
      return true;
    }
    this.endpoints.failed(endpoint);
    return false;
  }

  private assertOpen(): void {
    if (this.closed) throw new DfsError("internal", "the dfs client has been closed");
  }
}

/**
 * The stand-in login of a client whose tokens come from `tokenSource`: the token holder
 * renews through the source exactly as it would log in, and no password is ever sent.
 */
const TOKEN_SOURCE_LOGIN = { user: "", password: "" };

/** The wire's member rows as the client API names them. */
export function memberStatuses(r: Pick<MemberListResponse, "members">): MemberStatus[] {
  return r.members.map((m: Member) => ({
    id: m.id,
    learner: m.learner,
    peerAddr: m.peerAddress,
    clientAddr: m.address,
    identity: m.identity,
    leader: m.leader,
    match: m.match,
    lag: m.lag,
    reachable: m.reachable,
  }));
}

function validEndpoints(endpoints: readonly string[]): string[] {
  if (endpoints.length === 0) throw new DfsError("invalid_argument", "no endpoints given");
  for (const endpoint of endpoints) {
    const parsed = parseHostPort(endpoint);
    if (!parsed.ok) throw new DfsError("invalid_argument", `bad endpoint ${parsed.problem}`);
  }
  return [...endpoints];
}

function validTimeout(timeoutMs: number): number {
  if (Number.isFinite(timeoutMs) && timeoutMs > 0) return timeoutMs;
  throw new DfsError(
    "invalid_argument",
    `timeout must be a positive number of ms, got ${timeoutMs}`,
  );
}

/** Credentials for `tls`, or `invalid_argument` when the material cannot be used. */
function tlsCredentials(tls: ClientTls | undefined) {
  try {
    return clientCredentials(tls);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DfsError("invalid_argument", `bad TLS settings: ${reason}`);
  }
}
