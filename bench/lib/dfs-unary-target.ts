/**
 * dfs as a plain unary gRPC client sees it: the generated `dfs.v1.Dfs` stub of grpc-js,
 * one channel (one HTTP/2 connection) per endpoint, one unary Put or Get per operation,
 * no sessions, no batching, no client library. This is what a Go or Python program, a
 * load balancer or the S3 gateway costs the cluster (issue 24), as opposed to
 * {@link DfsTarget}, which coalesces operations into BatchStream messages.
 *
 * Writes go to the leader (the first endpoint; a `not_leader` answer moves them to the
 * hinted leader). Reads go to the leader too, or round-robin over every endpoint with
 * `spreadReads`; a node that cannot serve a linearizable read answers `not_leader`, and
 * the read is then repeated at the leader (counted in {@link redirects}).
 */
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { ERROR_CODE_METADATA, LEADER_METADATA } from "../../src/api/index.ts";
import { CHANNEL_OPTIONS } from "../../src/client/channel-pool.ts";
import { DfsClient as DfsStub, type GetResponse } from "../../src/gen/dfs.ts";
import type { KvTarget } from "../../src/loadgen/index.ts";

/** How a {@link DfsUnaryTarget} places its calls. */
export interface DfsUnaryOptions {
  /** Deadline of one operation, redirects included. */
  readonly timeoutMs: number;
  /** Round-robin linearizable and serializable reads over every endpoint. */
  readonly spreadReads?: boolean;
}

/**
 * DfsClient's channel settings (message limits, receive window, reconnect backoff), with
 * grpc-js's default channelz left on, as a program that sets nothing has it.
 */
const UNARY_CHANNEL_OPTIONS = { ...CHANNEL_OPTIONS, "grpc.enable_channelz": 1 };

/** At most this many redirects per operation (a leader change mid-run takes one or two). */
const MAX_REDIRECTS = 5;

/** A {@link KvTarget} speaking plain unary gRPC to a dfs cluster. */
export class DfsUnaryTarget implements KvTarget {
  readonly name: string;
  /** Operations repeated elsewhere after a `not_leader` answer. */
  redirects = 0;
  private readonly stubs = new Map<string, DfsStub>();
  private leader: string;
  private next = 0;
  private readonly metadata = new Metadata();

  /** @param endpoints client addresses, the leader first */
  constructor(
    private readonly endpoints: readonly string[],
    private readonly options: DfsUnaryOptions,
  ) {
    const [first] = endpoints;
    if (first === undefined) throw new Error("dfs unary: no endpoints");
    this.leader = first;
    this.name = options.spreadReads === true ? "dfs-unary-spread" : "dfs-unary";
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    const request = {
      key,
      value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      metadata: {},
      session: undefined,
    };
    await this.call(this.leader, (stub, deadline, done) =>
      stub.put(request, this.metadata, { deadline }, done),
    );
  }

  async get(key: string, serializable: boolean): Promise<number | null> {
    const at = this.options.spreadReads === true ? this.spread() : this.leader;
    try {
      const response = await this.call<GetResponse>(at, (stub, deadline, done) =>
        stub.get({ key, serializable }, this.metadata, { deadline }, done),
      );
      return response.value.byteLength;
    } catch (err) {
      if (isServiceError(err) && err.code === status.NOT_FOUND) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await this.call(this.leader, (stub, deadline, done) =>
        stub.delete({ key, session: undefined }, this.metadata, { deadline }, done),
      );
      return true;
    } catch (err) {
      if (isServiceError(err) && err.code === status.NOT_FOUND) return false;
      throw err;
    }
  }

  close(): void {
    for (const stub of this.stubs.values()) stub.close();
    this.stubs.clear();
  }

  private spread(): string {
    const at = this.endpoints[this.next] as string;
    this.next = (this.next + 1) % this.endpoints.length;
    return at;
  }

  private stub(endpoint: string): DfsStub {
    let stub = this.stubs.get(endpoint);
    if (stub === undefined) {
      stub = new DfsStub(endpoint, credentials.createInsecure(), UNARY_CHANNEL_OPTIONS);
      this.stubs.set(endpoint, stub);
    }
    return stub;
  }

  /** One operation at `endpoint`, following `not_leader` hints to the leader. */
  private async call<T>(
    endpoint: string,
    start: (stub: DfsStub, deadline: Date, done: (e: ServiceError | null, r: T) => void) => void,
  ): Promise<T> {
    const deadline = new Date(Date.now() + this.options.timeoutMs);
    let at = endpoint;
    for (let attempt = 0; ; attempt++) {
      try {
        return await new Promise<T>((resolve, reject) => {
          start(this.stub(at), deadline, (e, r) => (e === null ? resolve(r) : reject(e)));
        });
      } catch (err) {
        const hint = notLeaderHint(err);
        if (hint === undefined || attempt >= MAX_REDIRECTS) throw err;
        this.redirects++;
        if (hint !== "" && hint !== at) this.leader = hint;
        at = this.leader;
      }
    }
  }
}

/** The leader hint of a `not_leader` answer ("" when the node knows none), else undefined. */
function notLeaderHint(err: unknown): string | undefined {
  if (!isServiceError(err)) return undefined;
  const code = err.metadata?.get(ERROR_CODE_METADATA)[0];
  if (code !== "not_leader") return undefined;
  const hint = err.metadata.get(LEADER_METADATA)[0];
  return typeof hint === "string" ? hint : "";
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number";
}
