/**
 * etcd as a load-generator target, spoken to over grpc-js with etcd's own v3 KV API (the
 * wire format of `etcd-kv.proto`). Like etcd's `benchmark` tool, all workers share one
 * channel. Requests go to one member at a time (the caller lists the leader first, as
 * the dfs client ends up talking to the leader too); when that member fails, the next
 * one is tried with the dfs client's own backoff, so a failover measurement gives etcd
 * the same client-side retry policy dfs gets from its library.
 */
import {
  type ChannelCredentials,
  Client,
  type ClientOptions,
  credentials,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { Backoff, sleep } from "../../src/client/retry.ts";
import type { KvTarget } from "../../src/loadgen/index.ts";
import {
  decodeAuthenticate,
  decodeDeleteRange,
  decodeRange,
  decodeStatus,
  encodeAuthenticate,
  encodeDeleteRange,
  encodePut,
  encodeRange,
  encodeStatus,
  type MemberStatus,
} from "./etcd-wire.ts";

/** Timing of an {@link EtcdTarget}'s calls. */
export interface EtcdTimeouts {
  /** Deadline of a whole operation, retries included. */
  readonly timeoutMs: number;
  /** Deadline of one attempt at one member. */
  readonly attemptTimeoutMs: number;
}

/** Channel settings: room for 1 MiB values and quick reconnects (as the dfs client has). */
const CHANNEL_OPTIONS: ClientOptions = {
  "grpc.max_send_message_length": 8 * 1024 * 1024,
  "grpc.max_receive_message_length": 8 * 1024 * 1024,
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1000,
};

/** gRPC codes after which another member may succeed (etcd maps "no leader" and its timeouts to UNAVAILABLE). */
const RETRYABLE = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);

/** An etcd user and password (`etcdctl --user`). */
export interface EtcdLogin {
  readonly user: string;
  readonly password: string;
}

/** The metadata key etcd reads a token from (clientv3's rpctypes.TokenFieldNameGRPC). */
const ETCD_TOKEN_METADATA = "token";

/** A {@link KvTarget} for an etcd cluster. */
export class EtcdTarget implements KvTarget {
  readonly name: string = "etcd";
  private readonly clients = new Map<string, Client>();
  private current = 0;
  /** The call metadata: empty, or the token once logged in. */
  private metadata: Promise<Metadata> | null = null;

  /**
   * @param endpoints `host:port` of client URLs; the first is used until it fails
   * @param channelCredentials TLS for an etcd with `--cert-file` (the TLS comparison)
   * @param spreadReads gets round-robin over every member instead of the first
   */
  constructor(
    private readonly endpoints: readonly string[],
    private readonly timeouts: EtcdTimeouts,
    private readonly channelCredentials: ChannelCredentials = credentials.createInsecure(),
    private readonly login?: EtcdLogin,
    private readonly spreadReads = false,
  ) {
    if (endpoints.length === 0) throw new Error("etcd: no endpoints");
    if (spreadReads) this.name = "etcd-spread";
  }

  /** Round-robin position of the next spread read. */
  private nextRead = 0;

  /** Metadata for every call: a token from one Authenticate when there is a login. */
  private callMetadata(): Promise<Metadata> {
    this.metadata ??= this.authenticate();
    return this.metadata;
  }

  private async authenticate(): Promise<Metadata> {
    const md = new Metadata();
    const login = this.login;
    if (login === undefined) return md;
    const request = encodeAuthenticate(login.user, login.password);
    const token = await this.withRetry((client, deadline) =>
      unary(client, "/etcdserverpb.Auth/Authenticate", request, decodeAuthenticate, deadline, md),
    );
    const withToken = new Metadata();
    withToken.set(ETCD_TOKEN_METADATA, token);
    return withToken;
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    const request = encodePut(Buffer.from(key), value);
    const md = await this.callMetadata();
    await this.withRetry((client, deadline) =>
      unary(client, "/etcdserverpb.KV/Put", request, () => undefined, deadline, md),
    );
  }

  async get(key: string, serializable: boolean): Promise<number | null> {
    const request = encodeRange(Buffer.from(key), serializable);
    const md = await this.callMetadata();
    const range = (client: Client, deadline: Date) =>
      unary(client, "/etcdserverpb.KV/Range", request, decodeRange, deadline, md);
    const result = this.spreadReads ? await this.spreadRead(range) : await this.withRetry(range);
    return result.value === null ? null : result.value.byteLength;
  }

  async delete(key: string): Promise<boolean> {
    const request = encodeDeleteRange(Buffer.from(key));
    const md = await this.callMetadata();
    const deleted = await this.withRetry((client, deadline) =>
      unary(client, "/etcdserverpb.KV/DeleteRange", request, decodeDeleteRange, deadline, md),
    );
    return deleted > 0;
  }

  /** One member's own view (Maintenance.Status), asked once without retries. */
  async status(endpoint: string, timeoutMs: number): Promise<MemberStatus> {
    const deadline = new Date(Date.now() + timeoutMs);
    return unary(
      this.client(endpoint),
      "/etcdserverpb.Maintenance/Status",
      encodeStatus(),
      decodeStatus,
      deadline,
      new Metadata(),
    );
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(endpoint: string): Client {
    let client = this.clients.get(endpoint);
    if (client === undefined) {
      client = new Client(endpoint, this.channelCredentials, CHANNEL_OPTIONS);
      this.clients.set(endpoint, client);
    }
    return client;
  }

  /**
   * A read at the next member in round-robin order (any etcd member serves a linearizable
   * read: a follower asks the leader for the read index); on failure, retried as usual.
   */
  private async spreadRead<T>(call: (client: Client, deadline: Date) => Promise<T>): Promise<T> {
    const endpoint = this.endpoints[this.nextRead] as string;
    this.nextRead = (this.nextRead + 1) % this.endpoints.length;
    const deadline = new Date(Date.now() + this.timeouts.attemptTimeoutMs);
    try {
      return await call(this.client(endpoint), deadline);
    } catch (err) {
      if (!isServiceError(err) || !RETRYABLE.has(err.code)) throw err;
      return this.withRetry(call);
    }
  }

  /** Runs `call` at the current member; on a retryable failure moves on to the next one. */
  private async withRetry<T>(call: (client: Client, deadline: Date) => Promise<T>): Promise<T> {
    const overall = Date.now() + this.timeouts.timeoutMs;
    const backoff = new Backoff();
    for (;;) {
      const index = this.current;
      const endpoint = this.endpoints[index] as string;
      const deadline = new Date(Math.min(Date.now() + this.timeouts.attemptTimeoutMs, overall));
      try {
        return await call(this.client(endpoint), deadline);
      } catch (err) {
        if (!isServiceError(err) || !RETRYABLE.has(err.code) || Date.now() >= overall) throw err;
        if (this.current === index) this.current = (index + 1) % this.endpoints.length;
        await sleep(Math.min(backoff.next(), Math.max(0, overall - Date.now())));
      }
    }
  }
}

/** One unary call with a deadline, as a promise. */
function unary<T>(
  client: Client,
  method: string,
  request: Buffer,
  decode: (bytes: Buffer) => T,
  deadline: Date,
  metadata: Metadata,
): Promise<T> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method,
      (body: Buffer) => body,
      decode,
      request,
      metadata.clone(),
      { deadline },
      (error: ServiceError | null, response?: T) => {
        if (error !== null) reject(error);
        else resolve(response as T);
      },
    );
  });
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number";
}
