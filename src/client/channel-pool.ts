/**
 * One gRPC channel per endpoint, created on first use and reused for the client's
 * lifetime: a channel multiplexes every call over one HTTP/2 connection and reconnects
 * on its own, so creating one per call would pay a TCP handshake each time.
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  credentials,
  type Interceptor,
} from "@grpc/grpc-js";
import { MAX_GRPC_MESSAGE_BYTES, MAX_GRPC_RESPONSE_BYTES } from "../api/index.ts";
import { DfsStub } from "../wire/index.ts";
import { Batcher } from "./batcher.ts";

/** HTTP/2 receive window of a client connection: a full Batch response fits. */
const CLIENT_RECEIVE_WINDOW = 16 * 1024 * 1024;

/**
 * Channel settings. grpc-js waits up to 120 s between reconnects by default; a restarted
 * node must be found again within a fraction of an election, so backoff starts at 100 ms
 * and stays under 1 s. Message limits match the server's so a 1 MiB value fits, and a
 * Batch of gets fits its response. Large responses (values, file downloads) arrive
 * without waiting on HTTP/2's default 64 KiB window (see server/receive-window.ts).
 */
export const CHANNEL_OPTIONS: ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1000,
  "grpc.max_send_message_length": MAX_GRPC_MESSAGE_BYTES,
  "grpc.max_receive_message_length": MAX_GRPC_RESPONSE_BYTES,
  "grpc-node.flow_control_window": CLIENT_RECEIVE_WINDOW,
  "grpc.enable_channelz": 0, // per-call statistics nobody reads
};

/**
 * PEM material for TLS to the client port, with etcdctl's meanings: `ca` verifies the
 * servers (`--cacert`; Node's default roots when absent), `cert` + `key` are presented
 * when the cluster requires client certificates (`--cert`, `--key`).
 */
export interface ClientTls {
  readonly ca?: Uint8Array;
  readonly cert?: Uint8Array;
  readonly key?: Uint8Array;
}

/**
 * The channel credentials for `tls`: plain text when absent (the loopback default).
 * @throws Error when only one of `cert` and `key` is given.
 */
export function clientCredentials(tls: ClientTls | undefined): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new Error("a client certificate needs its key and a key its certificate");
  }
  const buffer = (bytes: Uint8Array | undefined): Buffer | null =>
    bytes === undefined ? null : Buffer.from(bytes);
  return credentials.createSsl(buffer(tls.ca), buffer(tls.key), buffer(tls.cert));
}

/** What every call of a pool's channels carries besides the request (auth, see DfsClient). */
export interface PoolCalls {
  /** Run on every call and stream started on the pool's stubs (the token's metadata). */
  readonly interceptors?: Interceptor[];
  /**
   * Changes whenever what the interceptors add changes (a new token): a long-lived
   * BatchStream opened before is replaced, since a stream's metadata is fixed at its start.
   */
  readonly tokenEpoch?: () => number;
}

/** Lazily created stubs keyed by `host:port`, each with its {@link Batcher}. */
export class ChannelPool {
  private readonly stubs = new Map<string, DfsStub>();
  private readonly batchers = new Map<DfsStub, Batcher>();

  /**
   * `channelCredentials` secure every channel of the pool (plain text by default);
   * `calls` adds interceptors to every stub.
   */
  constructor(
    private readonly channelCredentials: ChannelCredentials = credentials.createInsecure(),
    private readonly calls: PoolCalls = {},
  ) {}

  /** The batcher of a stub from {@link get}: coalesces concurrent operations to its node. */
  batcher(stub: DfsStub): Batcher {
    let batcher = this.batchers.get(stub);
    if (batcher === undefined) {
      batcher = new Batcher(stub, this.calls.tokenEpoch);
      this.batchers.set(stub, batcher);
    }
    return batcher;
  }

  /** The stub for `endpoint`, creating its channel on first use. */
  get(endpoint: string): DfsStub {
    let stub = this.stubs.get(endpoint);
    if (stub === undefined) {
      const interceptors = this.calls.interceptors;
      stub = new DfsStub(endpoint, this.channelCredentials, {
        ...CHANNEL_OPTIONS,
        ...(interceptors !== undefined ? { interceptors } : {}),
      });
      this.stubs.set(endpoint, stub);
    }
    return stub;
  }

  /** Batches sent so far, the operations they carried and those streamed, over all nodes. */
  batchStats(): { batchCalls: number; batchedOps: number; streamed: number } {
    const total = { batchCalls: 0, batchedOps: 0, streamed: 0 };
    for (const b of this.batchers.values()) {
      total.batchCalls += b.stats.batchCalls;
      total.batchedOps += b.stats.batchedOps;
      total.streamed += b.stats.streamed;
    }
    return total;
  }

  /** Closes every channel; in-flight calls fail with CANCELLED. */
  close(): void {
    for (const batcher of this.batchers.values()) batcher.close();
    for (const stub of this.stubs.values()) stub.close();
    this.stubs.clear();
    this.batchers.clear();
  }
}
